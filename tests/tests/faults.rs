//! A bad network between the devices and the hub. A volunteer, a team lead and a
//! dispatcher's device work on their team's incidents (the volunteer also opens some
//! in the field) and sync after every round through a proxy that drops, delays, cuts,
//! duplicates and reorders requests at random, retrying failed syncs a few times
//! and giving up on the rest until the next round. Meanwhile the dispatcher opens
//! incidents and corrects reports on the hub directly. At the end everyone syncs
//! straight to the hub, and: every replica of every incident is identical to the hub's;
//! every observation, event and incident a device said was saved is there exactly once;
//! every person's last answer to each question is kept; nothing waits to be sent and
//! nothing was refused.
//!
//! `TESTIGO_FAULT_SEED` replays a run (its faults and its users' choices);
//! `TESTIGO_FAULT_ROUNDS` (default 40) makes it longer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{
    Determination, EventKind, NewIncident, ObservationKind, Report, ReportSource, Role, Urgency,
};
use testigo_core::sync;
use testigo_core::Error;
use testigo_tests::faulty_proxy::{Fault, FaultyProxy};
use testigo_tests::rng::{pick, seed, RngExt, SeedableRng, SmallRng};
use testigo_tests::{Api, Person, World};

const TEAM: &str = "north";
const QUESTIONS: [&str; 3] = ["enforcement_present", "safety_threat", "witnesses_present"];
const DEVICE_EVENTS: [EventKind; 3] = [
    EventKind::DeterminationProposed,
    EventKind::DeterminationConfirmed,
    EventKind::CallerNotified,
];
/// Attempts per device per round before it gives up until the next round.
const ATTEMPTS: usize = 4;

/// What devices and the hub said `Ok` to, which must all be there at the end.
#[derive(Default)]
struct Acknowledged {
    incidents: BTreeSet<IncidentId>,
    observations: BTreeMap<IncidentId, BTreeSet<RecordId>>,
    events: BTreeMap<IncidentId, BTreeSet<RecordId>>,
    /// (person, incident, question) → their last answer.
    answers: BTreeMap<(&'static str, IncidentId, &'static str), YesNo>,
    /// The last place text the dispatcher set per incident.
    places: BTreeMap<IncidentId, String>,
}

#[derive(Default)]
struct SyncTally {
    succeeded: usize,
    failed: usize,
    gave_up: usize,
}

