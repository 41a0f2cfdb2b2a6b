//! The rules for each op of a change, and the tree of new objects the ops build.

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::legacy::{ElementId, Key, ObjectId, Op, OpType};
use automerge::ExpandedChange;
use automerge::{ObjType, ScalarValue};

use super::header::Header;
use super::roots::{Collection, Roots};
use super::{OpKey, Refusal, Validator, Writer};
use crate::ids::DeviceId;
use crate::incident::{keys, parse_answer_key};
use crate::rules::limits::MAX_STRING_BYTES;
use crate::rules::permissions::{may, refusal, Act};

/// A value written into a new object.
#[derive(Clone, Debug)]
pub(crate) enum Child {
    Scalar(ScalarValue),
    Object(OpKey),
}

/// An object the change made, with what the change wrote into it.
#[derive(Debug)]
pub(crate) enum Node {
    Map(BTreeMap<String, Child>),
    /// Elements as inserted: (element id, inserted after — `None` for the head, value).
    List(Vec<(OpKey, Option<OpKey>, Child)>),
}

/// Where a record the change adds goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Record(Collection, String),
    /// A whole new report, replacing the current one.
    Report,
    /// The creating change's root keys.
    Root(String),
}

impl Place {
    pub(crate) fn path(&self) -> String {
        match self {
            Place::Record(c, key) => format!("/{}/{key}", c.key()),
            Place::Report => format!("/{}", keys::REPORT),
            Place::Root(key) => format!("/{key}"),
        }
    }
}

/// What the ops of a change add.
pub(crate) struct Walked {
    pub nodes: HashMap<OpKey, Node>,
    /// Each new record (or creating-change root key) and the object or value it is.
    pub entries: Vec<(Place, Child)>,
    /// The collections a creating change made.
    pub created_roots: Option<Roots>,
    /// The ops written at collection keys, each with the ops it supersedes, for the
    /// rest of the batch.
    pub collection_writes: Vec<((Collection, String), OpKey, Vec<OpKey>)>,
}

/// Root keys a creating change writes as plain values.
const ROOT_SCALARS: [&str; 5] = [
    keys::SCHEMA,
    keys::KIND,
    keys::ID,
    keys::CREATED_AT,
    keys::CREATED_BY,
];

