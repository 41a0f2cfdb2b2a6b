//! Identity, visibility and offline work, tried the way an attacker or an unlucky
//! volunteer would: raw enrolment bodies with someone else's key, a client that lies
//! about its cursor, an incident moved away from a volunteer who is offline on scene.

use std::sync::Arc;

use serde_json::json;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{EventKind, ObservationKind, Role};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::sync::protocol::{
    self, SyncRequest, SyncResponse, CONTENT_TYPE, ENROL_PATH, SYNC_PATH,
};
use testigo_tests::{enrol_body, enrol_raw, hub_device_id, Api, Person, TestClock, World};

/// The takeover: a volunteer code (codes are read out over the phone) and the
/// dispatcher's public key (public keys are in every evidence bundle) must not make
/// anyone that dispatcher's device, nor lock the real one out.
#[test]
fn a_code_and_a_dispatchers_public_key_do_not_take_over_the_dispatcher() {
    let world = World::new();
    let hub = &world.hub;
    let coordinator = world.coordinator.api(hub);
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let desk = dispatcher.api(hub);
    let other_team = desk.open_incident("Natural Bridge Ave", None, Some("north"));
    let victim = dispatcher.store.identity();
    let attacker = Person::new("attacker").store.identity();
    let code = coordinator.code(Role::Volunteer, Some("south"));
    let anonymous = Api::anonymous(hub);

    // The old request: a code and a key, no proof.
    let (status, body) = anonymous.post(
        ENROL_PATH,
        json!({ "code": code, "public_key": hex::encode(victim.public_key()) }),
    );
    assert_eq!(status, 400, "{body}");
    // A proof signed with the attacker's own key over the victim's key.
    let (status, body) = anonymous.post(
        ENROL_PATH,
        enrol_body(hub, &code, &victim.public_key(), &attacker),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("proof_invalid")),
        "{body}"
    );
    // A real proof by the victim's key, replayed for another code or another hub.
    let other_code = coordinator.code(Role::Volunteer, Some("south"));
    let mut replayed = enrol_body(hub, &other_code, &victim.public_key(), &victim);
    replayed["code"] = json!(code);
    let (status, body) = anonymous.post(ENROL_PATH, replayed);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("proof_invalid")),
        "{body}"
    );
    let elsewhere = testigo_core::sync::enrolment::proof_message(
        &testigo_core::ids::DeviceId::from_public_key(&[5; 32]),
        &code,
        &victim.public_key(),
    );
    let (status, body) = anonymous.post(
        ENROL_PATH,
        json!({ "code": code, "public_key": hex::encode(victim.public_key()),
                "proof": hex::encode(victim.sign(&elsewhere)) }),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("proof_invalid")),
        "{body}"
    );
    assert_ne!(hub_device_id(hub).as_str(), "");

    // Even the dispatcher's own device, with a valid proof, cannot enrol over itself
    // with a new code: its role, team and credential stay.
    let (status, body) = enrol_raw(hub, &code, &dispatcher);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("device_enrolled")),
        "{body}"
    );
    assert_eq!(
        desk.get(&format!("/v1/incidents/{other_team}")).0,
        200,
        "the dispatcher still works"
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM devices WHERE device_id = ?1 AND role = 'dispatcher'",
            &[&dispatcher.store.device_id().as_str()]
        ),
        1
    );
    // None of the refusals spent the code: its rightful holder enrols with it.
    let rightful = Person::new("rightful");
    let (status, body) = enrol_raw(hub, &code, &rightful);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "volunteer");
}

