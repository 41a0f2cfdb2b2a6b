//! The records a change adds, read back from its ops alone and checked as the typed
//! records of the schema.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::header::Header;
use super::ops::{Child, Node, Place, Walked};
use super::roots::Collection;
use super::{OpKey, Refusal, Validator, Writer};
use crate::ids::{DeviceId, RecordId};
use crate::incident::document::{
    validate_answer, validate_event, validate_observation, validate_question_id, validate_report,
};
use crate::incident::json_bridge::scalar_to_json;
use crate::incident::{
    keys, parse_answer_key, AnswerRecord, Assignment, Checkpoint, Observation, Report, Role,
    StatusEvent, TemplateRef, KIND, SCHEMA_VERSION,
};
use crate::rules::permissions::{may, refusal, Act};

pub(crate) fn check(
    validator: &Validator<'_>,
    walked: &Walked,
    header: &Header,
    writer: Writer<'_>,
) -> Result<(), Refusal> {
    for (place, child) in &walked.entries {
        let json = to_json(&walked.nodes, child);
        let path = place.path();
        let refuse = |rule: String| Refusal::new(format!("{path}: {rule}"));
        match place {
            Place::Root(key) => check_root_value(validator, key, &json, writer).map_err(refuse)?,
            Place::Report => {
                let report: Report = typed(&json).map_err(refuse)?;
                validate_report(&report).map_err(|e| refuse(e.to_string()))?;
            }
            Place::Record(collection, key) => {
                check_record(*collection, key, &json, header, writer).map_err(refuse)?
            }
        }
    }
    Ok(())
}

/// The plain root values of a creating change.
fn check_root_value(
    validator: &Validator<'_>,
    key: &str,
    json: &Value,
    writer: Writer<'_>,
) -> Result<(), String> {
    match key {
        keys::SCHEMA if json.as_i64() == Some(SCHEMA_VERSION) => Ok(()),
        keys::SCHEMA => Err(format!("this hub reads schema {SCHEMA_VERSION}")),
        keys::KIND if json.as_str() == Some(KIND) => Ok(()),
        keys::KIND => Err(format!("an incident's kind is {KIND:?}")),
        keys::ID if json.as_str() == Some(validator.incident().as_str()) => Ok(()),
        keys::ID => Err(format!(
            "the document is sent as incident {}",
            validator.incident()
        )),
        keys::CREATED_AT if json.as_i64().is_some() => Ok(()),
        keys::CREATED_AT => Err("a time in milliseconds".to_owned()),
        keys::CREATED_BY => {
            let by = json
                .as_str()
                .and_then(|s| DeviceId::parse(s).ok())
                .ok_or_else(|| "a device id".to_owned())?;
            if let Writer::Enrolled { device, role } = writer {
                if &by != device {
                    return Err("a new incident is created by the device that sends it".into());
                }
                if !may(role, Act::OpenFieldIncident) {
                    return Err(refusal(role, Act::OpenFieldIncident));
                }
            }
            Ok(())
        }
        keys::TEMPLATE => typed::<TemplateRef>(json).map(|_| ()),
        other => Err(format!("/{other} is not a key of an incident")),
    }
}

