//! Fault injection for the reliability suite (`core/tests/resource_faults.rs`): makes
//! the store's own connection fail as a full or read-only device would, so tests can
//! prove that nothing saved is lost and the store recovers. SQLite keeps both settings
//! per connection, so a test cannot set them from outside the store. Nothing in the
//! app, the bindings or the hub calls this; it is hidden from the docs.

use rusqlite::Connection;

use crate::error::Result;

/// What [`crate::store::Store::inject_storage_fault`] makes the next writes run into.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFault {
    /// Writes behave normally again (space freed, file writable).
    None,
    /// The database cannot grow past its current size: writes that need a new page
    /// fail with `SQLITE_FULL`, as on a full phone.
    DiskFull,
    /// Every write fails with `SQLITE_READONLY`, as with a read-only file; reads work.
    ReadOnly,
}

/// SQLite clamps `max_page_count` to its compile-time maximum; asking for the largest
/// 32-bit value restores "no limit".
const NO_PAGE_LIMIT: u32 = u32::MAX - 1;

pub fn inject(conn: &Connection, fault: StorageFault) -> Result<()> {
    let (max_pages, query_only) = match fault {
        StorageFault::None => (i64::from(NO_PAGE_LIMIT), false),
        StorageFault::DiskFull => (
            conn.query_row("PRAGMA page_count", [], |r| r.get(0))?,
            false,
        ),
        StorageFault::ReadOnly => (i64::from(NO_PAGE_LIMIT), true),
    };
    // Both pragmas answer with a row, so they are read rather than executed.
    conn.query_row(&format!("PRAGMA max_page_count = {max_pages}"), [], |_| {
        Ok(())
    })?;
    conn.pragma_update(None, "query_only", query_only)?;
    Ok(())
}
