//! Reads an incident document defensively. The document may come from a peer that is
//! buggy, out of date or hostile: a missing or mistyped root field is a
//! `CorruptDocument` error naming the path; a malformed record is left out and listed
//! in `problems`; unknown fields are ignored. Nothing here can panic.

use std::collections::BTreeMap;

use automerge::ReadDoc;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::json_bridge::{object_to_json, to_json};
use super::schema::{
    keys, parse_answer_key, AnswerRecord, Assignment, Checkpoint, Observation, StatusEvent, KIND,
    SCHEMA_VERSION,
};
use super::status;
use super::view::{IncidentView, QuestionAnswers};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, IncidentId};

pub fn read_view(doc: &automerge::Automerge) -> Result<IncidentView> {
    let root = to_json(&doc.hydrate(None));
    read_json(&root)
}

/// The same reading from the JSON rendering of a document (as exported in evidence
/// bundles).
pub fn read_json(root: &Value) -> Result<IncidentView> {
    let root = root
        .as_object()
        .ok_or_else(|| Error::corrupt("/", "the root is not a map"))?;
    let mut problems = Vec::new();

    let schema: i64 = field(root, keys::SCHEMA)?;
    if schema < 1 || schema > SCHEMA_VERSION {
        return Err(Error::corrupt(
            "/schema",
            format!("version {schema} is not supported (this build reads up to {SCHEMA_VERSION})"),
        ));
    }
    let kind: String = field(root, keys::KIND)?;
    if kind != KIND {
        return Err(Error::corrupt(
            "/kind",
            format!("{kind:?} is not an incident"),
        ));
    }
    let id: IncidentId = field(root, keys::ID)?;
    let created_at: i64 = field(root, keys::CREATED_AT)?;
    let created_at = crate::time::from_millis(created_at)
        .ok_or_else(|| Error::corrupt("/created_at", "out of range"))?;
    let created_by: DeviceId = field(root, keys::CREATED_BY)?;
    let report = field(root, keys::REPORT)?;
    let template = match root.get(keys::TEMPLATE) {
        None | Some(Value::Null) => None,
        Some(_) => Some(field(root, keys::TEMPLATE)?),
    };

    let assignments: Vec<Assignment> = records(
        root,
        keys::ASSIGNMENTS,
        &mut problems,
        |key, a: &Assignment| a.assignee.as_str() == key,
    )?;
    let observations: Vec<Observation> = records(
        root,
        keys::OBSERVATIONS,
        &mut problems,
        |key, o: &Observation| o.id.as_str() == key,
    )?;
    let checkpoints: Vec<Checkpoint> = records(
        root,
        keys::CHECKPOINTS,
        &mut problems,
        |key, c: &Checkpoint| c.id.as_str() == key,
    )?;
    let events: Vec<StatusEvent> =
        records(root, keys::EVENTS, &mut problems, |key, e: &StatusEvent| {
            e.id.as_str() == key
        })?;
    let answers = read_answers(root, &mut problems)?;

    let mut observations = observations;
    observations.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let mut checkpoints = checkpoints;
    checkpoints.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let mut events = events;
    events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));

    let status = status::derive(&events, &checkpoints, &assignments);
    Ok(IncidentView {
        id,
        schema,
        created_at,
        created_by,
        report,
        template,
        assignments,
        answers,
        observations,
        checkpoints,
        events,
        status,
        problems,
    })
}

fn field<T: DeserializeOwned>(root: &serde_json::Map<String, Value>, key: &str) -> Result<T> {
    let value = root
        .get(key)
        .ok_or_else(|| Error::corrupt(format!("/{key}"), "missing"))?;
    serde_json::from_value(value.clone())
        .map_err(|e| Error::corrupt(format!("/{key}"), e.to_string()))
}

fn collection<'a>(
    root: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a serde_json::Map<String, Value>> {
    match root.get(key) {
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Error::corrupt(format!("/{key}"), "is not a map")),
        None => Err(Error::corrupt(format!("/{key}"), "missing")),
    }
}

/// A collection's entries in key order, whatever order the map keeps (serde_json
/// keeps insertion order in builds with `preserve_order`, such as the hub's): every
/// reader lists records the same way.
fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Reads every record of a collection. A record that does not parse, or whose key
/// does not match its own id, is skipped and reported.
fn records<T: DeserializeOwned>(
    root: &serde_json::Map<String, Value>,
    key: &str,
    problems: &mut Vec<String>,
    key_matches: impl Fn(&str, &T) -> bool,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (record_key, value) in sorted(collection(root, key)?) {
        match serde_json::from_value::<T>(value.clone()) {
            Ok(record) if key_matches(record_key, &record) => out.push(record),
            Ok(_) => problems.push(format!(
                "/{key}/{record_key}: key does not match the record's id"
            )),
            Err(e) => problems.push(format!("/{key}/{record_key}: {e}")),
        }
    }
    Ok(out)
}

fn read_answers(
    root: &serde_json::Map<String, Value>,
    problems: &mut Vec<String>,
) -> Result<Vec<QuestionAnswers>> {
    let mut by_question: BTreeMap<String, Vec<AnswerRecord>> = BTreeMap::new();
    for (key, value) in sorted(collection(root, keys::ANSWERS)?) {
        let Some((question_id, author)) = parse_answer_key(key) else {
            problems.push(format!("/answers/{key}: key is not <question>@<device>"));
            continue;
        };
        match serde_json::from_value::<AnswerRecord>(value.clone()) {
            Ok(record) if record.by == author => by_question
                .entry(question_id.to_owned())
                .or_default()
                .push(record),
            Ok(_) => problems.push(format!("/answers/{key}: key does not match the author")),
            Err(e) => problems.push(format!("/answers/{key}: {e}")),
        }
    }
    Ok(by_question
        .into_iter()
        .map(|(question_id, mut by_author)| {
            by_author.sort_by(|a, b| a.by.cmp(&b.by));
            QuestionAnswers {
                question_id,
                by_author,
            }
        })
        .collect())
}

/// Reads one root field without hydrating the rest of the document, for writes that
/// need only the report or the template (a whole view per keystroke is wasted work).
/// Absent or null gives `None`; a wrong shape is the same `CorruptDocument` the full
/// reader gives.
pub fn read_root_field<T: DeserializeOwned>(
    doc: &automerge::Automerge,
    key: &str,
) -> Result<Option<T>> {
    let value = match doc.get(automerge::ROOT, key) {
        Ok(Some((automerge::Value::Object(_), obj))) => object_to_json(doc, &obj)
            .map_err(|e| Error::corrupt(format!("/{key}"), e.to_string()))?,
        Ok(Some((automerge::Value::Scalar(scalar), _))) => {
            if matches!(scalar.as_ref(), automerge::ScalarValue::Null) {
                return Ok(None);
            }
            return Err(Error::corrupt(format!("/{key}"), "is not a map"));
        }
        Ok(None) => return Ok(None),
        Err(e) => return Err(Error::corrupt(format!("/{key}"), e.to_string())),
    };
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| Error::corrupt(format!("/{key}"), e.to_string()))
}

/// Reads only the incident id, for routing a document received from outside.
pub fn read_id(doc: &automerge::Automerge) -> Result<IncidentId> {
    match doc.get(automerge::ROOT, keys::ID) {
        Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => IncidentId::parse(s),
            _ => Err(Error::corrupt("/id", "is not a string")),
        },
        Ok(_) => Err(Error::corrupt("/id", "missing")),
        Err(e) => Err(Error::corrupt("/id", e.to_string())),
    }
}