/// A revoked device stays revoked whatever code it finds; a coordinator re-enrols a
/// device explicitly, with a code made for it alone.
#[test]
fn a_revoked_device_comes_back_only_by_a_coordinators_re_enrolment_code() {
    let world = World::new();
    let hub = &world.hub;
    let coordinator = world.coordinator.api(hub);
    let lost = world.enrol("lost phone", Role::TeamLead, Some("south"));
    let old_credential = lost.store.identity().credential.unwrap();
    let (status, _) = coordinator.post(
        &format!("/v1/devices/{}/revoke", lost.store.device_id()),
        json!({}),
    );
    assert_eq!(status, 200);

    let fresh = coordinator.code(Role::Volunteer, None);
    let (status, body) = enrol_raw(hub, &fresh, &lost);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("device_enrolled")),
        "{body}"
    );

    // A re-enrolment code names its device; another device cannot use it.
    let (status, body) = coordinator.post(
        "/v1/enrol-codes",
        json!({ "role": "volunteer", "team": "north", "device": lost.store.device_id() }),
    );
    assert_eq!(status, 200, "{body}");
    let again = body["code"].as_str().unwrap().to_owned();
    let (status, body) = enrol_raw(hub, &again, &Person::new("someone else"));
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("code_invalid")),
        "{body}"
    );
    testigo_core::sync::enroll(&lost.store, &hub.url, &again).expect("re-enrolled");
    let identity = lost.store.identity();
    assert_eq!(
        (identity.role, identity.team.as_deref()),
        (Role::Volunteer, Some("north"))
    );
    assert_ne!(
        identity.credential.as_deref(),
        Some(old_credential.as_str())
    );
    assert_eq!(
        Api::with_credential(hub, &old_credential)
            .get("/v1/incidents")
            .0,
        401
    );
    assert_eq!(lost.api(hub).get("/v1/incidents").0, 200);
    // And the fresh code was never spent by the refusal.
    let (status, body) = enrol_raw(hub, &fresh, &Person::new("new volunteer"));
    assert_eq!(status, 200, "{body}");
}

/// `dispatch assign --team south --remove` on an incident already moved to north.
#[test]
fn unassigning_a_team_the_incident_is_not_with_changes_nothing() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let north = world.enrol("north volunteer", Role::Volunteer, Some("north"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    let assign = |team: &str, active: bool| {
        desk.post(
            &format!("/v1/incidents/{id}/assign"),
            json!({ "team": team, "active": active }),
        )
    };
    assert_eq!(assign("north", true).0, 200);
    assert_eq!(north.sync(hub).incidents_added, 1);
    let events_before = desk.view(&id).events.len();

    let (status, body) = assign("south", false);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("team_not_assigned")),
        "{body}"
    );
    let team = desk.get("/v1/incidents").1[0]["team"].clone();
    assert_eq!(team, "north");
    assert_eq!(
        desk.view(&id).events.len(),
        events_before,
        "no event was written"
    );
    let report = north.sync(hub);
    assert_eq!(report.incidents_removed, 0);
    assert!(north.holds(&id), "north's volunteers keep it");

    // Unassigning the team it is with still works.
    assert_eq!(assign("north", false).0, 200);
    assert!(desk
        .view(&id)
        .events
        .iter()
        .any(|e| e.kind == EventKind::Dispatched
            && e.note.as_deref() == Some("team north unassigned")));
    assert_eq!(north.sync(hub).incidents_removed, 1);
}

/// One raw sync round with nothing to upload, as a tampered client makes it.
fn raw_round(api: &Api, cursor: u64) -> SyncResponse {
    let request = SyncRequest {
        cursor,
        uploads: vec![],
        max_response_bytes: 1 << 20,
        signature: vec![],
    };
    let (status, body) =
        api.post_bytes(SYNC_PATH, CONTENT_TYPE, protocol::encode(&request).unwrap());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    protocol::decode(&body).unwrap()
}

fn carries(response: &SyncResponse, id: &IncidentId) -> bool {
    response.changes.iter().any(|c| c.incident == *id)
        || response.new_incidents.iter().any(|d| d.incident == *id)
}

