//! Validation of incoming changes: each change of an upload is checked by its
//! operations against the incident's document (`testigo_core::rules::changes`, the
//! same rules a device applies to what it merges, here with the sender's enrolment),
//! and the ones that pass are merged. Nothing is rendered per change; the hub renders
//! the incident once per upload, for its index, after the merge.

use automerge::{Automerge, Change, ChangeHash};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::Role;
use testigo_core::rules::changes::{merge_checked, Writer};

/// Who sent the changes, as enrolled (never as the document claims).
pub struct Sender<'a> {
    pub device: &'a DeviceId,
    pub role: Role,
}

pub struct Outcome {
    /// The document with every accepted change.
    pub doc: Automerge,
    /// Changes new to the hub that passed, in the order applied.
    pub accepted: Vec<Change>,
    pub rejected: Vec<(ChangeHash, String)>,
}

/// Checks `incoming` against `base` (an empty document for a new field incident) and
/// merges what passes. Changes the hub already has are skipped, so a retried upload is
/// harmless. `Err` means automerge failed to merge changes that passed every rule: the
/// caller must treat the document as lost and keep its stored copy.
pub fn apply_upload(
    base: Automerge,
    incoming: Vec<Change>,
    sender: &Sender<'_>,
    incident: &IncidentId,
) -> Result<Outcome, String> {
    let mut doc = base;
    let writer = Writer::Enrolled {
        device: sender.device,
        role: sender.role,
    };
    let merged =
        merge_checked(&mut doc, incident, incoming, |_| writer).map_err(|e| e.to_string())?;
    Ok(Outcome {
        doc,
        accepted: merged.accepted,
        rejected: merged.refused,
    })
}
