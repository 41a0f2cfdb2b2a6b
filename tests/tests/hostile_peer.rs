//! A compromised phone attacks the hub. Each attack is crafted with automerge
//! directly — ops, counters and dependencies chosen by the attacker — and sent over
//! HTTP as a sync request signed with the attacking device's real enrolled key, never
//! through the store. The hub runs as a child process so that its peak memory can be
//! read from `/proc/<pid>/status`.
//!
//! For every attack: the hub refuses it with a reason naming the rule (or, for a request
//! past the per-request limits, answers 413), keeps serving, and an honest volunteer's
//! offline work made meanwhile lands on the hub and on every replica.

use automerge::transaction::{Transactable, Transaction};
use automerge::ExpandedChange;
use automerge::{Automerge, AutomergeError, Change, ChangeHash, ObjId, ObjType, ReadDoc, ROOT};
use serde_json::{json, Value};
use tempfile::TempDir;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{keys, ObservationKind, Role};
use testigo_core::rules::limits::MAX_CHANGE_BYTES_PER_REQUEST;
use testigo_core::sync::{self, protocol, protocol::SyncResponse};
use testigo_tests::child_hub::HubProcess;
use testigo_tests::{child_hub_test, post_signed_changes, Api, Person};

child_hub_test!(hostile_peer_hub_child);

/// What the hub's memory may peak at over the whole suite. The attacks include a
/// request whose changes would inflate to 20 GB; a debug hub serving this suite
/// normally peaks well under 100 MiB.
const PEAK_MEMORY_CEILING: u64 = 300 << 20;

struct Scene {
    _dir: TempDir,
    hub: HubProcess,
    desk: Api,
    attacker: Person,
    honest: Person,
    incident: IncidentId,
    /// The honest volunteer's observation the hub already holds.
    honest_record: RecordId,
    /// The incident's heads before that observation.
    heads_before_honest: Vec<ChangeHash>,
}

fn enrol(url: &str, coordinator: &Api, name: &'static str, role: Role) -> Person {
    let code = coordinator.code(role, None);
    let person = Person::new(name);
    sync::enroll(&person.store, url, &code).unwrap_or_else(|e| panic!("{name} enrols: {e}"));
    person
}

fn scene() -> Scene {
    let dir = TempDir::new().unwrap();
    let hub = HubProcess::start(
        "hostile_peer_hub_child",
        &dir.path().join("hub.sqlite"),
        "127.0.0.1:0",
    );
    let url = hub.url();
    let coordinator = Person::new("coordinator");
    sync::enroll(
        &coordinator.store,
        &url,
        hub.bootstrap_code
            .as_deref()
            .expect("a fresh hub prints a code"),
    )
    .unwrap();
    let coordinator_api = Api::with_url(&url, &coordinator.store.identity().credential.unwrap());
    let desk = enrol(&url, &coordinator_api, "dispatcher", Role::Dispatcher);
    let desk = Api::with_url(&url, &desk.store.identity().credential.unwrap());
    let attacker = enrol(&url, &coordinator_api, "attacker", Role::Volunteer);
    let honest = enrol(&url, &coordinator_api, "honest", Role::Volunteer);
    let incident = desk.open_incident("Cherokee St & Jefferson Ave", None, None);
    desk.assign(&incident, &attacker, true);
    desk.assign(&incident, &honest, true);
    sync_ok(&attacker, &url);
    let heads_before_honest = attacker
        .store
        .with_document(&incident, |d| Ok(d.get_heads()))
        .unwrap();
    sync_ok(&honest, &url);
    let honest_record = honest
        .store
        .add_observation(
            &incident,
            ObservationKind::Note,
            "two unmarked vans",
            None,
            None,
        )
        .unwrap();
    honest
        .store
        .answer(
            &incident,
            "enforcement_present",
            AnswerValue::YesNo(YesNo::Yes),
        )
        .unwrap();
    sync_ok(&honest, &url);
    sync_ok(&attacker, &url);
    Scene {
        _dir: dir,
        hub,
        desk,
        attacker,
        honest,
        incident,
        honest_record,
        heads_before_honest,
    }
}

