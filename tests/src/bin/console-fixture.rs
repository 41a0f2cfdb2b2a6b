//! The other side of the console's browser test (`tests/console/run.sh`): a real hub
//! on a free loopback port with a coordinator, a team lead and two volunteers of team
//! north enrolled, and a one-time code for a dispatcher to redeem in the browser.
//!
//! It prints one JSON line with what the browser needs, then answers commands, one
//! JSON object per line on stdin, with one JSON line each on stdout:
//!
//! - `{"cmd":"field","incident":ID}`: both volunteers sync, work the scene offline
//!   and disagree (check-ins, checklists, observations, proposals), then sync again;
//! - `{"cmd":"status","incident":ID}`: the hub's view of the incident;
//! - `{"cmd":"leak-check","needle":TEXT}`: whether TEXT occurs anywhere in the hub's
//!   incident documents or change log (it must not, for caller contact);
//! - `{"cmd":"verify","path":FILE}`: checks an exported evidence bundle as a third
//!   party would (`testigo verify`);
//! - `{"cmd":"quit"}`.

use std::io::{BufRead, Write};

use chrono::Utc;
use serde_json::{json, Value};
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::IncidentId;
use testigo_core::incident::{Confidence, Determination, EventKind, ObservationKind, Role};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_tests::{contains, Person, World};

fn fix(lat: f64, lon: f64, accuracy_m: f64) -> LocationFix {
    LocationFix {
        lat,
        lon,
        accuracy_m,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Utc::now(),
        mock: false,
    }
}

fn arrived(at: &LocationFix) -> AnswerValue {
    AnswerValue::Checkpoint {
        at: Utc::now(),
        fix: Some(at.clone()),
    }
}

fn choice(v: &str) -> AnswerValue {
    AnswerValue::Choice(v.to_owned())
}

fn e<T>(result: testigo_core::Result<T>) -> Result<(), String> {
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// Ana sees agents; Ben, a block away a little later, sees only a utility crew.
fn field_work(world: &World, ana: &Person, ben: &Person, id: &IncidentId) -> Result<Value, String> {
    for volunteer in [ana, ben] {
        volunteer.sync(&world.hub);
        if !volunteer.holds(id) {
            return Err(format!(
                "{} did not receive the incident: is it assigned?",
                volunteer.name
            ));
        }
    }

    let at_ana = fix(38.62718, -90.19905, 9.0);
    e(ana.store.check_in(id, at_ana.clone()))?;
    e(ana.store.answer(id, "arrival", arrived(&at_ana)))?;
    e(ana
        .store
        .answer(id, "enforcement_present", AnswerValue::YesNo(YesNo::Yes)))?;
    e(ana
        .store
        .answer(id, "agencies", AnswerValue::Choices(vec!["ice_ero".into()])))?;
    e(ana.store.answer(id, "agents_count", AnswerValue::Count(4)))?;
    e(ana
        .store
        .answer(id, "vehicles_count", AnswerValue::Count(2)))?;
    e(ana.store.add_observation(
        id,
        ObservationKind::Count,
        "agents in tactical vests beside two unmarked SUVs",
        Some(4),
        Some(fix(38.62731, -90.19921, 7.0)),
    ))?;
    e(ana
        .store
        .answer(id, "proposed_determination", choice("verified")))?;
    e(ana.store.record_event(
        id,
        EventKind::DeterminationProposed,
        Some(Determination::Verified),
        Some(Confidence::Medium),
        Some("vests marked POLICE ICE".into()),
    ))?;
    e(ana.store.check_out(id, fix(38.62702, -90.19870, 12.0)))?;

    let at_ben = fix(38.62655, -90.19968, 65.0);
    e(ben.store.check_in(id, at_ben.clone()))?;
    e(ben.store.answer(id, "arrival", arrived(&at_ben)))?;
    e(ben
        .store
        .answer(id, "enforcement_present", AnswerValue::YesNo(YesNo::No)))?;
    e(ben.store.add_observation(
        id,
        ObservationKind::Note,
        "only a utility crew at the corner when I arrived",
        None,
        Some(fix(38.62660, -90.19955, 30.0)),
    ))?;
    e(ben
        .store
        .answer(id, "proposed_determination", choice("not_found")))?;
    e(ben.store.record_event(
        id,
        EventKind::DeterminationProposed,
        Some(Determination::NotFound),
        Some(Confidence::Low),
        None,
    ))?;

    let mut rejected = 0;
    for volunteer in [ana, ben] {
        rejected += volunteer.sync(&world.hub).rejected.len();
    }
    Ok(json!({ "ok": rejected == 0, "rejected": rejected, "status": ana.view(id).status.status }))
}

fn leak_check(world: &World, needle: &str) -> Result<Value, String> {
    let conn = rusqlite::Connection::open(&world.hub.db_path).map_err(|e| e.to_string())?;
    let mut found = 0;
    for sql in [
        "SELECT document FROM incidents",
        "SELECT bytes FROM changes",
    ] {
        let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
        let blobs = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| e.to_string())?;
        for blob in blobs {
            let blob = blob.map_err(|e| e.to_string())?;
            // Documents and changes are compressed by automerge; look in both forms.
            let expanded = automerge::Automerge::load(&blob)
                .map(|d| d.save_nocompress())
                .unwrap_or_default();
            if contains(&blob, needle.as_bytes()) || contains(&expanded, needle.as_bytes()) {
                found += 1;
            }
        }
    }
    Ok(json!({ "ok": found == 0, "found": found }))
}

