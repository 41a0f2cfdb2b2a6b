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

/// Reasons a refusal depends on context (what the device may see, what the hub
/// holds), so the same change may be taken later: it is offered again at every sync,
/// with the quarantined changes built on it, until it is taken or refused for a
/// reason that will not change.
pub(crate) fn may_succeed_later(reason: &str) -> bool {
    const CONTEXTUAL: &[&str] = &["no such incident for this device", "missing dependency"];
    CONTEXTUAL.iter().any(|prefix| reason.starts_with(prefix))
}

/// Incidents this device holds with quarantined changes worth offering again.
pub(crate) fn incidents_to_retry(store: &Store) -> Result<Vec<IncidentId>> {
    store.with_connection(|conn| {
        let mut stmt = conn.prepare(
            "SELECT DISTINCT q.incident_id, q.reason FROM quarantine q JOIN documents d ON d.incident_id = q.incident_id ORDER BY q.incident_id",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut ids: Vec<IncidentId> = rows
            .into_iter()
            .filter(|(_, reason)| may_succeed_later(reason))
            .filter_map(|(id, _)| IncidentId::parse(&id).ok())
            .collect();
        ids.dedup();
        Ok(ids)
    })
}

/// The quarantined changes of an incident whose refusal may not hold now, as
/// (hash, bytes), in causal order among themselves.
pub(crate) fn retryable(conn: &Connection, id: &IncidentId) -> Result<Vec<(ChangeHash, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT change_hash, bytes, reason FROM quarantine WHERE incident_id = ?1 ORDER BY at, change_hash",
    )?;
    let rows = stmt
        .query_map([id.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let quarantined: Vec<(automerge::Change, bool)> = rows
        .into_iter()
        .filter_map(|(_, bytes, reason)| {
            let change = crate::incident::untrusted::parse_change(bytes).ok()?;
            Some((change, may_succeed_later(&reason)))
        })
        .collect();
    // Those refused for context, and every quarantined change built on one of them.
    let mut chosen: std::collections::HashSet<ChangeHash> = quarantined
        .iter()
        .filter(|(_, contextual)| *contextual)
        .map(|(c, _)| c.hash())
        .collect();
    loop {
        let before = chosen.len();
        for (change, _) in &quarantined {
            if change.deps().iter().any(|d| chosen.contains(d)) {
                chosen.insert(change.hash());
            }
        }
        if chosen.len() == before {
            break;
        }
    }
    let mut pending: Vec<automerge::Change> = quarantined
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| chosen.contains(&c.hash()))
        .collect();
    // Causal order: a change goes out after every pending change it depends on.
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let waiting: std::collections::HashSet<ChangeHash> =
            pending.iter().map(automerge::Change::hash).collect();
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|c| c.deps().iter().all(|d| !waiting.contains(d)));
        if ready.is_empty() {
            break;
        }
        ordered.extend(ready);
        pending = rest;
    }
    Ok(ordered
        .into_iter()
        .map(|c| (c.hash(), c.raw_bytes().to_vec()))
        .collect())
}

/// A retried change the hub took: it leaves quarantine.
pub(crate) fn release(conn: &Connection, hash: &ChangeHash) -> Result<()> {
    conn.execute(
        "DELETE FROM quarantine WHERE change_hash = ?1",
        [hash.to_string()],
    )?;
    Ok(())
}
