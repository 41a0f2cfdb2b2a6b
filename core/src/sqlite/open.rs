//! Opening a database and the settings every Testigo database runs with.

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

// The SQLCipher rusqlite links (built with libtomcrypt; see that crate).
use testigo_sqlcipher as _;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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

/// When a commit is safe on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Before the commit returns (`synchronous=FULL`): the hub, which acknowledges a
    /// sync only once it would survive a power cut.
    Flushed,
    /// In the write-ahead log when the commit returns, safe from the process being
    /// killed (`synchronous=NORMAL`); something else flushes it to disk right behind
    /// (the device store's background flush, `store::flush`).
    Logged,
}

/// The settings every Testigo database runs with, on a freshly opened connection
/// (after the key, on an encrypted one).
pub fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer, nor the writer them.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Flushed => "FULL",
        Durability::Logged => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted records (a wiped incident, a caller's contact) are overwritten, never left
    // readable in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}
