//! Opening the encrypted database. SQLCipher encrypts every page with the 32-byte key
//! the platform keystore gives us; without it the file is noise.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::sqlite::{self, Durability};

pub const KEY_LEN: usize = 32;

/// Opens (creating if needed) the database at `path` with `key`.
pub fn open_encrypted(path: &Path, key: &[u8]) -> Result<Connection> {
    if key.len() != KEY_LEN || key.iter().all(|b| *b == 0) {
        return Err(Error::MissingKey);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = sqlite::open_sqlite(path, flags)?;
    // A raw key (x'…') skips SQLCipher's passphrase derivation: the key is already
    // random, and deriving would cost ~0.5 s on every app start.
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    // The first read is where a wrong key shows.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(e) => {
            return Err(match Error::from(e) {
                Error::Storage(msg) if msg.contains("not a database") => Error::WrongKey,
                other => other,
            })
        }
    }
    // Safe from a kill when an action returns; flushed to disk right behind it by the
    // store's background thread (flush.rs says why not before returning).
    sqlite::configure(&conn, Durability::Logged)?;
    Ok(conn)
}
