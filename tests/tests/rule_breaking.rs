//! A device that writes its document directly, bypassing the API, cannot make the
//! hub accept what its role forbids. The refused changes are quarantined on the
//! device with the hub's reason; everything valid in the same sync still lands.

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use testigo_core::incident::{keys, ObservationKind, Role};
use testigo_core::sync::quarantined;
use testigo_tests::{Person, World};

/// Runs raw automerge operations as this device's actor, as a tampered app would.
fn craft(
    person: &Person,
    id: &testigo_core::ids::IncidentId,
    f: impl FnOnce(
        &mut automerge::transaction::Transaction<'_>,
        automerge::ObjId,
    ) -> Result<(), automerge::AutomergeError>,
    collection: &str,
) {
    person
        .store
        .update(id, |doc, author, _| {
            let am = doc.automerge_mut();
            am.set_actor(author.writer.actor_id());
            let obj = match am.get(ROOT, collection)? {
                Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
                _ => panic!("{collection} is a map"),
            };
            am.transact(|tx| f(tx, obj.clone()))
                .map_err(|failure| failure.error)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_crafted_rule_breaking_change_is_rejected_and_quarantined_and_the_rest_lands() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let other = world.enrol("other", Role::Volunteer, None);
    let (a, b, c) = (
        desk.open_incident("Place A", None, None),
        desk.open_incident("Place B", None, None),
        desk.open_incident("Place C", None, None),
    );
    for id in [&a, &b, &c] {
        desk.assign(id, &vol, true);
    }
    desk.assign(&c, &other, true);
    other.sync(hub);
    let theirs = other
        .store
        .add_observation(
            &c,
            ObservationKind::Note,
            "black SUV, no plates",
            None,
            None,
        )
        .unwrap();
    other.sync(hub);
    assert_eq!(vol.sync(hub).incidents_added, 3);
    assert_eq!(vol.view(&c).observations.len(), 1);

    // On A: a valid observation, then the reported place overwritten, then another
    // observation built on top of it.
    vol.store
        .add_observation(&a, ObservationKind::Note, "crowd gathering", None, None)
        .unwrap();
    craft(
        &vol,
        &a,
        |tx, report| tx.put(&report, "place_text", "somewhere else entirely"),
        keys::REPORT,
    );
    assert_eq!(vol.view(&a).report.place_text, "somewhere else entirely");
    vol.store
        .add_observation(
            &a,
            ObservationKind::Note,
            "written after the tampering",
            None,
            None,
        )
        .unwrap();
    // On B: only valid work.
    vol.store
        .add_observation(&b, ObservationKind::Count, "vehicles", Some(3), None)
        .unwrap();
    // On C: another volunteer's observation deleted.
    craft(
        &vol,
        &c,
        |tx, observations| tx.delete(&observations, theirs.as_str()),
        keys::OBSERVATIONS,
    );
    assert!(vol.view(&c).observations.is_empty());

    let report = vol.sync(hub);
    let reasons: Vec<(String, String)> = report
        .rejected
        .iter()
        .map(|r| (r.incident.to_string(), r.reason.clone()))
        .collect();
    assert_eq!(report.rejected.len(), 3, "{reasons:?}");
    assert!(
        reasons.iter().any(|(i, r)| i == a.as_str()
            && r.contains("put object")
            && r.contains("/place_text")
            && r.contains("this change did not make")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(i, r)| i == a.as_str() && r.contains("depends on")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(i, r)| i == c.as_str()
            && r.contains("delete /observations/")
            && r.contains("is ever deleted")),
        "{reasons:?}"
    );

    // What was valid landed on the hub; what was not did not.
    let hub_a = desk.view(&a);
    assert_eq!(hub_a.report.place_text, "Place A");
    assert_eq!(
        hub_a
            .observations
            .iter()
            .map(|o| o.text.as_str())
            .collect::<Vec<_>>(),
        vec!["crowd gathering"]
    );
    assert_eq!(desk.view(&b).observations.len(), 1);
    assert_eq!(
        desk.view(&c).observations.len(),
        1,
        "the other volunteer's observation is intact"
    );

    // The device kept the refused changes in quarantine and went on without them.
    let kept = quarantined(&vol.store).unwrap();
    assert_eq!(kept.len(), 3);
    assert!(kept
        .iter()
        .all(|q| !q.bytes.is_empty() && !q.reason.is_empty()));
    assert_eq!(vol.view(&a).report.place_text, "Place A");
    assert_eq!(vol.view(&a).observations.len(), 1);
    assert_eq!(vol.view(&c).observations.len(), 1);
    for id in [&a, &b, &c] {
        assert_eq!(
            serde_json::to_value(vol.view(id)).unwrap(),
            serde_json::to_value(desk.view(id)).unwrap()
        );
    }

    // The next sync is clean.
    let next = vol.sync(hub);
    assert!(next.rejected.is_empty() && next.changes_up == 0, "{next:?}");
    vol.store
        .add_observation(
            &a,
            ObservationKind::Note,
            "still working after quarantine",
            None,
            None,
        )
        .unwrap();
    let after = vol.sync(hub);
    assert!(
        after.rejected.is_empty() && after.changes_up == 1,
        "{after:?}"
    );
    assert_eq!(desk.view(&a).observations.len(), 2);
}

#[test]
fn a_volunteer_cannot_confirm_or_write_as_someone_else() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let id = desk.open_incident("Place", None, None);
    desk.assign(&id, &vol, true);
    vol.sync(hub);

    // A confirmation event claiming the team-lead role, written straight into the map.
    let event = serde_json::json!({
        "id": "rec_0123456789abcdef0123456789abcdef", "kind": "determination_confirmed", "role": "team_lead",
        "determination": "verified", "confidence": null, "note": null,
        "by": vol.store.device_id(), "at": 1_700_000_000_000i64
    });
    craft(
        &vol,
        &id,
        |tx, events| {
            let obj = tx.put_object(
                &events,
                "rec_0123456789abcdef0123456789abcdef",
                ObjType::Map,
            )?;
            for (k, v) in event.as_object().unwrap() {
                match v {
                    serde_json::Value::String(s) => tx.put(&obj, k, s.as_str())?,
                    serde_json::Value::Number(n) => tx.put(&obj, k, n.as_i64().unwrap())?,
                    serde_json::Value::Null => tx.put(&obj, k, automerge::ScalarValue::Null)?,
                    _ => {}
                }
            }
            Ok(())
        },
        keys::EVENTS,
    );
    let report = vol.sync(hub);
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(
        report.rejected[0]
            .reason
            .contains("claims the role team_lead"),
        "{report:?}"
    );
    assert!(desk
        .view(&id)
        .events
        .iter()
        .all(|e| e.kind != testigo_core::incident::EventKind::DeterminationConfirmed));
}
