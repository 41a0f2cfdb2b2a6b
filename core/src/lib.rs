//! testigo-core: the offline-first heart of Testigo.
//!
//! Incidents are automerge documents ([`incident`]), filled in on scene through a
//! checklist ([`checklist`]), with validated times ([`time`]) and places
//! ([`location`]), kept in an encrypted SQLite store ([`store`]). Nothing here knows
//! about FFI or HTTP servers; the bindings and the hub are thin layers on top.

pub mod checklist;
pub mod error;
pub mod evidence;
pub mod ids;
pub mod incident;
pub mod location;
pub mod media;
pub mod rules;
pub mod sqlite;
pub mod store;
pub mod sync;
pub mod time;

pub use error::{Error, Result};
