//! Evidence bundles: exported, verified, and tampered with in every part a forger
//! would touch. Also the two ways data leaves a phone: wipe and retention.

mod common;

use std::collections::HashMap;

use chrono::Duration;
use common::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::evidence::{self, DeviceRecord, IncidentEvidence};
use testigo_core::incident::{Determination, EventKind, ObservationKind, Role};
use testigo_core::store::{store_files, Store};
use testigo_core::Error;

struct Scene {
    _dir: tempfile::TempDir,
    volunteer: Store,
    lead: Store,
    id: testigo_core::ids::IncidentId,
}

/// A volunteer documents an incident; a team lead receives it, confirms and closes.
fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let volunteer = Store::open(dir.path().join("volunteer.db"), &store_key(1)).unwrap();
    let lead = Store::open(dir.path().join("lead.db"), &store_key(2)).unwrap();
    lead.save_enrolment(
        Role::TeamLead,
        Some("south"),
        "https://hub.invalid",
        "credential",
    )
    .unwrap();

    let id = volunteer
        .create_incident(report("Cherokee St & Jefferson Ave"))
        .unwrap();
    volunteer.check_in(&id, fix_near(0.0003)).unwrap();
    volunteer
        .answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::Yes))
        .unwrap();
    volunteer
        .add_observation(
            &id,
            ObservationKind::Note,
            "Agents in ERO vests detained one man",
            None,
            Some(fix_near(0.0002)),
        )
        .unwrap();
    volunteer
        .record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(Determination::Verified),
            None,
            None,
        )
        .unwrap();

    let bytes = volunteer.with_document(&id, |doc| Ok(doc.save())).unwrap();
    lead.merge_remote(&id, &bytes).unwrap();
    lead.record_event(
        &id,
        EventKind::DeterminationConfirmed,
        Some(Determination::Verified),
        None,
        Some("Photos match".into()),
    )
    .unwrap();
    lead.record_event(&id, EventKind::Closed, None, None, None)
        .unwrap();
    Scene {
        _dir: dir,
        volunteer,
        lead,
        id,
    }
}

fn device_record(store: &Store, role: Role) -> DeviceRecord {
    let identity = store.identity();
    DeviceRecord {
        device_id: identity.device_id.clone(),
        public_key: hex::encode(identity.public_key()),
        role,
        enrolled_at: t0(),
        hub_signature: None,
    }
}

fn export(scene: &Scene) -> Vec<u8> {
    let mut signatures = scene.volunteer.change_signatures(&scene.id).unwrap();
    signatures.extend(scene.lead.change_signatures(&scene.id).unwrap());
    let received = HashMap::new();
    let devices = [
        device_record(&scene.volunteer, Role::Volunteer),
        device_record(&scene.lead, Role::TeamLead),
    ];
    scene
        .lead
        .with_document(&scene.id, |doc| {
            evidence::export(
                &[IncidentEvidence {
                    document: doc,
                    signatures: &signatures,
                    received_at: &received,
                    history: &[],
                }],
                &devices,
                None,
            )
        })
        .unwrap()
}

#[test]
fn an_exported_bundle_verifies_and_is_deterministic() {
    let scene = scene();
    let bundle = export(&scene);
    let report = evidence::verify(&bundle);
    assert!(report.is_valid(), "{:#?}", report.findings);
    assert_eq!(report.incidents, 1);
    assert!(report.changes_checked >= 7, "{}", report.changes_checked);
    assert_eq!(report.signatures_checked, report.changes_checked);
    assert_eq!(
        export(&scene),
        bundle,
        "the same data exports to the same bytes"
    );
    let text = String::from_utf8(bundle).unwrap();
    assert!(text.contains("\"FeatureCollection\"") && text.contains("Agents in ERO vests"));
}

/// Replaces the first occurrence of `from` after `anchor` in the bundle text.
fn tamper(bundle: &[u8], anchor: &str, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bundle.to_vec()).unwrap();
    let start = text
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor} not in bundle"));
    let offset = start + text[start..].find(from).unwrap();
    let mut out = text[..offset].to_owned();
    out.push_str(to);
    out.push_str(&text[offset + from.len()..]);
    out.into_bytes()
}

