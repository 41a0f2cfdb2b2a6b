//! Moves plain JSON values in and out of automerge.
//!
//! Records are written as ordinary automerge maps, lists and scalars, so any automerge
//! implementation can read an incident. Reading goes the other way through
//! `hydrate`, which cannot fail, and then through serde, which reports a wrong type as
//! an error instead of panicking: that is what makes a peer's document safe to read.

use automerge::transaction::Transactable;
use automerge::{hydrate, AutomergeError, ObjId, ObjType, Prop, ReadDoc, ScalarValue};
use serde_json::{Map, Number, Value};

use crate::error::Result;

/// Writes `value` at `prop` of `obj`, creating nested objects as needed.
pub(crate) fn put_json<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    prop: impl Into<Prop>,
    value: &Value,
) -> Result<()> {
    let prop = prop.into();
    match value {
        Value::Object(fields) => {
            let child = tx.put_object(obj, prop, ObjType::Map)?;
            for (key, v) in fields {
                put_json(tx, &child, key.as_str(), v)?;
            }
        }
        Value::Array(items) => {
            let child = tx.put_object(obj, prop, ObjType::List)?;
            for (i, v) in items.iter().enumerate() {
                insert_json(tx, &child, i, v)?;
            }
        }
        scalar => tx.put(obj, prop, to_scalar(scalar))?,
    }
    Ok(())
}

fn insert_json<T: Transactable>(
    tx: &mut T,
    list: &ObjId,
    index: usize,
    value: &Value,
) -> Result<()> {
    match value {
        Value::Object(fields) => {
            let child = tx.insert_object(list, index, ObjType::Map)?;
            for (key, v) in fields {
                put_json(tx, &child, key.as_str(), v)?;
            }
        }
        Value::Array(items) => {
            let child = tx.insert_object(list, index, ObjType::List)?;
            for (i, v) in items.iter().enumerate() {
                insert_json(tx, &child, i, v)?;
            }
        }
        scalar => tx.insert(list, index, to_scalar(scalar))?,
    }
    Ok(())
}

fn to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => ScalarValue::Int(i),
            (None, Some(f)) => ScalarValue::F64(f),
            (None, None) => ScalarValue::Null,
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Array(_) | Value::Object(_) => unreachable!("objects are handled by the caller"),
    }
}

/// `value` with every object's keys in sorted order, whichever map serde_json was
/// built with: what is meant to be canonical (an evidence bundle) is sorted
/// explicitly rather than by serde_json's default map.
pub(crate) fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, canonical(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Converts a hydrated automerge value to JSON. Never fails: values with no JSON
/// meaning (bytes, non-finite floats, unknown future types) become `null`, which the
/// typed reader then reports as a wrong type where it matters.
pub(crate) fn to_json(value: &hydrate::Value) -> Value {
    match value {
        hydrate::Value::Scalar(s) => scalar_to_json(s),
        hydrate::Value::Map(map) => {
            // automerge hands a hydrated map's entries over in no particular order,
            // and serde_json keeps insertion order when its `preserve_order` feature
            // is on (the hub and the CLI link a library that turns it on): so sorted
            // here, every build reads records in the same order.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut out = Map::new();
            for (key, entry) in entries {
                out.insert(key.clone(), to_json(&entry.value));
            }
            Value::Object(out)
        }
        hydrate::Value::List(list) => {
            Value::Array(list.iter().map(|item| to_json(&item.value)).collect())
        }
        hydrate::Value::Text(text) => Value::String(text.to_string()),
    }
}

/// Converts one object of a document (a map, list or text) to JSON without hydrating
/// the rest of the document. Same mapping as [`to_json`].
pub(crate) fn object_to_json<D: ReadDoc>(doc: &D, obj: &ObjId) -> Result<Value, AutomergeError> {
    Ok(match doc.object_type(obj)? {
        ObjType::Map | ObjType::Table => {
            let mut out = Map::new();
            for key in doc.keys(obj) {
                if let Some((value, id)) = doc.get(obj, key.as_str())? {
                    out.insert(key, value_to_json(doc, value, &id)?);
                }
            }
            Value::Object(out)
        }
        ObjType::List => {
            let mut out = Vec::with_capacity(doc.length(obj));
            for index in 0..doc.length(obj) {
                if let Some((value, id)) = doc.get(obj, index)? {
                    out.push(value_to_json(doc, value, &id)?);
                }
            }
            Value::Array(out)
        }
        ObjType::Text => Value::String(doc.text(obj)?),
    })
}

fn value_to_json<D: ReadDoc>(
    doc: &D,
    value: automerge::Value<'_>,
    id: &ObjId,
) -> Result<Value, AutomergeError> {
    match value {
        automerge::Value::Object(_) => object_to_json(doc, id),
        automerge::Value::Scalar(scalar) => Ok(scalar_to_json(&scalar)),
    }
}

pub(crate) fn scalar_to_json(s: &ScalarValue) -> Value {
    match s {
        ScalarValue::Str(s) => Value::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Value::Number((*i).into()),
        ScalarValue::Uint(u) => Value::Number((*u).into()),
        ScalarValue::F64(f) => Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        ScalarValue::Counter(c) => Value::Number(i64::from(c).into()),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{Automerge, ReadDoc, ROOT};
    use serde_json::json;

    #[test]
    fn json_survives_a_round_trip_through_automerge() {
        let value = json!({"a": 1, "b": [true, null, "x", {"c": 2.5}], "d": {"e": -7}});
        let mut doc = Automerge::new();
        doc.transact::<_, _, crate::error::Error>(|tx| put_json(tx, &ROOT, "v", &value))
            .unwrap();
        let hydrated = doc.hydrate(None);
        let root = to_json(&hydrated);
        assert_eq!(root["v"], value);
        assert!(doc.get(ROOT, "v").unwrap().is_some());
    }
}
