//! Opening the encrypted database. SQLCipher encrypts every page with the 32-byte key
//! the platform keystore gives us; without it the file is noise.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub const KEY_LEN: usize = 32;

/// Opens (creating if needed) the database at `path` with `key`.
pub fn open_encrypted(path: &Path, key: &[u8]) -> Result<Connection> {
    if key.len() != KEY_LEN || key.iter().all(|b| *b == 0) {
        return Err(Error::MissingKey);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
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
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL: readers never block the writer. synchronous=FULL: a commit that returned
    // survives a power cut too, which on a phone with a dying battery is not rare.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted records are overwritten, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}
