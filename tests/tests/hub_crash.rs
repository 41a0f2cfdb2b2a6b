//! The hub process is killed (SIGKILL) while devices are syncing. Whatever the moment, every change the hub acknowledged is still there when it
//! starts again on the same database, the devices send the rest on their next sync,
//! and in the end everyone converges with nothing stored twice.
//!
//! The hub runs as a child process: this test's own binary, re-run as the ignored test
//! `hub_child_serves`, which opens the real hub on a database file and serves until
//! killed. Three devices record observations and answers and sync in a loop (one of
//! them also opens incidents in the field) while the parent SIGKILLs the hub at random
//! moments during a sync, checks the database, restarts the hub on the same address
//! and database, and checks that everything acknowledged before the kill is still on
//! the hub. Kills default to 20; `TESTIGO_HUB_KILLS` raises them and
//! `TESTIGO_HUB_CRASH_SEED` replays the moments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{NewIncident, ObservationKind, Report, ReportSource, Role, Urgency};
use testigo_core::sync;
use testigo_core::Error;
use testigo_tests::child_hub::HubProcess;
use testigo_tests::rng::{pick, seed, RngExt, SeedableRng, SmallRng};
use testigo_tests::{Api, Person};

const TEAM: &str = "north";

// The child: the real hub on the given database and address, until killed.
testigo_tests::child_hub_test!(hub_child_serves);

fn api(url: &str, credential: &str) -> Api {
    Api {
        base: url.to_owned(),
        credential: Some(credential.to_owned()),
        client: reqwest::blocking::Client::new(),
    }
}

fn enrol(url: &str, coordinator: &Api, name: &'static str, role: Role) -> Person {
    let code = coordinator.code(role, Some(TEAM));
    let person = Person::new(name);
    sync::enroll(&person.store, url, &code).unwrap_or_else(|e| panic!("{name} enrols: {e}"));
    person
}

/// Observations that were on a device when one of its syncs returned `Ok`: the hub
/// acknowledged them.
type Acknowledged = BTreeMap<IncidentId, BTreeSet<RecordId>>;

/// Everything the devices recorded, acknowledged or not.
#[derive(Default)]
struct Recorded {
    incidents: BTreeSet<IncidentId>,
    /// Each person's observations, by incident.
    observations: BTreeMap<&'static str, BTreeMap<IncidentId, BTreeSet<RecordId>>>,
    /// (person, incident, question) → their last answer.
    answers: BTreeMap<(&'static str, IncidentId, &'static str), YesNo>,
}

impl Recorded {
    fn all_observations(&self) -> BTreeMap<IncidentId, BTreeSet<RecordId>> {
        let mut all: BTreeMap<IncidentId, BTreeSet<RecordId>> = BTreeMap::new();
        for by_incident in self.observations.values() {
            for (id, records) in by_incident {
                all.entry(id.clone())
                    .or_default()
                    .extend(records.iter().cloned());
            }
        }
        all
    }
}

const QUESTIONS: [&str; 2] = ["enforcement_present", "safety_threat"];

/// What the devices' loop is doing, as the parent sees it when choosing a moment.
#[derive(Default)]
struct Progress {
    in_sync: AtomicBool,
    syncs_ok: AtomicUsize,
    syncs_failed: AtomicUsize,
    /// Time spent in syncs that went through.
    ok_micros: AtomicU64,
}

impl Progress {
    /// How long a sync that goes through takes, on average so far.
    fn typical_sync_micros(&self) -> u64 {
        let ok = self.syncs_ok.load(Ordering::SeqCst).max(1) as u64;
        self.ok_micros.load(Ordering::SeqCst) / ok
    }
}

