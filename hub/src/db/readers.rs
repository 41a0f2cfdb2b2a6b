//! Connections that only read, so that what only looks — a credential lookup on every
//! request, a phone on duty asking whether it has work — never queues behind a sync
//! round holding the one writer. SQLite in WAL mode lets readers proceed while the
//! writer commits; each read runs in a transaction of its own, so it sees one
//! committed state of the database from start to end.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use testigo_core::sqlite::{self, Durability};

use crate::error::HubResult;

/// How many reads may run at once.
const READERS: usize = 4;

pub struct Readers {
    slots: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// Opens the readers of the hub database at `path`, which the writer has already
    /// created or upgraded ([`super::open`]).
    pub fn open(path: &Path) -> HubResult<Self> {
        let slots = (0..READERS)
            .map(|_| {
                let conn = sqlite::open_sqlite(path, OpenFlags::default())?;
                sqlite::configure(&conn, Durability::Flushed)?;
                // Enforced by SQLite: a statement that would write fails here.
                conn.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(conn))
            })
            .collect::<HubResult<Vec<_>>>()?;
        Ok(Self {
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free reader (waiting for one if all are busy) in a read
    /// transaction, which is rolled back: nothing it does can write.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> HubResult<T>) -> HubResult<T> {
        let start = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let free = (0..self.slots.len())
            .find_map(|i| self.slots[(start + i) % self.slots.len()].try_lock().ok());
        // A panic inside a read leaves nothing to undo, so a poisoned lock is usable.
        let mut conn = match free {
            Some(conn) => conn,
            None => self.slots[start].lock().unwrap_or_else(|p| p.into_inner()),
        };
        let tx = conn.transaction()?;
        f(&tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_commits_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let writer = super::super::open(&path).unwrap();
        let readers = Readers::open(&path).unwrap();
        let count = |conn: &Connection| -> HubResult<i64> {
            Ok(conn.query_row("SELECT count(*) FROM devices", [], |r| r.get(0))?)
        };
        assert_eq!(readers.read(count).unwrap(), 0);
        writer
            .execute(
                "INSERT INTO devices (device_id, public_key, role, credential_hash, enrolled_at)
                 VALUES ('d', x'00', 'volunteer', x'01', 0)",
                [],
            )
            .unwrap();
        // Every reader, not only the one that happened to be asked first.
        for _ in 0..READERS {
            assert_eq!(readers.read(count).unwrap(), 1);
        }
        let write = readers.read(|conn| Ok(conn.execute("DELETE FROM devices", [])?));
        assert!(write.is_err(), "a reader wrote: {write:?}");
        assert_eq!(readers.read(count).unwrap(), 1);
    }
}
