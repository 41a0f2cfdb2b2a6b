//! A volunteer's app dies at any moment: the OS killing it for memory, a crash, a force
//! stop. Whatever the moment, every observation the app said was saved is still there
//! when the store opens again, and SQLite finds the file consistent. (A power cut is
//! the store's background flush's to cover: `flush.rs`.)
//!
//! The test re-runs its own binary as a child process (the ignored test
//! `crash_child_records_observations`) that opens the real SQLCipher store and records
//! observations in a loop, printing `ACK <id>` after each call returns `Ok`. The parent
//! SIGKILLs it at random moments, then reopens the store and checks it. Kills default
//! to 60; `TESTIGO_CRASH_KILLS` raises it.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use common::*;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::ObservationKind;
use testigo_core::store::Store;

const CHILD_ENV: &str = "TESTIGO_CRASH_CHILD_STORE";
const KEY_SEED: u8 = 42;

/// The child: opens the store, finds or opens the incident, records until killed.
#[test]
#[ignore = "run by `the_store_survives_being_killed_at_random_moments` as its child process"]
fn crash_child_records_observations() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path, &store_key(KEY_SEED)).expect("open store");
    let id = match store
        .incident_ids()
        .expect("list incidents")
        .into_iter()
        .next()
    {
        Some(id) => id,
        None => store
            .create_incident(report("Corner of Cherokee and Jefferson"))
            .expect("create incident"),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "INCIDENT {id}")
        .and_then(|_| out.flush())
        .expect("stdout");
    for n in 0u64.. {
        // Long notes now and then make chunks outgrow the snapshot, so the store's
        // compaction thread folds them while this loop goes on recording: kills also
        // land inside folds (read, save, then snapshot swap + chunk delete in one
        // transaction), and between a fold's read and its write.
        let text = if n % 7 == 0 {
            "SUV plates noted. ".repeat(200)
        } else {
            format!("Agents seen at the corner, note {n}")
        };
        let fix = (n % 3 == 0).then(|| fix_near(0.0001));
        let record = store
            .add_observation(&id, ObservationKind::Note, &text, None, fix)
            .expect("record observation");
        writeln!(out, "ACK {record}")
            .and_then(|_| out.flush())
            .expect("stdout");
    }
}

#[test]
fn the_store_survives_being_killed_at_random_moments() {
    let kills: usize = std::env::var("TESTIGO_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let mut rng = SmallRng::seed_from_u64(seed("TESTIGO_CRASH_SEED"));
    let mut acknowledged: BTreeSet<RecordId> = BTreeSet::new();
    let mut incident: Option<IncidentId> = None;
    let mut killed_before_first_ack = 0;

    for round in 0..kills {
        let (mut child, lines) = spawn_child(&path);
        // Kill after a random number of acknowledgements (0 = possibly still opening
        // the store or creating the schema), then a random sub-millisecond to tens of
        // milliseconds later, so the kill lands anywhere inside a transaction.
        let wait_for: usize = if rng.random_range(0..100) < 15 {
            0
        } else {
            1 + rng.random_range(0..24) as usize
        };
        let mut seen = 0;
        while seen < wait_for {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => seen += record_line(&line, &mut acknowledged, &mut incident),
                Err(e) => panic!(
                    "round {round}: the child stopped answering ({e}); stderr: {}",
                    child_stderr(&mut child)
                ),
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000)));
        child.kill().expect("SIGKILL the child");
        child.wait().unwrap();
        // Lines already in the pipe were printed after `Ok`: they are acknowledgements too.
        let mut acked_this_round = seen;
        for line in lines.iter() {
            acked_this_round += record_line(&line, &mut acknowledged, &mut incident);
        }
        if acked_this_round == 0 {
            killed_before_first_ack += 1;
        }

        let store = Store::open(&path, &store_key(KEY_SEED))
            .unwrap_or_else(|e| panic!("round {round}: the store does not reopen: {e}"));
        store
            .integrity_check()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let Some(id) = &incident else { continue };
        let view = store
            .view(id)
            .unwrap_or_else(|e| panic!("round {round}: the incident does not load: {e}"));
        let present: BTreeSet<RecordId> = view.observations.iter().map(|o| o.id.clone()).collect();
        assert_eq!(
            present.len(),
            view.observations.len(),
            "round {round}: an observation appears twice"
        );
        let lost: Vec<_> = acknowledged.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged observations lost: {lost:?}"
        );
        // A write can commit just before the kill and never be acknowledged, at most
        // once per kill; more than that would mean records appearing from nowhere.
        assert!(
            present.len() <= acknowledged.len() + round + 1,
            "round {round}: {} stored, {} acknowledged",
            present.len(),
            acknowledged.len()
        );
        let summary = store.list(&Default::default()).unwrap();
        assert_eq!(summary.len(), 1);
        assert_eq!(
            summary[0].summary.observation_count as usize,
            present.len(),
            "round {round}: the list index disagrees with the document"
        );
    }
    assert!(incident.is_some(), "no round got as far as the incident");
    assert!(
        acknowledged.len() >= kills,
        "too few acknowledgements ({}) for the test to mean anything",
        acknowledged.len()
    );
    eprintln!("{kills} kills, {} observations acknowledged, {killed_before_first_ack} kills before the first acknowledgement of a run", acknowledged.len());
}

fn spawn_child(path: &Path) -> (Child, Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_records_observations",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Returns 1 for an acknowledged observation.
/// The test harness may print `test … ` on the same line before the child's first output.
fn record_line(
    line: &str,
    acknowledged: &mut BTreeSet<RecordId>,
    incident: &mut Option<IncidentId>,
) -> usize {
    let line = ["ACK ", "INCIDENT "]
        .iter()
        .filter_map(|m| line.find(m))
        .min()
        .map_or(line, |at| &line[at..]);
    if let Some(id) = line.strip_prefix("ACK ") {
        let id = RecordId::parse(id)
            .unwrap_or_else(|e| panic!("the child printed a bad id {id:?}: {e}"));
        assert!(
            acknowledged.insert(id),
            "the same observation id was acknowledged twice"
        );
        1
    } else if let Some(id) = line.strip_prefix("INCIDENT ") {
        let id = IncidentId::parse(id).unwrap();
        if let Some(known) = incident {
            assert_eq!(known, &id, "the child opened a second incident");
        }
        *incident = Some(id);
        0
    } else {
        0
    }
}

fn child_stderr(child: &mut Child) -> String {
    let _ = child.kill();
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
    }
    err
}