fn sync_ok(person: &Person, url: &str) -> sync::SyncReport {
    let report = sync::sync(&person.store, Some(url))
        .unwrap_or_else(|e| panic!("{} cannot sync: {e}", person.name));
    assert!(
        report.rejected.is_empty(),
        "{}: {:?}",
        person.name,
        report.rejected
    );
    report
}

/// The attacker's copy of the incident, writing as the attacker's own actor.
fn attackers_copy(scene: &Scene) -> Automerge {
    let mut doc = scene
        .attacker
        .store
        .with_document(&scene.incident, |d| Ok(d.fork()))
        .unwrap();
    doc.set_actor(scene.attacker.store.device_id().actor_id());
    doc
}

/// One change made with automerge's own API on `doc`.
fn craft_on(
    mut doc: Automerge,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Change {
    doc.transact(|tx| f(tx)).map_err(|f| f.error).unwrap();
    doc.get_last_local_change().expect("the crafted change")
}

fn craft(
    scene: &Scene,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Change {
    craft_on(attackers_copy(scene), f)
}

/// The same change with its header or ops rewritten, re-encoded (and so re-hashed).
fn rewrite(change: &Change, f: impl FnOnce(&mut ExpandedChange)) -> Change {
    let mut expanded = change.decode();
    f(&mut expanded);
    Change::from(expanded)
}

fn collection(tx: &Transaction<'_>, key: &str) -> ObjId {
    match tx.get(ROOT, key).unwrap() {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("/{key} is {other:?}"),
    }
}

/// Writes `value` as nested automerge maps and scalars, as the app writes records.
fn put_value(tx: &mut Transaction<'_>, obj: &ObjId, key: &str, value: &Value) {
    match value {
        Value::Object(fields) => {
            let child = tx.put_object(obj, key, ObjType::Map).unwrap();
            for (k, v) in fields {
                put_value(tx, &child, k, v);
            }
        }
        Value::String(s) => tx.put(obj, key, s.as_str()).unwrap(),
        Value::Number(n) if n.is_i64() => tx.put(obj, key, n.as_i64().unwrap()).unwrap(),
        Value::Number(n) => tx.put(obj, key, n.as_f64().unwrap()).unwrap(),
        Value::Bool(b) => tx.put(obj, key, *b).unwrap(),
        Value::Null => tx.put(obj, key, automerge::ScalarValue::Null).unwrap(),
        Value::Array(_) => unreachable!("no lists in these records"),
    }
}

fn observation(id: &RecordId, by: &str, text: &str) -> Value {
    json!({
        "id": id.as_str(), "kind": "note", "text": text, "count": null, "fix": null,
        "amends": null, "by": by, "at": 1_773_500_000_000i64
    })
}

/// Posts the changes; the hub must answer 200 and refuse every one with `reason`.
fn assert_refused(scene: &Scene, what: &str, changes: Vec<Change>, reason: &str) {
    let bytes = changes
        .iter()
        .map(|c| (c.raw_bytes().to_vec(), c.hash()))
        .collect();
    let (status, body) = post_signed_changes(
        &scene.hub.url(),
        &scene.attacker,
        &scene.incident,
        false,
        bytes,
    );
    assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(&body));
    let response: SyncResponse = protocol::decode(&body).unwrap();
    assert_eq!(
        response.rejected.len(),
        changes.len(),
        "{what}: {:?}",
        response.rejected
    );
    for rejection in &response.rejected {
        assert!(
            rejection.reason.contains(reason),
            "{what}: refused for {:?}, not for {reason:?}",
            rejection.reason
        );
    }
    assert_hub_serves(scene);
}

fn assert_hub_serves(scene: &Scene) {
    let view = scene.desk.view(&scene.incident);
    assert!(view
        .observations
        .iter()
        .any(|o| o.id == scene.honest_record));
}

#[test]
fn every_crafted_attack_is_refused_and_honest_offline_work_lands_everywhere() {
    let mut scene = scene();
    let url = scene.hub.url();
    let attacker_device = scene.attacker.store.device_id();
    let honest_device = scene.honest.store.device_id();

    // Meanwhile, offline, the honest volunteer keeps working.
    let offline = scene
        .honest
        .store
        .add_observation(
            &scene.incident,
            ObservationKind::Note,
            "agents moving north",
            None,
            None,
        )
        .unwrap();
    scene
        .honest
        .store
        .answer(
            &scene.incident,
            "safety_threat",
            AnswerValue::YesNo(YesNo::Yes),
        )
        .unwrap();

    // Map swap of each root collection, the old records copied into the new map.
    for key in keys::COLLECTIONS {
        let change = craft(&scene, |tx| {
            let fresh = tx.put_object(ROOT, key, ObjType::Map)?;
            tx.put(&fresh, "copied", "records")?;
            Ok(())
        });
        assert_refused(
            &scene,
            &format!("map swap of /{key}"),
            vec![change],
            "a root key is written only by the change that creates the incident",
        );
    }

    // Delete of another author's record.
    let record = scene.honest_record.clone();
    let change = craft(&scene, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        tx.delete(&observations, record.as_str())
    });
    assert_refused(
        &scene,
        "delete",
        vec![change],
        "nothing in an incident is ever deleted",
    );

    // Overwrite of another author's answer.
    let key = format!("enforcement_present@{honest_device}");
    let change = craft(&scene, |tx| {
        let answers = collection(tx, keys::ANSWERS);
        put_value(
            tx,
            &answers,
            &key,
            &json!({
                "value": {"type": "yes_no", "value": "no"}, "by": honest_device.as_str(), "at": 1_773_500_000_000i64
            }),
        );
        Ok(())
    });
    assert_refused(
        &scene,
        "answer overwrite",
        vec![change],
        "only they can give or change it",
    );

    // A conflicting put on a key someone else owns: made on a copy from before the
    // honest record existed, so automerge would keep both values side by side.
    let mut before = attackers_copy(&scene)
        .fork_at(&scene.heads_before_honest)
        .unwrap();
    before.set_actor(attacker_device.actor_id());
    let record = scene.honest_record.clone();
    let by = attacker_device.to_string();
    let change = craft_on(before, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        put_value(
            tx,
            &observations,
            record.as_str(),
            &observation(&record, &by, "nothing here"),
        );
        Ok(())
    });
    assert_refused(&scene, "conflicting put", vec![change], "append-only");

    // Op counters ending at u32::MAX and one below it; a start below the dependencies'
    // last op; a dependency nobody has.
    let id = RecordId::generate();
    let valid = craft(&scene, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        put_value(
            tx,
            &observations,
            id.as_str(),
            &observation(&id, &by, "looks fine"),
        );
        Ok(())
    });
    let ops = valid.len() as u64;
    for end in [u64::from(u32::MAX), u64::from(u32::MAX) - 1] {
        let poisoned = rewrite(&valid, |c| {
            c.start_op = std::num::NonZeroU64::new(end - ops + 1).unwrap()
        });
        assert_eq!(poisoned.max_op(), end);
        assert_refused(
            &scene,
            &format!("counter ending at {end}"),
            vec![poisoned],
            "op counter",
        );
    }
    let low = rewrite(&valid, |c| {
        c.start_op = std::num::NonZeroU64::new(c.start_op.get() - 1).unwrap()
    });
    assert_refused(
        &scene,
        "start below its dependencies",
        vec![low],
        "starts at op counter",
    );
    let orphan = rewrite(&valid, |c| c.deps.push(ChangeHash([0xab; 32])));
    assert_refused(
        &scene,
        "unknown dependency",
        vec![orphan],
        "missing dependency",
    );

    // A record whose `by` is someone else.
    let id = RecordId::generate();
    let change = craft(&scene, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        put_value(
            tx,
            &observations,
            id.as_str(),
            &observation(&id, honest_device.as_str(), "I saw it"),
        );
        Ok(())
    });
    assert_refused(
        &scene,
        "someone else's by",
        vec![change],
        "not by the sending device",
    );

    // A text of 1 MB.
    let id = RecordId::generate();
    let long = "a".repeat(1_000_000);
    let change = craft(&scene, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        put_value(
            tx,
            &observations,
            id.as_str(),
            &observation(&id, &by, &long),
        );
        Ok(())
    });
    assert_refused(
        &scene,
        "1 MB text",
        vec![change],
        "a string of 1000000 bytes",
    );

    // A request of 1,000 compressed changes that would each inflate to 20 MB: refused
    // whole (413) after measuring past the request limit, never inflated in memory.
    let id = RecordId::generate();
    let huge = "b".repeat(20 << 20);
    let mut bomb = craft(&scene, |tx| {
        let observations = collection(tx, keys::OBSERVATIONS);
        put_value(
            tx,
            &observations,
            id.as_str(),
            &observation(&id, &by, &huge),
        );
        Ok(())
    });
    drop(huge);
    let hash = bomb.hash();
    let compressed = (bomb.bytes().to_vec(), hash);
    assert!(
        compressed.0.len() < 256 << 10,
        "{} bytes compressed",
        compressed.0.len()
    );
    let (status, body) = post_signed_changes(
        &url,
        &scene.attacker,
        &scene.incident,
        false,
        vec![compressed.clone(); 1_000],
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let reason: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        reason["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("inflate past {MAX_CHANGE_BYTES_PER_REQUEST}")),
        "{reason}"
    );
    assert_hub_serves(&scene);
    // One of them alone is refused as a change past the per-change limit.
    let (status, body) = post_signed_changes(
        &url,
        &scene.attacker,
        &scene.incident,
        false,
        vec![compressed],
    );
    assert_eq!(status, 200);
    let response: SyncResponse = protocol::decode(&body).unwrap();
    assert_eq!(response.rejected.len(), 1);
    assert!(
        response.rejected[0].reason.contains("inflates past"),
        "{:?}",
        response.rejected
    );
    assert_hub_serves(&scene);

    // The honest volunteer comes back online: everything lands, on the hub and on
    // every replica, and the attacker's own copy converges too.
    sync_ok(&scene.honest, &url);
    sync_ok(&scene.attacker, &url);
    let hub_view = scene.desk.view(&scene.incident);
    assert!(
        hub_view.observations.iter().any(|o| o.id == offline),
        "the offline observation is on the hub"
    );
    assert_eq!(
        hub_view.observations.len(),
        2,
        "only the honest volunteer's observations: {:?}",
        hub_view.observations
    );
    assert!(scene.honest.answer_in(&hub_view, "safety_threat").is_some());
    assert_eq!(
        scene.honest.answer_in(&hub_view, "enforcement_present"),
        Some(AnswerValue::YesNo(YesNo::Yes)),
        "the honest answer was not overwritten"
    );
    scene.honest.assert_same_view(&scene.incident, &hub_view);
    scene.attacker.assert_same_view(&scene.incident, &hub_view);
    scene.honest.assert_everything_sent();

    // The hub could take later work, and closing still works.
    let (status, body) = scene.desk.post(
        &format!("/v1/incidents/{}/close", scene.incident),
        json!({}),
    );
    assert_eq!(status, 200, "{body}");

    let peak = scene.hub.peak_memory_bytes();
    println!(
        "hub peak memory over the hostile-peer suite: {} MiB",
        peak >> 20
    );
    assert!(
        peak < PEAK_MEMORY_CEILING,
        "the hub peaked at {} MiB",
        peak >> 20
    );
    assert!(scene.hub.is_running());
}
