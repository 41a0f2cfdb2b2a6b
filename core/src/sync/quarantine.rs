//! Taking refused changes out of a document. The hub refused them, so the document
//! must go on without them (otherwise every later change of this device would build
//! on them and be refused too); they are kept, with the reason, in the quarantine
//! table rather than dropped, so nothing a volunteer recorded is lost.

use std::collections::BTreeMap;

use automerge::{Automerge, ChangeHash};

use super::bookkeeping;
use super::report::RejectedChange;
use crate::error::Result;
use crate::ids::IncidentId;
use crate::store::Store;

/// Quarantines `rejected` (hash → reason) and every local change that depends on one
/// of them, rebuilds the document from the rest, and returns what was quarantined.
pub(crate) fn quarantine_rejected(
    store: &Store,
    id: &IncidentId,
    rejected: &BTreeMap<ChangeHash, String>,
    at_ms: i64,
) -> Result<Vec<RejectedChange>> {
    let planned = store.rebuild_document(
        id,
        |doc| {
            let (rebuilt, bad) = plan_rebuild(doc, rejected)?;
            // A document whose creation was refused cannot stand on its own: the
            // incident leaves the device and lives on only in quarantine.
            let rebuilt = rebuilt.filter(|doc| crate::incident::read_view(doc).is_ok());
            Some((rebuilt, bad))
        },
        |tx, bad| {
            for (hash, (bytes, reason)) in bad {
                bookkeeping::quarantine(tx, id, hash, bytes, reason, at_ms)?;
            }
            Ok(())
        },
    )?;
    let Some(bad) = planned else {
        return Ok(Vec::new());
    };
    Ok(bad
        .into_iter()
        .map(|(hash, (_, reason))| RejectedChange {
            incident: id.clone(),
            change_hash: Some(hash.to_string()),
            reason,
        })
        .collect())
}

type Quarantined = BTreeMap<ChangeHash, (Vec<u8>, String)>;

/// The document without the refused changes and their descendants, and those changes
/// with their reasons; `None` if the document holds none of them (already
/// quarantined by an earlier sync whose response was then lost).
fn plan_rebuild(
    doc: &Automerge,
    rejected: &BTreeMap<ChangeHash, String>,
) -> Option<(Option<Automerge>, Quarantined)> {
    let all = doc.get_changes(&[]);
    let mut bad: Quarantined = BTreeMap::new();
    for change in &all {
        if let Some(reason) = rejected.get(&change.hash()) {
            bad.insert(change.hash(), (change.raw_bytes().to_vec(), reason.clone()));
        }
    }
    if bad.is_empty() {
        return None;
    }
    // Descendants, to a fixed point: the order `get_changes` returns is causal, but
    // this does not depend on it.
    loop {
        let mut grew = false;
        for change in &all {
            if bad.contains_key(&change.hash()) {
                continue;
            }
            if let Some(dep) = change.deps().iter().find(|d| bad.contains_key(d)) {
                bad.insert(
                    change.hash(),
                    (
                        change.raw_bytes().to_vec(),
                        format!("depends on quarantined change {dep}"),
                    ),
                );
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let good: Vec<_> = all
        .into_iter()
        .filter(|c| !bad.contains_key(&c.hash()))
        .collect();
    let rebuilt = if good.is_empty() {
        None
    } else {
        let mut rebuilt = Automerge::new().with_actor(doc.get_actor().clone());
        rebuilt.apply_changes(good).ok().map(|_| rebuilt)
    };
    Some((rebuilt, bad))
}
