//! Which incidents each device holds, as far as the hub can know.
//!
//! A response that delivers or removes incidents is stamped with a fresh number of
//! the change-log counter and that stamp is its cursor. The rows it writes count only
//! once the device comes back with a cursor at least that stamp, i.e. after it stored
//! the whole response; if the response was cut, the device comes back with its old
//! cursor and the rows are undone, so the next response carries them again.

use std::collections::BTreeSet;

use rusqlite::{params, Connection};
use testigo_core::ids::{DeviceId, IncidentId};

use crate::error::HubResult;

fn seq(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// Settles the rows of earlier responses against the cursor the device sent.
pub fn reconcile(conn: &Connection, device: &DeviceId, cursor: u64) -> HubResult<()> {
    let (d, c) = (device.as_str(), seq(cursor));
    // Deliveries the device never received.
    conn.execute(
        "DELETE FROM delivered WHERE device_id = ?1 AND since_seq > ?2",
        params![d, c],
    )?;
    // Removals it did receive.
    conn.execute("DELETE FROM delivered WHERE device_id = ?1 AND removed_seq IS NOT NULL AND removed_seq <= ?2", params![d, c])?;
    // Removals it did not: it still holds them; decided afresh below.
    conn.execute(
        "UPDATE delivered SET removed_seq = NULL WHERE device_id = ?1 AND removed_seq > ?2",
        params![d, c],
    )?;
    Ok(())
}

/// Incidents the device holds (delivered and not being removed).
pub fn held(conn: &Connection, device: &DeviceId) -> HubResult<BTreeSet<IncidentId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident_id FROM delivered WHERE device_id = ?1 AND removed_seq IS NULL",
    )?;
    let ids = stmt
        .query_map([device.as_str()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids
        .iter()
        .filter_map(|s| IncidentId::parse(s).ok())
        .collect())
}

pub fn deliver(
    conn: &Connection,
    device: &DeviceId,
    incident: &IncidentId,
    stamp: u64,
) -> HubResult<()> {
    conn.execute(
        "INSERT INTO delivered (device_id, incident_id, since_seq, removed_seq) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT(device_id, incident_id) DO UPDATE SET since_seq = excluded.since_seq, removed_seq = NULL",
        params![device.as_str(), incident.as_str(), seq(stamp)],
    )?;
    note_ever_held(conn, device, incident)
}

/// Remembers that `device` was given `incident` while it could see it.
fn note_ever_held(conn: &Connection, device: &DeviceId, incident: &IncidentId) -> HubResult<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO ever_held (device_id, incident_id) VALUES (?1, ?2)",
    )?
    .execute(params![device.as_str(), incident.as_str()])?;
    Ok(())
}

/// Whether `device` was ever given `incident` (see [`note_ever_held`]): what it
/// recorded there while offline may still reach the hub.
pub fn ever_held(conn: &Connection, device: &DeviceId, incident: &IncidentId) -> HubResult<bool> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM ever_held WHERE device_id = ?1 AND incident_id = ?2")?
        .query_row(params![device.as_str(), incident.as_str()], |r| {
            r.get::<_, i64>(0)
        })?
        > 0)
}

/// The device evidently holds an incident it just uploaded changes to (it created it
/// in the field, or already had it): no need to send it the whole document.
pub fn note_held(conn: &Connection, device: &DeviceId, incident: &IncidentId) -> HubResult<()> {
    conn.execute(
        "INSERT INTO delivered (device_id, incident_id, since_seq, removed_seq) VALUES (?1, ?2, 0, NULL) ON CONFLICT DO NOTHING",
        params![device.as_str(), incident.as_str()],
    )?;
    note_ever_held(conn, device, incident)
}

pub fn remove(
    conn: &Connection,
    device: &DeviceId,
    incident: &IncidentId,
    stamp: u64,
) -> HubResult<()> {
    conn.execute(
        "UPDATE delivered SET removed_seq = ?3 WHERE device_id = ?1 AND incident_id = ?2",
        params![device.as_str(), incident.as_str(), seq(stamp)],
    )?;
    Ok(())
}