fn findings(bundle: &[u8]) -> Vec<(Option<String>, String)> {
    evidence::verify(bundle)
        .findings
        .into_iter()
        .map(|f| (f.change, f.field))
        .collect()
}

#[test]
fn tampering_is_reported_precisely() {
    let scene = scene();
    let bundle = export(&scene);
    let parsed: evidence::Bundle = serde_json::from_slice(&bundle).unwrap();
    let change = &parsed.incidents[0].changes[2];

    // One hex digit of a signature.
    let sig = change.signature.as_ref().unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    let found = findings(&tamper(&bundle, sig, sig, &flipped));
    assert_eq!(
        found,
        vec![(Some(change.hash.clone()), "signature".to_owned())]
    );

    // The readable rendering says something the document does not.
    let found = findings(&tamper(
        &bundle,
        "\"rendering\"",
        "Agents in ERO vests",
        "Agents in CBP vests",
    ));
    assert_eq!(
        found,
        vec![(
            None,
            format!(
                "rendering/observations/{}/text",
                parsed.incidents[0].rendering["observations"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
            )
        )]
    );

    // A change's author is swapped for another device.
    let other = parsed
        .devices
        .iter()
        .find(|d| Some(&d.device_id) != change.device_id.as_ref())
        .unwrap();
    let found = findings(&tamper(
        &bundle,
        &format!("\"hash\": \"{}\"", change.hash),
        change.device_id.as_ref().unwrap().as_str(),
        other.device_id.as_str(),
    ));
    assert!(
        found.contains(&(Some(change.hash.clone()), "device_id".to_owned())),
        "{found:?}"
    );

    // One byte of the automerge document itself.
    let document = parsed.incidents[0].document.clone();
    let middle = document.len() / 2;
    let replacement = if &document[middle..middle + 1] == "A" {
        "B"
    } else {
        "A"
    };
    let altered = format!(
        "{}{}{}",
        &document[..middle],
        replacement,
        &document[middle + 1..]
    );
    let found = findings(&tamper(&bundle, "\"document\"", &document, &altered));
    assert!(!found.is_empty());
    assert!(
        found.iter().all(|(_, field)| field == "document"
            || field == "hash"
            || field == "changes"
            || field.starts_with("rendering")
            || field.starts_with("geojson")),
        "{found:?}"
    );

    // A GeoJSON point moved.
    let geo = parsed.incidents[0].geojson["features"][1]["geometry"]["coordinates"][1].to_string();
    let found = findings(&tamper(&bundle, "\"geojson\"", &geo, "38.7"));
    assert_eq!(
        found,
        vec![(None, "geojson/features/1/geometry/coordinates/1".to_owned())]
    );

    // Garbage is not a bundle.
    assert_eq!(findings(b"{not json"), vec![(None, "bundle".to_owned())]);
}

#[test]
fn wipe_leaves_no_file_and_an_earlier_copy_needs_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let store = Store::open(&path, &store_key(9)).unwrap();
    let id = store.create_incident(report("Chouteau Ave")).unwrap();
    store
        .add_observation(&id, ObservationKind::Note, "white vans", None, None)
        .unwrap();
    std::fs::create_dir_all(testigo_core::store::attachments_dir(&path)).unwrap();
    std::fs::write(
        testigo_core::store::attachments_dir(&path).join("photo.jpg"),
        b"jpeg",
    )
    .unwrap();
    let copy = dir.path().join("seized-copy.db");
    std::fs::copy(&path, &copy).unwrap();

    store.wipe().unwrap();
    for file in store_files(&path) {
        assert!(!file.exists(), "{} survived the wipe", file.display());
    }
    assert!(matches!(
        Store::open(&copy, &store_key(10)),
        Err(Error::WrongKey)
    ));
    // The app can start fresh at the same path, as a new device.
    let fresh = Store::open(&path, &store_key(11)).unwrap();
    assert_eq!(fresh.incident_count().unwrap(), 0);
}

