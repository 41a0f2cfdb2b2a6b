//! The SQLite plumbing the device store and the hub share: opening a database and
//! setting it up ([`open`]), bringing its schema to the current version
//! ([`migrations`]) and SQLite's own consistency check ([`integrity`]). Each rule lives
//! here once; the device store adds its key and the hub its readers on top.

pub mod integrity;
pub mod migrations;
pub mod open;

mod error;

pub use error::SqliteError;
pub use migrations::Schema;
pub use open::{configure, open_sqlite, Durability};