/// A south client that answers every removal with `cursor = stamp − 1` (it claims it
/// never stored the response) must not keep receiving north's work on an incident
/// moved to north; an honest one gets none of it either, not even in the response
/// that removes the incident.
#[test]
fn a_client_that_lies_about_its_cursor_gets_nothing_of_an_incident_moved_away() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let liar = world.enrol("south liar", Role::Volunteer, Some("south"));
    let honest = world.enrol("south honest", Role::Volunteer, Some("south"));
    let north = world.enrol("north volunteer", Role::Volunteer, Some("north"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    let api = liar.api(hub);

    let first = raw_round(&api, 0);
    assert!(first.new_incidents.iter().any(|d| d.incident == id));
    let mut cursor = first.cursor;
    assert!(!carries(&raw_round(&api, cursor), &id));
    assert_eq!(honest.sync(hub).incidents_added, 1);

    let (status, _) = desk.post(
        &format!("/v1/incidents/{id}/assign"),
        json!({ "team": "north" }),
    );
    assert_eq!(status, 200);
    north.sync(hub);
    north.store.check_in(&id, fix()).unwrap();
    north
        .store
        .add_observation(
            &id,
            ObservationKind::Note,
            "two vans on Cherokee",
            None,
            Some(fix()),
        )
        .unwrap();
    north.sync(hub);

    let removal = raw_round(&api, cursor);
    assert_eq!(removal.removed, vec![id.clone()]);
    assert!(
        !carries(&removal, &id),
        "the removal carries no change made since the move: {removal:?}"
    );
    for round in 0..3 {
        // Claims it never stored the removal.
        let lie = raw_round(&api, removal.cursor - 1);
        assert!(
            !carries(&lie, &id),
            "round {round}: the lying client received north's work"
        );
        assert!(lie.removed.contains(&id), "it is told again to remove it");
        north
            .store
            .add_observation(
                &id,
                ObservationKind::Note,
                &format!("still there, round {round}"),
                None,
                Some(fix()),
            )
            .unwrap();
        north.sync(hub);
        cursor = lie.cursor;
    }
    assert!(cursor > 0);

    // The honest client's removal is one response with nothing of north's in it.
    let proxy = testigo_tests::proxy::Proxy::start(hub.addr);
    let report = testigo_core::sync::sync(&honest.store, Some(&proxy.url)).unwrap();
    assert_eq!((report.incidents_removed, report.changes_down), (1, 0));
    for body in proxy.bodies() {
        let response: SyncResponse = protocol::decode(&body).unwrap();
        assert!(!carries(&response, &id));
    }
    assert!(!honest.holds(&id));
}

fn fix() -> LocationFix {
    LocationFix {
        lat: 38.5931,
        lon: -90.2237,
        accuracy_m: 6.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: chrono::Utc::now(),
        mock: false,
    }
}

/// A south volunteer checks in and records an observation offline; meanwhile the
/// dispatcher moves the incident to team north. Their next sync delivers both, the
/// audit log says they came after the move, and only then does the incident leave
/// the phone.
#[test]
fn offline_work_on_an_incident_moved_to_another_team_reaches_the_hub() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("south volunteer", Role::Volunteer, Some("south"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    assert_eq!(vol.sync(hub).incidents_added, 1);

    vol.store.check_in(&id, fix()).unwrap();
    vol.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "agents in vests at the corner",
            None,
            Some(fix()),
        )
        .unwrap();
    let (status, _) = desk.post(
        &format!("/v1/incidents/{id}/assign"),
        json!({ "team": "north" }),
    );
    assert_eq!(status, 200);

    let report = vol.sync(hub);
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(testigo_core::sync::quarantined(&vol.store)
        .unwrap()
        .is_empty());
    let view = desk.view(&id);
    assert_eq!(view.checkpoints.len(), 1, "the check-in reached the hub");
    assert!(view
        .observations
        .iter()
        .any(|o| o.text == "agents in vests at the corner"));
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM audit WHERE incident_id = ?1 AND device_id = ?2 AND action = 'offline_change'",
            &[&id.as_str(), &vol.store.device_id().as_str()]
        ),
        1,
        "the audit log says the work came after the move"
    );
    if vol.holds(&id) {
        vol.sync(hub);
    }
    assert!(
        !vol.holds(&id),
        "it leaves the phone once its work is on the hub"
    );
    assert_eq!(
        vol.api(hub).get(&format!("/v1/incidents/{id}")).0,
        404,
        "and it sees nothing more"
    );
}

