//! Opening the encrypted database. SQLCipher encrypts every page with the 32-byte key
//! the platform keystore gives us; without it the file is noise.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
// The SQLCipher rusqlite links (built with libtomcrypt; see that crate).
use testigo_sqlcipher as _;

pub const KEY_LEN: usize = 32;

/// Opens a SQLite connection to `path`: the one way the device store and the hub open
/// a database, so that none of them runs before SQLite and SQLCipher are set up.
///
/// SQLite marks itself initialised before it runs SQLCipher's one-time setup, so a
/// second thread opening a database during that setup skips straight past it, and its
/// `PRAGMA key` then fails ("An error occurred with PRAGMA key or rekey") because
/// SQLCipher is not ready yet. Two stores opening at once in a fresh process (the
/// app's first start with a sync worker, the hub serving its first requests) is enough.
/// Every open here first waits until one initialisation has finished completely.
pub fn open_sqlite(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    static INITIALISED: Once = Once::new();
    INITIALISED.call_once(|| {
        // Opening any connection runs sqlite3_initialize, SQLCipher's setup included,
        // on this thread to the end; other openers wait on the Once meanwhile. If it
        // fails, the real open below reports why.
        let _ = Connection::open_in_memory();
    });
    Connection::open_with_flags(path, flags)
}

/// Opens (creating if needed) the database at `path` with `key`.
pub fn open_encrypted(path: &Path, key: &[u8]) -> Result<Connection> {
    if key.len() != KEY_LEN || key.iter().all(|b| *b == 0) {
        return Err(Error::MissingKey);
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = open_sqlite(path, flags)?;
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
    // WAL: readers never block the writer. synchronous=NORMAL: a commit is in the log
    // when it returns, so it survives the app being killed; the store's background
    // thread then flushes it to disk, so it survives a power cut milliseconds later
    // (flush.rs says why not before returning).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted records are overwritten, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}