#[test]
fn retention_removes_closed_synced_incidents_and_never_unsynced_ones() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let lead =
        Store::open_with_clock(dir.path().join("lead.db"), &store_key(3), clock.clone()).unwrap();
    lead.save_enrolment(Role::TeamLead, None, "https://hub.invalid", "credential")
        .unwrap();
    let received = Store::open_with_clock(
        dir.path().join("volunteer.db"),
        &store_key(4),
        clock.clone(),
    )
    .unwrap();

    let id = lead.create_incident(report("Grand Blvd")).unwrap();
    lead.record_event(&id, EventKind::Closed, None, None, None)
        .unwrap();
    // The volunteer's copy came from elsewhere and holds nothing of its own; the hub
    // said when it saw the incident closed.
    received
        .merge_remote(&id, &lead.with_document(&id, |d| Ok(d.save())).unwrap())
        .unwrap();
    received
        .note_hub_closing(&id, t0().timestamp_millis())
        .unwrap();

    clock.advance(Duration::hours(71));
    assert!(
        received.apply_retention().unwrap().is_empty(),
        "inside the window"
    );
    clock.advance(Duration::hours(2));
    assert_eq!(received.apply_retention().unwrap(), vec![id.clone()]);
    assert!(matches!(received.view(&id), Err(Error::NotFound { .. })));
    // The lead's closure was never acknowledged by a hub: it stays.
    assert!(lead.apply_retention().unwrap().is_empty());
    assert!(lead.view(&id).is_ok());

    // The hub can shorten the window.
    let other = lead.create_incident(report("Olive St")).unwrap();
    let copy = lead.with_document(&other, |d| Ok(d.save())).unwrap();
    received.merge_remote(&other, &copy).unwrap();
    received.set_setting("retention_hours", "0").unwrap();
    assert!(
        received.apply_retention().unwrap().is_empty(),
        "open incidents are never removed"
    );
}

#[test]
fn every_distance_survives_the_round_trip_through_the_bundle() {
    // Check-in distances are arbitrary floats; the bundle's JSON must read back to the
    // very same numbers, or an honest export fails its own verification.
    let dir = tempfile::tempdir().unwrap();
    let volunteer = Store::open(dir.path().join("volunteer.db"), &store_key(3)).unwrap();
    let id = volunteer
        .create_incident(report("Gravois Ave & Chippewa St"))
        .unwrap();
    for i in 1..=40 {
        let mut fix = fix_near(0.000_137 * f64::from(i));
        fix.lon += 0.000_071 * f64::from(i % 7);
        volunteer.check_in(&id, fix).unwrap();
    }
    let signatures = volunteer.change_signatures(&id).unwrap();
    let devices = [device_record(&volunteer, Role::Volunteer)];
    let bundle = volunteer
        .with_document(&id, |doc| {
            evidence::export(
                &[IncidentEvidence {
                    document: doc,
                    signatures: &signatures,
                    received_at: &HashMap::new(),
                    history: &[],
                }],
                &devices,
                None,
            )
        })
        .unwrap();
    let report = evidence::verify(&bundle);
    assert!(report.is_valid(), "{:#?}", report.findings);
}

// ----- the hub's signatures: the trust anchor ---------------------------------------

fn hub_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

fn hub_public(seed: u8) -> [u8; 32] {
    hub_key(seed).verifying_key().to_bytes()
}

/// The scene's bundle as a hub with key `seed` would sign it, with receipt times.
fn export_signed(scene: &Scene, seed: u8) -> Vec<u8> {
    let mut signatures = scene.volunteer.change_signatures(&scene.id).unwrap();
    signatures.extend(scene.lead.change_signatures(&scene.id).unwrap());
    let devices = [
        device_record(&scene.volunteer, Role::Volunteer),
        device_record(&scene.lead, Role::TeamLead),
    ];
    scene
        .lead
        .with_document(&scene.id, |doc| {
            let received: HashMap<_, _> = doc
                .get_changes(&[])
                .iter()
                .enumerate()
                .map(|(i, c)| (c.hash(), at(30 + i as i64)))
                .collect();
            evidence::export(
                &[IncidentEvidence {
                    document: doc,
                    signatures: &signatures,
                    received_at: &received,
                    history: &[],
                }],
                &devices,
                Some(&hub_key(seed)),
            )
        })
        .unwrap()
}

fn pinned_findings(bundle: &[u8], seed: u8) -> Vec<(Option<String>, String, String)> {
    evidence::verify_with(bundle, Some(&hub_public(seed)))
        .findings
        .into_iter()
        .map(|f| (f.change, f.field, f.detail))
        .collect()
}

