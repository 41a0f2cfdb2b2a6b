//! `testigo demo`: the whole story of DESIGN.md in one process tree, over real HTTP on
//! loopback, with temporary stores that vanish at the end.
//!
//! Two volunteers go on duty; a dispatcher opens an incident from a call and the wake
//! channel brings it to their phones at once; they lose signal;
//! both verify on scene and disagree; the dispatcher corrects the report meanwhile;
//! everyone syncs in a different order and the incident is disputed; a team lead syncs
//! later, sees the disagreement and confirms; the caller is told; the incident is
//! exported as an evidence bundle, which is verified.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use chrono::Utc;
use serde_json::json;
use testigo_core::checklist::{combine, AnswerValue, YesNo};
use testigo_core::incident::{
    Confidence, Determination, EventKind, IncidentStatus, IncidentView, ObservationKind, Role,
};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::store::Store;
use testigo_core::sync::SyncReport;
use testigo_hub::{Hub, HubConfig};

use crate::hub_client::HubClient;
use crate::output::{bold, dim, status, Output};

/// The reported corner: Cherokee St & Jefferson Ave, St. Louis.
const CORNER: (f64, f64) = (38.5932, -90.2246);
const CALLER_PHONE: &str = "+1 314 555 0142";

struct Person {
    name: &'static str,
    store: Store,
}

impl Person {
    fn new(dir: &std::path::Path, name: &'static str) -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let store = Store::open(dir.join(format!("{name}.db")), &key)?;
        Ok(Self { name, store })
    }

    fn sync(&self, out: Output, totals: &mut Totals) -> Result<SyncReport> {
        let report = testigo_core::sync::sync(&self.store, None)
            .with_context(|| format!("{} could not sync", self.name))?;
        totals.add(&report);
        out.line(format!(
            "{} synced: {} change(s) up, {} down, {} new incident(s) {}",
            bold(self.name),
            report.changes_up,
            report.changes_down,
            report.incidents_added,
            dim(format!(
                "{} B ↑ {} B ↓, {} request(s)",
                report.bytes_up, report.bytes_down, report.requests
            ))
        ));
        Ok(report)
    }
}

impl Person {
    /// A phone on duty: waits on the hub's wake channel and syncs when told to, until
    /// an incident arrives. Returns that sync and when it finished.
    fn on_duty(&self) -> Result<(SyncReport, Instant)> {
        use testigo_core::sync::{wait_for_work, WaitCancel, WaitOutcome};
        let cancel = WaitCancel::default();
        for _ in 0..3 {
            match wait_for_work(&self.store, std::time::Duration::from_secs(30), &cancel)
                .with_context(|| format!("{}'s phone could not wait", self.name))?
            {
                WaitOutcome::Work => {
                    let report = testigo_core::sync::sync(&self.store, None)
                        .with_context(|| format!("{} could not sync", self.name))?;
                    if report.incidents_added > 0 {
                        return Ok((report, Instant::now()));
                    }
                }
                WaitOutcome::Timeout | WaitOutcome::Cancelled => {}
            }
        }
        anyhow::bail!("{}'s phone was never woken", self.name)
    }
}

#[derive(Default)]
struct Totals {
    syncs: u32,
    bytes_up: u64,
    bytes_down: u64,
    requests: u32,
}

impl Totals {
    fn add(&mut self, report: &SyncReport) {
        self.syncs += 1;
        self.bytes_up += report.bytes_up;
        self.bytes_down += report.bytes_down;
        self.requests += report.requests;
    }
}

fn fix_near(metres_north: f64, accuracy_m: f64) -> LocationFix {
    LocationFix {
        lat: CORNER.0 + metres_north / 111_320.0,
        lon: CORNER.1,
        accuracy_m,
        altitude_m: None,
        provider: LocationProvider::Fused,
        fix_time: Utc::now(),
        mock: false,
    }
}

