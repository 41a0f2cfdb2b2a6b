//! The store's background thread: folding an incident's saved changes into a new
//! snapshot, and flushing commits to disk ([`super::flush`]), away from the actions.
//!
//! Each action appends only the bytes of its own change ([`documents::append_changes`]).
//! Once those outgrow the snapshot, loading the incident gets slower, so they are
//! folded into a fresh snapshot — a full `save()` of the document, milliseconds on a
//! long incident. Folding inside the action that crossed the line set a capture's tail
//! latency; instead that action asks the [`Compactor`], whose thread folds while the
//! volunteer goes on recording:
//!
//! 1. one read on the thread's own connection (a reader: WAL lets it run beside the
//!    store's writes) takes the snapshot, its generation and every chunk saved so far
//!    ([`documents::load_stored`], the same read every load uses);
//! 2. the document they make is saved, with no lock held;
//! 3. one write transaction on the store's own connection, under the store's lock,
//!    replaces the snapshot — only if its generation is still the one read (no action
//!    replaced or removed it meanwhile) — and deletes exactly the chunks folded; chunks
//!    appended meanwhile stay, after the new snapshot.
//!
//! The store keeps a single writer: a second connection writing would make an action
//! meet SQLite's busy wait, whose back-off sleeps up to tens of milliseconds (S7's tail
//! was 11 ms at p99, 0.2 s at worst, that way). Folding moves no durability: an action
//! is saved once its chunk commits, and a kill during a fold leaves either the old
//! snapshot with every chunk or the new snapshot with the chunks it does not hold.
//!
//! Flushes come before folds: a flush asked for while folds are due runs before the
//! next of them, so a long fold delays the flush of a commit by one fold at most.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, Connection};

use super::documents::{self, Stored};
use super::{connection, flush, StorageFault};
use crate::error::{Error, Result};
use crate::ids::IncidentId;

/// Where a fold writes: the store's own connection, under the store's lock. The
/// compactor holds it weakly; once the store is gone, folds are simply not written.
pub trait FoldWriter: Send + Sync {
    fn with_writer(
        &self,
        write: &mut dyn FnMut(&mut Connection) -> Result<Folded>,
    ) -> Result<Folded>;
}

/// How soon a flush a reader kept from finishing is tried again.
const FLUSH_RETRY: Duration = Duration::from_millis(20);

