//! Evidence from the hub: a bundle exported over HTTP verifies, names what was altered
//! when tampered with, and every read of the incident and its caller is in the audit
//! log. Closed incidents are archived as bundles before the hub deletes them.

use chrono::Utc;
use serde_json::Value;
use testigo_core::evidence;
use testigo_core::incident::{Determination, EventKind, ObservationKind, Role};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_hub::{Hub, HubConfig};
use testigo_tests::World;

fn fix() -> LocationFix {
    LocationFix {
        lat: 38.6271,
        lon: -90.1990,
        accuracy_m: 6.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Utc::now(),
        mock: false,
    }
}

#[test]
fn a_bundle_from_the_hub_verifies_and_tampering_is_named() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, Some("north"));
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let desk = dispatcher.api(hub);
    let id = desk.open_incident(
        "Cherokee St & S Jefferson Ave",
        Some("+1 314 555 0177"),
        Some("north"),
    );
    desk.assign(&id, &ana, true);
    ana.sync(hub);
    ana.store.check_in(&id, fix()).unwrap();
    let note = ana
        .store
        .add_observation(
            &id,
            ObservationKind::Note,
            "four agents, one man detained",
            None,
            Some(fix()),
        )
        .unwrap();
    ana.store
        .record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(Determination::Verified),
            None,
            None,
        )
        .unwrap();
    ana.sync(hub);

    // A volunteer may not export; a team lead of the team may.
    let volunteer_export = ana.api(hub).get(&format!("/v1/evidence?incidents={id}"));
    assert_eq!(volunteer_export.0, 403);
    let lead_api = lead.api(hub);
    let response = lead_api
        .client
        .get(format!("{}/v1/evidence?incidents={id}", hub.url))
        .bearer_auth(lead_api.credential.as_ref().unwrap())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bundle = response.bytes().unwrap().to_vec();

    let report = evidence::verify(&bundle);
    assert!(report.is_valid(), "{:#?}", report.findings);
    assert_eq!(report.anchor, evidence::Anchor::NotGiven);
    // Pinned to the key the hub publishes, the bundle is anchored.
    let (status, info) = testigo_tests::Api::anonymous(hub).get("/v1/hub");
    assert_eq!(status, 200);
    let hub_key: [u8; 32] = hex::decode(info["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let pinned = evidence::verify_with(&bundle, Some(&hub_key));
    assert!(pinned.is_valid(), "{:#?}", pinned.findings);
    assert_eq!(
        pinned.anchor,
        evidence::Anchor::Pinned(hex::encode(hub_key))
    );
    let parsed: evidence::Bundle = serde_json::from_slice(&bundle).unwrap();
    // The hub's own changes are signed one by one; Ana's by the one history signature
    // of her upload, which covers every change she made before it.
    let ana_changes = parsed.incidents[0]
        .changes
        .iter()
        .filter(|c| c.device_id.as_ref() == Some(&ana.store.device_id()))
        .count();
    assert!(ana_changes >= 3, "{ana_changes}");
    assert_eq!(
        parsed.incidents[0].history.len(),
        1,
        "one upload, one signature"
    );
    assert!(
        report.signatures_checked
            >= 1 + parsed.incidents[0]
                .changes
                .iter()
                .filter(|c| c.signature.is_some())
                .count(),
        "{}",
        report.signatures_checked
    );
    assert!(
        report
            .on_behalf
            .iter()
            .any(|(_, path, _)| path.starts_with("assignments/")),
        "the dispatcher's assignment is the hub writing on their behalf: {:?}",
        report.on_behalf
    );
    // Without her history signature nothing vouches for Ana's changes: each is named.
    let mut unsigned: Value = serde_json::from_slice(&bundle).unwrap();
    unsigned["incidents"][0]["history"] = Value::Array(vec![]);
    let findings = evidence::verify(&serde_json::to_vec(&unsigned).unwrap()).findings;
    assert_eq!(findings.len(), ana_changes, "{findings:#?}");
    assert!(findings
        .iter()
        .all(|f| f.field == "signature" && f.detail.contains("no signature")));
    let roles: Vec<Role> = parsed.devices.iter().map(|d| d.role).collect();
    assert!(
        roles.contains(&Role::Hub) && roles.contains(&Role::Volunteer),
        "{roles:?}"
    );
    assert!(
        parsed.incidents[0]
            .changes
            .iter()
            .all(|c| c.received_at.is_some()),
        "every change has its hub receipt time"
    );
    assert!(
        !testigo_tests::contains(&bundle, b"555 0177"),
        "caller contact never enters a bundle"
    );

    // Ana's observation text altered in the rendering: named precisely.
    let text = String::from_utf8(bundle.clone()).unwrap();
    let tampered = text.replacen(
        "four agents, one man detained",
        "four agents, nobody detained",
        1,
    );
    let findings = evidence::verify(tampered.as_bytes()).findings;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        findings[0].field,
        format!("rendering/observations/{note}/text")
    );

    // The audit log has the export and every read, including the caller contact.
    let (status, _) = desk.get(&format!("/v1/incidents/{id}/caller"));
    assert_eq!(status, 200);
    let (status, log) = world
        .coordinator
        .api(hub)
        .get(&format!("/v1/audit?incident={id}"));
    assert_eq!(status, 200, "{log}");
    let actions: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e: &Value| {
            (
                e["role"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("dispatcher", "read_caller"),
        ("team_lead", "export"),
        ("volunteer", "change"),
        ("volunteer", "read"),
        ("dispatcher", "change"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(r, a)| r == expected.0 && a == expected.1),
            "{expected:?} missing from {actions:?}"
        );
    }
    assert_eq!(
        desk.get("/v1/audit").0,
        403,
        "only coordinators read the log"
    );
}

/// One sync uploads two incidents under one request signature: each incident's bundle
/// proves its own place in the signed tree, names nothing of the other, and a moved
/// or altered place is named.
#[test]
fn a_request_signature_proves_each_incident_in_its_own_bundle() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let ana = world.enrol("ana", Role::Volunteer, Some("north"));
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let ids = [
        desk.open_incident("Cherokee St", None, Some("north")),
        desk.open_incident("Gravois Ave", None, Some("north")),
    ];
    for id in &ids {
        desk.assign(id, &ana, true);
    }
    ana.sync(hub);
    for id in &ids {
        ana.store
            .add_observation(id, ObservationKind::Note, "two agents", None, Some(fix()))
            .unwrap();
    }
    let report = ana.sync(hub);
    assert_eq!(report.requests, 1, "{report:?}");

    let export = |id: &testigo_core::ids::IncidentId| {
        let api = lead.api(hub);
        let response = api
            .client
            .get(format!("{}/v1/evidence?incidents={id}", hub.url))
            .bearer_auth(api.credential.as_ref().unwrap())
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().unwrap().to_vec()
    };
    let mut indexes = Vec::new();
    for (id, other) in [(&ids[0], &ids[1]), (&ids[1], &ids[0])] {
        let bundle = export(id);
        let report = evidence::verify(&bundle);
        assert!(report.is_valid(), "{:#?}", report.findings);
        assert_eq!(report.format, evidence::FORMAT);
        assert!(!testigo_tests::contains(&bundle, other.as_str().as_bytes()));
        let parsed: evidence::Bundle = serde_json::from_slice(&bundle).unwrap();
        let history = &parsed.incidents[0].history;
        assert_eq!(history.len(), 1, "{history:?}");
        let place = history[0]
            .upload
            .clone()
            .expect("signed as part of the request");
        assert_eq!(place.leaves, 2);
        indexes.push(place.index);

        let tamper = |edit: &dyn Fn(&mut Value)| {
            let mut value: Value = serde_json::from_slice(&bundle).unwrap();
            edit(&mut value["incidents"][0]["history"][0]["upload"]);
            evidence::verify(&serde_json::to_vec(&value).unwrap()).findings
        };
        let flipped_proof = {
            let mut proof = hex::decode(&place.proof).unwrap();
            proof[0] ^= 1;
            hex::encode(proof)
        };
        for (what, edit) in [
            (
                "moved",
                Box::new(|u: &mut Value| u["index"] = (1 - place.index).into())
                    as Box<dyn Fn(&mut Value)>,
            ),
            (
                "proof",
                Box::new(move |u: &mut Value| u["proof"] = flipped_proof.clone().into()),
            ),
            (
                "root",
                Box::new(|u: &mut Value| u["root"] = "00".repeat(32).into()),
            ),
            ("dropped", Box::new(|u: &mut Value| *u = Value::Null)),
        ] {
            let findings = tamper(&*edit);
            assert!(
                findings.iter().any(|f| f.field == "history/0"),
                "{what}: {findings:#?}"
            );
            assert!(
                findings
                    .iter()
                    .any(|f| f.field == "signature" && f.detail.contains("no signature")),
                "{what}: Ana's changes are then unsigned: {findings:#?}"
            );
        }
    }
    indexes.sort();
    assert_eq!(indexes, vec![0, 1], "one tree, one leaf each");
}

