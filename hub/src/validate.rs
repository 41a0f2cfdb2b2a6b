//! Validation of incoming changes. A device's change is applied to a scratch copy of
//! the hub's document, one change at a time, and kept only if the result still reads
//! as an incident and the sender's role allows what changed. The rules compare the
//! JSON rendering of the document before and after, so a field the typed view would
//! ignore cannot be used to slip something past them.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::{
    check_event_permission, keys, parse_answer_key, read_json, render_json, AnswerRecord,
    Assignment, Checkpoint, Observation, Role, StatusEvent,
};

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

/// Applies `incoming` to `base` (an empty document for a new field incident). Changes
/// the hub already has are skipped, so a retried upload is harmless.
pub fn apply_upload(
    base: Automerge,
    incoming: Vec<Change>,
    sender: &Sender<'_>,
    incident: &IncidentId,
) -> Outcome {
    let mut doc = base;
    let mut current = rendered(&doc);
    let mut accepted = Vec::new();
    let mut rejected: BTreeMap<ChangeHash, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut pending: Vec<Change> = incoming
        .into_iter()
        .filter(|c| doc.get_change_by_hash(&c.hash()).is_none() && seen.insert(c.hash()))
        .collect();

    // Apply whatever has its dependencies, until nothing moves: uploads are in causal
    // order from honest devices, but the hub does not rely on it.
    loop {
        let mut progressed = false;
        let mut waiting = Vec::new();
        for change in pending {
            let hash = change.hash();
            if let Some(dep) = change.deps().iter().find(|d| rejected.contains_key(d)) {
                rejected.insert(hash, format!("depends on rejected change {dep}"));
                progressed = true;
            } else if change
                .deps()
                .iter()
                .all(|d| doc.get_change_by_hash(d).is_some())
            {
                match try_change(&doc, &current, &change, sender, incident) {
                    Ok((next, next_json)) => {
                        doc = next;
                        current = next_json;
                        accepted.push(change);
                    }
                    Err(reason) => {
                        rejected.insert(hash, reason);
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
            .find(|d| doc.get_change_by_hash(d).is_none() && !waiting.contains(d))
            .copied();
        let reason = match missing {
            Some(dep) => format!("missing dependency {dep}: the hub does not have it"),
            None => "depends on changes that cannot be applied".to_owned(),
        };
        rejected.insert(change.hash(), reason);
    }
    Outcome {
        doc,
        accepted,
        rejected: rejected.into_iter().collect(),
    }
}

fn rendered(doc: &Automerge) -> Value {
    if doc.get_heads().is_empty() {
        Value::Object(Map::new())
    } else {
        render_json(doc)
    }
}

fn try_change(
    doc: &Automerge,
    before: &Value,
    change: &Change,
    sender: &Sender<'_>,
    incident: &IncidentId,
) -> Result<(Automerge, Value), String> {
    match DeviceId::from_actor(change.actor_id()) {
        Some(actor) if &actor == sender.device => {}
        _ => {
            return Err(format!(
                "made by actor {} which is not the sending device",
                change.actor_id()
            ))
        }
    }
    let mut trial = doc.fork();
    trial
        .apply_changes([change.clone()])
        .map_err(|e| format!("does not apply: {e}"))?;
    if trial.get_change_by_hash(&change.hash()).is_none() {
        return Err("does not apply to the hub's document".to_owned());
    }
    let after = rendered(&trial);
    check_rules(before, &after, sender, incident)?;
    Ok((trial, after))
}

/// The rules every change must keep, comparing the document before and after it.
pub fn check_rules(
    before: &Value,
    after: &Value,
    sender: &Sender<'_>,
    incident: &IncidentId,
) -> Result<(), String> {
    let view = read_json(after).map_err(|e| format!("the incident would no longer read: {e}"))?;
    if &view.id != incident {
        return Err(format!(
            "the document is incident {}, not {incident}",
            view.id
        ));
    }
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let creating = b.is_empty();
    let known_problems: BTreeSet<String> = if creating {
        BTreeSet::new()
    } else {
        read_json(before)
            .map(|v| v.problems.into_iter().collect())
            .unwrap_or_default()
    };
    let new_problems: Vec<&String> = view
        .problems
        .iter()
        .filter(|p| !known_problems.contains(*p))
        .collect();
    if !new_problems.is_empty() {
        return Err(format!(
            "adds records that do not follow the schema: {}",
            new_problems
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if creating && &view.created_by != sender.device {
        return Err("a new incident must be created by the device that sends it".to_owned());
    }
    let role = sender.role;
    let keys_seen: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for key in keys_seen {
        let (old, new) = (b.get(key), a.get(key));
        match key.as_str() {
            keys::SCHEMA | keys::KIND | keys::ID | keys::CREATED_AT | keys::CREATED_BY => {
                if !creating && old != new {
                    return Err(format!("/{key} is set once, when the incident is created"));
                }
            }
            keys::REPORT | keys::TEMPLATE => {
                if !creating && old != new && !matches!(role, Role::Dispatcher | Role::Coordinator)
                {
                    return Err(format!("a {} cannot change /{key}", role.as_str()));
                }
            }
            keys::ASSIGNMENTS => {
                if entries(old) != entries(new)
                    && !matches!(role, Role::Dispatcher | Role::TeamLead | Role::Coordinator)
                {
                    return Err(format!("a {} cannot change assignments", role.as_str()));
                }
                check_records::<Assignment>(
                    key,
                    old,
                    new,
                    sender,
                    Mutable::Yes,
                    |a| &a.by,
                    |_| Ok(()),
                )?;
            }
            keys::ANSWERS => check_answers(old, new, sender)?,
            keys::OBSERVATIONS => check_records::<Observation>(
                key,
                old,
                new,
                sender,
                Mutable::No,
                |o| &o.by,
                // Attachment records follow the same rules the device checked.
                |o| {
                    o.attachments
                        .iter()
                        .try_for_each(|a| testigo_core::media::validate_record(a, sender.device))
                        .map_err(|e| e.to_string())
                },
            )?,
            keys::CHECKPOINTS => check_records::<Checkpoint>(
                key,
                old,
                new,
                sender,
                Mutable::No,
                |c| &c.by,
                |_| Ok(()),
            )?,
            keys::EVENTS => check_records::<StatusEvent>(
                key,
                old,
                new,
                sender,
                Mutable::No,
                |e| &e.by,
                |e| {
                    if e.role != role {
                        return Err(format!(
                            "claims the role {} but the sender is a {}",
                            e.role.as_str(),
                            role.as_str()
                        ));
                    }
                    check_event_permission(role, e.kind).map_err(|e| e.to_string())
                },
            )?,
            other => {
                if old != new {
                    return Err(format!("/{other} is not part of an incident"));
                }
            }
        }
    }
    Ok(())
}

fn entries(value: Option<&Value>) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    value
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Whether records of a collection may be rewritten (assignments are: unassigning
/// sets `active: false` on the assignee's record) or are append-only.
#[derive(Clone, Copy, PartialEq)]
enum Mutable {
    Yes,
    No,
}

/// Existing records are never deleted and, in append-only collections, stay exactly as
/// they are; new (or rewritten) records are the sender's own and pass `extra`.
fn check_records<T: DeserializeOwned>(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    sender: &Sender<'_>,
    mutable: Mutable,
    by: impl Fn(&T) -> &DeviceId,
    extra: impl Fn(&T) -> Result<(), String>,
) -> Result<(), String> {
    let (old, new) = (entries(old), entries(new));
    for (key, record) in old {
        match new.get(key) {
            None => return Err(format!("/{path}/{key} cannot be deleted")),
            Some(now) if now != record && mutable == Mutable::No => {
                return Err(format!(
                    "/{path}/{key} was already recorded and cannot be changed"
                ))
            }
            Some(_) => {}
        }
    }
    for (key, record) in new {
        if old.get(key) == Some(record) {
            continue;
        }
        let record: T =
            serde_json::from_value(record.clone()).map_err(|e| format!("/{path}/{key}: {e}"))?;
        if by(&record) != sender.device {
            return Err(format!(
                "/{path}/{key} is recorded as by {}, not by the sending device",
                by(&record)
            ));
        }
        extra(&record).map_err(|e| format!("/{path}/{key}: {e}"))?;
    }
    Ok(())
}

/// Answers are kept per author (`<question>@<device>`): a device may add or replace
/// only its own, and never delete one.
fn check_answers(
    old: Option<&Value>,
    new: Option<&Value>,
    sender: &Sender<'_>,
) -> Result<(), String> {
    let (old, new) = (entries(old), entries(new));
    for key in old.keys() {
        if !new.contains_key(key) {
            return Err(format!("/answers/{key} cannot be deleted"));
        }
    }
    for (key, value) in new {
        if old.get(key) == Some(value) {
            continue;
        }
        match parse_answer_key(key) {
            Some((_, author)) if &author == sender.device => {}
            Some((_, author)) => {
                return Err(format!(
                    "/answers/{key} is {author}'s answer; only they can give or change it"
                ))
            }
            None => return Err(format!("/answers/{key} is not a <question>@<device> key")),
        }
        let record: AnswerRecord =
            serde_json::from_value(value.clone()).map_err(|e| format!("/answers/{key}: {e}"))?;
        if &record.by != sender.device {
            return Err(format!("/answers/{key} is recorded as by someone else"));
        }
    }
    Ok(())
}
