//! A document from a peer is untrusted input. Whatever structure and types it holds
//! at the paths the reader touches, reading gives a view or a typed error: never a
//! panic.

mod common;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ReadDoc, ScalarValue, ROOT};
use common::*;
use proptest::prelude::*;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{IncidentDoc, Role};
use testigo_core::Error;

/// Arbitrary automerge content: scalars of every type, nested maps and lists.
#[derive(Clone, Debug)]
enum Junk {
    Scalar(ScalarValue),
    Map(Vec<(String, Junk)>),
    List(Vec<Junk>),
    Text(String),
}

fn scalar() -> impl Strategy<Value = ScalarValue> {
    prop_oneof![
        any::<i64>().prop_map(ScalarValue::Int),
        any::<u64>().prop_map(ScalarValue::Uint),
        any::<f64>().prop_map(ScalarValue::F64),
        any::<bool>().prop_map(ScalarValue::Boolean),
        ".{0,12}".prop_map(|s| ScalarValue::Str(s.into())),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(ScalarValue::Bytes),
        any::<i64>().prop_map(ScalarValue::Timestamp),
        Just(ScalarValue::Null),
        prop_oneof![
            Just("inc_0123456789abcdef0123456789abcdef"),
            Just("dev_0123456789abcdef0123456789abcdef"),
            Just("yes_no"),
            Just("verified")
        ]
        .prop_map(|s| ScalarValue::Str(s.into())),
    ]
}

/// Keys the reader looks for, so the junk lands where it hurts.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "schema",
            "kind",
            "id",
            "created_at",
            "created_by",
            "report",
            "template",
            "assignments",
            "answers",
            "observations",
            "checkpoints",
            "events",
            "place_text",
            "point",
            "lat",
            "lon",
            "reported_at",
            "description",
            "urgency",
            "source",
            "value",
            "type",
            "by",
            "at",
            "fix",
            "accuracy_m",
            "fix_time",
            "provider",
            "kind",
            "determination",
            "amends",
            "count",
        ])
        .prop_map(str::to_owned),
        "[a-z_@]{1,10}",
    ]
}

fn junk() -> impl Strategy<Value = Junk> {
    let leaf = prop_oneof![
        scalar().prop_map(Junk::Scalar),
        ".{0,8}".prop_map(Junk::Text)
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..6).prop_map(Junk::Map),
            prop::collection::vec(inner, 0..4).prop_map(Junk::List),
        ]
    })
}

fn write<T: Transactable>(tx: &mut T, obj: &automerge::ObjId, key: &str, junk: &Junk) {
    match junk {
        Junk::Scalar(s) => {
            tx.put(obj, key, s.clone()).unwrap();
        }
        Junk::Text(s) => {
            let text = tx.put_object(obj, key, ObjType::Text).unwrap();
            tx.splice_text(&text, 0, 0, s).unwrap();
        }
        Junk::Map(entries) => {
            let map = tx.put_object(obj, key, ObjType::Map).unwrap();
            for (k, v) in entries {
                write(tx, &map, k, v);
            }
        }
        Junk::List(items) => {
            let list = tx.put_object(obj, key, ObjType::List).unwrap();
            for (i, v) in items.iter().enumerate() {
                if let Junk::Scalar(s) = v {
                    tx.insert(&list, i, s.clone()).unwrap();
                } else {
                    tx.insert(&list, i, ScalarValue::Null).unwrap();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A whole root of junk.
    #[test]
    fn arbitrary_roots_never_panic(entries in prop::collection::vec((key(), junk()), 0..12)) {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            for (k, v) in &entries {
                write(tx, &ROOT, k, v);
            }
            Ok(())
        }).unwrap();
        match testigo_core::incident::read_view(&doc) {
            Ok(_) | Err(Error::CorruptDocument { .. }) | Err(Error::InvalidInput { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error type {other:?}"),
        }
    }

    /// A valid incident with junk written over one path of it, as a hostile peer
    /// would do through a change.
    #[test]
    fn junk_over_a_valid_incident_is_read_defensively(
        path in prop::collection::vec(key(), 1..4),
        value in junk(),
    ) {
        let ana = person(2, Role::Volunteer);
        let mut incident = IncidentDoc::create(&IncidentId::generate(), &ana, report("Main St"), at(0)).unwrap();
        incident.add_observation(&ana, testigo_core::incident::ObservationKind::Note, "seen", None, Some(fix_near(0.0)), at(1)).unwrap();
        let doc = incident.automerge_mut();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let mut obj = ROOT;
            for k in &path[..path.len() - 1] {
                obj = match tx.get(&obj, k.as_str())? {
                    Some((automerge::Value::Object(ObjType::Map), child)) => child,
                    _ => tx.put_object(&obj, k.as_str(), ObjType::Map)?,
                };
            }
            write(tx, &obj, path.last().unwrap(), &value);
            Ok(())
        }).unwrap();
        match incident.view() {
            Ok(_) | Err(Error::CorruptDocument { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error type {other:?}"),
        }
    }

    /// Arbitrary bytes are not a document.
    #[test]
    fn arbitrary_bytes_are_a_typed_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match IncidentDoc::load(&bytes) {
            Ok(_) | Err(Error::CorruptDocument { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error type {other:?}"),
        }
    }
}

#[test]
fn a_malformed_record_is_left_out_and_reported() {
    let ana = person(2, Role::Volunteer);
    let mut incident =
        IncidentDoc::create(&IncidentId::generate(), &ana, report("Main St"), at(0)).unwrap();
    incident
        .add_observation(
            &ana,
            testigo_core::incident::ObservationKind::Note,
            "kept",
            None,
            None,
            at(1),
        )
        .unwrap();
    incident
        .automerge_mut()
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            let (_, observations) = tx.get(ROOT, "observations")?.unwrap();
            let bad = tx.put_object(
                &observations,
                "rec_0123456789abcdef0123456789abcdef",
                ObjType::Map,
            )?;
            tx.put(&bad, "text", 42)?;
            tx.put(ROOT, "surprise", "unknown fields are ignored")?;
            Ok(())
        })
        .unwrap();
    let view = incident.view().unwrap();
    assert_eq!(view.observations.len(), 1);
    assert_eq!(view.problems.len(), 1);
    assert!(
        view.problems[0].starts_with("/observations/rec_0123456789abcdef0123456789abcdef"),
        "{:?}",
        view.problems
    );

    // A wrong type at the root is a typed error naming the path.
    incident
        .automerge_mut()
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "report", 7))
        .unwrap();
    match incident.view() {
        Err(Error::CorruptDocument { path, .. }) => assert_eq!(path, "/report"),
        other => panic!("{other:?}"),
    }
}
