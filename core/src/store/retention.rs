//! Closed incidents leave the phone after a retention window, but never before the hub
//! holds everything this device wrote about them. The window and the closing time
//! are the hub's: the window comes with every sync response, and it counts from the
//! time the hub saw the incident closed, not from the closer's device clock.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};

use crate::error::Result;
use crate::ids::IncidentId;

/// How long a closed incident stays on a device that has not heard the hub's window.
pub const DEFAULT_WINDOW: Duration = Duration::hours(72);

/// Incidents the hub closed before `hub_now - window` with nothing left to upload.
/// `hub_now` is the device's clock corrected by the offset measured at the last sync.
pub fn expired(
    conn: &Connection,
    hub_now: DateTime<Utc>,
    window: Duration,
) -> Result<Vec<IncidentId>> {
    let cutoff = (hub_now - window).timestamp_millis();
    let mut stmt = conn.prepare(
        "SELECT i.incident_id FROM incident_index i JOIN hub_closings h ON h.incident_id = i.incident_id
         WHERE h.closed_at <= ?1 AND i.has_unsynced = 0",
    )?;
    let ids = stmt
        .query_map([cutoff], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok())
        .filter_map(|s| IncidentId::parse(&s).ok())
        .collect();
    Ok(ids)
}

/// Records the hub's closing time of an incident this device holds.
pub fn note_hub_closing(conn: &Connection, id: &IncidentId, at_ms: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO hub_closings (incident_id, closed_at) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM documents WHERE incident_id = ?1)
         ON CONFLICT(incident_id) DO UPDATE SET closed_at = excluded.closed_at",
        params![id.as_str(), at_ms],
    )?;
    Ok(())
}

/// Quarantined changes leave with their incident: those of incidents retention just
/// removed, and those of incidents no longer on the phone that were quarantined
/// before `before` (device time, like their `at`). Refused work is kept for review,
/// not for longer than the incident itself would be.
pub fn forget_quarantine(
    conn: &Connection,
    removed: &[IncidentId],
    before: DateTime<Utc>,
) -> Result<()> {
    let mut by_incident = conn.prepare_cached("DELETE FROM quarantine WHERE incident_id = ?1")?;
    for id in removed {
        by_incident.execute([id.as_str()])?;
    }
    conn.execute(
        "DELETE FROM quarantine WHERE at <= ?1 AND incident_id NOT IN (SELECT incident_id FROM documents)",
        [before.timestamp_millis()],
    )?;
    Ok(())
}