/// The same for an incident closed and past its retention window while a volunteer
/// still had work on it.
#[test]
fn offline_work_on_an_incident_closed_past_retention_reaches_the_hub() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let id = desk.open_incident("Gravois Ave", None, Some("south"));
    vol.sync(hub);
    vol.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "recorded before the close",
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        desk.post(&format!("/v1/incidents/{id}/close"), json!({})).0,
        200
    );
    hub.clock.advance(chrono::Duration::days(8));

    let report = vol.sync(hub);
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(desk
        .view(&id)
        .observations
        .iter()
        .any(|o| o.text == "recorded before the close"));
}

/// One incident whose stored document the hub cannot load must not fail the round:
/// the others' changes land and new incidents arrive; that one is reported and its
/// changes stay on the device to be sent again.
#[test]
fn one_incident_the_hub_cannot_load_does_not_fail_the_round() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let broken = desk.open_incident("Broken", None, Some("south"));
    let fine = desk.open_incident("Fine", None, Some("south"));
    vol.sync(hub);
    for id in [&broken, &fine] {
        vol.store
            .add_observation(id, ObservationKind::Note, "seen", None, None)
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&hub.db_path).unwrap();
    conn.execute(
        "UPDATE incidents SET document = x'00ff00ff' WHERE incident_id = ?1",
        [broken.as_str()],
    )
    .unwrap();
    let later = desk.open_incident("Later", None, Some("south"));

    let report = vol.sync(hub);
    assert_eq!(report.incidents_added, 1, "new incidents still arrive");
    assert!(vol.holds(&later));
    assert!(desk
        .view(&fine)
        .observations
        .iter()
        .any(|o| o.text == "seen"));
    assert!(
        report
            .rejected
            .iter()
            .any(|r| r.incident == broken && r.change_hash.is_none()),
        "{report:?}"
    );
    assert!(
        testigo_core::sync::quarantined(&vol.store)
            .unwrap()
            .is_empty(),
        "nothing is quarantined"
    );
    let unsynced: Vec<_> = vol
        .store
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|r| r.has_unsynced)
        .map(|r| r.summary.id)
        .collect();
    assert_eq!(unsynced, vec![broken], "its changes wait for the next sync");
}

/// Who holds what: a volunteer holds what is assigned to them and what is dispatched
/// to their whole team, nothing of another team's; a closed incident leaves the phone
/// after the *hub's* window, counted from when the *hub* saw it closed, even if the
/// team lead who closed it had a clock days behind.
#[test]
fn a_volunteer_holds_their_teams_incidents_until_the_hubs_window_from_the_hubs_closing() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let behind = Arc::new(TestClock::default());
    behind.advance(chrono::Duration::days(-5));
    let lead = world.enrol_person(
        Person::with_clock("lead, clock 5 days behind", behind),
        Role::TeamLead,
        Some("south"),
    );
    let phone_clock = Arc::new(TestClock::default());
    let vol = world.enrol_person(
        Person::with_clock("volunteer", phone_clock.clone()),
        Role::Volunteer,
        Some("south"),
    );
    let teams = desk.open_incident("Cherokee St", None, Some("south"));
    let theirs = desk.open_incident("Natural Bridge Ave", None, Some("north"));
    let personal = desk.open_incident("Gravois Ave", None, None);
    desk.assign(&personal, &vol, true);

    vol.sync(hub);
    assert!(vol.holds(&teams), "dispatched to their team");
    assert!(vol.holds(&personal), "assigned to them");
    assert!(!vol.holds(&theirs), "another team's");
    assert_eq!(
        vol.store.setting("retention_hours").unwrap().as_deref(),
        Some("168"),
        "the hub's window (7 days)"
    );

    lead.sync(hub);
    lead.store
        .record_event(&teams, EventKind::Closed, None, None, None)
        .unwrap();
    lead.sync(hub);
    vol.sync(hub);
    assert!(vol
        .view(&teams)
        .events
        .iter()
        .any(|e| e.kind == EventKind::Closed));
    // The closing event says five days ago; the hub saw it now.
    assert!(
        vol.store.apply_retention().unwrap().is_empty(),
        "inside the hub's window"
    );
    phone_clock.advance(chrono::Duration::days(6));
    assert!(
        vol.store.apply_retention().unwrap().is_empty(),
        "six days after the hub's closing"
    );
    phone_clock.advance(chrono::Duration::days(2));
    assert_eq!(vol.store.apply_retention().unwrap(), vec![teams.clone()]);
    assert!(vol.holds(&personal), "open incidents stay");
}

