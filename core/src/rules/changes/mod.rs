//! Checking a change by its operations, before it is merged.
//!
//! A change from outside (a device's upload at the hub, the hub's or a relayed change
//! at a device) is decoded into its ops — object, key, action, insert, predecessors —
//! and each op must be one the incident's schema allows. Nothing is rendered: the
//! cost of a check is proportional to the change, plus a few keyed look-ups in the
//! document it would join. The rules, in the order they are checked:
//!
//! - **the header** ([`header`]): the actor is a device (the sender, at the hub); no
//!   extra bytes; 1 to [`MAX_OPS_PER_CHANGE`](super::limits::MAX_OPS_PER_CHANGE) ops
//!   and at most [`MAX_CHANGE_BYTES`](super::limits::MAX_CHANGE_BYTES); every
//!   dependency known (or earlier in the same batch); `start_op` exactly one past the
//!   dependencies' last op; `seq` right after the actor's previous one; no counter past
//!   [`MAX_OP_COUNTER`](super::limits::MAX_OP_COUNTER);
//! - **the ops** ([`ops`]): the root and its collection objects are made only by the
//!   change that creates the incident, and afterwards no op touches a root key except a
//!   whole new `report` from someone who may edit it; a collection takes only new
//!   records (a map made in the same change) under a key its writer owns: a fresh key in
//!   the append-only `observations`, `checkpoints` and `events`, `<question>@<actor>`
//!   in `answers` (superseding only the actor's own earlier value), a device id in
//!   `assignments`; every other op writes into an object the same change made, once per
//!   key; no deletes, counters, marks, text or table objects, and no number that is NaN
//!   or infinite;
//! - **the records** ([`records`]): each new record, read back from the ops alone, is
//!   exactly a typed incident record (no extra fields), passes the same content checks
//!   the device applies when it writes (text length, location ranges, question ids…),
//!   and — when the sender's enrolment is known — says `by` the sender, claims the
//!   sender's role, and is something that role [`may`](super::permissions::may) do.
//!
//! The hub knows who sent a change ([`Writer::Enrolled`]); a device merging what the
//! hub relays does not know other devices' roles ([`Writer::Peer`]) and leaves role and
//! `by` to the hub, but applies every structural rule, so a compromised hub cannot plant
//! an op counter at `u32::MAX`, a map swap or a deletion on the phone either.

#[doc(hidden)]
pub mod fuzzing;
mod header;
mod ops;
mod records;
mod roots;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{ActorId, Automerge, Change, ChangeHash};

use crate::ids::{DeviceId, IncidentId};
use crate::incident::Role;
use roots::{Collection, Roots};

/// Who wrote the changes being checked, as far as the checker knows.
#[derive(Clone, Copy, Debug)]
pub enum Writer<'a> {
    /// The hub checking an upload: the enrolled device that sent it and its role.
    Enrolled { device: &'a DeviceId, role: Role },
    /// A device checking what it was sent: roles and authorship are the hub's to check.
    Peer,
}

/// Why a change was refused, naming the op and the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl Refusal {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self(reason)
    }
}

/// An op id as the decoded ops spell it: counter and actor.
pub(crate) type OpKey = (u64, ActorId);

/// Checks changes, one after another, against one incident's document as it was
/// before any of them. Each accepted change is remembered, so later changes of the
/// same batch may build on it; the document is not touched until [`merge_checked`].
pub struct Validator<'a> {
    doc: &'a Automerge,
    incident: &'a IncidentId,
    roots: Option<Roots>,
    /// Last seq of each actor, read from the document's change metadata when first
    /// needed and advanced by accepted changes.
    seqs: Option<HashMap<ActorId, u64>>,
    /// Max op of each change accepted in this batch.
    accepted: HashMap<ChangeHash, u64>,
    /// Ops written at collection keys by changes accepted in this batch, so that a
    /// later change's predecessors and key freshness see them.
    written: HashMap<(Collection, String), Vec<OpKey>>,
    /// Ops that changes accepted in this batch superseded (an author answering again).
    superseded: HashSet<OpKey>,
}

impl<'a> Validator<'a> {
    /// A validator for `doc` (empty for an incident that does not exist yet).
    pub fn new(doc: &'a Automerge, incident: &'a IncidentId) -> Result<Self, Refusal> {
        Ok(Self {
            doc,
            incident,
            roots: Roots::read(doc)?,
            seqs: None,
            accepted: HashMap::new(),
            written: HashMap::new(),
            superseded: HashSet::new(),
        })
    }

    /// Checks one change; on success it counts as part of the document for the next.
    pub fn check(&mut self, change: &Change, writer: Writer<'_>) -> Result<(), Refusal> {
        let header = header::check(self, change, writer)?;
        let expanded = catch_unwind(AssertUnwindSafe(|| change.decode()))
            .map_err(|_| Refusal::new("its ops cannot be decoded"))?;
        let walked = ops::walk(self, &expanded, &header, writer)?;
        records::check(self, &walked, &header, writer)?;
        // Accepted: remember what it adds for the rest of the batch.
        self.accepted.insert(change.hash(), change.max_op());
        if let Some(seqs) = self.seqs.as_mut() {
            seqs.insert(change.actor_id().clone(), change.seq());
        }
        if let Some(created) = walked.created_roots {
            self.roots = Some(created);
        }
        for (place, op, pred) in walked.collection_writes {
            self.written.entry(place).or_default().push(op);
            self.superseded.extend(pred);
        }
        Ok(())
    }

