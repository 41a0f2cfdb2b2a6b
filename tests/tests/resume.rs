//! Retries and cuts: a request sent twice stores nothing twice; a request or a
//! response cut at any byte loses nothing and the next sync converges; large
//! backlogs arrive in bounded responses; incidents leave devices only once their
//! changes are safe on the hub.

use serde_json::json;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{ObservationKind, Role};
use testigo_core::sync::{self, SyncOptions};
use testigo_tests::proxy::{Mode, Proxy};
use testigo_tests::{Person, TestHub, World};

fn logged_changes(hub: &TestHub, id: &IncidentId) -> i64 {
    hub.query_i64(
        "SELECT count(*) FROM changes WHERE incident_id = ?1",
        &[&id.as_str()],
    )
}

fn same(person: &Person, api: &testigo_tests::Api, id: &IncidentId) {
    assert_eq!(
        serde_json::to_value(person.view(id)).unwrap(),
        serde_json::to_value(api.view(id)).unwrap(),
        "{} and the hub differ on {id}",
        person.name
    );
}

#[test]
fn the_same_request_sent_twice_stores_nothing_twice() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let id = desk.open_incident("Place", None, None);
    desk.assign(&id, &vol, true);
    vol.sync(hub);
    vol.store
        .add_observation(&id, ObservationKind::Note, "one", None, None)
        .unwrap();
    vol.store
        .add_observation(&id, ObservationKind::Note, "two", None, None)
        .unwrap();
    let before = logged_changes(hub, &id);

    let proxy = Proxy::start(hub.addr);
    proxy.set(Mode::Twice);
    let report = sync::sync(&vol.store, Some(&proxy.url)).unwrap();
    assert_eq!(report.changes_up, 2);
    assert!(report.rejected.is_empty());
    assert_eq!(
        logged_changes(hub, &id),
        before + 2,
        "two changes, logged once"
    );
    assert_eq!(desk.view(&id).observations.len(), 2);
    let again = vol.sync(hub);
    assert_eq!(again.changes_up, 0, "the device knows the hub has them");
    same(&vol, &desk, &id);
}

/// One round's worth of work on both sides: a new incident for the volunteer, an
/// observation from them, a report edit from the dispatcher.
fn work(
    world: &World,
    desk: &testigo_tests::Api,
    vol: &Person,
    main: &IncidentId,
    round: usize,
) -> IncidentId {
    let fresh = desk.open_incident(&format!("Fresh {round}"), None, None);
    desk.assign(&fresh, vol, true);
    vol.store
        .add_observation(
            main,
            ObservationKind::Note,
            &format!("observation {round}"),
            None,
            None,
        )
        .unwrap();
    let (status, _) = desk.put(
        &format!("/v1/incidents/{main}/report"),
        json!({ "place_text": format!("Place, edit {round}"), "urgency": "high" }),
    );
    assert_eq!(status, 200);
    let _ = world;
    fresh
}

#[test]
fn a_response_cut_at_any_byte_loses_nothing() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let main = desk.open_incident("Place", None, None);
    desk.assign(&main, &vol, true);
    vol.sync(hub);
    let proxy = Proxy::start(hub.addr);

    let cuts = [
        Mode::CutResponse(0),
        Mode::CutResponse(1),
        Mode::CutResponse(40),
        Mode::CutResponse(160),
        Mode::CutResponseEnd(200),
        Mode::CutResponseEnd(1),
    ];
    for (round, cut) in cuts.into_iter().enumerate() {
        let fresh = work(&world, &desk, &vol, &main, round);
        proxy.set(cut);
        assert!(
            sync::sync(&vol.store, Some(&proxy.url)).is_err(),
            "{cut:?} fails the sync"
        );
        // The hub committed the round; the device did not see the answer.
        assert_eq!(desk.view(&main).observations.len(), round + 1, "{cut:?}");
        let retry = vol.sync(hub);
        assert!(retry.rejected.is_empty(), "{retry:?}");
        assert!(
            vol.holds(&fresh),
            "{cut:?}: the incident delivered in the lost response arrives on retry"
        );
        same(&vol, &desk, &main);
        same(&vol, &desk, &fresh);
    }
    assert_eq!(vol.view(&main).observations.len(), cuts.len());
    assert_eq!(vol.store.incident_count().unwrap() as usize, cuts.len() + 1);
    let hub_doc_changes = desk.view(&main);
    assert_eq!(
        hub_doc_changes.observations.len(),
        cuts.len(),
        "no duplicates"
    );
}