/// A dispatcher's close that fails half-way (the change log refuses its row) leaves
/// nothing: no audit row, no closed document on the hub that devices would never
/// hear of. Every request is one transaction.
#[test]
fn a_dispatcher_action_that_fails_half_way_leaves_nothing_behind() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let id = desk.open_incident("Cherokee St", None, None);
    let changes_before = hub.query_i64(
        "SELECT count(*) FROM changes WHERE incident_id = ?1",
        &[&id.as_str()],
    );
    let audit_before = hub.query_i64(
        "SELECT count(*) FROM audit WHERE incident_id = ?1",
        &[&id.as_str()],
    );
    let conn = rusqlite::Connection::open(&hub.db_path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER refuse_log BEFORE INSERT ON changes WHEN NEW.incident_id = '{id}'
         BEGIN SELECT RAISE(ABORT, 'the change log is full'); END;"
    ))
    .unwrap();

    for (path, body) in [
        ("close", json!({})),
        (
            "report",
            json!({ "place_text": "Somewhere else", "urgency": "low" }),
        ),
    ] {
        let url = format!("/v1/incidents/{id}/{path}");
        let (status, body) = if path == "report" {
            desk.put(&url, body)
        } else {
            desk.post(&url, body)
        };
        assert_eq!(status, 500, "{path}: {body}");
    }
    conn.execute_batch("DROP TRIGGER refuse_log;").unwrap();
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM changes WHERE incident_id = ?1",
            &[&id.as_str()]
        ),
        changes_before
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM audit WHERE incident_id = ?1",
            &[&id.as_str()]
        ),
        audit_before,
        "no audit row of a change that did not happen"
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM incidents WHERE incident_id = ?1 AND closed_at IS NULL",
            &[&id.as_str()]
        ),
        1
    );
    let view = desk.view(&id);
    assert!(view.events.iter().all(|e| e.kind != EventKind::Closed));
    assert_eq!(view.report.place_text, "Cherokee St");
    // The same request goes through once the log takes rows again.
    assert_eq!(
        desk.post(&format!("/v1/incidents/{id}/close"), json!({})).0,
        200
    );
}

fn enrol_from(
    hub: &testigo_tests::TestHub,
    code: &str,
    person: &Person,
    forwarded_for: &str,
) -> u16 {
    let identity = person.store.identity();
    reqwest::blocking::Client::new()
        .post(format!("{}{ENROL_PATH}", hub.url))
        .header("x-forwarded-for", forwarded_for)
        .json(&enrol_body(hub, code, &identity.public_key(), &identity))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Behind the TLS proxy every request comes from the proxy's address. With the proxy
/// trusted, limits count the client's address it forwards: one guesser, or a handful,
/// lock out only themselves. Without it, a forged header changes nothing.
#[test]
fn behind_a_trusted_proxy_one_guesser_cannot_lock_everyone_out() {
    let world = World::on(testigo_tests::TestHub::start_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }));
    let hub = &world.hub;
    let coordinator = world.coordinator.api(hub);
    let guesser = Person::new("guesser");
    for attacker in 1..=7 {
        let address = format!("203.0.113.{attacker}");
        let statuses: Vec<u16> = (0..6)
            .map(|i| enrol_from(hub, &format!("AAAA-BBBB-{i:04}"), &guesser, &address))
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count() >= 1,
            true,
            "{address}: {statuses:?}"
        );
        assert_eq!(statuses[0], 401, "{address}: {statuses:?}");
    }
    // Seven guessers past the hub-wide limit; a volunteer at another address enrols.
    let code = coordinator.code(Role::Volunteer, None);
    let volunteer = Person::new("volunteer");
    assert_eq!(enrol_from(hub, &code, &volunteer, "198.51.100.7"), 200);
    // A guesser that already failed still waits.
    let code = coordinator.code(Role::Volunteer, None);
    assert_eq!(
        enrol_from(hub, &code, &Person::new("late"), "203.0.113.1"),
        429
    );

    // Without a trusted proxy the header is the client's word: ignored.
    let plain = World::new();
    let liar = Person::new("liar");
    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            enrol_from(
                &plain.hub,
                &format!("AAAA-BBBB-{i:04}"),
                &liar,
                &format!("192.0.2.{i}"),
            )
        })
        .collect();
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
}

