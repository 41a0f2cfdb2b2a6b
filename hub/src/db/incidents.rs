//! The hub's incident documents, saved whole after each accepted batch, with the
//! columns that permission checks and list screens query.

use automerge::Automerge;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::{EventKind, IncidentView};
use testigo_core::sync::protocol::Hash;

use crate::error::{HubError, HubResult};

pub struct StoredIncident {
    pub doc: Automerge,
    pub team: Option<String>,
}

pub fn load(conn: &Connection, id: &IncidentId) -> HubResult<Option<StoredIncident>> {
    let row: Option<(Vec<u8>, Option<String>)> = conn
        .query_row(
            "SELECT document, team FROM incidents WHERE incident_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((bytes, team)) = row else {
        return Ok(None);
    };
    let doc = Automerge::load(&bytes)
        .map_err(|e| HubError::internal(format!("stored incident {id} does not load: {e}")))?;
    Ok(Some(StoredIncident { doc, team }))
}

/// Saves the document and refreshes the query columns and the assignment mirror from
/// its view. `team` is used only when the incident is new.
pub fn save(
    conn: &Connection,
    id: &IncidentId,
    doc: &Automerge,
    view: &IncidentView,
    team: Option<&str>,
    now_ms: i64,
) -> HubResult<()> {
    let heads: Vec<u8> = doc.get_heads().iter().flat_map(|h| h.0).collect();
    let closed = view.events.iter().any(|e| e.kind == EventKind::Closed);
    let urgency = serde_json::to_value(view.report.urgency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    conn.execute(
        "INSERT INTO incidents (incident_id, document, heads, status, urgency, place_text, created_by, team, updated_at, caller_notified, closed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?11 THEN ?9 END)
         ON CONFLICT(incident_id) DO UPDATE SET document = excluded.document, heads = excluded.heads, status = excluded.status,
             urgency = excluded.urgency, place_text = excluded.place_text, updated_at = excluded.updated_at,
             caller_notified = excluded.caller_notified,
             closed_at = CASE WHEN ?11 THEN coalesce(incidents.closed_at, ?9) END",
        params![
            id.as_str(),
            doc.save(),
            heads,
            view.status.status.as_str(),
            urgency,
            view.report.place_text,
            view.created_by.as_str(),
            team,
            now_ms,
            view.status.caller_notified,
            closed,
        ],
    )?;
    conn.execute(
        "DELETE FROM assignments WHERE incident_id = ?1",
        [id.as_str()],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO assignments (incident_id, device_id, active) VALUES (?1, ?2, ?3)",
    )?;
    for a in &view.assignments {
        insert.execute(params![id.as_str(), a.assignee.as_str(), a.active])?;
    }
    Ok(())
}

/// The team the incident is dispatched to; `None` also when there is no such incident.
pub fn team(conn: &Connection, id: &IncidentId) -> HubResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT team FROM incidents WHERE incident_id = ?1",
            [id.as_str()],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// Hub time when the hub first saw the incident closed.
pub fn closed_at(conn: &Connection, id: &IncidentId) -> HubResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT closed_at FROM incidents WHERE incident_id = ?1")?
        .query_row([id.as_str()], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

pub fn set_team(conn: &Connection, id: &IncidentId, team: Option<&str>) -> HubResult<()> {
    conn.execute(
        "UPDATE incidents SET team = ?2 WHERE incident_id = ?1",
        params![id.as_str(), team],
    )?;
    Ok(())
}

fn decode_heads(blob: &[u8]) -> Vec<Hash> {
    blob.chunks_exact(32)
        .filter_map(|c| c.try_into().ok())
        .collect()
}

pub fn heads(conn: &Connection, id: &IncidentId) -> HubResult<Vec<Hash>> {
    let blob: Option<Vec<u8>> = conn
        .query_row(
            "SELECT heads FROM incidents WHERE incident_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(blob.map(|b| decode_heads(&b)).unwrap_or_default())
}

/// The saved document and its heads, as sent to a device receiving it whole.
pub fn saved(conn: &Connection, id: &IncidentId) -> HubResult<Option<(Vec<u8>, Vec<Hash>)>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .query_row(
            "SELECT document, heads FROM incidents WHERE incident_id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(doc, heads)| (doc, decode_heads(&heads))))
}

/// One line of the dispatcher's list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentRow {
    pub id: IncidentId,
    pub status: String,
    pub urgency: String,
    pub place_text: String,
    pub created_by: DeviceId,
    pub team: Option<String>,
    pub updated_at_ms: i64,
    pub caller_notified: bool,
    pub closed_at_ms: Option<i64>,
}

/// Every incident, most recently updated first.
pub fn list(conn: &Connection) -> HubResult<Vec<IncidentRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident_id, status, urgency, place_text, created_by, team, updated_at, caller_notified, closed_at
         FROM incidents ORDER BY updated_at DESC, incident_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, bool>(7)?,
            r.get::<_, Option<i64>>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            status,
            urgency,
            place_text,
            created_by,
            team,
            updated_at_ms,
            caller_notified,
            closed_at_ms,
        ) = row?;
        let (Ok(id), Ok(created_by)) = (IncidentId::parse(&id), DeviceId::parse(&created_by))
        else {
            continue;
        };
        out.push(IncidentRow {
            id,
            status,
            urgency,
            place_text,
            created_by,
            team,
            updated_at_ms,
            caller_notified,
            closed_at_ms,
        });
    }
    Ok(out)
}
