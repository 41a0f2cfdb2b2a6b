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

use rusqlite::{Connection, OpenFlags};
use testigo_core::sqlite::{self, Durability};

use crate::error::HubResult;

/// Opens (creating or upgrading) the hub database at `path`: the writer connection.
pub fn open(path: &Path) -> HubResult<Connection> {
    let mut conn = sqlite::open_sqlite(path, OpenFlags::default())?;
    // A sync the hub acknowledged survives a power cut.
    sqlite::configure(&conn, Durability::Flushed)?;
    sqlite::migrations::upgrade::<schema::HubSchema>(&mut conn)?;
    Ok(conn)
}
