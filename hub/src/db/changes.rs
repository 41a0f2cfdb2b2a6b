//! The global change log. Every change the hub stores gets the next number of one
//! counter; a device's cursor is a number of that counter, so "what is new for you"
//! is one indexed range query, however many incidents the device holds.
//!
//! Delivery stamps (see `delivered`) take numbers from the same counter, so a cursor
//! also says which deliveries a device has received.

use automerge::Change;
use rusqlite::{params, Connection, OptionalExtension};
use testigo_core::ids::{DeviceId, IncidentId};

use crate::error::HubResult;

pub fn current_seq(conn: &Connection) -> HubResult<u64> {
    let value: Option<i64> = conn
        .query_row("SELECT value FROM hub_meta WHERE key = 'seq'", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(value.unwrap_or(0).max(0) as u64)
}

pub fn next_seq(conn: &Connection) -> HubResult<u64> {
    let value: i64 = conn.query_row(
        "INSERT INTO hub_meta (key, value) VALUES ('seq', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value",
        [],
        |r| r.get(0),
    )?;
    Ok(value.max(0) as u64)
}

/// Appends a change unless the log already has it for this incident (a retried
/// upload). Returns whether it was new.
pub fn append(
    conn: &Connection,
    incident: &IncidentId,
    change: &Change,
    from: &DeviceId,
    signature: Option<&[u8]>,
    at_ms: i64,
) -> HubResult<bool> {
    let hash = change.hash();
    let known = conn
        .query_row(
            "SELECT 1 FROM changes WHERE incident_id = ?1 AND hash = ?2",
            params![incident.as_str(), &hash.0[..]],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known {
        return Ok(false);
    }
    let seq = next_seq(conn)?;
    conn.execute(
        "INSERT INTO changes (seq, incident_id, hash, bytes, from_device, signature, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq as i64, incident.as_str(), &hash.0[..], change.raw_bytes(), from.as_str(), signature, at_ms],
    )?;
    Ok(true)
}

pub struct LoggedChange {
    pub seq: u64,
    pub incident: IncidentId,
    pub bytes: Vec<u8>,
}

/// Changes after `cursor` to incidents `device` holds, not made by `device`, in log
/// order, until `visit` returns `false`.
pub fn for_device(
    conn: &Connection,
    device: &DeviceId,
    cursor: u64,
    mut visit: impl FnMut(LoggedChange) -> bool,
) -> HubResult<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.seq, c.incident_id, c.bytes FROM changes c
         JOIN delivered d ON d.incident_id = c.incident_id AND d.device_id = ?1 AND d.removed_seq IS NULL
         WHERE c.seq > ?2 AND c.from_device != ?1
         ORDER BY c.seq",
    )?;
    let mut rows = stmt.query(params![device.as_str(), cursor.min(i64::MAX as u64) as i64])?;
    while let Some(row) = rows.next()? {
        let Ok(incident) = IncidentId::parse(&row.get::<_, String>(1)?) else {
            continue;
        };
        let change = LoggedChange {
            seq: row.get::<_, i64>(0)?.max(0) as u64,
            incident,
            bytes: row.get(2)?,
        };
        if !visit(change) {
            break;
        }
    }
    Ok(())
}

/// How many changes the log holds for an incident (tests and figures).
pub fn count(conn: &Connection, incident: &IncidentId) -> HubResult<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM changes WHERE incident_id = ?1",
        [incident.as_str()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Each incident whose log grew after `seq`, with the devices whose changes those
/// were: what a commit tells the wake channel.
pub fn changed_since(conn: &Connection, seq: u64) -> HubResult<Vec<(IncidentId, DeviceId)>> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT incident_id, from_device FROM changes WHERE seq > ?1")?;
    let rows = stmt
        .query_map([seq.min(i64::MAX as u64) as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(i, d)| Some((IncidentId::parse(&i).ok()?, DeviceId::parse(&d).ok()?)))
        .collect())
}

/// The incidents with a change logged after `seq`: what one request changed.
pub fn incidents_since(conn: &Connection, seq: u64) -> HubResult<Vec<IncidentId>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT incident_id FROM changes WHERE seq > ?1")?;
    let rows = stmt.query_map([seq.min(i64::MAX as u64) as i64], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        if let Ok(id) = IncidentId::parse(&row?) {
            out.push(id);
        }
    }
    Ok(out)
}