pub fn run(out: Output) -> Result<()> {
    let started = Instant::now();
    let dir = tempfile::tempdir().context("making a temporary folder")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;

    out.step("A hub starts, with an embedded SQLite file");
    let hub = Hub::open(HubConfig::with_db(dir.path().join("hub.sqlite")))?;
    let bootstrap = hub
        .bootstrap_code()
        .context("a new hub makes a coordinator code")?
        .to_owned();
    let watch = hub.watch();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(hub.run(listener, async {
        let _ = stopped.await;
    }));
    out.ok(format!("hub at {url}"));

    out.step("The coordinator enrols devices with one-time codes");
    let coordinator = Person::new(dir.path(), "coordinator")?;
    testigo_core::sync::enroll(&coordinator.store, &url, &bootstrap)?;
    let admin = HubClient::for_store(&coordinator.store)?;
    let dispatcher = Person::new(dir.path(), "dispatcher")?;
    let ana = Person::new(dir.path(), "Ana")?;
    let beto = Person::new(dir.path(), "Beto")?;
    let lead = Person::new(dir.path(), "Lucía")?;
    for (person, role, team) in [
        (&dispatcher, Role::Dispatcher, None),
        (&ana, Role::Volunteer, Some("south")),
        (&beto, Role::Volunteer, Some("south")),
        (&lead, Role::TeamLead, Some("south")),
    ] {
        let code = admin.create_code(role, team, Some(30), None)?;
        testigo_core::sync::enroll(
            &person.store,
            &url,
            code["code"].as_str().context("the hub returned no code")?,
        )?;
        out.ok(format!(
            "{} enrolled as {}{}",
            person.name,
            role.as_str(),
            team.map(|t| format!(" (team {t})")).unwrap_or_default()
        ));
    }
    let desk = HubClient::for_store(&dispatcher.store)?;

    let mut totals = Totals::default();
    out.step("Ana and Beto go on duty: each phone holds the hub's wake channel open");
    let mut woken = 0;
    let id = std::thread::scope(|scope| -> Result<testigo_core::ids::IncidentId> {
        let on_duty: Vec<_> = [&ana, &beto]
            .into_iter()
            .map(|person| scope.spawn(move || person.on_duty()))
            .collect();
        let opened = Instant::now() + std::time::Duration::from_secs(10);
        while watch.waiting_phones() < on_duty.len() {
            ensure!(
                Instant::now() < opened,
                "the volunteers' phones never started waiting"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }

        out.step(
            "A call: \"ICE agents are at Cherokee and Jefferson\" — the dispatcher opens an incident",
        );
        let dispatched = Instant::now();
        let id = desk.open_incident(json!({
            "place_text": "Cherokee St & Jefferson Ave, St. Louis",
            "point": { "lat": CORNER.0, "lon": CORNER.1 },
            "description": "Caller saw two unmarked SUVs and agents in vests outside the laundromat",
            "urgency": "critical",
            "team": "south",
            "template": { "id": testigo_core::checklist::DEFAULT_TEMPLATE_ID, "version": 1 },
            "caller_name": "María (caller)",
            "caller_phone": CALLER_PHONE,
        }))?;
        desk.assign(&id, Some(&ana.store.device_id()), None, true)?;
        desk.assign(&id, Some(&beto.store.device_id()), None, true)?;
        out.ok(format!("incident {} opened for team south; Ana and Beto assigned; the caller's number stays in the hub's private table", dim(&id)));
        for (person, duty) in [&ana, &beto].into_iter().zip(on_duty) {
            let (report, woke_at) = duty
                .join()
                .map_err(|_| anyhow::anyhow!("{}'s phone stopped", person.name))??;
            totals.add(&report);
            woken += 1;
            out.ok(format!(
                "{}'s phone woke and stored the incident {} ms after the dispatch {}",
                bold(person.name),
                woke_at.duration_since(dispatched).as_millis(),
                dim("(the wake said only \"sync now\")")
            ));
        }
        Ok(id)
    })?;

    out.step("Ana and Beto sync the assignments, then lose signal on the way");
    ana.sync(out, &mut totals)?;
    beto.sync(out, &mut totals)?;

    out.step("Offline on scene: Ana sees agents, Beto, on the other corner, sees nothing");
    let check_in = ana.store.check_in(&id, fix_near(35.0, 6.0))?;
    out.ok(format!(
        "Ana checked in {:.0} m from the reported place",
        check_in.distance_m.unwrap_or_default()
    ));
    for (question, answer) in [
        (
            "arrival",
            AnswerValue::Checkpoint {
                at: Utc::now(),
                fix: Some(fix_near(35.0, 6.0)),
            },
        ),
        ("enforcement_present", AnswerValue::YesNo(YesNo::Yes)),
        ("agencies", AnswerValue::Choices(vec!["ice_ero".into()])),
        ("agents_count", AnswerValue::Count(4)),
        ("vehicles_count", AnswerValue::Count(2)),
        ("activity_type", AnswerValue::Choice("public_arrest".into())),
        ("detained_count", AnswerValue::Count(1)),
        ("warrant", AnswerValue::Choice("none".into())),
        ("agents_identifiable", AnswerValue::YesNo(YesNo::Yes)),
    ] {
        ana.store.answer(&id, question, answer)?;
    }
    ana.store.add_observation(
        &id,
        ObservationKind::Note,
        "Four agents in ERO vests put a man in an unmarked grey SUV",
        None,
        Some(fix_near(20.0, 5.0)),
    )?;
    ana.store.add_observation(
        &id,
        ObservationKind::Count,
        "vehicles",
        Some(2),
        Some(fix_near(25.0, 5.0)),
    )?;
    ana.store.record_event(
        &id,
        EventKind::DeterminationProposed,
        Some(Determination::Verified),
        Some(Confidence::High),
        None,
    )?;
    out.ok("Ana: 9 answers, 2 observations, proposes VERIFIED");

    let check_in = beto.store.check_in(&id, fix_near(-180.0, 12.0))?;
    out.ok(format!(
        "Beto checked in {:.0} m from the reported place",
        check_in.distance_m.unwrap_or_default()
    ));
    beto.store.answer(
        &id,
        "arrival",
        AnswerValue::Checkpoint {
            at: Utc::now(),
            fix: Some(fix_near(-180.0, 12.0)),
        },
    )?;
    beto.store
        .answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::No))?;
    beto.store.answer(
        &id,
        "checked",
        AnswerValue::Choices(vec!["reported_address".into(), "asked_people".into()]),
    )?;
    beto.store.add_observation(
        &id,
        ObservationKind::Note,
        "Laundromat open, nobody saw agents in the last half hour",
        None,
        Some(fix_near(-170.0, 10.0)),
    )?;
    beto.store.record_event(
        &id,
        EventKind::DeterminationProposed,
        Some(Determination::NotFound),
        Some(Confidence::Medium),
        None,
    )?;
    out.ok("Beto: 3 answers, 1 observation, proposes NOT FOUND");

    out.step("Meanwhile the dispatcher corrects the report from a second call");
    desk.edit_report(
        &id,
        json!({
            "place_text": "Cherokee St & Jefferson Ave (laundromat parking lot), St. Louis",
            "point": { "lat": CORNER.0, "lon": CORNER.1 },
            "description": "Second caller: agents are in the laundromat's back parking lot",
            "urgency": "critical",
        }),
    )?;
    out.ok("report corrected on the hub; the previous text is kept in the incident's events");

    out.step("Ana photographs the SUV's plate; the phone makes a thumbnail");
    let photo = crate::demo_media::photo(dir.path(), "IMG_0412.jpg", 1600, 1200)?;
    let preview = crate::demo_media::photo(dir.path(), "IMG_0412-thumb.jpg", 160, 120)?;
    ana.store.add_observation_with_media(
        &id,
        ObservationKind::Note,
        "Plate of the grey SUV",
        None,
        Some(fix_near(22.0, 5.0)),
        &[testigo_core::media::MediaInput {
            path: photo.clone(),
            mime: "image/jpeg".into(),
            captured_at: Utc::now(),
            fix: Some(fix_near(22.0, 5.0)),
            preview: Some(preview.clone()),
        }],
    )?;
    // The camera's files are the app's to delete once the store took them.
    std::fs::remove_file(&photo)?;
    std::fs::remove_file(&preview)?;
    let stored = ana.store.attachments(&id)?;
    let original = stored
        .iter()
        .find(|m| !m.is_preview)
        .context("the photo was kept")?;
    out.ok(format!(
        "photo sealed in Ana's store: {} bytes, sha256 {}…, recorded in her signed observation",
        original.size,
        &original.sha256[..12]
    ));

    out.step("Signal returns; they sync in a different order");
    beto.sync(out, &mut totals)?;
    ana.sync(out, &mut totals)?;
    let preview_first =
        crate::demo_media::upload_showing_preview_first(out, &ana.store, &desk, &id)?;
    beto.sync(out, &mut totals)?;
    let on_hub = desk.incident(&id)?;
    out.ok(format!(
        "the hub shows the incident as {}",
        status(on_hub.status.status.as_str())
    ));
    ensure!(
        on_hub.status.status == IncidentStatus::Disputed,
        "the incident should be disputed, it is {:?}",
        on_hub.status.status
    );

    out.step("Lucía, the team lead, syncs later and reviews");
    lead.sync(out, &mut totals)?;
    let view = lead.store.view(&id)?;
    let combined = lead.store.with_templates(|registry| -> Result<_> {
        let template = registry.resolve(
            view.template
                .as_ref()
                .context("the incident has a checklist")?,
        )?;
        Ok(combine(template, &view.answers, "en"))
    })?;
    out.line(format!(
        "answers in disagreement: {}",
        combined.disagreements.join(", ")
    ));
    for proposal in &view.status.proposals {
        let who = if proposal.by == ana.store.device_id() {
            "Ana"
        } else {
            "Beto"
        };
        out.line(format!("{who} proposed {:?}", proposal.determination));
    }
    lead.store.record_event(
        &id,
        EventKind::DeterminationConfirmed,
        Some(Determination::Verified),
        Some(Confidence::High),
        Some("Ana's photos and count match the second call".into()),
    )?;
    lead.sync(out, &mut totals)?;
    out.ok(format!(
        "Lucía confirmed VERIFIED; the incident is now {}",
        status(lead.store.view(&id)?.status.status.as_str())
    ));

    out.step("The dispatcher calls back and marks the caller notified");
    let on_hub = desk.caller_notified(
        &id,
        Some("Told the caller: verified, legal observers on the way"),
    )?;
    out.ok(format!("status {}", status(on_hub.status.status.as_str())));

    out.step("Everyone syncs; every replica shows the same incident");
    for person in [&ana, &beto, &lead] {
        person.sync(out, &mut totals)?;
    }
    let views: Vec<IncidentView> = [&ana, &beto, &lead]
        .iter()
        .map(|p| p.store.view(&id))
        .collect::<Result<_, _>>()?;
    let hub_view = desk.incident(&id)?;
    let identical = views.iter().all(|v| v == &hub_view);
    ensure!(identical, "replicas differ after the final sync");
    out.ok(format!("Ana, Beto, Lucía and the hub hold identical views: {} observations, {} answers, {} status events", hub_view.observations.len(), hub_view.answers.iter().map(|q| q.by_author.len()).sum::<usize>(), hub_view.events.len()));
    let phone_on_devices = [&coordinator, &dispatcher, &ana, &beto, &lead]
        .iter()
        .any(|p| contains_on_disk(p.store.path(), CALLER_PHONE));
    ensure!(
        !phone_on_devices,
        "the caller's phone number reached a device"
    );
    out.ok("the caller's number is on no device");

    out.step("Export the incident as an evidence bundle and verify it");
    let bundle = HubClient::for_store(&lead.store)?.evidence(std::slice::from_ref(&id))?;
    let bundle_path = dir.path().join("evidence.json");
    std::fs::write(&bundle_path, &bundle)?;
    let verification = testigo_core::evidence::verify(&bundle);
    ensure!(
        verification.is_valid(),
        "the bundle did not verify: {:?}",
        verification.findings
    );
    out.ok(format!(
        "{} bytes, {} changes and {} signatures verified",
        bundle.len(),
        verification.changes_checked,
        verification.signatures_checked
    ));
    let mut tampered = bundle.clone();
    let at = tampered
        .windows(12)
        .position(|w| w == b"Four agents ")
        .context("the rendering holds Ana's note")?;
    tampered[at] = b'F' + 1;
    let caught = testigo_core::evidence::verify(&tampered);
    ensure!(!caught.is_valid(), "a tampered bundle verified");
    out.ok(format!(
        "one byte changed in the rendering is caught: {}",
        caught
            .findings
            .first()
            .map(|f| f.field.as_str())
            .unwrap_or("")
    ));

    let _ = stop.send(());
    let _ = runtime.block_on(server);
    let summary = json!({
        "incident": id,
        "status": hub_view.status.status,
        "determination": hub_view.status.determination,
        "proposals": hub_view.status.proposals.len(),
        "phones_woken_by_dispatch": woken,
        "disputed_before_review": true,
        "observations": hub_view.observations.len(),
        "replicas_identical": identical,
        "caller_phone_on_devices": phone_on_devices,
        "bundle_verified": verification.is_valid(),
        "tampering_detected": !caught.is_valid(),
        "preview_before_full_photo": preview_first,
        "sync_bytes_up": totals.bytes_up,
        "sync_bytes_down": totals.bytes_down,
        "syncs": totals.syncs,
        "sync_requests": totals.requests,
        "seconds": started.elapsed().as_secs_f64(),
    });
    out.step("Summary");
    out.result(&summary, |s| {
        out.line(format!(
            "incident {} — {} ({:?})",
            dim(&id),
            status(hub_view.status.status.as_str()),
            hub_view.status.determination
        ));
        out.line(format!(
            "{} syncs moved {} B up and {} B down in {} requests",
            s["syncs"], s["sync_bytes_up"], s["sync_bytes_down"], s["sync_requests"]
        ));
        out.line(format!(
            "evidence bundle verified; tampering detected; done in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    })
}

fn contains_on_disk(db: &std::path::Path, needle: &str) -> bool {
    testigo_core::store::store_files(db)
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}