#[test]
fn a_hub_signed_bundle_verifies_against_its_pinned_key_and_says_when_no_anchor_was_given() {
    let scene = scene();
    let bundle = export_signed(&scene, 7);
    let pinned = evidence::verify_with(&bundle, Some(&hub_public(7)));
    assert!(pinned.is_valid(), "{:#?}", pinned.findings);
    assert_eq!(
        pinned.anchor,
        evidence::Anchor::Pinned(hex::encode(hub_public(7)))
    );
    let loose = evidence::verify(&bundle);
    assert!(loose.is_valid(), "{:#?}", loose.findings);
    assert_eq!(loose.anchor, evidence::Anchor::NotGiven);
}

#[test]
fn a_bundle_re_signed_by_another_hub_key_fails_naming_both_keys() {
    let scene = scene();
    let forged = export_signed(&scene, 8);
    let found = pinned_findings(&forged, 7);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (_, field, detail) = &found[0];
    assert_eq!(field, "hub");
    assert!(
        detail.contains(&hex::encode(hub_public(8)))
            && detail.contains(&hex::encode(hub_public(7))),
        "{detail}"
    );
    // Stripping the hub's signatures does not get around the pin either.
    let mut stripped: serde_json::Value = serde_json::from_slice(&forged).unwrap();
    stripped.as_object_mut().unwrap().remove("hub");
    let found = pinned_findings(&serde_json::to_vec(&stripped).unwrap(), 7);
    assert!(
        found
            .iter()
            .any(|(_, f, d)| f == "hub" && d.contains("no valid hub signature")),
        "{found:#?}"
    );
}

#[test]
fn a_changed_role_or_receipt_time_fails_naming_it() {
    let scene = scene();
    let bundle = export_signed(&scene, 7);
    let parsed: evidence::Bundle = serde_json::from_slice(&bundle).unwrap();

    let volunteer = scene.volunteer.device_id();
    let promoted = tamper(
        &bundle,
        &format!("\"device_id\": \"{volunteer}\""),
        "\"role\": \"volunteer\"",
        "\"role\": \"team_lead\"",
    );
    let found = pinned_findings(&promoted, 7);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1, format!("devices/{volunteer}/hub_signature"));
    assert!(found[0].2.contains("role"), "{}", found[0].2);

    let change = &parsed.incidents[0].changes[1];
    let when = serde_json::to_string(&change.received_at.unwrap()).unwrap();
    let later =
        serde_json::to_string(&(change.received_at.unwrap() + chrono::Duration::hours(5))).unwrap();
    let moved = tamper(
        &bundle,
        &format!("\"hash\": \"{}\"", change.hash),
        &when,
        &later,
    );
    let found = pinned_findings(&moved, 7);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].0.as_deref(), found[0].1.as_str()),
        (Some(change.hash.as_str()), "received_at")
    );
    assert!(found[0].2.contains("receipt time"), "{}", found[0].2);
}

#[test]
fn a_bundle_with_its_newest_change_dropped_fails_naming_the_heads() {
    use base64::Engine;

    let scene = scene();
    let bundle = export_signed(&scene, 7);
    let mut value: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    // The forger rebuilds the document without its newest change, and makes every
    // readable part agree with the shorter document: only the hub's heads remain.
    let full = scene
        .lead
        .with_document(&scene.id, |d| Ok(d.clone()))
        .unwrap();
    let newest = full.get_heads()[0];
    let mut shorter = automerge::Automerge::new();
    shorter
        .apply_changes(
            full.get_changes(&[])
                .into_iter()
                .filter(|c| c.hash() != newest),
        )
        .unwrap();
    let incident = &mut value["incidents"][0];
    incident["document"] = base64::engine::general_purpose::STANDARD
        .encode(shorter.save())
        .into();
    incident["rendering"] = testigo_core::incident::render_json(&shorter);
    incident["geojson"] =
        evidence::incident_features(&testigo_core::incident::read_view(&shorter).unwrap());
    incident["changes"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["hash"] != newest.to_string());
    let found = pinned_findings(&serde_json::to_vec(&value).unwrap(), 7);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1, "heads");
    assert!(found[0].2.contains("dropped"), "{}", found[0].2);
}