/// The background thread and its connection. Dropping it finishes the fold or flush in
/// progress (if any) and stops the thread, so the database files can be removed
/// afterwards.
pub struct Compactor {
    queue: Option<Sender<Work>>,
    /// Set while a flush is asked for and not yet begun, so commits in a burst ask once.
    flush_due: Arc<AtomicBool>,
    /// The thread's reading connection, once the thread has opened it.
    conn: Arc<Mutex<Option<Connection>>>,
    writer: Weak<dyn FoldWriter>,
    /// Set while a storage fault is injected ([`Compactor::inject_fault`]).
    suspended: Arc<AtomicBool>,
    /// Set when the store closes: folds not yet begun are left for the next start.
    stopping: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

/// What the thread is asked to do.
enum Work {
    Fold(IncidentId),
    Flush,
    /// The store is closing. Sent rather than left to the channel closing: the log
    /// hook on the store's connection holds a sender too, and may outlive this.
    Stop,
}

/// What one fold did.
#[derive(Debug, PartialEq, Eq)]
pub enum Folded {
    /// The snapshot now holds every chunk that was read.
    Done { chunks: usize },
    /// Nothing to fold: the incident has no chunks, or is gone.
    Nothing,
    /// An action replaced or removed the snapshot meanwhile; nothing was written.
    Stale,
}

impl Compactor {
    /// Starts the fold thread for the store at `path` (already created and upgraded).
    /// The thread opens its reading connection itself, so opening the store does not
    /// wait for a second connection; the first fold waits for it instead. Its first
    /// job is what an earlier run left due.
    ///
    /// Once its own is open, the thread opens the store's list reader too and leaves
    /// it in `list_reader` ([`super::Store::read_index`]), also off the open path.
    pub fn start(
        path: &Path,
        key: &[u8],
        writer: Weak<dyn FoldWriter>,
        list_reader: Arc<OnceLock<Mutex<Connection>>>,
    ) -> Result<Self> {
        let conn: Arc<Mutex<Option<Connection>>> = Arc::new(Mutex::new(None));
        // Returns once the thread holds the connection's lock, so nothing can find
        // the connection missing while it is being opened.
        let holding = Arc::new(std::sync::Barrier::new(2));
        let (path, mut key) = (path.to_path_buf(), key.to_vec());
        let suspended = Arc::new(AtomicBool::new(false));
        let stopping = Arc::new(AtomicBool::new(false));
        let flush_due = Arc::new(AtomicBool::new(false));
        let (queue, requests) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("testigo-compaction".into())
            .spawn({
                let conn = Arc::clone(&conn);
                let suspended = Arc::clone(&suspended);
                let stopping = Arc::clone(&stopping);
                let flush_due = Arc::clone(&flush_due);
                let writer = Weak::clone(&writer);
                let holding = Arc::clone(&holding);
                move || {
                    let mut reader = lock(&conn);
                    holding.wait();
                    let opened = open_reader(&path, &key);
                    let opened_for_lists = opened.is_ok().then(|| open_reader(&path, &key));
                    // The store's connection keeps the key; this copy goes now.
                    key.fill(0);
                    drop(key);
                    match opened_for_lists {
                        Some(Ok(conn)) => {
                            let _ = list_reader.set(Mutex::new(conn));
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "cannot open the list reader; lists read on the store's connection");
                        }
                        None => {}
                    }
                    match opened {
                        Ok(opened) => *reader = Some(opened),
                        Err(e) => {
                            tracing::warn!(error = %e, "the compaction thread cannot open the store; saved changes stay as chunks");
                            return;
                        }
                    }
                    drop(reader);
                    let thread = Thread {
                        conn: &conn,
                        writer: &writer,
                        suspended: &suspended,
                        stopping: &stopping,
                        flush_due: &flush_due,
                    };
                    thread.run(requests)
                }
            })
            .map_err(|e| Error::Storage(format!("cannot start the compaction thread: {e}")))?;
        holding.wait();
        Ok(Self {
            queue: Some(queue),
            flush_due,
            conn,
            writer,
            suspended,
            stopping,
            worker: Some(worker),
        })
    }

    /// Asks for incident `id` to be folded soon. Never waits.
    pub fn request(&self, id: IncidentId) {
        if let Some(queue) = &self.queue {
            // The thread only stops when this is dropped; if it died, the chunks
            // simply stay, and loading still reads them.
            let _ = queue.send(Work::Fold(id));
        }
    }

    /// Has every commit on `conn` (the store's connection) flushed behind it by this
    /// thread ([`flush`]).
    pub fn flush_after_each_commit(&self, conn: &mut Connection) -> Result<()> {
        let Some(queue) = self.queue.clone() else {
            return Ok(());
        };
        let due = Arc::clone(&self.flush_due);
        flush::after_each_commit(conn, move || {
            if !due.swap(true, Ordering::SeqCst) {
                // If the thread died, SQLite's inline checkpoint bounds the log, and
                // closing the store flushes it.
                let _ = queue.send(Work::Flush);
            }
        })
    }

    /// While the store's connection is made to fail ([`super::fault::inject`]), folds stop:
    /// on a really full or read-only device a fold fails too (it writes the whole new
    /// snapshot to the log before it frees anything), but the simulated full device
    /// only caps the file's pages, which a fold deleting chunks would free and so end
    /// the fault by itself. A fold in progress finishes first.
    pub fn inject_fault(&self, fault: StorageFault) {
        let _no_fold_running = lock(&self.conn);
        self.suspended
            .store(fault != StorageFault::None, Ordering::SeqCst);
    }