/// Records something on a random incident the person holds (sometimes a new incident
/// in the field), then syncs once. Returns whether the sync went through.
fn work_and_sync(
    person: &Person,
    url: &str,
    rng: &mut SmallRng,
    n: usize,
    recorded: &mut Recorded,
    acked: &Mutex<Acknowledged>,
    progress: &Progress,
) -> bool {
    let store = &person.store;
    if person.store.identity().role == Role::Volunteer && rng.random_bool(0.03) {
        let id = store
            .create_incident(NewIncident {
                report: Report {
                    place_text: format!("Seen by {} ({n})", person.name),
                    point: None,
                    reported_at: chrono::Utc::now(),
                    description: String::new(),
                    urgency: Urgency::High,
                    source: ReportSource::Field,
                },
                template: None,
            })
            .expect("opening an incident in the field");
        recorded.incidents.insert(id);
    }
    let held = store.incident_ids().expect("ids");
    let id = pick(rng, &held).clone();
    if rng.random_bool(0.7) {
        let record = store
            .add_observation(
                &id,
                ObservationKind::Note,
                &format!("{} #{n}", person.name),
                None,
                None,
            )
            .expect("observing is always allowed");
        recorded
            .observations
            .entry(person.name)
            .or_default()
            .entry(id)
            .or_default()
            .insert(record);
    } else {
        let question = *pick(rng, &QUESTIONS);
        let value = *pick(rng, &[YesNo::Yes, YesNo::No, YesNo::Unknown]);
        store
            .answer(&id, question, AnswerValue::YesNo(value))
            .expect("answering is always allowed");
        recorded.answers.insert((person.name, id, question), value);
    }

    // What this device recorded before the sync is what an `Ok` acknowledges.
    let mine = recorded
        .observations
        .get(person.name)
        .cloned()
        .unwrap_or_default();
    let started = Instant::now();
    progress.in_sync.store(true, Ordering::SeqCst);
    let outcome = sync::sync(store, Some(url));
    progress.in_sync.store(false, Ordering::SeqCst);
    match outcome {
        Ok(report) => {
            let micros = started.elapsed().as_micros() as u64;
            progress.ok_micros.fetch_add(micros, Ordering::SeqCst);
            progress.syncs_ok.fetch_add(1, Ordering::SeqCst);
            assert!(report.rejected.is_empty(), "{}: {report:?}", person.name);
            let mut acked = acked.lock().unwrap();
            for (id, records) in mine {
                acked.entry(id).or_default().extend(records);
            }
            true
        }
        Err(Error::Sync(_)) => {
            progress.syncs_failed.fetch_add(1, Ordering::SeqCst);
            false
        }
        Err(e) => panic!("{}: a dead hub gave a non-network error: {e}", person.name),
    }
}

/// Checks the hub's database file as SQLite sees it after the kill.
fn integrity(db: &Path) -> Result<(), testigo_core::sqlite::SqliteError> {
    let conn = rusqlite::Connection::open(db).expect("hub db");
    testigo_core::sqlite::integrity::check(&conn)
}

fn observations_on_hub(desk: &Api, id: &IncidentId) -> Vec<RecordId> {
    desk.view(id)
        .observations
        .iter()
        .map(|o| o.id.clone())
        .collect()
}

