//! The device's half of what makes a history signature sound: it never takes in a
//! change bearing its own actor that it did not make.
//!
//! A history signature over this device's newest change vouches for every earlier
//! change of its actor in that change's history. If a peer (or a hostile hub) could
//! slip in a change made with this device's actor — anyone can write any actor id into
//! a change — the device's next signature would cover the forgery. Every change the
//! device makes is signed and recorded in `change_signatures` in the transaction that
//! saves it, so "made here" is exactly "recorded there".

use automerge::{Automerge, ChangeHash};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ids::{DeviceId, IncidentId};

/// Refuses the merge if `doc` holds, after `before`, a change by `me` that this device
/// never made. Nothing is written; the caller drops the merged copy.
pub(crate) fn refuse_forged_own_changes(
    conn: &Connection,
    me: &DeviceId,
    id: &IncidentId,
    doc: &Automerge,
    before: &[ChangeHash],
) -> Result<()> {
    let actor = me.actor_id();
    let mut made_here = conn.prepare_cached(
        "SELECT 1 FROM change_signatures WHERE change_hash = ?1 AND incident_id = ?2",
    )?;
    for change in doc
        .get_changes(before)
        .iter()
        .filter(|c| c.actor_id() == &actor)
    {
        let hash = change.hash();
        let known = made_here
            .query_row(params![hash.to_string(), id.as_str()], |_| Ok(()))
            .optional()?
            .is_some();
        if !known {
            tracing::warn!(incident = %id, change = %hash, "refused a change made in this device's name elsewhere");
            return Err(Error::corrupt(
                format!("/changes/{hash}"),
                format!("change {hash} bears this device's actor but was not made on this device"),
            ));
        }
    }
    Ok(())
}
