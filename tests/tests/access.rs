//! Refusals: no credential, a forged one, expired and reused enrolment codes, wrong
//! roles, garbage bodies and guessing. Each gets a clear status and a JSON reason.

use serde_json::{json, Value};
use testigo_core::incident::{ObservationKind, Role};
use testigo_core::sync::protocol::{self, SyncRequest, CONTENT_TYPE};
use testigo_tests::{enrol_raw, Api, Person, World};

#[test]
fn requests_without_a_valid_credential_are_refused() {
    let world = World::new();
    let hub = &world.hub;
    let anonymous = Api::anonymous(hub);
    assert_eq!(
        anonymous.get("/health").0,
        200,
        "health needs no credential"
    );

    let empty_round = protocol::encode(&SyncRequest {
        cursor: 0,
        uploads: vec![],
        max_response_bytes: 1 << 20,
        signature: vec![],
    })
    .unwrap();
    for api in [
        anonymous,
        Api::with_credential(hub, &"ab".repeat(32)),
        Api::with_credential(hub, "not-hex"),
    ] {
        let (status, body) = api.post_raw("/v1/sync", CONTENT_TYPE, empty_round.clone());
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "unauthenticated");
        assert!(!body["reason"].as_str().unwrap().is_empty());
        assert_eq!(api.get("/v1/incidents").0, 401);
        assert_eq!(api.post("/v1/incidents", json!({})).0, 401);
    }

    // A device that was never enrolled cannot sync.
    let stranger = Person::new("stranger");
    let err = testigo_core::sync::sync(&stranger.store, Some(&hub.url)).unwrap_err();
    assert!(
        matches!(err, testigo_core::Error::NotPermitted { .. }),
        "{err}"
    );
}

#[test]
fn enrolment_codes_are_single_use_and_expire() {
    let world = World::new();
    let hub = &world.hub;
    let coordinator = world.coordinator.api(hub);

    // The bootstrap code is spent.
    let late = Person::new("late");
    let (status, body) = enrol_raw(hub, &hub.bootstrap_code, &late);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("code_used")),
        "{body}"
    );

    let code = coordinator.code(Role::Volunteer, Some("north"));
    let first = Person::new("first");
    testigo_core::sync::enroll(&first.store, &hub.url, &code).unwrap();
    assert_eq!(first.store.identity().team.as_deref(), Some("north"));
    let second = Person::new("second");
    let (status, body) = enrol_raw(hub, &code, &second);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("code_used")),
        "{body}"
    );
    let err = testigo_core::sync::enroll(&second.store, &hub.url, &code).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert!(!second.store.identity().is_enrolled());

    let (status, body) = coordinator.post(
        "/v1/enrol-codes",
        json!({ "role": "volunteer", "expires_in_minutes": 1 }),
    );
    assert_eq!(status, 200);
    hub.clock.advance(chrono::Duration::minutes(2));
    let (status, body) = enrol_raw(hub, body["code"].as_str().unwrap(), &second);
    assert_eq!(
        (status, body["error"].as_str()),
        (410, Some("code_expired")),
        "{body}"
    );

    let (status, body) = enrol_raw(hub, "AAAA-BBBB-CCCC", &second);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("code_invalid")),
        "{body}"
    );
}

#[test]
fn failed_guesses_are_rate_limited() {
    let world = World::new();
    let hub = &world.hub;
    let valid = world.coordinator.api(hub).code(Role::Volunteer, None);
    let guesser = Person::new("guesser");
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(enrol_raw(hub, &format!("AAAA-BBBB-{i:04}"), &guesser).0);
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    let (status, body) = enrol_raw(hub, &valid, &guesser);
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "even a right code waits: {body}"
    );
}