fn rounds() -> usize {
    std::env::var("TESTIGO_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// Syncs through the proxy until it works or the attempts run out. A failure must be
/// the network's (never a refusal or a storage error), and a success refuses nothing.
fn sync_with_retries(person: &Person, proxy: &FaultyProxy, tally: &mut SyncTally) {
    for _ in 0..ATTEMPTS {
        match sync::sync(&person.store, Some(&proxy.url)) {
            Ok(report) => {
                assert!(report.rejected.is_empty(), "{}: {report:?}", person.name);
                tally.succeeded += 1;
                return;
            }
            Err(Error::Sync(_)) => tally.failed += 1,
            Err(e) => panic!(
                "{}: a bad network gave a non-network error: {e}",
                person.name
            ),
        }
    }
    tally.gave_up += 1;
}

fn field_report(place: String) -> NewIncident {
    NewIncident {
        report: Report {
            place_text: place,
            point: None,
            reported_at: chrono::Utc::now(),
            description: "seen while passing".into(),
            urgency: Urgency::High,
            source: ReportSource::Field,
        },
        template: None,
    }
}

/// One thing `person` does to one of the incidents they hold.
fn work(person: &Person, rng: &mut SmallRng, round: usize, acked: &mut Acknowledged) {
    let held = person.store.incident_ids().expect("incident ids");
    if held.is_empty() {
        return;
    }
    let id = pick(rng, &held).clone();
    let role = person.store.identity().role;
    let store = &person.store;
    match rng.random_range(0..4) {
        0 | 1 => {
            let record = store
                .add_observation(
                    &id,
                    ObservationKind::Note,
                    &format!("{} in round {round}", person.name),
                    None,
                    None,
                )
                .expect("observing is always allowed");
            acked.observations.entry(id).or_default().insert(record);
        }
        2 => {
            let question = *pick(rng, &QUESTIONS);
            let value = *pick(rng, &[YesNo::Yes, YesNo::No, YesNo::Unknown]);
            store
                .answer(&id, question, AnswerValue::YesNo(value))
                .expect("answering is always allowed");
            acked.answers.insert((person.name, id, question), value);
        }
        _ => {
            let determination = *pick(
                rng,
                &[
                    Determination::Verified,
                    Determination::NotFound,
                    Determination::Inconclusive,
                ],
            );
            let (kind, determination) = match role {
                Role::TeamLead if rng.random_bool(0.5) => {
                    (EventKind::DeterminationConfirmed, Some(determination))
                }
                Role::Dispatcher if rng.random_bool(0.5) => (EventKind::CallerNotified, None),
                _ => (EventKind::DeterminationProposed, Some(determination)),
            };
            let event = store
                .record_event(&id, kind, determination, None, None)
                .unwrap_or_else(|e| panic!("{} cannot record {kind:?}: {e}", person.name));
            acked.events.entry(id).or_default().insert(event);
        }
    }
}

/// The dispatcher at the desk, straight on the hub: a new incident for the team now
/// and then, and corrections to reports.
fn desk_work(desk: &Api, vol: &Person, rng: &mut SmallRng, round: usize, acked: &mut Acknowledged) {
    if round == 0 || rng.random_bool(0.15) {
        let id = desk.open_incident(&format!("Call {round}"), None, Some(TEAM));
        if rng.random_bool(0.5) {
            desk.assign(&id, vol, true);
        }
        acked.incidents.insert(id);
    }
    if rng.random_bool(0.3) {
        let ids: Vec<IncidentId> = acked.incidents.iter().cloned().collect();
        let id = pick(rng, &ids).clone();
        let place = format!("Corrected in round {round}");
        let (status, body) = desk.put(
            &format!("/v1/incidents/{id}/report"),
            json!({ "place_text": place, "urgency": "high" }),
        );
        assert_eq!(status, 200, "report edit: {body}");
        acked.places.insert(id, place);
    }
}

#[test]
fn devices_syncing_through_a_bad_network_converge_and_lose_nothing() {
    let seed = seed("TESTIGO_FAULT_SEED");
    let mut rng = SmallRng::seed_from_u64(seed);
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let vol = world.enrol("volunteer", Role::Volunteer, Some(TEAM));
    let lead = world.enrol("team lead", Role::TeamLead, Some(TEAM));
    let desk = dispatcher.api(hub);
    let devices = [&vol, &lead, &dispatcher];
    let proxy = FaultyProxy::start(hub.addr, rng.random::<u64>(), 50);
    let mut acked = Acknowledged::default();
    let mut tally = SyncTally::default();

    let rounds = rounds();
    for round in 0..rounds {
        desk_work(&desk, &vol, &mut rng, round, &mut acked);
        if rng.random_bool(0.1) {
            let id = vol
                .store
                .create_incident(field_report(format!("Seen in round {round}")))
                .expect("opening an incident in the field");
            acked.incidents.insert(id);
        }
        for person in devices {
            for _ in 0..1 + rng.random_range(0..2) {
                work(person, &mut rng, round, &mut acked);
            }
            sync_with_retries(person, &proxy, &mut tally);
        }
    }
    proxy.release_held();
    let faults = proxy.counts();
    eprintln!(
        "{rounds} rounds; syncs through the proxy: {} succeeded, {} failed attempts, {} gave up; requests: {faults}",
        tally.succeeded, tally.failed, tally.gave_up
    );
    for fault in Fault::ALL {
        assert!(faults.of(fault) > 0, "no {fault:?} was injected: {faults}");
    }

    // The network recovers. Two passes: the second brings everyone what the others
    // sent in the first.
    for _ in 0..2 {
        for person in devices {
            let report = person.sync(hub);
            assert!(report.rejected.is_empty(), "{}: {report:?}", person.name);
        }
    }

    let on_hub: BTreeSet<IncidentId> = desk
        .get("/v1/incidents")
        .1
        .as_array()
        .expect("incident list")
        .iter()
        .map(|row| IncidentId::parse(row["id"].as_str().expect("id")).expect("incident id"))
        .collect();
    assert_eq!(on_hub, acked.incidents, "incidents appeared or vanished");
    for person in devices {
        assert_eq!(
            person
                .store
                .incident_ids()
                .unwrap()
                .into_iter()
                .collect::<BTreeSet<_>>(),
            acked.incidents,
            "{} holds other incidents than the hub",
            person.name
        );
        person.assert_everything_sent();
    }

    let (mut observations, mut events) = (0, 0);
    for id in &acked.incidents {
        let view = desk.view(id);
        for person in devices {
            person.assert_same_view(id, &view);
        }
        let present: Vec<RecordId> = view.observations.iter().map(|o| o.id.clone()).collect();
        let expected = acked.observations.get(id).cloned().unwrap_or_default();
        assert_eq!(
            present.len(),
            expected.len(),
            "{id}: observations appeared, doubled or vanished"
        );
        assert_eq!(present.into_iter().collect::<BTreeSet<_>>(), expected);
        // Only devices record these kinds here (the desk's edits and assignments add
        // events of their own).
        let present: Vec<RecordId> = view
            .events
            .iter()
            .filter(|e| DEVICE_EVENTS.contains(&e.kind))
            .map(|e| e.id.clone())
            .collect();
        let expected = acked.events.get(id).cloned().unwrap_or_default();
        assert_eq!(
            present.len(),
            expected.len(),
            "{id}: events appeared, doubled or vanished"
        );
        assert_eq!(present.into_iter().collect::<BTreeSet<_>>(), expected);
        if let Some(place) = acked.places.get(id) {
            assert_eq!(
                &view.report.place_text, place,
                "{id}: a report correction was lost"
            );
        }
        assert!(view.problems.is_empty(), "{id}: {:?}", view.problems);
        observations += view.observations.len();
        events += view.events.len();
    }
    let answers: usize = acked
        .incidents
        .iter()
        .map(|id| {
            desk.view(id)
                .answers
                .iter()
                .map(|q| q.by_author.len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(answers, acked.answers.len(), "answers appeared or vanished");
    for ((name, id, question), value) in &acked.answers {
        let person = devices.iter().find(|p| p.name == *name).unwrap();
        assert_eq!(
            person.answer_in(&desk.view(id), question),
            Some(AnswerValue::YesNo(*value)),
            "{name}'s answer to {question} on {id} was lost"
        );
    }
    eprintln!(
        "converged: {} incidents, {observations} observations, {events} events, {} answers",
        acked.incidents.len(),
        acked.answers.len()
    );
}
