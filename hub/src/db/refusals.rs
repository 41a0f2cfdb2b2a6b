//! What the hub refused each device, and why. The device keeps refused changes in
//! quarantine and retries those that may succeed later; this log lets a coordinator
//! see on the hub what a volunteer's phone is holding back. Rows are only inserted.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use testigo_core::ids::DeviceId;
use testigo_core::sync::protocol::Rejection;

use crate::error::HubResult;

/// Records the refusals of one sync round.
pub fn record(
    conn: &Connection,
    device: &DeviceId,
    rejected: &[Rejection],
    at_ms: i64,
) -> HubResult<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO refusals (device_id, incident_id, change_hash, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for r in rejected {
        insert.execute(params![
            device.as_str(),
            r.incident.as_str(),
            r.change_hash.map(|h| h.to_vec()),
            r.reason,
            at_ms
        ])?;
    }
    Ok(())
}

/// One refusal as a coordinator reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub incident_id: String,
    /// Hex automerge change hash; `None` for bytes that were not a change, or an
    /// incident the hub could not take at that moment.
    pub change_hash: Option<String>,
    pub reason: String,
    pub at_ms: i64,
}

/// A device's refusals, newest first.
pub fn for_device(conn: &Connection, device: &DeviceId, limit: u32) -> HubResult<Vec<Refusal>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident_id, change_hash, reason, at FROM refusals WHERE device_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![device.as_str(), limit], |r| {
        Ok(Refusal {
            incident_id: r.get(0)?,
            change_hash: r.get::<_, Option<Vec<u8>>>(1)?.map(hex::encode),
            reason: r.get(2)?,
            at_ms: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