#[test]
fn roles_are_checked_on_every_endpoint() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let volunteer = world.enrol("volunteer", Role::Volunteer, None);
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let id =
        dispatcher
            .api(hub)
            .open_incident("Delmar Blvd", Some("+1 314 555 0100"), Some("north"));

    let vol = volunteer.api(hub);
    for (status, body) in [
        vol.post(
            "/v1/incidents",
            json!({ "place_text": "x", "urgency": "low" }),
        ),
        vol.post("/v1/enrol-codes", json!({ "role": "volunteer" })),
        vol.post(
            &format!("/v1/incidents/{id}/assign"),
            json!({ "device": volunteer.store.device_id() }),
        ),
        vol.put(
            &format!("/v1/incidents/{id}/report"),
            json!({ "place_text": "x", "urgency": "low" }),
        ),
        dispatcher
            .api(hub)
            .post("/v1/enrol-codes", json!({ "role": "coordinator" })),
        lead.api(hub).get(&format!("/v1/incidents/{id}/caller")),
        lead.api(hub)
            .post(&format!("/v1/incidents/{id}/caller-notified"), json!({})),
        // Team leads do not assign (the one permissions table decides it for the API
        // and the device alike).
        lead.api(hub).post(
            &format!("/v1/incidents/{id}/assign"),
            json!({ "device": volunteer.store.device_id() }),
        ),
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
    // The team lead sees the team's incident (and may close it); the volunteer does not.
    assert_eq!(lead.api(hub).get(&format!("/v1/incidents/{id}")).0, 200);
    assert_eq!(vol.get(&format!("/v1/incidents/{id}")).0, 404);
}

#[test]
fn garbage_gets_a_400_with_a_reason_and_the_hub_keeps_serving() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let api = dispatcher.api(hub);
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0],
        zstd::encode_all(&[0xffu8; 300][..], 1).unwrap(),
        zstd::encode_all(&postcard::to_stdvec(&(5u64, 3u8, "inc_x")).unwrap()[..], 1).unwrap(),
    ];
    for body in bodies {
        let (status, reply) = api.post_raw("/v1/sync", CONTENT_TYPE, body);
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["error"], "bad_request");
        assert!(!reply["reason"].as_str().unwrap().is_empty());
    }
    for (path, body) in [
        ("/v1/incidents", "{not json"),
        ("/v1/enrol", "[]"),
        ("/v1/enrol-codes", "{}"),
    ] {
        let api = if path == "/v1/enrol-codes" {
            world.coordinator.api(hub)
        } else {
            dispatcher.api(hub)
        };
        let (status, reply) = api.post_raw(path, "application/json", body.as_bytes().to_vec());
        assert_eq!(status, 400, "{path}: {reply}");
    }
    // Uploads of bytes that are not automerge changes are refused by reason, not by crash.
    let request = SyncRequest {
        cursor: 0,
        uploads: vec![protocol::Upload {
            incident: testigo_core::ids::IncidentId::generate(),
            changes: vec![vec![1, 2, 3]],
            new_incident: true,
            signature: vec![],
            retries: Vec::new(),
        }],
        max_response_bytes: 1 << 20,
        signature: vec![],
    };
    let (status, _) = api.post_raw(
        "/v1/sync",
        CONTENT_TYPE,
        protocol::encode(&request).unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(api.get("/health").0, 200);
    // The hub is still answering: the next sync works.
    dispatcher.sync(hub);
}

/// The volunteer's own changes to `id`, oldest first.
fn own_changes(person: &Person, id: &testigo_core::ids::IncidentId) -> Vec<automerge::Change> {
    let actor = person.store.device_id().actor_id();
    person
        .store
        .with_document(id, |doc| {
            Ok(doc
                .get_changes(&[])
                .into_iter()
                .filter(|c| c.actor_id() == &actor)
                .collect())
        })
        .unwrap()
}

/// The hub's id as it publishes it (`GET /v1/hub`), which history signatures bind.
fn hub_device_id(hub: &testigo_tests::TestHub) -> testigo_core::ids::DeviceId {
    let (status, info) = testigo_tests::Api::anonymous(hub).get("/v1/hub");
    assert_eq!(status, 200, "{info}");
    testigo_core::ids::DeviceId::parse(info["device_id"].as_str().unwrap()).unwrap()
}

