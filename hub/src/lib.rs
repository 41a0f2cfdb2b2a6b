//! testigo-hub: the dispatcher's hub. Devices enrol with it, sync with it in one
//! batched request per round, and dispatchers open and follow incidents through its
//! JSON API. One SQLite file holds everything; no other service is needed.
//!
//! - [`server`]: state, routes, serving (HTTP, or HTTPS given a certificate)
//! - [`auth`]: enrolment codes, credentials, rate limiting
//! - [`sync`]: the sync endpoint; [`history`] checks each upload's signature, [`validate`]
//!   every incoming change
//! - [`permissions`]: who sees and writes what
//! - [`dispatch`]: the dispatcher API; [`templates`]: checklists imported and published
//! - [`evidence`]: evidence bundles and the audit log; [`retention`]: archive-then-delete
//! - [`credentials`]: C2PA content credentials on exported media, signed by the
//!   organisation's certificate
//! - [`media`]: chunked, resumable media uploads and downloads, kept in a folder or an
//!   S3-compatible bucket that several instances share
//! - [`console`]: the dispatcher console, a web page served at `/console/`
//! - [`wake`]: the wake channel (long-poll and UnifiedPush) that tells a phone on duty
//!   to sync now, carrying no content
//! - [`db`]: the store

pub mod auth;
pub mod config;
pub mod console;
pub mod credentials;
pub mod db;
pub mod dispatch;
pub mod error;
pub mod evidence;
pub mod history;
pub mod media;
pub mod permissions;
pub mod retention;
pub mod server;
pub mod sync;
pub mod templates;
pub mod validate;
pub mod wake;

pub use config::HubConfig;
pub use error::{HubError, HubResult};
pub use server::{serve, Hub, HubWatch};