#[test]
fn acknowledged_changes_survive_the_hub_being_killed() {
    let kills: usize = std::env::var("TESTIGO_HUB_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed = seed("TESTIGO_HUB_CRASH_SEED");
    let mut rng = SmallRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");

    let mut hub = HubProcess::start("hub_child_serves", &db, "127.0.0.1:0");
    // Restarts listen where the devices already point.
    let listen = hub.addr.to_string();
    let url = hub.url();
    let coordinator = Person::new("coordinator");
    sync::enroll(
        &coordinator.store,
        &url,
        hub.bootstrap_code
            .as_deref()
            .expect("a first start makes a code"),
    )
    .expect("the coordinator enrols");
    let coordinator_api = api(&url, &coordinator.store.identity().credential.unwrap());
    let dispatcher = enrol(&url, &coordinator_api, "dispatcher", Role::Dispatcher);
    let desk_credential = dispatcher.store.identity().credential.unwrap();
    let desk = api(&url, &desk_credential);
    let devices = [
        enrol(&url, &coordinator_api, "ana", Role::Volunteer),
        enrol(&url, &coordinator_api, "ben", Role::Volunteer),
        enrol(&url, &coordinator_api, "lead", Role::TeamLead),
    ];
    let first = desk.open_incident("Cherokee St & S Jefferson Ave", None, Some(TEAM));
    for person in &devices {
        sync::sync(&person.store, Some(&url)).expect("first sync");
        assert!(person.holds(&first));
    }

    let acked = Mutex::new(Acknowledged::new());
    let progress = Progress::default();
    let stop = AtomicBool::new(false);
    // While the parent inspects the restarted hub, the devices wait, so that what the
    // hub holds is what it held when it died.
    let (hold, holding) = (AtomicBool::new(false), AtomicBool::new(false));
    let worker_seed = rng.random::<u64>();
    let mut kills_done = 0;
    let mut kills_after_an_ack = 0;
    let mut kills_mid_sync = 0;
    // Observations the hub had committed when it died but whose device never got the
    // answer: they must not be stored twice when the device sends them again.
    let mut committed_unacknowledged = 0;
    let mut kills_with_unacknowledged_commits = 0;

    let recorded = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let mut rng = SmallRng::seed_from_u64(worker_seed);
            let mut recorded = Recorded::default();
            recorded.incidents.insert(first.clone());
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                for person in &devices {
                    while hold.load(Ordering::SeqCst) {
                        holding.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    holding.store(false, Ordering::SeqCst);
                    n += 1;
                    let ok =
                        work_and_sync(person, &url, &mut rng, n, &mut recorded, &acked, &progress);
                    if !ok {
                        // The hub is down: don't spin while it restarts.
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
            recorded
        });

        'kills: for kill in 0..kills {
            // Let a few syncs go through, then kill at a random moment inside one.
            let target =
                progress.syncs_ok.load(Ordering::SeqCst) + 1 + rng.random_range(0..6) as usize;
            while progress.syncs_ok.load(Ordering::SeqCst) < target
                || !progress.in_sync.load(Ordering::SeqCst)
            {
                if worker.is_finished() {
                    break 'kills;
                }
                std::thread::yield_now();
            }
            // Anywhere in the sync: building the request, the hub validating and
            // committing, the answer on its way back.
            let moment = rng.random_range(0..progress.typical_sync_micros() + 1);
            std::thread::sleep(Duration::from_micros(moment));
            kills_mid_sync += usize::from(progress.in_sync.load(Ordering::SeqCst));
            hub.kill();
            kills_done += 1;
            hold.store(true, Ordering::SeqCst);
            while !holding.load(Ordering::SeqCst) && !worker.is_finished() {
                std::thread::sleep(Duration::from_millis(1));
            }
            if let Err(damage) = integrity(&db) {
                panic!("kill {kill}: the hub's database is damaged: {damage}");
            }
            // Whatever a device was told before the kill, the restarted hub must hold.
            let before_kill = acked.lock().unwrap().clone();
            kills_after_an_ack += usize::from(!before_kill.is_empty());

            hub = HubProcess::start("hub_child_serves", &db, &listen);
            assert!(
                hub.bootstrap_code.is_none(),
                "a restart is not a first start"
            );
            let desk = api(&url, &desk_credential);
            let mut unacknowledged = 0;
            for (id, records) in &before_kill {
                let present: BTreeSet<RecordId> =
                    observations_on_hub(&desk, id).into_iter().collect();
                let lost: Vec<_> = records.difference(&present).collect();
                assert!(
                    lost.is_empty(),
                    "kill {kill}: acknowledged observations lost on {id}: {lost:?}"
                );
                unacknowledged += present.difference(records).count();
            }
            committed_unacknowledged += unacknowledged;
            kills_with_unacknowledged_commits += usize::from(unacknowledged > 0);
            hold.store(false, Ordering::SeqCst);
        }
        stop.store(true, Ordering::SeqCst);
        worker.join().expect("the devices' loop")
    });
    assert_eq!(kills_done, kills);
    assert!(
        kills_after_an_ack > 0,
        "no kill came after an acknowledged sync"
    );

    // The hub stays up: the devices send the rest. Two passes, so everyone also gets
    // what the others sent.
    for _ in 0..2 {
        for person in &devices {
            let report = sync::sync(&person.store, Some(&url))
                .unwrap_or_else(|e| panic!("{} syncs with the restarted hub: {e}", person.name));
            assert!(report.rejected.is_empty(), "{}: {report:?}", person.name);
        }
    }

    let acked = acked.into_inner().unwrap();
    let desk = api(&url, &desk_credential);
    let observations = recorded.all_observations();
    for id in &recorded.incidents {
        let view = desk.view(id);
        let present = observations_on_hub(&desk, id);
        let expected = observations.get(id).cloned().unwrap_or_default();
        assert_eq!(
            present.len(),
            expected.len(),
            "{id}: observations doubled or vanished"
        );
        assert_eq!(
            present.into_iter().collect::<BTreeSet<_>>(),
            expected,
            "{id}"
        );
        for person in &devices {
            if person.holds(id) {
                person.assert_same_view(id, &view);
            }
        }
        assert!(view.problems.is_empty(), "{id}: {:?}", view.problems);
    }
    for ((name, id, question), value) in &recorded.answers {
        let person = devices.iter().find(|p| p.name == *name).unwrap();
        assert_eq!(
            person.answer_in(&desk.view(id), question),
            Some(AnswerValue::YesNo(*value)),
            "{name}'s answer to {question} on {id} was lost"
        );
    }
    for person in &devices {
        person.assert_everything_sent();
    }
    eprintln!(
        "{kills} kills, {kills_mid_sync} with a device's sync in flight ({kills_with_unacknowledged_commits} right after the hub committed a round the device never heard about, {committed_unacknowledged} observations in all); {} syncs went through, {} failed; {} incidents, {} observations ({} acknowledged before the end), {} answers",
        progress.syncs_ok.into_inner(),
        progress.syncs_failed.into_inner(),
        recorded.incidents.len(),
        observations.values().map(BTreeSet::len).sum::<usize>(),
        acked.values().map(BTreeSet::len).sum::<usize>(),
        recorded.answers.len()
    );
}
