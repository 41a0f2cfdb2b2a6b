//! A volunteer gets only what is assigned to them, and the caller's phone number
//! never reaches a device: not its database (raw or decrypted), not a sync response.

use automerge::Automerge;
use serde_json::json;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{render_json, Role};
use testigo_core::sync::protocol::{self, SyncResponse};
use testigo_tests::proxy::Proxy;
use testigo_tests::{contains, Person, World};

const PHONE: &str = "+1 314 555 0199";
const PHONE_DIGITS: &str = "3145550199";

#[test]
fn a_volunteer_cannot_obtain_an_incident_not_assigned_to_them() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let vol = world.enrol("vol", Role::Volunteer, Some("south"));
    let mine = desk.open_incident("Gravois Ave", None, None);
    let other = desk.open_incident("Natural Bridge Ave", Some(PHONE), Some("north"));
    desk.assign(&mine, &vol, true);

    let report = vol.sync(hub);
    assert_eq!(report.incidents_added, 1);
    assert!(vol.holds(&mine));
    assert!(!vol.holds(&other), "not by sync");

    let api = vol.api(hub);
    assert_eq!(api.get(&format!("/v1/incidents/{mine}")).0, 200);
    let (status, body) = api.get(&format!("/v1/incidents/{other}"));
    assert_eq!(status, 404, "not by id: {body}");
    assert_eq!(body["error"], "not_found");
    assert_eq!(
        api.get(&format!("/v1/incidents/{}", IncidentId::generate()))
            .0,
        404,
        "a made-up id looks the same"
    );
    assert_eq!(api.get("/v1/incidents/not-an-id").0, 404);
    let (status, list) = api.get("/v1/incidents");
    assert_eq!(status, 200);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.as_str()], "not by listing");
    assert_eq!(
        api.get(&format!("/v1/incidents/{mine}/caller")).0,
        403,
        "caller contacts are for dispatchers"
    );

    // Once unassigned, the incident leaves the device on its next sync.
    desk.assign(&mine, &vol, false);
    let report = vol.sync(hub);
    assert_eq!(report.incidents_removed, 1);
    assert!(!vol.holds(&mine));
    assert_eq!(api.get(&format!("/v1/incidents/{mine}")).0, 404);
}

/// Every automerge document or change in a response, rendered as JSON text.
fn rendered_documents(response: &SyncResponse) -> String {
    let mut out = String::new();
    for delivered in &response.new_incidents {
        out += &render_json(&Automerge::load(&delivered.document).unwrap()).to_string();
    }
    for changes in &response.changes {
        let mut doc = Automerge::new();
        doc.load_incremental(&changes.changes.concat()).unwrap();
        out += &format!(
            "{:?}",
            doc.get_changes(&[])
                .iter()
                .map(|c| c.decode())
                .collect::<Vec<_>>()
        );
    }
    out
}

fn files_of(person: &Person) -> Vec<Vec<u8>> {
    std::fs::read_dir(person.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect()
}

#[test]
fn the_callers_phone_number_never_reaches_a_device() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let desk = dispatcher.api(hub);
    let vol = world.enrol("vol", Role::Volunteer, Some("north"));
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let id = desk.open_incident("Cherokee St", Some(PHONE), Some("north"));
    desk.assign(&id, &vol, true);
    let (status, contact) = desk.get(&format!("/v1/incidents/{id}/caller"));
    assert_eq!(
        (status, contact["phone"].as_str()),
        (200, Some(PHONE)),
        "the hub keeps it for dispatchers"
    );

    let proxy = Proxy::start(hub.addr);
    for person in [&vol, &lead, &dispatcher] {
        let report = testigo_core::sync::sync(&person.store, Some(&proxy.url)).unwrap();
        assert_eq!(
            report.incidents_added, 1,
            "{} got the incident",
            person.name
        );
    }
    vol.store
        .add_observation(
            &id,
            testigo_core::incident::ObservationKind::Note,
            "two vans",
            None,
            None,
        )
        .unwrap();
    testigo_core::sync::sync(&vol.store, Some(&proxy.url)).unwrap();
    testigo_core::sync::sync(&lead.store, Some(&proxy.url)).unwrap();
    let (status, _) = desk.post(
        &format!("/v1/incidents/{id}/caller-notified"),
        json!({ "note": "called back" }),
    );
    assert_eq!(status, 200);
    testigo_core::sync::sync(&vol.store, Some(&proxy.url)).unwrap();

    let bodies = proxy.bodies();
    assert!(bodies.len() >= 6);
    for body in &bodies {
        let plain = protocol::decompress(body).unwrap();
        let response: SyncResponse = protocol::decode(body).unwrap();
        let documents = rendered_documents(&response);
        assert!(!documents.is_empty() || response.new_incidents.is_empty());
        for needle in [PHONE, PHONE_DIGITS] {
            assert!(
                !contains(&plain, needle.as_bytes()),
                "phone in a decompressed sync response"
            );
            assert!(
                !documents.contains(needle),
                "phone in a document of a sync response"
            );
        }
    }
    assert!(
        bodies
            .iter()
            .any(|b| rendered_documents(&protocol::decode(b).unwrap()).contains("Cherokee St")),
        "the search can find what is there"
    );

    for person in [&vol, &lead, &dispatcher] {
        // The files as they lie on disk (database, -wal, -shm)…
        for file in files_of(person) {
            assert!(
                !contains(&file, PHONE.as_bytes()) && !contains(&file, PHONE_DIGITS.as_bytes()),
                "phone in {}'s files",
                person.name
            );
        }
        // …the database decrypted…
        let plain = person.dir().join("plain.db");
        let conn = rusqlite::Connection::open(person.dir().join("device.db")).unwrap();
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(person.key)))
            .unwrap();
        conn.execute_batch(&format!("ATTACH DATABASE '{}' AS plain KEY ''; SELECT sqlcipher_export('plain'); DETACH DATABASE plain;", plain.display())).unwrap();
        let bytes = std::fs::read(&plain).unwrap();
        assert!(
            contains(&bytes, person.store.device_id().as_str().as_bytes()),
            "the export is readable"
        );
        assert!(
            !contains(&bytes, PHONE.as_bytes()) && !contains(&bytes, PHONE_DIGITS.as_bytes()),
            "phone in {}'s decrypted database",
            person.name
        );
        std::fs::remove_file(&plain).unwrap();
        // …and every document it holds, rendered.
        let rendered = person
            .store
            .with_document(&id, |doc| Ok(render_json(doc).to_string()))
            .unwrap();
        assert!(
            rendered.contains("Cherokee St")
                && !rendered.contains(PHONE)
                && !rendered.contains(PHONE_DIGITS)
        );
    }
}