/// Observations saved while a sync takes a refused change out of the same incident
/// are never lost: each ends up in the document or, if it was built on the refused
/// change, in quarantine with it.
#[test]
fn observations_captured_during_a_quarantine_are_all_kept() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ROOT};
    use std::sync::atomic::{AtomicBool, Ordering};

    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    vol.sync(hub);
    let mut saved = Vec::new();
    for round in 0..6 {
        // A tampered edit of the report: the hub refuses it and the device rebuilds
        // the document without it.
        vol.store
            .update(&id, |doc, author, _| {
                let am = doc.automerge_mut();
                am.set_actor(author.writer.actor_id());
                let report = match am.get(ROOT, testigo_core::incident::keys::REPORT)? {
                    Some((automerge::Value::Object(ObjType::Map), obj)) => obj,
                    _ => panic!("report is a map"),
                };
                am.transact(|tx| tx.put(&report, "place_text", format!("elsewhere {round}")))
                    .map_err(|failure| failure.error)?;
                Ok(())
            })
            .unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let capture = scope.spawn(|| {
                let mut ids = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) || n < 5 {
                    n += 1;
                    ids.push(
                        vol.store
                            .add_observation(
                                &id,
                                ObservationKind::Note,
                                &format!("round {round} note {n}"),
                                None,
                                None,
                            )
                            .unwrap(),
                    );
                }
                ids
            });
            let report = vol.sync(hub);
            assert!(!report.rejected.is_empty(), "the tampered edit was refused");
            stop.store(true, Ordering::SeqCst);
            saved.extend(capture.join().unwrap());
        });
    }
    let in_document: Vec<String> = vol
        .view(&id)
        .observations
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    let in_quarantine: String = testigo_core::sync::quarantined(&vol.store)
        .unwrap()
        .iter()
        .map(|q| {
            format!(
                "{:?}",
                automerge::Change::from_bytes(q.bytes.clone())
                    .unwrap()
                    .decode()
            )
        })
        .collect();
    for record in &saved {
        let record = record.to_string();
        assert!(
            in_document.contains(&record) || in_quarantine.contains(&record),
            "observation {record} was saved and then lost"
        );
    }
    vol.store.integrity_check().unwrap();
}

