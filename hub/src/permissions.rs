//! Who may see and write which incident. One rule, used by sync and by the
//! dispatcher API alike:
//!
//! - dispatchers and coordinators see every incident;
//! - a team lead or volunteer sees incidents assigned to them, assigned to their
//!   team, or that they opened in the field;
//! - nobody but dispatchers and coordinators sees a closed incident once the
//!   retention window has passed (devices are told to remove it);
//! - a device may also still *write* to an incident it was once assigned or once
//!   given (`delivered::ever_held`), so that a volunteer who loses sight of it while
//!   offline on scene (unassigned, the incident moved to another team, closed past
//!   retention) loses none of their records. It receives nothing more of it.

use std::collections::BTreeSet;

use rusqlite::{named_params, Connection};
use testigo_core::ids::IncidentId;
use testigo_core::incident::Role;
use testigo_core::rules::permissions::{may, refusal, Act};

use crate::db::devices::Device;
use crate::error::{HubError, HubResult};

const VISIBLE: &str = "
    SELECT i.incident_id FROM incidents i
    WHERE (:id IS NULL OR i.incident_id = :id)
      AND (:all OR i.closed_at IS NULL OR i.closed_at > :cutoff)
      AND (:all
           OR i.created_by = :me
           OR (:team IS NOT NULL AND i.team = :team)
           OR EXISTS (SELECT 1 FROM assignments a WHERE a.incident_id = i.incident_id AND a.device_id = :me AND a.active))";

/// Whether the role sees every incident.
pub fn sees_all(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::Coordinator)
}

/// Every incident `device` may see at `now_ms`.
pub fn visible(
    conn: &Connection,
    device: &Device,
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<BTreeSet<IncidentId>> {
    query(conn, device, None, now_ms, retention_ms)
}

pub fn can_see(
    conn: &Connection,
    device: &Device,
    id: &IncidentId,
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<bool> {
    Ok(!query(conn, device, Some(id), now_ms, retention_ms)?.is_empty())
}

pub fn can_write(
    conn: &Connection,
    device: &Device,
    id: &IncidentId,
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<bool> {
    if can_see(conn, device, id, now_ms, retention_ms)? {
        return Ok(true);
    }
    let was_assigned: i64 = conn.query_row(
        "SELECT count(*) FROM assignments WHERE incident_id = ?1 AND device_id = ?2",
        [id.as_str(), device.device_id.as_str()],
        |r| r.get(0),
    )?;
    Ok(was_assigned > 0 || crate::db::delivered::ever_held(conn, &device.device_id, id)?)
}

fn query(
    conn: &Connection,
    device: &Device,
    id: Option<&IncidentId>,
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<BTreeSet<IncidentId>> {
    let mut stmt = conn.prepare_cached(VISIBLE)?;
    let rows = stmt.query_map(
        named_params! {
            ":id": id.map(IncidentId::as_str),
            ":all": sees_all(device.role),
            ":cutoff": now_ms.saturating_sub(retention_ms),
            ":me": device.device_id.as_str(),
            ":team": device.team.as_deref(),
        },
        |r| r.get::<_, String>(0),
    )?;
    let mut out = BTreeSet::new();
    for row in rows {
        if let Ok(id) = IncidentId::parse(&row?) {
            out.insert(id);
        }
    }
    Ok(out)
}

/// Refuses (403) a device whose role may not do `act` (the core's one table,
/// [`testigo_core::rules::permissions::may`]).
pub fn require(device: &Device, act: Act) -> HubResult<()> {
    if may(device.role, act) {
        Ok(())
    } else {
        Err(HubError::forbidden(refusal(device.role, act)))
    }
}
