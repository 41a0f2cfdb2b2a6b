//! The `testigo` command as a person or a script uses it: the demo end to end, and a
//! field device scripted against a running `testigo hub`.

mod common;

use common::{json, start_hub, start_hub_with, testigo};
use serde_json::{json, Value};

#[test]
fn the_demo_tells_the_whole_story_and_checks_it() {
    let summary = json(&["demo"]);
    assert_eq!(summary["status"], "caller_notified");
    assert_eq!(summary["determination"], "verified");
    assert_eq!(summary["proposals"], 2);
    assert_eq!(summary["phones_woken_by_dispatch"], 2);
    assert_eq!(summary["replicas_identical"], true);
    assert_eq!(summary["caller_phone_on_devices"], false);
    assert_eq!(summary["bundle_verified"], true);
    assert_eq!(summary["tampering_detected"], true);
    assert_eq!(summary["preview_before_full_photo"], true);
    assert!(summary["observations"].as_u64().unwrap() >= 3);
    assert!(
        summary["seconds"].as_f64().unwrap() < 60.0,
        "the demo is meant to be quick to watch"
    );
}

#[test]
fn the_hub_keeps_media_where_it_is_told_and_refuses_a_store_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, started) = start_hub_with(dir.path(), &[]);
    let beside = format!("{}.media", dir.path().join("hub.sqlite").display());
    assert_eq!(started["media"], beside.as_str(), "{started}");
    drop(_hub);

    let folder = dir.path().join("evidence-media");
    let (_hub, started) = start_hub_with(dir.path(), &["--media-store", folder.to_str().unwrap()]);
    assert_eq!(started["media"], folder.to_str().unwrap());
    assert!(folder.is_dir());
    drop(_hub);

    let refused = testigo()
        .args(["hub", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("hub.sqlite"))
        .args(["--media-store", "gs://hotline-media"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("`gs://` is not a media store"), "{stderr}");
}

#[test]
fn a_field_device_scripted_against_a_running_hub() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, url, bootstrap) = start_hub(dir.path());
    let store = |name: &str| dir.path().join(format!("{name}.db")).display().to_string();
    let (coordinator, dispatcher, volunteer) = (
        store("coordinator"),
        store("dispatcher"),
        store("volunteer"),
    );

    json(&[
        "field",
        "--store",
        &coordinator,
        "enroll",
        "--hub",
        &url,
        "--code",
        &bootstrap,
    ]);
    for (who, role, team) in [
        (&dispatcher, "dispatcher", None),
        (&volunteer, "volunteer", Some("east")),
    ] {
        let mut args = vec!["enroll", "--store", coordinator.as_str(), "--role", role];
        if let Some(team) = team {
            args.extend(["--team", team]);
        }
        let code = json(&args)["code"].as_str().unwrap().to_owned();
        let enrolled = json(&[
            "field", "--store", who, "enroll", "--hub", &url, "--code", &code,
        ]);
        assert_eq!(enrolled["role"], role);
    }
    // A reused code is refused with one clear line and a non-zero exit.
    let reused = testigo()
        .args([
            "field",
            "--store",
            &store("intruder"),
            "enroll",
            "--hub",
            &url,
            "--code",
            &bootstrap,
        ])
        .output()
        .unwrap();
    assert!(!reused.status.success());
    let stderr = String::from_utf8_lossy(&reused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );

    let opened = json(&[
        "dispatch",
        "--store",
        &dispatcher,
        "open",
        "--place",
        "Gravois Ave & Chippewa St",
        "--lat",
        "38.5913",
        "--lon",
        "-90.2551",
        "--team",
        "east",
        "--caller-phone",
        "+1 314 555 0166",
    ]);
    let id = opened["incident"].as_str().unwrap().to_owned();

    // On duty: the wait returns at once (the dispatch happened before it began), then
    // syncs and prints what arrived.
    let woke = json(&[
        "field",
        "--store",
        &volunteer,
        "wait",
        "--once",
        "--timeout",
        "30",
    ]);
    assert_eq!(woke["woke"], true, "{woke}");
    assert_eq!(woke["new_incidents"][0]["id"], id.as_str());
    assert_eq!(
        woke["new_incidents"][0]["place_text"],
        "Gravois Ave & Chippewa St"
    );
    let listed = json(&["field", "--store", &volunteer, "list"]);
    assert_eq!(listed[0]["summary"]["id"], id.as_str());
    let checked_in = json(&[
        "field",
        "--store",
        &volunteer,
        "check-in",
        &id,
        "--lat",
        "38.5915",
        "--lon",
        "-90.2551",
        "--accuracy",
        "7",
    ]);
    assert!(checked_in["distance_m"].as_f64().unwrap() < 50.0);
    json(&[
        "--lang",
        "es",
        "field",
        "--store",
        &volunteer,
        "answer",
        &id,
        "enforcement_present",
        "sí",
    ]);
    json(&[
        "field",
        "--store",
        &volunteer,
        "answer",
        &id,
        "agencies",
        "ice_ero,cbp",
    ]);
    // A count for a yes/no question is refused before anything is written.
    let wrong = testigo()
        .args([
            "field",
            "--store",
            &volunteer,
            "answer",
            &id,
            "agents_count",
            "many",
        ])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    json(&[
        "field",
        "--store",
        &volunteer,
        "observe",
        &id,
        "Three agents at the tire shop",
        "--lat",
        "38.5914",
        "--lon",
        "-90.2550",
    ]);
    // A photo of the plate, attached on scene: sealed in the store, queued for the hub.
    let photo = dir.path().join("plate.jpg");
    std::fs::write(
        &photo,
        [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 40_000]].concat(),
    )
    .unwrap();
    let observed = json(&[
        "field",
        "--store",
        &volunteer,
        "observe",
        &id,
        "Plate of the grey SUV",
        "--attach",
        photo.to_str().unwrap(),
    ]);
    assert_eq!(observed["attachments"][0]["mime"], "image/jpeg");
    assert_eq!(observed["attachments"][0]["size"], 40_004);
    let queued = json(&["field", "--store", &volunteer, "uploads"]);
    assert_eq!(queued["pending"].as_array().unwrap().len(), 1, "{queued}");
    json(&[
        "field",
        "--store",
        &volunteer,
        "determine",
        &id,
        "verified",
        "--confidence",
        "high",
    ]);
    let checklist = json(&[
        "--lang",
        "es",
        "field",
        "--store",
        &volunteer,
        "checklist",
        &id,
    ]);
    assert!(checklist["progress"]["answered"].as_u64().unwrap() >= 2);
    let synced = json(&["field", "--store", &volunteer, "sync"]);
    assert!(synced["changes_up"].as_u64().unwrap() >= 5);
    assert_eq!(synced["rejected"].as_array().unwrap().len(), 0);

    let sent = json(&["field", "--store", &volunteer, "uploads", "--send"]);
    assert_eq!(sent["sent"]["completed"], 1, "{sent}");
    assert_eq!(sent["pending"].as_array().unwrap().len(), 0, "{sent}");

    let on_hub = json(&["dispatch", "--store", &dispatcher, "show", &id]);
    assert_eq!(on_hub["status"]["status"], "proposed");
    assert_eq!(
        on_hub["observations"][0]["text"],
        "Three agents at the tire shop"
    );
    // Two answers given, and the arrival the check-in answered.
    assert_eq!(on_hub["answers"].as_array().unwrap().len(), 3);
    let caller = json(&["dispatch", "--store", &dispatcher, "caller", &id]);
    assert_eq!(caller["phone"], "+1 314 555 0166");
    // A volunteer's store cannot read caller data.
    let refused = testigo()
        .args(["dispatch", "--store", &volunteer, "caller", &id])
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let notified = json(&["dispatch", "--store", &dispatcher, "notified", &id]);
    assert_eq!(notified["status"], "caller_notified");
    let bundle = dir.path().join("bundle.json");
    let exported = testigo()
        .args(["export", "--store", &dispatcher, "-o"])
        .arg(&bundle)
        .args(["bundle", &id])
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let media_dir = dir.path().join("media");
    let exported = testigo()
        .args(["export", "--store", &dispatcher, "-o"])
        .arg(&bundle)
        .args(["bundle", &id, "--with-media"])
        .arg(&media_dir)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let verified = json(&[
        "verify",
        bundle.to_str().unwrap(),
        "--media",
        media_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        verified["findings"].as_array().unwrap().len(),
        0,
        "{verified}"
    );
    // One byte changed in the photo is named.
    let photo_copy = std::fs::read_dir(&media_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    let mut bytes = std::fs::read(&photo_copy).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&photo_copy, bytes).unwrap();
    let altered = testigo()
        .args(["--json", "verify"])
        .arg(&bundle)
        .arg("--media")
        .arg(&media_dir)
        .output()
        .unwrap();
    assert_eq!(altered.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&altered.stdout).unwrap();
    let named = photo_copy.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        report["findings"][0]["field"],
        format!("media/{named}"),
        "{report}"
    );
    let verified = json(&["verify", bundle.to_str().unwrap()]);
    assert_eq!(verified["findings"].as_array().unwrap().len(), 0);
    assert_eq!(verified["anchor"], "not_given");
    let plain = testigo().args(["verify"]).arg(&bundle).output().unwrap();
    assert!(
        String::from_utf8_lossy(&plain.stdout).contains("NOT ANCHORED"),
        "without a hub key, verify says the bundle is not anchored"
    );
    // Pinned to the hub's key (here read from the hub itself, as an organisation
    // would publish it), and to another key, given inline and in a file.
    let hub_key = serde_json::from_slice::<Value>(&std::fs::read(&bundle).unwrap()).unwrap()["hub"]
        ["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let anchored = json(&["verify", "--hub-key", &hub_key, bundle.to_str().unwrap()]);
    assert_eq!(anchored["anchor"]["pinned"], hub_key.as_str());
    assert_eq!(anchored["findings"].as_array().unwrap().len(), 0);
    let key_file = dir.path().join("other-hub.key");
    std::fs::write(&key_file, "11".repeat(32)).unwrap();
    let wrong = testigo()
        .args(["verify", "--hub-key-file"])
        .arg(&key_file)
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stdout).contains("not by the pinned hub key"),
        "{}",
        String::from_utf8_lossy(&wrong.stdout)
    );
    let mut tampered = std::fs::read_to_string(&bundle).unwrap();
    tampered = tampered.replacen(
        "Three agents at the tire shop",
        "Two agents at the tire shop",
        1,
    );
    std::fs::write(&bundle, tampered).unwrap();
    let failed = testigo().args(["verify"]).arg(&bundle).output().unwrap();
    assert_eq!(
        failed.status.code(),
        Some(1),
        "a tampered bundle fails verification"
    );

    let csv = testigo()
        .args(["export", "--store", &volunteer, "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.lines().count() >= 2 && csv.contains("Three agents at the tire shop"),
        "{csv}"
    );

    // The volunteer's phone is seized: the coordinator revokes it, and its next sync
    // is refused with one clear line.
    let whoami = json(&["field", "--store", &volunteer, "whoami"]);
    let device = whoami["device_id"].as_str().unwrap().to_owned();
    let revoked = json(&["revoke", "--store", &coordinator, &device]);
    assert_eq!(revoked["device_id"], device.as_str());
    assert_eq!(revoked["role"], "volunteer");
    let refused = testigo()
        .args(["field", "--store", &volunteer, "sync"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("revoked"), "{stderr}");
}

/// A coordinator starts from the shipped checklist as an XLSForm, edits it, imports
/// and publishes it; a volunteer checks in, answers everything, checks out, and ends
/// at full progress with the arrival and departure checkpoints answered by checking in
/// and out.
#[test]
fn a_volunteer_checks_in_answers_everything_and_checks_out_at_full_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, url, bootstrap) = start_hub(dir.path());
    let store = |name: &str| dir.path().join(format!("{name}.db")).display().to_string();
    let (coordinator, dispatcher, volunteer) = (
        store("coordinator"),
        store("dispatcher"),
        store("volunteer"),
    );
    json(&[
        "field",
        "--store",
        &coordinator,
        "enroll",
        "--hub",
        &url,
        "--code",
        &bootstrap,
    ]);
    for (who, role) in [(&dispatcher, "dispatcher"), (&volunteer, "volunteer")] {
        let code = json(&[
            "enroll",
            "--store",
            coordinator.as_str(),
            "--role",
            role,
            "--team",
            "east",
        ])["code"]
            .as_str()
            .unwrap()
            .to_owned();
        json(&[
            "field", "--store", who, "enroll", "--hub", &url, "--code", &code,
        ]);
    }

    // The shipped checklist as an XLSForm; version 2 with one label changed and a
    // decimal question added after the agents count.
    let form = dir.path().join("checklist.csv");
    json(&["template", "export", "--out", form.to_str().unwrap()]);
    let xlsx = dir.path().join("checklist.xlsx");
    json(&["template", "export", "--out", xlsx.to_str().unwrap()]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    let text = std::fs::read_to_string(&form).unwrap();
    let edited = text
        .replacen(",field-verification,1,", ",field-verification,2,", 1)
        .replacen(
            "About how many agents are there?",
            "How many agents do you count?",
            1,
        );
    assert_ne!(edited, text);
    let edited: String = edited
        .lines()
        .flat_map(|line| {
            let added = line.starts_with(",integer,agents_count,").then_some(
                ",decimal,distance_km,How far away is it (km)?,¿A qué distancia está (km)?,,,yes,,. > 0,More than 0 km,Más de 0 km,",
            );
            std::iter::once(line).chain(added)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(edited.contains(",decimal,distance_km,"), "{edited}");
    std::fs::write(&form, edited).unwrap();
    let refused = testigo()
        .args(["template", "--store", &volunteer, "import"])
        .arg(&form)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a volunteer cannot import checklists"
    );
    let imported = json(&[
        "template",
        "--store",
        &coordinator,
        "import",
        form.to_str().unwrap(),
    ]);
    assert_eq!(
        (imported["id"].as_str(), imported["version"].as_u64()),
        (Some("field-verification"), Some(2))
    );
    json(&[
        "template",
        "--store",
        &coordinator,
        "publish",
        "field-verification",
        "--version",
        "2",
    ]);
    let listed = json(&["template", "--store", &dispatcher, "list"]);
    assert!(listed[0]["published_at_ms"].is_i64(), "{listed}");

    let opened = json(&[
        "dispatch",
        "--store",
        &dispatcher,
        "open",
        "--place",
        "Cherokee St",
        "--lat",
        "38.5930",
        "--lon",
        "-90.2300",
        "--team",
        "east",
    ]);
    let id = opened["incident"].as_str().unwrap().to_owned();
    let synced = json(&["field", "--store", &volunteer, "sync"]);
    assert_eq!(synced["templates_received"], 1, "{synced}");

    let checklist = || {
        json(&[
            "--lang",
            "es",
            "field",
            "--store",
            &volunteer,
            "checklist",
            &id,
        ])
    };
    let first = checklist();
    assert_eq!(first["template"]["version"], 2);
    assert_eq!(first["next"], "arrival");
    json(&[
        "field",
        "--store",
        &volunteer,
        "check-in",
        &id,
        "--lat",
        "38.5931",
        "--lon",
        "-90.2301",
        "--accuracy",
        "6",
    ]);
    // Answer whatever the checklist asks next until only the departure is left.
    let mut asked = Vec::new();
    loop {
        let state = checklist();
        let next = state["next"]
            .as_str()
            .expect("something is still asked")
            .to_owned();
        assert_ne!(next, "arrival", "checking in answered the arrival");
        if next == "departure" {
            break;
        }
        assert!(!asked.contains(&next), "{next} asked twice: {state}");
        let question = state["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["questions"].as_array().unwrap())
            .find(|q| q["id"] == next.as_str())
            .unwrap()
            .clone();
        if next == "agents_count" {
            assert_eq!(question["label"], "¿Cuántos agentes hay, más o menos?");
        }
        let value = match question["kind"].as_str().unwrap() {
            "yes_no_unknown" => "sí",
            "single_choice" | "multiple_choice" => "1",
            "count" => "3",
            // A decimal comma, as many Spanish speakers type it.
            "decimal" => "1,5",
            "text" => "Tres agentes con chalecos",
            "time" => "now",
            "location" => "38.5931,-90.2301",
            other => panic!("{other} question {next}"),
        };
        json(&[
            "--lang", "es", "field", "--store", &volunteer, "answer", &id, &next, value,
        ]);
        asked.push(next);
    }
    assert!(asked.len() >= 5, "{asked:?}");
    assert!(asked.contains(&"distance_km".to_owned()), "{asked:?}");
    let distance = checklist()["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap().clone())
        .find(|q| q["id"] == "distance_km")
        .unwrap();
    assert_eq!(distance["value"], json!({"type": "decimal", "value": 1.5}));
    assert_eq!(distance["display"], "1.5");
    json(&[
        "field",
        "--store",
        &volunteer,
        "check-out",
        &id,
        "--lat",
        "38.5940",
        "--lon",
        "-90.2310",
        "--accuracy",
        "9",
    ]);
    let done = checklist();
    assert_eq!(done["complete"], true, "{done}");
    assert_eq!(done["next"], Value::Null);
    assert_eq!(
        done["progress"]["answered"], done["progress"]["required"],
        "{done}"
    );
    let synced = json(&["field", "--store", &volunteer, "sync"]);
    assert_eq!(synced["rejected"].as_array().unwrap().len(), 0);
}