/// Posts one crafted upload as `person` and returns the hub's answer.
fn post_upload(
    hub: &testigo_tests::TestHub,
    person: &Person,
    upload: testigo_core::sync::protocol::Upload,
) -> testigo_core::sync::protocol::SyncResponse {
    let request = SyncRequest {
        cursor: 0,
        uploads: vec![upload],
        max_response_bytes: 1 << 20,
        // Each crafted upload here carries its own signature, as devices did before
        // one signature covered a request.
        signature: Vec::new(),
    };
    let (status, body) = person.api(hub).post_bytes(
        "/v1/sync",
        CONTENT_TYPE,
        protocol::encode(&request).unwrap(),
    );
    assert_eq!(status, 200);
    protocol::decode(&body).unwrap()
}

#[test]
fn unsigned_and_forged_changes_are_refused_and_signed_ones_land() {
    use testigo_core::evidence::HistoryStatement;
    use testigo_core::incident::ObservationKind;
    use testigo_core::sync::protocol::Upload;

    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let id = desk.open_incident("Place", None, None);
    desk.assign(&id, &vol, true);
    vol.sync(hub);
    vol.store
        .add_observation(&id, ObservationKind::Note, "signed or not", None, None)
        .unwrap();
    let change = own_changes(&vol, &id).pop().unwrap();
    let hub_id = hub_device_id(hub);
    let statement = HistoryStatement {
        incident: id.clone(),
        hub: hub_id.clone(),
        seq: change.seq(),
        head: change.hash(),
    };
    let impostor = Person::new("impostor");
    let sign =
        |who: &Person, statement: &HistoryStatement| statement.sign(&who.store.identity()).to_vec();

    let mut other_head = statement.clone();
    other_head.head = automerge::ChangeHash([9; 32]);
    let mut other_hub = statement.clone();
    other_hub.hub = impostor.store.device_id();
    let mut other_incident = statement.clone();
    other_incident.incident = testigo_core::ids::IncidentId::generate();
    let mut other_seq = statement.clone();
    other_seq.seq += 1;
    let attempts = [
        (vec![], "unsigned"),
        (vec![7; 64], "bad history signature"),
        (sign(&impostor, &statement), "bad history signature"),
        (vec![1; 10], "64-byte"),
        // The device's own valid signatures, but of other statements.
        (sign(&vol, &other_head), "bad history signature"),
        (sign(&vol, &other_hub), "bad history signature"),
        (sign(&vol, &other_incident), "bad history signature"),
        (sign(&vol, &other_seq), "bad history signature"),
    ];
    for (signature, expected) in attempts {
        let response = post_upload(
            hub,
            &vol,
            Upload {
                incident: id.clone(),
                changes: vec![change.raw_bytes().to_vec()],
                new_incident: false,
                signature,
                retries: Vec::new(),
            },
        );
        assert_eq!(response.rejected.len(), 1);
        assert!(
            response.rejected[0].reason.contains(expected),
            "{expected}: {:?}",
            response.rejected
        );
        assert!(desk.view(&id).observations.is_empty());
    }
    let response = post_upload(
        hub,
        &vol,
        Upload {
            incident: id.clone(),
            changes: vec![change.raw_bytes().to_vec()],
            new_incident: false,
            signature: sign(&vol, &statement),
            retries: Vec::new(),
        },
    );
    assert!(response.rejected.is_empty(), "{:?}", response.rejected);
    assert_eq!(desk.view(&id).observations.len(), 1);
    let report = vol.sync(hub);
    assert!(report.rejected.is_empty());
}