/// The hub is restored from a backup that lacks a volunteer's last observation, so
/// the next one is refused ("missing dependency") and quarantined. That refusal
/// depends on what the hub holds: the next sync sends the missing change and offers
/// the quarantined one again, and both land. A coordinator sees on the hub what the
/// device was refused and why.
#[test]
fn a_refusal_that_depends_on_the_hub_is_retried_and_the_coordinator_sees_it() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    vol.sync(hub);
    let backup = hub.db_path.with_file_name("backup.sqlite");
    rusqlite::Connection::open(&hub.db_path)
        .unwrap()
        .execute("VACUUM INTO ?1", [backup.display().to_string()])
        .unwrap();
    vol.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "first, lost with the restore",
            None,
            None,
        )
        .unwrap();
    vol.sync(hub);
    vol.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "second, built on the first",
            None,
            None,
        )
        .unwrap();

    let restored = testigo_tests::TestHub::start_with(|config| config.db = backup.clone());
    let refused = vol.sync(&restored);
    assert!(
        refused
            .rejected
            .iter()
            .any(|r| r.reason.starts_with("missing dependency")),
        "{refused:?}"
    );
    assert_eq!(
        testigo_core::sync::quarantined(&vol.store).unwrap().len(),
        1
    );

    let retried = vol.sync(&restored);
    assert!(retried.rejected.is_empty(), "{retried:?}");
    vol.assert_everything_sent();
    let texts: Vec<String> = world
        .coordinator
        .api(&restored)
        .view(&id)
        .observations
        .into_iter()
        .map(|o| o.text)
        .collect();
    assert!(
        texts.contains(&"first, lost with the restore".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"second, built on the first".to_owned()),
        "{texts:?}"
    );
    assert_eq!(vol.view(&id).observations.len(), 2);

    let (status, refusals) = world
        .coordinator
        .api(&restored)
        .get(&format!("/v1/devices/{}/refusals", vol.store.device_id()));
    assert_eq!(status, 200, "{refusals}");
    assert!(
        refusals
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["incident_id"] == id.as_str()
                && r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("missing dependency")
                && r["change_hash"].is_string()),
        "{refusals}"
    );
    assert_eq!(
        vol.api(&restored)
            .get(&format!("/v1/devices/{}/refusals", vol.store.device_id()))
            .0,
        403,
        "for coordinators"
    );
}

/// A volunteer's offline observation on an incident that was closed, archived and
/// deleted from the hub before they synced goes to the archive, beside the bundle.
#[test]
fn offline_work_on_an_archived_incident_reaches_the_archive() {
    let hub = testigo_tests::TestHub::start();
    let world = World::on(hub);
    let desk = world
        .enrol("dispatcher", Role::Dispatcher, None)
        .api(&world.hub);
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let id = desk.open_incident("Cherokee St", None, Some("south"));
    vol.sync(&world.hub);
    vol.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "written on scene, synced late",
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        desk.post(&format!("/v1/incidents/{id}/close"), json!({})).0,
        200
    );

    // The hub restarts with an archive policy that takes every closed incident.
    let keep = tempfile::tempdir().unwrap();
    let db = keep.path().join("hub.sqlite");
    rusqlite::Connection::open(&world.hub.db_path)
        .unwrap()
        .execute("VACUUM INTO ?1", [db.display().to_string()])
        .unwrap();
    let World {
        hub,
        coordinator: _coordinator,
    } = world;
    drop(hub);
    let archive = keep.path().join("archive");
    let hub = testigo_tests::TestHub::start_with(|config| {
        config.db = db.clone();
        config.archive_dir = Some(archive.clone());
        config.archive_after_days = Some(0);
    });
    let bundle = archive.join(format!("{id}.json"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while hub.query_i64(
        "SELECT count(*) FROM incidents WHERE incident_id = ?1",
        &[&id.as_str()],
    ) > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the incident was not archived"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(bundle.exists());

    let report = vol.sync(&hub);
    assert!(report.rejected.is_empty(), "{report:?}");
    vol.assert_everything_sent();
    let addenda: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{id}.late-"))
        })
        .collect();
    assert_eq!(addenda.len(), 1, "{addenda:?}");
    let addendum: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&addenda[0]).unwrap()).unwrap();
    assert_eq!(
        addendum["device"]["device_id"],
        vol.store.device_id().as_str()
    );
    let decoded: String = addendum["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let bytes = hex::decode(c["bytes"].as_str().unwrap()).unwrap();
            format!(
                "{:?}",
                automerge::Change::from_bytes(bytes).unwrap().decode()
            )
        })
        .collect();
    assert!(
        decoded.contains("written on scene, synced late"),
        "{decoded}"
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM audit WHERE incident_id = ?1 AND action = 'offline_change'",
            &[&id.as_str()]
        ),
        1
    );
}
