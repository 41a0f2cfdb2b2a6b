//! The hub-private caller table. Only the dispatcher API reads it; no document,
//! change or sync response is ever built from it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use testigo_core::ids::IncidentId;

use crate::error::HubResult;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallerContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub notified_at_ms: Option<i64>,
}

pub fn put(
    conn: &Connection,
    incident: &IncidentId,
    name: Option<&str>,
    phone: Option<&str>,
) -> HubResult<()> {
    conn.execute(
        "INSERT INTO caller_contacts (incident_id, name, phone, notified_at) VALUES (?1, ?2, ?3, NULL)
         ON CONFLICT(incident_id) DO UPDATE SET name = excluded.name, phone = excluded.phone",
        params![incident.as_str(), name, phone],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, incident: &IncidentId) -> HubResult<Option<CallerContact>> {
    Ok(conn
        .query_row(
            "SELECT name, phone, notified_at FROM caller_contacts WHERE incident_id = ?1",
            [incident.as_str()],
            |r| {
                Ok(CallerContact {
                    name: r.get(0)?,
                    phone: r.get(1)?,
                    notified_at_ms: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub fn mark_notified(conn: &Connection, incident: &IncidentId, at_ms: i64) -> HubResult<()> {
    conn.execute("UPDATE caller_contacts SET notified_at = ?2 WHERE incident_id = ?1 AND notified_at IS NULL", params![incident.as_str(), at_ms])?;
    Ok(())
}
