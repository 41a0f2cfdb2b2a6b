//! Persisting automerge documents as a snapshot plus incremental chunks.
//!
//! Each user action appends only the bytes of its own change (`save_after` the heads
//! before it), so a write costs the size of the change, not of the document. When the
//! chunks outgrow the snapshot they are folded into a new snapshot, on the store's
//! compaction thread ([`super::compaction`]), never inside the action.
//!
//! Every snapshot written gets a fresh random `generation`, so a fold can tell that the
//! snapshot it read is still the one stored (not replaced, not removed and received
//! again) before it writes its own.

use automerge::{Automerge, ChangeHash};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ids::IncidentId;

/// An incident's document as stored: its snapshot with every chunk saved after it,
/// read together.
pub struct Stored {
    pub doc: Automerge,
    /// The snapshot's generation.
    pub generation: i64,
    /// The `seq` of the newest chunk (0 without chunks).
    pub newest_seq: i64,
    pub chunks: usize,
    /// The chunks' bytes together.
    pub chunk_bytes: i64,
}

/// Loads a document from its snapshot and chunks; `None` if this device does not hold it.
pub fn load(conn: &Connection, id: &IncidentId) -> Result<Option<Automerge>> {
    Ok(load_stored(conn, id)?.map(|stored| stored.doc))
}

/// [`load`], telling what was read (the compaction thread folds exactly that).
///
/// One statement reads snapshot and chunks, so they come from one state of the
/// database: read in two, a fold committed in between (by the compaction thread of
/// another handle on the same file) could pair the old snapshot with only the chunks
/// the fold left, and the changes in between would be missing from what the app shows.
pub fn load_stored(conn: &Connection, id: &IncidentId) -> Result<Option<Stored>> {
    let mut stmt = conn.prepare_cached(
        "SELECT 0, generation, snapshot FROM documents WHERE incident_id = ?1
         UNION ALL
         SELECT 1, seq, bytes FROM doc_chunks WHERE incident_id = ?1
         ORDER BY 1, 2",
    )?;
    let mut rows = stmt.query([id.as_str()])?;
    let (generation, mut bytes) = match rows.next()? {
        Some(row) if row.get::<_, i64>(0)? == 0 => (row.get(1)?, row.get::<_, Vec<u8>>(2)?),
        _ => return Ok(None),
    };
    let (mut newest_seq, mut chunks, mut chunk_bytes) = (0, 0, 0);
    while let Some(row) = rows.next()? {
        newest_seq = row.get(1)?;
        let chunk = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
        chunks += 1;
        chunk_bytes += chunk.len() as i64;
        bytes.extend_from_slice(chunk);
    }
    let doc = crate::incident::untrusted::load(&bytes)
        .map_err(|e| Error::corrupt(format!("stored incident {id}"), e.to_string()))?;
    Ok(Some(Stored {
        doc,
        generation,
        newest_seq,
        chunks,
        chunk_bytes,
    }))
}

/// Stores a whole document (first time seen, or replacing after compaction).
pub fn put_snapshot(conn: &Connection, id: &IncidentId, doc: &Automerge) -> Result<()> {
    let snapshot = doc.save();
    conn.execute(
        "INSERT INTO documents (incident_id, snapshot, chunks_bytes, generation) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT(incident_id) DO UPDATE
         SET snapshot = excluded.snapshot, chunks_bytes = 0, generation = excluded.generation",
        params![id.as_str(), snapshot, new_generation()?],
    )?;
    conn.execute(
        "DELETE FROM doc_chunks WHERE incident_id = ?1",
        [id.as_str()],
    )?;
    Ok(())
}

/// Appends the changes made since `before` to the stored document. Returns whether the
/// chunks have now grown larger than the snapshot, so a fold is due.
pub fn append_changes(
    conn: &Connection,
    id: &IncidentId,
    doc: &Automerge,
    before: &[ChangeHash],
) -> Result<bool> {
    let chunk = doc.save_after(before);
    if chunk.is_empty() {
        return Ok(false);
    }
    let (snapshot_len, chunks_bytes): (i64, i64) = conn
        .query_row(
            "SELECT length(snapshot), chunks_bytes FROM documents WHERE incident_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| Error::not_found(format!("incident {id}")))?;
    let chunks_bytes = chunks_bytes + chunk.len() as i64;
    conn.execute(
        "INSERT INTO doc_chunks (incident_id, seq, bytes)
         VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM doc_chunks WHERE incident_id = ?1), ?2)",
        params![id.as_str(), chunk],
    )?;
    conn.execute(
        "UPDATE documents SET chunks_bytes = ?2 WHERE incident_id = ?1",
        params![id.as_str(), chunks_bytes],
    )?;
    Ok(chunks_bytes > snapshot_len)
}

pub(super) const DUE_FOR_FOLD: &str =
    "SELECT incident_id FROM documents WHERE chunks_bytes > length(snapshot) ORDER BY incident_id";

/// Incidents whose chunks outgrew their snapshot (a fold was due when the app last
/// stopped). Read from the partial index `documents_due_for_fold`, whose condition
/// this query repeats word for word so that SQLite uses it.
pub fn due_for_fold(conn: &Connection) -> Result<Vec<IncidentId>> {
    let mut stmt = conn.prepare(DUE_FOR_FOLD)?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|id| IncidentId::parse(id)).collect()
}

/// A snapshot's generation: random, so one never comes back after its row was removed
/// and written again.
pub fn new_generation() -> Result<i64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Storage(format!("no randomness from the system: {e}")))?;
    Ok(i64::from_le_bytes(bytes))
}

pub fn exists(conn: &Connection, id: &IncidentId) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM documents WHERE incident_id = ?1",
            [id.as_str()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub fn delete(conn: &Connection, id: &IncidentId) -> Result<()> {
    conn.execute(
        "DELETE FROM documents WHERE incident_id = ?1",
        [id.as_str()],
    )?;
    Ok(())
}

/// Bytes stored for all documents (snapshots + chunks), for storage figures.
pub fn stored_bytes(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce((SELECT sum(length(snapshot)) FROM documents), 0) + coalesce((SELECT sum(length(bytes)) FROM doc_chunks), 0)",
        [],
        |r| r.get(0),
    )?)
}