fn answer(world: &World, ana: &Person, ben: &Person, command: &Value) -> Result<Value, String> {
    let incident = || {
        command["incident"]
            .as_str()
            .and_then(|s| IncidentId::parse(s).ok())
            .ok_or_else(|| "incident must be an incident id".to_owned())
    };
    match command["cmd"].as_str() {
        Some("field") => field_work(world, ana, ben, &incident()?),
        Some("status") => {
            let view = world.coordinator.api(&world.hub).view(&incident()?);
            Ok(
                json!({ "ok": true, "status": view.status.status, "confirmations": view.status.confirmations.len(), "caller_notified": view.status.caller_notified }),
            )
        }
        Some("leak-check") => leak_check(
            world,
            command["needle"].as_str().ok_or("needle must be text")?,
        ),
        Some("verify") => {
            let bytes = std::fs::read(command["path"].as_str().ok_or("path must be text")?)
                .map_err(|e| e.to_string())?;
            let report = testigo_core::evidence::verify(&bytes);
            Ok(
                json!({ "ok": report.is_valid(), "incidents": report.incidents, "signatures": report.signatures_checked, "findings": report.findings }),
            )
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn main() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher_code = world.coordinator.api(hub).code(Role::Dispatcher, None);
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let ana = world.enrol("ana", Role::Volunteer, Some("north"));
    let ben = world.enrol("ben", Role::Volunteer, Some("north"));
    let credential = |p: &Person| p.store.identity().credential.expect("enrolled");
    let ready = json!({
        "url": hub.url,
        "dispatcher_code": dispatcher_code,
        "lead_credential": credential(&lead),
        "lead_device": lead.store.device_id(),
        "volunteer_credential": credential(&ana),
        "volunteers": [
            { "name": ana.name, "device_id": ana.store.device_id() },
            { "name": ben.name, "device_id": ben.store.device_id() },
        ],
        "team": "north",
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{ready}");
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(command) = serde_json::from_str::<Value>(&line) else {
            let _ = writeln!(out, "{}", json!({ "ok": false, "error": "not JSON" }));
            continue;
        };
        if command["cmd"] == "quit" {
            break;
        }
        let reply = answer(&world, &ana, &ben, &command)
            .unwrap_or_else(|e| json!({ "ok": false, "error": e }));
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