fn check_record(
    collection: Collection,
    key: &str,
    json: &Value,
    header: &Header,
    writer: Writer<'_>,
) -> Result<(), String> {
    let invalid = |e: crate::Error| e.to_string();
    match collection {
        Collection::Observations => {
            let o: Observation = typed(json)?;
            same_id(&o.id, key)?;
            validate_observation(
                o.kind,
                &o.text,
                o.count,
                o.fix.as_ref(),
                o.amends.as_ref(),
                &o.attachments,
                &o.by,
            )
            .map_err(invalid)?;
            authored(&o.by, writer, Act::RecordObservation)
        }
        Collection::Checkpoints => {
            let c: Checkpoint = typed(json)?;
            same_id(&c.id, key)?;
            c.fix.validate().map_err(invalid)?;
            if c.distance_m.is_some_and(|d| !d.is_finite() || d < 0.0) {
                return Err("a distance is a finite number of metres".to_owned());
            }
            authored(&c.by, writer, Act::Checkpoint)
        }
        Collection::Events => {
            let e: StatusEvent = typed(json)?;
            same_id(&e.id, key)?;
            validate_event(e.kind, e.determination, e.note.as_deref()).map_err(invalid)?;
            if let Writer::Enrolled { role, .. } = writer {
                if e.role != role {
                    return Err(format!(
                        "claims the role {} but the sender is a {}",
                        e.role.as_str(),
                        role.as_str()
                    ));
                }
            }
            authored(&e.by, writer, Act::of_event(e.kind))
        }
        Collection::Answers => {
            let a: AnswerRecord = typed(json)?;
            let (question, owner) = parse_answer_key(key)
                .ok_or_else(|| "an answer's key is <question>@<device>".to_owned())?;
            validate_question_id(question).map_err(invalid)?;
            validate_answer(&a.value).map_err(invalid)?;
            if a.by != owner || owner != header.device {
                return Err("an answer is recorded as by the device in its key".to_owned());
            }
            authored(&a.by, writer, Act::Answer)
        }
        Collection::Assignments => {
            let a: Assignment = typed(json)?;
            if a.assignee.as_str() != key {
                return Err("an assignment is kept under its assignee's device id".to_owned());
            }
            authored(&a.by, writer, Act::Assign)
        }
    }
}

/// A record's `by` is its sender, who must be allowed to make it (when known).
fn authored(by: &DeviceId, writer: Writer<'_>, act: Act) -> Result<(), String> {
    let Writer::Enrolled { device, role } = writer else {
        return Ok(());
    };
    if by != device {
        return Err(format!("is recorded as by {by}, not by the sending device"));
    }
    permitted(role, act)
}

fn permitted(role: Role, act: Act) -> Result<(), String> {
    if may(role, act) {
        Ok(())
    } else {
        Err(refusal(role, act))
    }
}

fn same_id(id: &RecordId, key: &str) -> Result<(), String> {
    if id.as_str() == key {
        Ok(())
    } else {
        Err(format!("a record is kept under its own id, not {id}"))
    }
}

/// `json` read as `T`, and exactly `T`: written back it must be the same JSON, so no
/// field the schema does not know can ride along.
fn typed<T: DeserializeOwned + Serialize>(json: &Value) -> Result<T, String> {
    let record: T = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    match serde_json::to_value(&record) {
        Ok(back) if &back == json => Ok(record),
        _ => Err("holds fields or values an incident record does not have".to_owned()),
    }
}

/// The JSON of a new value, from the change's own nodes. Its depth is bounded by the
/// number of ops (each level is one), which the header check bounds.
fn to_json(nodes: &HashMap<OpKey, Node>, child: &Child) -> Value {
    match child {
        Child::Scalar(value) => scalar_to_json(value),
        Child::Object(id) => match nodes.get(id) {
            Some(Node::Map(fields)) => {
                let mut out = Map::new();
                for (key, child) in fields {
                    out.insert(key.clone(), to_json(nodes, child));
                }
                Value::Object(out)
            }
            Some(Node::List(items)) => Value::Array(
                list_order(items)
                    .into_iter()
                    .map(|child| to_json(nodes, child))
                    .collect(),
            ),
            None => Value::Null,
        },
    }
}

/// The order automerge gives a list built in one change: each element follows the
/// one it was inserted after, and of several inserted after the same one, the later
/// (higher counter) comes first.
fn list_order(items: &[(OpKey, Option<OpKey>, Child)]) -> Vec<&Child> {
    let mut children: HashMap<Option<&OpKey>, Vec<usize>> = HashMap::new();
    for (i, (_, after, _)) in items.iter().enumerate() {
        children.entry(after.as_ref()).or_default().push(i);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| items[*b].0.cmp(&items[*a].0));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut stack: Vec<usize> = children.get(&None).cloned().unwrap_or_default();
    stack.reverse();
    while let Some(i) = stack.pop() {
        out.push(&items[i].2);
        if let Some(next) = children.get(&Some(&items[i].0)) {
            stack.extend(next.iter().rev());
        }
    }
    out
}