#[test]
fn closed_incidents_are_archived_as_bundles_then_deleted() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let desk = dispatcher.api(hub);
    let closed = desk.open_incident("Gravois Ave", Some("+1 314 555 0123"), None);
    let open = desk.open_incident("Grand Blvd", None, None);
    assert_eq!(
        desk.post(
            &format!("/v1/incidents/{closed}/close"),
            serde_json::json!({})
        )
        .0,
        200
    );

    let archive = tempfile::tempdir().unwrap();
    let mut config = HubConfig::with_db(&hub.db_path);
    config.archive_dir = Some(archive.path().to_path_buf());
    config.archive_after_days = Some(0);
    let second = Hub::open(config).unwrap();
    let archived = testigo_tests::block_on(second.archive_now()).unwrap();
    assert_eq!(
        archived,
        vec![closed.clone()],
        "only the closed incident leaves"
    );

    let file = std::fs::read(archive.path().join(format!("{closed}.json"))).unwrap();
    assert!(evidence::verify(&file).is_valid());
    assert_eq!(desk.get(&format!("/v1/incidents/{closed}")).0, 404);
    assert_eq!(desk.get(&format!("/v1/incidents/{open}")).0, 200);
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM caller_contacts WHERE incident_id = ?1",
            &[&closed.as_str()]
        ),
        0
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM changes WHERE incident_id = ?1",
            &[&closed.as_str()]
        ),
        0
    );
}