#[test]
fn a_change_the_history_signature_does_not_cover_is_refused_and_the_rest_lands() {
    use testigo_core::evidence::HistoryStatement;
    use testigo_core::incident::ObservationKind;
    use testigo_core::sync::protocol::Upload;

    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let id = desk.open_incident("Place", None, None);
    desk.assign(&id, &vol, true);
    vol.sync(hub);
    for text in ["signed", "sneaked in after the signed change"] {
        vol.store
            .add_observation(&id, ObservationKind::Note, text, None, None)
            .unwrap();
    }
    let mut mine = own_changes(&vol, &id);
    let newer = mine.pop().unwrap();
    let signed = mine.pop().unwrap();
    assert!(newer.deps().contains(&signed.hash()));
    // A really signed upload whose signature covers the older change only: the newer
    // one is the device's own too, but no signature vouches for it.
    let statement = HistoryStatement {
        incident: id.clone(),
        hub: hub_device_id(hub),
        seq: signed.seq(),
        head: signed.hash(),
    };
    let response = post_upload(
        hub,
        &vol,
        Upload {
            incident: id.clone(),
            changes: vec![newer.raw_bytes().to_vec(), signed.raw_bytes().to_vec()],
            new_incident: false,
            signature: statement.sign(&vol.store.identity()).to_vec(),
            retries: Vec::new(),
        },
    );
    assert_eq!(response.rejected.len(), 1, "{:?}", response.rejected);
    assert_eq!(response.rejected[0].change_hash, Some(newer.hash().0));
    assert!(
        response.rejected[0]
            .reason
            .contains("not covered by the history signature"),
        "{:?}",
        response.rejected
    );
    let texts: Vec<String> = desk
        .view(&id)
        .observations
        .iter()
        .map(|o| o.text.clone())
        .collect();
    assert_eq!(texts, vec!["signed".to_owned()]);
}

#[test]
fn a_request_signature_holds_only_over_the_uploads_it_was_made_for() {
    use testigo_core::evidence::{HistoryStatement, UploadStatement};
    use testigo_core::incident::ObservationKind;
    use testigo_core::sync::protocol::Upload;

    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, None);
    let ids = [
        desk.open_incident("First corner", None, None),
        desk.open_incident("Second corner", None, None),
    ];
    for id in &ids {
        desk.assign(id, &vol, true);
    }
    vol.sync(hub);
    let hub_id = hub_device_id(hub);
    let mut uploads = Vec::new();
    let mut statements = Vec::new();
    for id in &ids {
        vol.store
            .add_observation(
                id,
                ObservationKind::Note,
                "one signature for both",
                None,
                None,
            )
            .unwrap();
        let change = own_changes(&vol, id).pop().unwrap();
        statements.push(HistoryStatement {
            incident: id.clone(),
            hub: hub_id.clone(),
            seq: change.seq(),
            head: change.hash(),
        });
        uploads.push(Upload {
            incident: id.clone(),
            changes: vec![change.raw_bytes().to_vec()],
            new_incident: false,
            signature: Vec::new(),
            retries: Vec::new(),
        });
    }
    let post = |signature: Vec<u8>| {
        let request = SyncRequest {
            cursor: 0,
            uploads: uploads.clone(),
            max_response_bytes: 1 << 20,
            signature,
        };
        let (status, body) = vol.api(hub).post_bytes(
            "/v1/sync",
            CONTENT_TYPE,
            protocol::encode(&request).unwrap(),
        );
        assert_eq!(status, 200);
        protocol::decode::<protocol::SyncResponse>(&body).unwrap()
    };
    let tree = |hub: &testigo_core::ids::DeviceId, statements: &[HistoryStatement]| {
        UploadStatement::over(hub, statements).unwrap()
    };
    let by_vol = |tree: UploadStatement| tree.sign(&vol.store.identity()).to_vec();
    let impostor = Person::new("impostor");
    let reversed: Vec<HistoryStatement> = statements.iter().rev().cloned().collect();
    let elsewhere = impostor.store.device_id();
    let moved: Vec<HistoryStatement> = statements
        .iter()
        .map(|s| HistoryStatement {
            hub: elsewhere.clone(),
            ..s.clone()
        })
        .collect();
    let attempts = [
        // Her real key, over a tree that leaves the second upload out.
        (
            by_vol(tree(&hub_id, &statements[..1])),
            "bad request signature",
        ),
        // Both statements, in another order than the uploads.
        (by_vol(tree(&hub_id, &reversed)), "bad request signature"),
        // The right tree, for another hub.
        (by_vol(tree(&elsewhere, &moved)), "bad request signature"),
        // The right tree, someone else's key.
        (
            tree(&hub_id, &statements)
                .sign(&impostor.store.identity())
                .to_vec(),
            "bad request signature",
        ),
        (vec![3; 10], "64 bytes"),
    ];
    for (signature, expected) in attempts {
        let response = post(signature);
        assert_eq!(response.rejected.len(), 2, "{:?}", response.rejected);
        assert!(
            response
                .rejected
                .iter()
                .all(|r| r.reason.contains(expected)),
            "{expected}: {:?}",
            response.rejected
        );
        for id in &ids {
            assert!(desk.view(id).observations.is_empty());
        }
    }
    let response = post(by_vol(tree(&hub_id, &statements)));
    assert!(response.rejected.is_empty(), "{:?}", response.rejected);
    for id in &ids {
        assert_eq!(desk.view(id).observations.len(), 1);
    }
}

