//! The audit log: who (device, role) read or changed which incident, when, and
//! through which endpoint. Caller-contact reads are logged like everything else.
//! Rows are only ever inserted.

use rusqlite::{params, Connection};
use serde::Serialize;
use testigo_core::ids::IncidentId;

use crate::db::devices::Device;
use crate::error::HubResult;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Change,
    /// A change the device recorded while it could see the incident, received after
    /// it no longer could (moved to another team, closed past retention, archived).
    OfflineChange,
    ReadCaller,
    Export,
    Archive,
    Revoke,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Change => "change",
            Action::OfflineChange => "offline_change",
            Action::ReadCaller => "read_caller",
            Action::Export => "export",
            Action::Archive => "archive",
            Action::Revoke => "revoke",
        }
    }
}

pub fn record(
    conn: &Connection,
    who: &Device,
    incident: Option<&IncidentId>,
    endpoint: &str,
    action: Action,
    at_ms: i64,
) -> HubResult<()> {
    conn.prepare_cached("INSERT INTO audit (at, device_id, role, incident_id, endpoint, action) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![at_ms, who.device_id.as_str(), who.role.as_str(), incident.map(IncidentId::as_str), endpoint, action.as_str()])?;
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub at_ms: i64,
    pub device_id: String,
    pub role: String,
    pub incident_id: Option<String>,
    pub endpoint: String,
    pub action: String,
}

/// The newest entries first, optionally for one incident.
pub fn entries(
    conn: &Connection,
    incident: Option<&IncidentId>,
    limit: u32,
) -> HubResult<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, device_id, role, incident_id, endpoint, action FROM audit
         WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![incident.map(IncidentId::as_str), limit], |r| {
        Ok(Entry {
            at_ms: r.get(0)?,
            device_id: r.get(1)?,
            role: r.get(2)?,
            incident_id: r.get(3)?,
            endpoint: r.get(4)?,
            action: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
