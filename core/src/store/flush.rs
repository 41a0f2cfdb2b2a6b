//! Making committed actions safe from a power cut, away from the actions.
//!
//! The store's connection commits with `synchronous=NORMAL`: a commit writes its pages
//! to the write-ahead log and returns. From that moment the action survives the app
//! being killed (an OOM kill, a crash, a force stop): the log's pages are in the
//! operating system's hands, and SQLite replays them on the next open. What a commit
//! no longer waits for is the disk's flush (`fsync`), which on phone storage costs
//! milliseconds at the tail and would be most of a capture's time.
//!
//! A power cut or a kernel crash can lose what the disk had not flushed, so the store
//! flushes right behind the actions instead: after each commit SQLite calls the store's
//! log hook, which asks the background thread ([`super::compaction`]) for a flush;
//! the thread runs a passive checkpoint on its own connection, which flushes the log
//! to disk, copies it into the database file and flushes that too. An action is then
//! safe from a power cut one background flush after it returned — milliseconds —
//! rather than before it returned. Commits that land during a flush are taken by the
//! next one; a passive checkpoint never blocks the store's writes.
//!
//! The hook replaces SQLite's own automatic checkpoint, which would otherwise run
//! inside whichever commit crossed 1,000 log pages (several milliseconds, with two
//! flushes). Should the thread fall far behind — or be gone — the hook checkpoints
//! inline once the log holds [`INLINE_CHECKPOINT_PAGES`], so the log stays bounded.

use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;

use crate::error::Result;

/// Log pages past which a commit checkpoints inline: about 16 MiB, four times SQLite's
/// own threshold, reached only if the background thread is not keeping up.
pub const INLINE_CHECKPOINT_PAGES: i32 = 4_000;

/// Installs the log hook on the store's connection: `ask_for_flush` runs after every
/// commit, once its pages are in the log. It must not block.
pub fn after_each_commit(
    conn: &mut Connection,
    mut ask_for_flush: impl FnMut() + Send + 'static,
) -> Result<()> {
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
        ask_for_flush();
        // Never an error from here: the commit has happened, and an error would make
        // the action that committed report a failure. A checkpoint that cannot run now
        // (the background thread is in one) is simply left to that one.
        if pages >= INLINE_CHECKPOINT_PAGES {
            if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                tracing::debug!(error = %e, pages, "inline checkpoint skipped");
            }
        }
        Ok(())
    }))?;
    Ok(())
}

/// Flushes the commits made so far to disk (see the module), on the background
/// thread's connection. Returns whether all of them are now in the database file; not
/// when a reader still needed older pages (another handle on the same file mid-read),
/// and then the log may not have been flushed either: the caller tries again shortly.
pub fn checkpoint(conn: &Connection) -> Result<bool> {
    let (log, copied): (i64, i64) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })?;
    Ok(copied >= log)
}