pub(crate) fn walk(
    validator: &Validator<'_>,
    change: &ExpandedChange,
    header: &Header,
    writer: Writer<'_>,
) -> Result<Walked, Refusal> {
    let creating = header.creating;
    if creating && validator.roots.is_some() {
        return Err(Refusal::new(
            "has no dependencies, but the incident already exists: only its first change may create it",
        ));
    }
    if !creating && validator.roots.is_none() {
        return Err(Refusal::new(
            "the incident does not exist yet: its first change must create it",
        ));
    }
    let empty = Roots::default();
    let roots = validator.roots.as_ref().unwrap_or(&empty);
    let mut walked = Walked {
        nodes: HashMap::new(),
        entries: Vec::new(),
        created_roots: None,
        collection_writes: Vec::new(),
    };
    let mut root_keys_written: HashSet<String> = HashSet::new();
    let mut new_collections: Vec<(OpKey, Collection)> = Vec::new();
    let mut keys_written: HashSet<(Collection, String)> = HashSet::new();

    for (index, op) in change.operations.iter().enumerate() {
        let id: OpKey = (header.start_op + index as u64, header.actor.clone());
        let at = |rule: &str| Refusal::new(format!("op {index} ({}): {rule}", describe(op, roots)));
        let made = match &op.action {
            OpType::Make(ObjType::Map) => Some(Node::Map(BTreeMap::new())),
            OpType::Make(ObjType::List) => Some(Node::List(Vec::new())),
            OpType::Make(other) => {
                return Err(at(&format!(
                    "makes a {other:?} object, which incidents do not use"
                )))
            }
            OpType::Put(value) => {
                check_scalar(value).map_err(|rule| at(&rule))?;
                None
            }
            OpType::Delete => return Err(at("nothing in an incident is ever deleted")),
            OpType::Increment(_) => return Err(at("incidents hold no counters")),
            OpType::MarkBegin(_) | OpType::MarkEnd(_) => {
                return Err(at("incidents hold no text marks"))
            }
        };
        let child = match &op.action {
            OpType::Put(value) => Child::Scalar(value.clone()),
            _ => Child::Object(id.clone()),
        };

        match &op.obj {
            ObjectId::Root => {
                let Key::Map(key) = &op.key else {
                    return Err(at("the root is a map"));
                };
                if op.insert {
                    return Err(at("the root is a map"));
                }
                if creating {
                    if !root_keys_written.insert(key.to_string()) {
                        return Err(at("a root key is written once"));
                    }
                    if !op.pred.is_empty() {
                        return Err(at("a new incident overwrites nothing"));
                    }
                    let key = key.as_str();
                    let is_object = made.is_some();
                    if let Some(collection) = Collection::from_key(key) {
                        if !matches!(op.action, OpType::Make(ObjType::Map)) {
                            return Err(at("a collection is a map"));
                        }
                        new_collections.push((id.clone(), collection));
                    } else if key == keys::REPORT || key == keys::TEMPLATE {
                        if !matches!(op.action, OpType::Make(ObjType::Map)) {
                            return Err(at("the report and the template are maps"));
                        }
                        walked.entries.push((
                            if key == keys::REPORT {
                                Place::Report
                            } else {
                                Place::Root(key.to_owned())
                            },
                            child.clone(),
                        ));
                    } else if ROOT_SCALARS.contains(&key) {
                        if is_object {
                            return Err(at("this root key holds a plain value"));
                        }
                        walked
                            .entries
                            .push((Place::Root(key.to_owned()), child.clone()));
                    } else {
                        return Err(at("not a key of an incident"));
                    }
                } else {
                    if key.as_str() != keys::REPORT {
                        return Err(at(
                            "a root key is written only by the change that creates the incident",
                        ));
                    }
                    if !matches!(op.action, OpType::Make(ObjType::Map)) {
                        return Err(at("a report is replaced whole, by a new map"));
                    }
                    if !root_keys_written.insert(key.to_string()) {
                        return Err(at("the report is replaced once per change"));
                    }
                    if let Writer::Enrolled { role, .. } = writer {
                        if !may(role, Act::EditReport) {
                            return Err(at(&refusal(role, Act::EditReport)));
                        }
                    }
                    walked.entries.push((Place::Report, child.clone()));
                }
            }
            ObjectId::Id(obj) => {
                let obj: OpKey = (obj.counter(), obj.actor().clone());
                if let Some(collection) = roots.collection(&obj) {
                    let Key::Map(key) = &op.key else {
                        return Err(at("a collection is a map"));
                    };
                    if op.insert {
                        return Err(at("a collection is a map"));
                    }
                    if !matches!(op.action, OpType::Make(ObjType::Map)) {
                        return Err(at("a collection holds records, each a new map"));
                    }
                    let key = key.to_string();
                    if !keys_written.insert((collection, key.clone())) {
                        return Err(at("a record is written once per change"));
                    }
                    let pred: Vec<OpKey> = op
                        .pred
                        .iter()
                        .map(|p| (p.counter(), p.actor().clone()))
                        .collect();
                    check_collection_key(validator, roots, collection, &key, &pred, header)
                        .map_err(|rule| at(&rule))?;
                    walked
                        .collection_writes
                        .push(((collection, key.clone()), id.clone(), pred));
                    walked
                        .entries
                        .push((Place::Record(collection, key), child.clone()));
                } else if new_collections.iter().any(|(made, _)| *made == obj) {
                    return Err(at("a new incident's collections start empty"));
                } else if let Some(node) = walked.nodes.get_mut(&obj) {
                    if !op.pred.is_empty() {
                        return Err(at("a new record's fields are each written once"));
                    }
                    match node {
                        Node::Map(fields) => {
                            let Key::Map(key) = &op.key else {
                                return Err(at("writes an element into a map"));
                            };
                            if op.insert {
                                return Err(at("inserts into a map"));
                            }
                            if fields.insert(key.to_string(), child.clone()).is_some() {
                                return Err(at("a new record's fields are each written once"));
                            }
                        }
                        Node::List(items) => {
                            if !op.insert {
                                return Err(at("a new list only takes inserts"));
                            }
                            let after = match &op.key {
                                Key::Seq(ElementId::Head) => None,
                                Key::Seq(ElementId::Id(e)) => {
                                    let e: OpKey = (e.counter(), e.actor().clone());
                                    if !items.iter().any(|(item, _, _)| *item == e) {
                                        return Err(at(
                                            "inserts after an element the list does not have",
                                        ));
                                    }
                                    Some(e)
                                }
                                Key::Map(_) => return Err(at("writes a key into a list")),
                            };
                            items.push((id.clone(), after, child.clone()));
                        }
                    }
                } else {
                    return Err(at(
                        "writes into an object this change did not make: records are written only by the change that adds them",
                    ));
                }
            }
        }
        if let Some(node) = made {
            walked.nodes.insert(id, node);
        }
    }

    if creating {
        for collection in Collection::ALL {
            if !new_collections.iter().any(|(_, c)| *c == collection) {
                return Err(Refusal::new(format!(
                    "creates the incident without its /{} collection",
                    collection.key()
                )));
            }
        }
        for key in ROOT_SCALARS.iter().chain(&[keys::REPORT]) {
            if !root_keys_written.contains(*key) {
                return Err(Refusal::new(format!("creates the incident without /{key}")));
            }
        }
        walked.created_roots = Some(Roots::created(new_collections));
    }
    Ok(walked)
}