    /// Folds `id` now, on the caller's thread, and says what happened (tests).
    pub fn fold_now(&self, id: &IncidentId) -> Result<Folded> {
        match lock(&self.conn).as_ref() {
            Some(reader) => fold(reader, &self.writer, id),
            None => Err(Error::Storage(
                "the compaction thread could not open the store".into(),
            )),
        }
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(queue) = self.queue.take() {
            let _ = queue.send(Work::Stop);
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn lock<T>(conn: &Mutex<T>) -> MutexGuard<'_, T> {
    // A fold that panicked left nothing half-written (its transaction rolled back).
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

/// The thread's connection: it reads, and SQLite enforces that it never writes.
fn open_reader(path: &Path, key: &[u8]) -> Result<Connection> {
    let conn = connection::open_encrypted(path, key)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// What the thread works with (see [`Compactor`]).
struct Thread<'a> {
    conn: &'a Mutex<Option<Connection>>,
    writer: &'a Weak<dyn FoldWriter>,
    suspended: &'a AtomicBool,
    stopping: &'a AtomicBool,
    flush_due: &'a AtomicBool,
}

impl Thread<'_> {
    fn run(&self, requests: Receiver<Work>) {
        // The thread only runs once its connection is open, so it is always there.
        let left_due = lock(self.conn)
            .as_ref()
            .map(documents::due_for_fold)
            .transpose()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot list the incidents left due for folding");
                None
            })
            .unwrap_or_default();
        let mut due = BTreeSet::from_iter(left_due);
        // A flush a reader kept from finishing, to try again.
        let mut retry_flush = false;
        loop {
            // Requests that piled up meanwhile are done once each.
            let mut flush = retry_flush;
            let mut waiting = requests.try_iter().collect::<Vec<_>>();
            if waiting.is_empty() && !flush && due.is_empty() {
                match requests.recv() {
                    Ok(work) => waiting.push(work),
                    Err(_) => return,
                }
            }
            for work in waiting {
                match work {
                    Work::Fold(id) => {
                        due.insert(id);
                    }
                    Work::Flush => flush = true,
                    Work::Stop => return,
                }
            }
            if flush {
                retry_flush = !self.flush();
            }
            for id in std::mem::take(&mut due) {
                if self.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if self.flush_due.load(Ordering::SeqCst) {
                    retry_flush |= !self.flush();
                }
                // A suspended request is asked again by the next action on the
                // incident (it is still due), or at the next start.
                if self.suspended.load(Ordering::SeqCst) {
                    continue;
                }
                let folded = match lock(self.conn).as_ref() {
                    Some(reader) => fold(reader, self.writer, &id),
                    None => return,
                };
                if let Err(e) = folded {
                    tracing::warn!(incident = %id, error = %e, "folding saved changes failed; they stay as chunks");
                }
            }
            if retry_flush {
                std::thread::sleep(FLUSH_RETRY);
            }
        }
    }

    /// One flush; false if it must be tried again.
    fn flush(&self) -> bool {
        self.flush_due.store(false, Ordering::SeqCst);
        match lock(self.conn).as_ref().map(flush::checkpoint) {
            Some(Ok(complete)) => complete,
            Some(Err(e)) => {
                // Not tried again on a timer: a failing disk would fail each time.
                tracing::warn!(error = %e, "flushing saved actions to disk failed; the next action asks again");
                true
            }
            None => true,
        }
    }
}

/// Folds every chunk saved for `id` so far into a new snapshot (see the module):
/// reads on `reader`, writes through `writer`.
fn fold(reader: &Connection, writer: &Weak<dyn FoldWriter>, id: &IncidentId) -> Result<Folded> {
    let Some(read) = documents::load_stored(reader, id)?.filter(|stored| stored.chunks > 0) else {
        return Ok(Folded::Nothing);
    };
    let snapshot = read.doc.save();
    let Some(writer) = writer.upgrade() else {
        return Ok(Folded::Nothing);
    };
    writer.with_writer(&mut |conn| write_fold(conn, id, &read, &snapshot))
}

