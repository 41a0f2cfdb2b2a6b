//! The incident's root collections: which automerge objects they are. They are made
//! once, by the change that creates the incident, and every later record must go into
//! exactly those objects — a change that made a new `observations` map would leave
//! everyone else's concurrent records in the old one, unreachable.

use std::collections::HashMap;

use automerge::{Automerge, ObjId, ObjType, ReadDoc, Value, ROOT};

use super::{OpKey, Refusal};
use crate::incident::keys;

/// A root collection of the incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Collection {
    Assignments,
    Answers,
    Observations,
    Checkpoints,
    Events,
}

impl Collection {
    pub(crate) const ALL: [Collection; 5] = [
        Collection::Assignments,
        Collection::Answers,
        Collection::Observations,
        Collection::Checkpoints,
        Collection::Events,
    ];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Collection::Assignments => keys::ASSIGNMENTS,
            Collection::Answers => keys::ANSWERS,
            Collection::Observations => keys::OBSERVATIONS,
            Collection::Checkpoints => keys::CHECKPOINTS,
            Collection::Events => keys::EVENTS,
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }

    /// Records are only ever added, under a fresh key.
    pub(crate) fn append_only(self) -> bool {
        matches!(
            self,
            Collection::Observations | Collection::Checkpoints | Collection::Events
        )
    }
}

/// Where each collection lives.
#[derive(Clone, Debug, Default)]
pub(crate) struct Roots {
    by_op: HashMap<OpKey, Collection>,
    /// The document's id of each collection, for look-ups (absent while the creating
    /// change is still only in the batch).
    in_doc: HashMap<Collection, ObjId>,
}

impl Roots {
    /// The collections of an existing incident; `None` for an empty document.
    pub(crate) fn read(doc: &Automerge) -> Result<Option<Self>, Refusal> {
        if doc.get_heads().is_empty() {
            return Ok(None);
        }
        let mut roots = Roots::default();
        for collection in Collection::ALL {
            let values = doc.get_all(ROOT, collection.key()).unwrap_or_default();
            match values.as_slice() {
                [(Value::Object(ObjType::Map), id @ ObjId::Id(counter, actor, _))] => {
                    roots.by_op.insert((*counter, actor.clone()), collection);
                    roots.in_doc.insert(collection, id.clone());
                }
                _ => {
                    return Err(Refusal::new(format!(
                        "the incident's /{} is damaged: it is not exactly one map",
                        collection.key()
                    )))
                }
            }
        }
        Ok(Some(roots))
    }

    /// The collections a creating change made.
    pub(crate) fn created(made: impl IntoIterator<Item = (OpKey, Collection)>) -> Self {
        Roots {
            by_op: made.into_iter().collect(),
            in_doc: HashMap::new(),
        }
    }

    pub(crate) fn collection(&self, obj: &OpKey) -> Option<Collection> {
        self.by_op.get(obj).copied()
    }

    /// The ops currently visible at `key` of `collection` in the document.
    pub(crate) fn visible(&self, doc: &Automerge, collection: Collection, key: &str) -> Vec<OpKey> {
        let Some(obj) = self.in_doc.get(&collection) else {
            return Vec::new();
        };
        doc.get_all(obj, key)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, id)| match id {
                ObjId::Id(counter, actor, _) => Some((counter, actor)),
                ObjId::Root => None,
            })
            .collect()
    }
}
