//! Closed incidents leave the phone after a retention window, but never before the hub
//! holds everything this device wrote about them.

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;

use crate::error::Result;
use crate::ids::IncidentId;

/// How long a closed incident stays on a device unless the hub says otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::hours(72);

/// Incidents closed before `now - window` with nothing left to upload.
pub fn expired(conn: &Connection, now: DateTime<Utc>, window: Duration) -> Result<Vec<IncidentId>> {
    let cutoff = (now - window).timestamp_millis();
    let mut stmt = conn.prepare("SELECT incident_id FROM incident_index WHERE closed_at IS NOT NULL AND closed_at <= ?1 AND has_unsynced = 0")?;
    let ids = stmt
        .query_map([cutoff], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok())
        .filter_map(|s| IncidentId::parse(&s).ok())
        .collect();
    Ok(ids)
}