    fn doc(&self) -> &Automerge {
        self.doc
    }

    fn incident(&self) -> &IncidentId {
        self.incident
    }

    /// The actor's last seq so far (0 for an actor new to the document).
    fn last_seq(&mut self, actor: &ActorId) -> u64 {
        let doc = self.doc;
        let seqs = self.seqs.get_or_insert_with(|| {
            let mut seqs: HashMap<ActorId, u64> = HashMap::new();
            for meta in doc.get_changes_meta(&[]) {
                let entry = seqs.entry(meta.actor.into_owned()).or_default();
                *entry = (*entry).max(meta.seq);
            }
            seqs
        });
        seqs.get(actor).copied().unwrap_or(0)
    }

    /// The max op of a dependency, if it is known.
    fn max_op_of(&self, hash: &ChangeHash) -> Option<u64> {
        self.accepted
            .get(hash)
            .copied()
            .or_else(|| self.doc.get_change_meta_by_hash(hash).map(|m| m.max_op))
    }
}

/// What [`merge_checked`] did.
#[derive(Debug, Default)]
pub struct Merged {
    /// The changes merged, in the order applied.
    pub accepted: Vec<Change>,
    /// The changes refused, each with its reason.
    pub refused: Vec<(ChangeHash, String)>,
}

/// The document could not take changes that passed every rule (an automerge failure).
/// The document may hold part of them: the caller must drop it and reload its own copy.
#[derive(Debug, thiserror::Error)]
#[error("checked changes did not merge: {0}")]
pub struct MergeFailed(pub String);

/// Checks `incoming` against `doc` and merges the changes that pass. Changes `doc`
/// already has are skipped (a retried upload is harmless); a change waits for its
/// dependencies whatever the order it came in; a change depending on a refused one is
/// refused with that reason, and one whose dependencies never come with "missing".
pub fn merge_checked<'w>(
    doc: &mut Automerge,
    incident: &IncidentId,
    incoming: Vec<Change>,
    writer: impl Fn(&Change) -> Writer<'w>,
) -> Result<Merged, MergeFailed> {
    let mut refused: BTreeMap<ChangeHash, String> = BTreeMap::new();
    let mut accepted = Vec::new();
    {
        let mut validator = match Validator::new(doc, incident) {
            Ok(v) => v,
            Err(e) => {
                let refused = incoming.iter().map(|c| (c.hash(), e.to_string())).collect();
                return Ok(Merged {
                    accepted: Vec::new(),
                    refused,
                });
            }
        };
        let mut seen = BTreeSet::new();
        let mut pending: Vec<Change> = incoming
            .into_iter()
            .filter(|c| !doc_has(validator.doc(), &c.hash()) && seen.insert(c.hash()))
            .collect();
        let known = |v: &Validator<'_>, h: &ChangeHash| v.max_op_of(h).is_some();
        loop {
            let mut progressed = false;
            let mut waiting = Vec::new();
            for change in pending {
                let hash = change.hash();
                if let Some(dep) = change.deps().iter().find(|d| refused.contains_key(d)) {
                    refused.insert(hash, format!("depends on refused change {dep}"));
                    progressed = true;
                } else if change.deps().iter().all(|d| known(&validator, d)) {
                    match validator.check(&change, writer(&change)) {
                        Ok(()) => accepted.push(change),
                        Err(reason) => {
                            refused.insert(hash, reason.0);
                        }
                    }
                    progressed = true;
                } else {
                    waiting.push(change);
                }
            }
            pending = waiting;
            if !progressed || pending.is_empty() {
                break;
            }
        }
        let waiting: BTreeSet<ChangeHash> = pending.iter().map(Change::hash).collect();
        for change in pending {
            let missing = change
                .deps()
                .iter()
                .find(|d| !known(&validator, d) && !waiting.contains(d))
                .copied();
            let reason = match missing {
                Some(dep) => format!("missing dependency {dep}: the receiver does not have it"),
                None => "depends on changes that cannot be applied".to_owned(),
            };
            refused.insert(change.hash(), reason);
        }
    }
    if !accepted.is_empty() {
        let batch = accepted.clone();
        match catch_unwind(AssertUnwindSafe(|| doc.apply_changes(batch))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(MergeFailed(e.to_string())),
            Err(_) => return Err(MergeFailed("automerge gave up".to_owned())),
        }
        if let Some(missing) = accepted
            .iter()
            .find(|c| doc.get_change_meta_by_hash(&c.hash()).is_none())
        {
            return Err(MergeFailed(format!("{} was not applied", missing.hash())));
        }
    }
    Ok(Merged {
        accepted,
        refused: refused.into_iter().collect(),
    })
}

fn doc_has(doc: &Automerge, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

#[cfg(test)]
mod tests;
