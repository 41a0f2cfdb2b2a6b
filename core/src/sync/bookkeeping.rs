//! What the device remembers between syncs, in its encrypted store: the cursor of the
//! last response it processed, the heads the hub is known to hold per incident, the
//! changes the hub refused (quarantine), and incidents waiting to be removed.

use automerge::ChangeHash;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::ids::IncidentId;
use crate::store::Store;

const CURSOR_KEY: &str = "sync_cursor";

pub(crate) fn cursor(store: &Store) -> Result<u64> {
    Ok(store
        .setting(CURSOR_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn set_cursor(store: &Store, cursor: u64) -> Result<()> {
    store.set_setting(CURSOR_KEY, &cursor.to_string())
}

/// Heads the hub holds for the incident; empty when the hub has never acknowledged it.
pub(crate) fn hub_heads(conn: &Connection, id: &IncidentId) -> Result<Option<Vec<ChangeHash>>> {
    let blob: Option<Vec<u8>> = conn
        .query_row(
            "SELECT hub_heads FROM sync_state WHERE incident_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(blob.map(|b| {
        b.chunks_exact(32)
            .map(|c| ChangeHash(c.try_into().expect("chunks_exact(32) yields 32 bytes")))
            .collect()
    }))
}

/// Records the hub's heads for an incident this device holds (no row for one it
/// does not: the row belongs to the document and goes with it).
pub(crate) fn set_hub_heads(
    conn: &Connection,
    id: &IncidentId,
    heads: &[ChangeHash],
) -> Result<()> {
    let blob: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
    conn.execute(
        "INSERT INTO sync_state (incident_id, hub_heads) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM documents WHERE incident_id = ?1)
         ON CONFLICT(incident_id) DO UPDATE SET hub_heads = excluded.hub_heads",
        params![id.as_str(), blob],
    )?;
    Ok(())
}

pub(crate) fn quarantine(
    conn: &Connection,
    id: &IncidentId,
    hash: &ChangeHash,
    bytes: &[u8],
    reason: &str,
    at_ms: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO quarantine (change_hash, incident_id, bytes, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(change_hash) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        params![hash.to_string(), id.as_str(), bytes, reason, at_ms],
    )?;
    Ok(())
}

/// A change the hub refused, kept on the device for review.
#[derive(Clone, Debug, PartialEq)]
pub struct QuarantinedChange {
    pub incident: IncidentId,
    /// Hex automerge change hash.
    pub change_hash: String,
    pub reason: String,
    pub bytes: Vec<u8>,
    pub at_ms: i64,
}

/// Every quarantined change, oldest first.
pub fn quarantined(store: &Store) -> Result<Vec<QuarantinedChange>> {
    store.with_connection(|conn| {
        let mut stmt = conn.prepare("SELECT incident_id, change_hash, reason, bytes, at FROM quarantine ORDER BY at, change_hash")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (incident, change_hash, reason, bytes, at_ms) = row?;
            if let Ok(incident) = IncidentId::parse(&incident) {
                out.push(QuarantinedChange { incident, change_hash, reason, bytes, at_ms });
            }
        }
        Ok(out)
    })
}

pub(crate) fn add_pending_removal(store: &Store, id: &IncidentId, at_ms: i64) -> Result<()> {
    store.with_connection(|conn| {
        conn.execute("INSERT INTO sync_removals (incident_id, at) VALUES (?1, ?2) ON CONFLICT(incident_id) DO NOTHING", params![id.as_str(), at_ms])?;
        Ok(())
    })
}

pub(crate) fn pending_removals(store: &Store) -> Result<Vec<IncidentId>> {
    store.with_connection(|conn| {
        let mut stmt =
            conn.prepare("SELECT incident_id FROM sync_removals ORDER BY incident_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids
            .iter()
            .filter_map(|s| IncidentId::parse(s).ok())
            .collect())
    })
}

pub(crate) fn clear_pending_removal(store: &Store, id: &IncidentId) -> Result<()> {
    store.with_connection(|conn| {
        conn.execute(
            "DELETE FROM sync_removals WHERE incident_id = ?1",
            [id.as_str()],
        )?;
        Ok(())
    })
}
