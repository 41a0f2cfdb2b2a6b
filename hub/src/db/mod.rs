//! The hub's store: one SQLite file. Every request that writes runs in one
//! transaction on the one writer connection, so a sync round is applied whole or not
//! at all, and two rounds never interleave; what only reads runs on [`readers`].

pub mod audit;
pub mod callers;
pub mod changes;
pub mod delivered;
pub mod devices;
pub mod incidents;
pub mod media;
pub mod meta;
pub mod push;
pub mod readers;
pub mod refusals;
mod schema;
pub mod templates;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::HubResult;

pub fn open(path: &Path) -> HubResult<Connection> {
    let mut conn = testigo_core::store::open_sqlite(path, OpenFlags::default())?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL + synchronous=FULL: a sync the hub acknowledged survives a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The caller table is private: deleted rows must not linger in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    schema::init_or_upgrade(&mut conn)?;
    Ok(conn)
}