/// A phone is lost or seized: a coordinator revokes it, and from that moment its
/// credential opens nothing. What it synced before stays in the record.
#[test]
fn a_revoked_device_loses_access_at_once_and_its_records_stay() {
    let world = World::new();
    let hub = &world.hub;
    let coordinator = world.coordinator.api(hub);
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, None);
    let desk = dispatcher.api(hub);
    let id = desk.open_incident("Cherokee St", None, None);
    desk.assign(&id, &ana, true);
    ana.sync(hub);
    let observation = ana
        .store
        .add_observation(
            &id,
            ObservationKind::Note,
            "white van, no plates",
            None,
            None,
        )
        .unwrap();
    ana.sync(hub);
    let revoke = format!("/v1/devices/{}/revoke", ana.store.device_id());

    // Only a coordinator revokes, never their own device, and only real devices.
    let (status, body) = desk.post(&revoke, json!({}));
    assert_eq!(status, 403, "{body}");
    let own = format!("/v1/devices/{}/revoke", world.coordinator.store.device_id());
    assert_eq!(coordinator.post(&own, json!({})).0, 400);
    assert_eq!(
        coordinator.post("/v1/devices/nonsense/revoke", json!({})).0,
        400
    );

    let (status, body) = coordinator.post(&revoke, json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "volunteer");

    // The credential now opens nothing: not sync, not the API.
    let err = testigo_core::sync::sync(&ana.store, Some(&hub.url)).unwrap_err();
    assert!(
        err.to_string().contains("revoked") || err.to_string().contains("credential"),
        "{err}"
    );
    let (status, body) = ana.api(hub).get(&format!("/v1/incidents/{id}"));
    assert_eq!(status, 401, "{body}");
    // It is no longer offered for assignment, and cannot be assigned.
    let (_, devices) = desk.get("/v1/devices");
    assert!(!devices.to_string().contains(ana.store.device_id().as_str()));
    let (status, body) = desk.post(
        &format!("/v1/incidents/{id}/assign"),
        json!({ "device": ana.store.device_id(), "active": true }),
    );
    assert_eq!(status, 400, "{body}");
    // Revoking twice finds nothing left to revoke.
    assert_eq!(coordinator.post(&revoke, json!({})).0, 404);

    // What the device synced before stays, and the revocation is in the audit log.
    let view = desk.view(&id);
    assert!(view.observations.iter().any(|o| o.id == observation));
    let (status, log) = coordinator.get("/v1/audit");
    assert_eq!(status, 200, "{log}");
    let revocations: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "revoke")
        .collect();
    assert_eq!(revocations.len(), 1, "{log}");
    assert_eq!(
        revocations[0]["device_id"],
        json!(world.coordinator.store.device_id())
    );
    assert!(revocations[0]["endpoint"]
        .as_str()
        .unwrap()
        .contains(ana.store.device_id().as_str()));
}
