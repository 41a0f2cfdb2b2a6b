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

use rusqlite::Connection;
use testigo_core::ids::IncidentId;
use testigo_core::incident::Role;
use testigo_core::rules::permissions::{may, refusal, Act};

use crate::db::devices::Device;
use crate::error::{HubError, HubResult};

/// What a device that does not see everything sees: its own, its team's and its
/// assignments, each found by index (`incidents_by_creator`, `incidents_by_team`,
/// `assignments_by_device`), then those closed past retention left out. `:id`
/// narrows it to one incident by primary key.
const VISIBLE_TO_MEMBER: &str = "
    SELECT i.incident_id FROM incidents i
    WHERE i.incident_id IN (
            SELECT incident_id FROM incidents WHERE created_by = :me
            UNION SELECT incident_id FROM incidents WHERE :team IS NOT NULL AND team = :team
            UNION SELECT incident_id FROM assignments WHERE device_id = :me AND active)
      AND (i.closed_at IS NULL OR i.closed_at > :cutoff)";
const ONE_VISIBLE_TO_MEMBER: &str = "
    SELECT i.incident_id FROM incidents i
    WHERE i.incident_id = :id
      AND (i.closed_at IS NULL OR i.closed_at > :cutoff)
      AND (i.created_by = :me
           OR (:team IS NOT NULL AND i.team = :team)
           OR EXISTS (SELECT 1 FROM assignments a WHERE a.incident_id = i.incident_id AND a.device_id = :me AND a.active))";
const EVERY_INCIDENT: &str = "SELECT incident_id FROM incidents";
const ONE_INCIDENT: &str = "SELECT incident_id FROM incidents WHERE incident_id = :id";

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
    let me = device.device_id.as_str();
    let cutoff = now_ms.saturating_sub(retention_ms);
    let team = device.team.as_deref();
    let id = id.map(IncidentId::as_str);
    let (sql, params): (&str, Vec<(&str, &dyn rusqlite::ToSql)>) =
        match (sees_all(device.role), &id) {
            (true, None) => (EVERY_INCIDENT, vec![]),
            (true, Some(id)) => (ONE_INCIDENT, vec![(":id", id)]),
            (false, None) => (
                VISIBLE_TO_MEMBER,
                vec![(":me", &me), (":team", &team), (":cutoff", &cutoff)],
            ),
            (false, Some(id)) => (
                ONE_VISIBLE_TO_MEMBER,
                vec![
                    (":id", id),
                    (":me", &me),
                    (":team", &team),
                    (":cutoff", &cutoff),
                ],
            ),
        };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params.as_slice(), |r| r.get::<_, String>(0))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `sql`, one line per step.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn what_a_member_sees_is_found_by_index_never_by_scanning_every_incident() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("hub.sqlite")).unwrap();
        for sql in [VISIBLE_TO_MEMBER, ONE_VISIBLE_TO_MEMBER] {
            let steps = plan(&conn, sql);
            assert!(
                steps.iter().all(|s| !s.starts_with("SCAN")),
                "{sql}\n{steps:#?}"
            );
        }
    }
}