fn write_fold(
    conn: &mut Connection,
    id: &IncidentId,
    read: &Stored,
    snapshot: &[u8],
) -> Result<Folded> {
    let tx = conn.transaction()?;
    let replaced = tx.execute(
        "UPDATE documents
         SET snapshot = ?2, generation = ?3, chunks_bytes = max(chunks_bytes - ?4, 0)
         WHERE incident_id = ?1 AND generation = ?5",
        params![
            id.as_str(),
            snapshot,
            documents::new_generation()?,
            read.chunk_bytes,
            read.generation
        ],
    )?;
    if replaced == 0 {
        return Ok(Folded::Stale);
    }
    tx.execute(
        "DELETE FROM doc_chunks WHERE incident_id = ?1 AND seq <= ?2",
        params![id.as_str(), read.newest_seq],
    )?;
    tx.commit()?;
    Ok(Folded::Done {
        chunks: read.chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc, ROOT};

    /// The store's writer in these tests: a connection of its own.
    impl FoldWriter for Mutex<Connection> {
        fn with_writer(
            &self,
            write: &mut dyn FnMut(&mut Connection) -> Result<Folded>,
        ) -> Result<Folded> {
            write(&mut lock(self))
        }
    }

    fn test_writer(dir: &Path) -> Arc<dyn FoldWriter> {
        Arc::new(Mutex::new(store_conn(dir)))
    }

    fn store_conn(dir: &Path) -> Connection {
        let mut conn = connection::open_encrypted(&dir.join("fold.db"), &[7; 32]).unwrap();
        crate::sqlite::migrations::upgrade::<super::super::schema::DeviceSchema>(&mut conn)
            .unwrap();
        conn
    }

    /// Saves one more change to the stored document, as an action does.
    fn act(conn: &Connection, id: &IncidentId, doc: &mut AutoCommit, n: usize) {
        let before = doc.get_heads();
        doc.put(
            ROOT,
            format!("note-{n}"),
            "Agents seen at the corner".repeat(8),
        )
        .unwrap();
        documents::append_changes(conn, id, doc.document(), &before).unwrap();
    }

    fn chunk_count(conn: &Connection, id: &IncidentId) -> i64 {
        conn.query_row(
            "SELECT count(*) FROM doc_chunks WHERE incident_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn setup(dir: &Path) -> (Connection, IncidentId, AutoCommit) {
        let conn = store_conn(dir);
        let id = IncidentId::generate();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "place", "Gravois Ave").unwrap();
        documents::put_snapshot(&conn, &id, doc.document()).unwrap();
        (conn, id, doc)
    }

    /// A stored incident with five changes saved as chunks since its snapshot.
    fn with_five_changes(dir: &Path) -> (Connection, IncidentId, AutoCommit) {
        let (conn, id, mut doc) = setup(dir);
        for n in 0..5 {
            act(&conn, &id, &mut doc, n);
        }
        (conn, id, doc)
    }

    #[test]
    fn an_action_never_folds_and_says_when_a_fold_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, id, mut doc) = setup(dir.path());
        let snapshot = |conn: &Connection| -> Vec<u8> {
            conn.query_row(
                "SELECT snapshot FROM documents WHERE incident_id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .unwrap()
        };
        let first = snapshot(&conn);
        let mut due = false;
        for n in 0..20 {
            let before = doc.get_heads();
            doc.put(ROOT, format!("note-{n}"), "x".repeat(40)).unwrap();
            due |= documents::append_changes(&conn, &id, doc.document(), &before).unwrap();
        }
        assert!(due, "twenty changes outgrew a one-key snapshot");
        assert_eq!(snapshot(&conn), first, "an action rewrote the snapshot");
        assert_eq!(chunk_count(&conn, &id), 20);
        assert_eq!(documents::due_for_fold(&conn).unwrap(), vec![id.clone()]);
    }

    /// Another handle on the same file folds while this one loads: every load must see
    /// one state (a snapshot with all the chunks saved after it), never an old snapshot
    /// with only the chunks a fold left, whose changes would then lack their parents.
    #[test]
    fn a_load_beside_folds_on_another_connection_sees_one_state() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, id, mut doc) = setup(dir.path());
        let writer = Arc::new(Mutex::new(conn));
        let as_writer: Arc<dyn FoldWriter> = writer.clone();
        let folder = store_conn(dir.path());
        let stop = Arc::new(AtomicBool::new(false));
        let loader = std::thread::spawn({
            let (path, id, stop) = (dir.path().to_path_buf(), id.clone(), Arc::clone(&stop));
            move || {
                let reader = store_conn(&path);
                let (mut loads, mut seen) = (0, 0);
                while !stop.load(Ordering::SeqCst) || loads == 0 {
                    let loaded = documents::load(&reader, &id).unwrap().unwrap();
                    assert!(
                        loaded.get_missing_deps(&[]).is_empty(),
                        "load {loads} paired a snapshot with chunks of another state"
                    );
                    // Changes are only ever added: a load holding fewer than the one
                    // before it paired an old snapshot with a fold's leftovers.
                    let changes = loaded.get_changes(&[]).len();
                    assert!(
                        changes >= seen,
                        "load {loads}: {changes} changes after {seen}"
                    );
                    seen = changes;
                    loads += 1;
                }
                loads
            }
        });
        for n in 0..300 {
            act(&lock(&writer), &id, &mut doc, n);
            if n % 3 == 2 {
                fold(&folder, &Arc::downgrade(&as_writer), &id).unwrap();
            }
        }
        stop.store(true, Ordering::SeqCst);
        let loads = loader.join().expect("the loader saw a torn state");
        assert!(loads > 0);
    }

    /// The partial index holds only the due rows, so even a scan of it reads no others.
    #[test]
    fn the_incidents_due_for_a_fold_are_found_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = store_conn(dir.path());
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", documents::DUE_FOR_FOLD))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("documents_due_for_fold")),
            "{plan:?}"
        );
    }

    #[test]
    fn a_started_compactor_folds_what_an_earlier_run_left_due() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, id, mut doc) = with_five_changes(dir.path());
        assert_eq!(documents::due_for_fold(&conn).unwrap(), vec![id.clone()]);
        let writer = test_writer(dir.path());
        let compactor = Compactor::start(
            &dir.path().join("fold.db"),
            &[7; 32],
            Arc::downgrade(&writer),
            Arc::default(),
        )
        .unwrap();
        // Waits for the event (all chunks folded), never for a set time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while chunk_count(&conn, &id) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the left-due fold never happened"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        drop(compactor);
        let loaded = documents::load(&conn, &id).unwrap().unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert!(documents::due_for_fold(&conn).unwrap().is_empty());
    }

    #[test]
    fn a_fold_keeps_the_chunks_saved_while_it_ran() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, id, mut doc) = with_five_changes(dir.path());
        let read = documents::load_stored(&conn, &id).unwrap().unwrap();
        let snapshot = read.doc.save();
        // An action lands between the fold's read and its write.
        act(&conn, &id, &mut doc, 5);
        assert_eq!(
            write_fold(&mut conn, &id, &read, &snapshot).unwrap(),
            Folded::Done { chunks: 5 }
        );
        assert_eq!(
            chunk_count(&conn, &id),
            1,
            "the late change was folded away"
        );
        let loaded = documents::load(&conn, &id).unwrap().unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        let writer = test_writer(dir.path());
        let writer = Arc::downgrade(&writer);
        assert_eq!(
            fold(&conn, &writer, &id).unwrap(),
            Folded::Done { chunks: 1 }
        );
        assert_eq!(fold(&conn, &writer, &id).unwrap(), Folded::Nothing);
        assert_eq!(
            documents::load(&conn, &id).unwrap().unwrap().get_heads(),
            doc.get_heads()
        );
    }

    #[test]
    fn a_fold_over_a_snapshot_replaced_meanwhile_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, id, mut doc) = with_five_changes(dir.path());
        let read = documents::load_stored(&conn, &id).unwrap().unwrap();
        let snapshot = read.doc.save();
        // Meanwhile the incident is rebuilt (a quarantine) with one more change.
        act(&conn, &id, &mut doc, 5);
        documents::put_snapshot(&conn, &id, doc.document()).unwrap();
        assert_eq!(
            write_fold(&mut conn, &id, &read, &snapshot).unwrap(),
            Folded::Stale
        );
        let loaded = documents::load(&conn, &id).unwrap().unwrap();
        assert_eq!(
            loaded.get_heads(),
            doc.get_heads(),
            "a stale fold lost a change"
        );
        // And over a removed incident, too.
        let read = {
            act(&conn, &id, &mut doc, 6);
            documents::load_stored(&conn, &id).unwrap().unwrap()
        };
        documents::delete(&conn, &id).unwrap();
        assert_eq!(
            write_fold(&mut conn, &id, &read, &read.doc.save()).unwrap(),
            Folded::Stale
        );
        assert!(!documents::exists(&conn, &id).unwrap());
    }
}