/// Who may write which key of a collection, and what it may supersede.
fn check_collection_key(
    validator: &Validator<'_>,
    roots: &Roots,
    collection: Collection,
    key: &str,
    pred: &[OpKey],
    header: &Header,
) -> Result<(), String> {
    // What stands at the key once the batch's earlier changes are applied: the
    // document's ops and the batch's, less those the batch superseded.
    let mut visible = roots.visible(validator.doc(), collection, key);
    if let Some(ops) = validator.written.get(&(collection, key.to_owned())) {
        visible.extend(ops.iter().cloned());
    }
    visible.retain(|op| !validator.superseded.contains(op));
    if collection.append_only() {
        if !pred.is_empty() || !visible.is_empty() {
            return Err(format!(
                "/{} is append-only: a record is added under a new key, never over another",
                collection.key()
            ));
        }
        return Ok(());
    }
    match collection {
        Collection::Answers => {
            let owner = parse_answer_key(key)
                .map(|(_, device)| device)
                .ok_or_else(|| "an answer's key is <question>@<device>".to_owned())?;
            if owner != header.device {
                return Err(format!(
                    "/answers/{key} is {owner}'s answer; only they can give or change it"
                ));
            }
            if pred.iter().any(|(_, actor)| *actor != header.actor) {
                return Err("an answer supersedes only its author's own earlier answer".to_owned());
            }
            if visible.iter().any(|op| !pred.contains(op)) {
                return Err(
                    "an answer supersedes its author's earlier answer instead of standing beside it"
                        .to_owned(),
                );
            }
            Ok(())
        }
        Collection::Assignments => DeviceId::parse(key)
            .map(|_| ())
            .map_err(|_| "an assignment's key is the assignee's device id".to_owned()),
        _ => Ok(()),
    }
}

/// Only the plain values a record holds, and no string past the limit.
fn check_scalar(value: &ScalarValue) -> Result<(), String> {
    match value {
        ScalarValue::Str(s) if s.len() > MAX_STRING_BYTES => Err(format!(
            "a string of {} bytes; at most {MAX_STRING_BYTES}",
            s.len()
        )),
        // Every number an incident holds (a decimal answer, a fix, a distance) is
        // finite; JSON cannot even write NaN or infinity, so a reader would see null.
        ScalarValue::F64(x) if !x.is_finite() => Err(format!(
            "the number {x}; incidents hold finite numbers only"
        )),
        ScalarValue::Str(_)
        | ScalarValue::Int(_)
        | ScalarValue::F64(_)
        | ScalarValue::Boolean(_)
        | ScalarValue::Null => Ok(()),
        other => Err(format!(
            "a value of a type incidents do not use ({})",
            match other {
                ScalarValue::Bytes(_) => "bytes",
                ScalarValue::Uint(_) => "unsigned",
                ScalarValue::Counter(_) => "counter",
                ScalarValue::Timestamp(_) => "timestamp",
                _ => "unknown",
            }
        )),
    }
}

/// An op as a refusal names it: action, object and key.
fn describe(op: &Op, roots: &Roots) -> String {
    let action = match &op.action {
        OpType::Make(t) => format!("make {t:?}"),
        OpType::Put(_) => "put".to_owned(),
        OpType::Delete => "delete".to_owned(),
        OpType::Increment(_) => "increment".to_owned(),
        OpType::MarkBegin(_) | OpType::MarkEnd(_) => "mark".to_owned(),
    };
    let obj = match &op.obj {
        ObjectId::Root => String::new(),
        ObjectId::Id(id) => match roots.collection(&(id.counter(), id.actor().clone())) {
            Some(c) => format!("/{}", c.key()),
            None => format!(
                "object {}@{}",
                id.counter(),
                short(&id.actor().to_hex_string())
            ),
        },
    };
    let key = match &op.key {
        Key::Map(k) => k.to_string(),
        Key::Seq(ElementId::Head) => "[head]".to_owned(),
        Key::Seq(ElementId::Id(e)) => format!("[after {}]", e.counter()),
    };
    format!("{action} {obj}/{key}")
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(8)]
}