#[test]
fn a_record_whose_by_names_someone_other_than_its_signer_fails_naming_it() {
    use testigo_core::incident::{Author, IncidentDoc};

    let dir = tempfile::tempdir().unwrap();
    let ana = Store::open(dir.path().join("ana.db"), &store_key(1)).unwrap();
    let ben = person(9, Role::Volunteer);
    // Ana's device writes an observation claiming to be Ben's, and signs it.
    let me = Author::new(ana.device_id(), Role::Volunteer);
    let id = testigo_core::ids::IncidentId::generate();
    let mut doc = IncidentDoc::create(&id, &me, report("Olive St"), at(0)).unwrap();
    let as_ben = Author::via(ben.device.clone(), Role::Volunteer, ana.device_id());
    let note = doc
        .add_observation(
            &as_ben,
            ObservationKind::Note,
            "ben saw it",
            None,
            None,
            at(1),
        )
        .unwrap();
    let signatures: HashMap<_, _> = doc
        .automerge()
        .get_changes(&[])
        .iter()
        .map(|c| (c.hash(), evidence::sign_change(&ana.identity(), &c.hash())))
        .collect();
    let devices = [device_record(&ana, Role::Volunteer)];
    let bundle = evidence::export(
        &[IncidentEvidence {
            document: doc.automerge(),
            signatures: &signatures,
            received_at: &HashMap::new(),
            history: &[],
        }],
        &devices,
        Some(&hub_key(7)),
    )
    .unwrap();
    let found = pinned_findings(&bundle, 7);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].1, format!("records/observations/{note}/by"));
    assert!(
        found[0].2.contains(ben.device.as_str()) && found[0].2.contains(ana.device_id().as_str()),
        "{}",
        found[0].2
    );
}

/// A bundle the hub exported before history signatures (every change signed on its
/// own, no hub signatures), kept as it was written.
#[test]
fn a_bundle_whose_history_signatures_each_cover_one_upload_still_verifies() {
    let old = include_bytes!("fixtures/evidence-v2.json");
    let report = evidence::verify(old);
    assert!(report.is_valid(), "{:#?}", report.findings);
    assert_eq!(report.format, evidence::FORMAT_V2);
    let bundle: evidence::Bundle = serde_json::from_slice(old).unwrap();
    let history = &bundle.incidents[0].history;
    assert!(
        !history.is_empty() && history.iter().all(|h| h.upload.is_none()),
        "each signature over its own statement: {history:?}"
    );
    // Pinned to the key it was signed with, it is anchored; tampering is still named.
    let hub_key: [u8; 32] = hex::decode(&bundle.hub.as_ref().unwrap().public_key)
        .unwrap()
        .try_into()
        .unwrap();
    assert!(evidence::verify_with(old, Some(&hub_key)).is_valid());
    let text = String::from_utf8(old.to_vec()).unwrap();
    let tampered = text.replacen("four agents, one man detained", "nobody detained", 1);
    assert!(!evidence::verify(tampered.as_bytes()).is_valid());
}

#[test]
fn a_bundle_in_the_previous_format_still_verifies() {
    let old = include_bytes!("fixtures/evidence-v1.json");
    let report = evidence::verify(old);
    assert!(report.is_valid(), "{:#?}", report.findings);
    assert_eq!(report.format, evidence::FORMAT_V1);
    assert_eq!(report.anchor, evidence::Anchor::None);
    assert_eq!(report.signatures_checked, report.changes_checked);
    assert!(
        !report.on_behalf.is_empty(),
        "the dispatcher's records were written by the hub"
    );
    // It is still tamper-evident, and it cannot pretend to be anchored.
    let text = String::from_utf8(old.to_vec()).unwrap();
    let tampered = text.replacen("four agents, one man detained", "nobody detained", 1);
    assert!(!evidence::verify(tampered.as_bytes()).is_valid());
    let pinned = evidence::verify_with(old, Some(&hub_public(7)));
    assert!(
        pinned
            .findings
            .iter()
            .any(|f| f.field == "hub" && f.detail.contains("no hub signature")),
        "{:#?}",
        pinned.findings
    );
}