#[test]
fn a_request_cut_at_any_byte_changes_nothing() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let main = desk.open_incident("Place", None, None);
    desk.assign(&main, &vol, true);
    vol.sync(hub);
    vol.store
        .add_observation(
            &main,
            ObservationKind::Note,
            "held back by a bad line",
            None,
            None,
        )
        .unwrap();
    let before = logged_changes(hub, &main);
    let proxy = Proxy::start(hub.addr);
    for cut in [
        Mode::CutRequest(0),
        Mode::CutRequest(30),
        Mode::CutRequest(200),
        Mode::CutRequestEnd(100),
        Mode::CutRequestEnd(1),
    ] {
        proxy.set(cut);
        assert!(sync::sync(&vol.store, Some(&proxy.url)).is_err(), "{cut:?}");
        assert_eq!(logged_changes(hub, &main), before, "{cut:?} stored nothing");
    }
    let report = vol.sync(hub);
    assert_eq!(report.changes_up, 1);
    assert_eq!(logged_changes(hub, &main), before + 1);
    same(&vol, &desk, &main);
}

/// Text that does not compress, so sizes are what they seem.
fn noise(seed: usize, len: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut out = String::new();
    let mut block = Sha256::digest(seed.to_le_bytes()).to_vec();
    while out.len() < len {
        out += &hex::encode(&block);
        block = Sha256::digest(&block).to_vec();
    }
    out.truncate(len);
    out
}

#[test]
fn a_large_backlog_arrives_in_bounded_responses() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, Some("bulk"));
    let mut ids = Vec::new();
    for i in 0..40 {
        let (status, body) = desk.post("/v1/incidents", json!({ "place_text": format!("Block {i}"), "description": noise(i, 4000), "urgency": "normal", "team": "bulk" }));
        assert_eq!(status, 200, "{body}");
        ids.push(IncidentId::parse(body["id"].as_str().unwrap()).unwrap());
    }
    let small = SyncOptions {
        max_response_bytes: 64 * 1024,
        ..SyncOptions::default()
    };
    let first = sync::sync_with(&vol.store, Some(&hub.url), &small).unwrap();
    assert_eq!(first.incidents_added, 40);
    assert!(first.requests >= 2, "{first:?}");

    for (i, id) in ids.iter().enumerate() {
        let (status, _) = desk.put(&format!("/v1/incidents/{id}/report"), json!({ "place_text": format!("Block {i}"), "description": noise(i + 100, 4000), "urgency": "high" }));
        assert_eq!(status, 200);
    }
    let second = sync::sync_with(&vol.store, Some(&hub.url), &small).unwrap();
    assert_eq!(second.changes_down, 40);
    assert!(second.requests >= 2, "{second:?}");
    for id in &ids {
        same(&vol, &desk, id);
    }
}

#[test]
fn an_incident_leaves_a_device_only_once_its_changes_are_on_the_hub() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let (x, y) = (
        desk.open_incident("X", None, None),
        desk.open_incident("Y", None, None),
    );
    desk.assign(&x, &vol, true);
    desk.assign(&y, &vol, true);
    vol.sync(hub);

    // Unassigned while offline on scene: the work still reaches the hub, then X goes.
    vol.store
        .add_observation(
            &x,
            ObservationKind::Note,
            "seen before I was unassigned",
            None,
            None,
        )
        .unwrap();
    desk.assign(&x, &vol, false);
    let report = vol.sync(hub);
    assert!(report.rejected.is_empty(), "{report:?}");
    assert_eq!(report.incidents_removed, 1);
    assert!(!vol.holds(&x));
    assert_eq!(desk.view(&x).observations.len(), 1, "nothing was lost");

    // Closed: Y stays through the retention window, then leaves.
    let (status, _) = desk.post(
        &format!("/v1/incidents/{y}/close"),
        json!({ "note": "resolved" }),
    );
    assert_eq!(status, 200);
    assert_eq!(vol.sync(hub).incidents_removed, 0);
    assert!(vol.holds(&y));
    hub.clock.advance(chrono::Duration::days(8));
    assert_eq!(vol.sync(hub).incidents_removed, 1);
    assert!(!vol.holds(&y));
    assert_eq!(
        desk.view(&y).status.status,
        testigo_core::incident::IncidentStatus::Closed,
        "dispatchers still see it"
    );
}
