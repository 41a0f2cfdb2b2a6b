//! Which devices a signal concerns, decided from the database with the same rules the
//! sync round applies, so that a phone is woken exactly when its next sync would bring
//! it something.

use std::collections::BTreeSet;

use rusqlite::{Connection, Transaction};
use testigo_core::ids::DeviceId;

use super::bus::ChangedIncident;
use crate::db::devices::{self, Device};
use crate::db::{changes, delivered};
use crate::error::HubResult;
use crate::permissions;

/// The `candidates` that `changed` concerns: a change to an incident the device holds
/// (which includes its removal from the device), or to one it may now see (a new
/// assignment). A device is not told about changes it made itself.
pub fn concerned(
    conn: &Connection,
    candidates: &BTreeSet<DeviceId>,
    changed: &[ChangedIncident],
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<BTreeSet<DeviceId>> {
    let mut out = BTreeSet::new();
    for id in candidates {
        // Revoked devices are not found, and so never woken.
        let Some(device) = devices::by_id(conn, id)? else {
            continue;
        };
        if concerns(conn, &device, changed, now_ms, retention_ms)? {
            out.insert(device.device_id);
        }
    }
    Ok(out)
}

fn concerns(
    conn: &Connection,
    device: &Device,
    changed: &[ChangedIncident],
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<bool> {
    let held = delivered::held(conn, &device.device_id)?;
    for incident in changed {
        if incident.authors.iter().all(|a| *a == device.device_id) {
            continue;
        }
        if held.contains(&incident.incident)
            || permissions::can_see(conn, device, &incident.incident, now_ms, retention_ms)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the device's next sync, sent with `cursor`, would bring it anything:
/// changes by others to what it holds, incidents to receive or to remove. Asked when
/// a wait begins, so work committed since the device's last sync (on any instance,
/// or before a restart) is never waited past.
///
/// It runs the sync round's own bookkeeping in a transaction that is then rolled
/// back: the answer follows the round's rules without writing anything.
pub fn has_work(
    conn: &mut Transaction<'_>,
    device: &Device,
    cursor: u64,
    now_ms: i64,
    retention_ms: i64,
) -> HubResult<bool> {
    // A savepoint never released: what reconcile writes to find out is rolled back.
    let tx = conn.savepoint()?;
    delivered::reconcile(&tx, &device.device_id, cursor)?;
    let mut changed = false;
    changes::for_device(&tx, &device.device_id, cursor, |_| {
        changed = true;
        false
    })?;
    if changed {
        return Ok(true);
    }
    let visible = permissions::visible(&tx, device, now_ms, retention_ms)?;
    let held = delivered::held(&tx, &device.device_id)?;
    // Dropping `tx` rolls the reconciliation back.
    Ok(visible != held)
}
