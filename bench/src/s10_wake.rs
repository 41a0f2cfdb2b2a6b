//! S10: a dispatch reaches many phones on duty at once. N devices hold the wake
//! long-poll open on a hub in a child process; the dispatcher assigns one incident to
//! their team (one action); each device wakes, syncs and stores the incident. Measured:
//! time from the assignment to the incident stored on each device (p50, p99, max),
//! and the hub's memory per waiting device (its resident set with every wait open,
//! minus before any was opened, over N).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use testigo_core::sync::{self, WaitCancel, WaitOutcome};

use crate::infra::{loadavg, rss_kb, serve_child_hub, Device};
use crate::Row;

const TEAM: &str = "duty";

/// `__wake-hub <db>`: serves a hub, prints `<addr> <bootstrap code>`, then answers each
/// line on stdin with `<waiting phones> <VmRSS kB>`; stops when stdin closes.
pub fn hub_child(db: &str) {
    serve_child_hub(db, |watch| {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            println!("{} {}", watch.waiting_phones(), rss_kb());
            let _ = std::io::stdout().flush();
        }
    });
}

struct WakeHub {
    url: String,
    code: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    _dir: TempDir,
}

impl WakeHub {
    fn start() -> Self {
        let dir = TempDir::new().expect("temp dir");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("__wake-hub")
            .arg(dir.path().join("hub.sqlite"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("hub child");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("hub address");
        let mut parts = line.split_whitespace();
        let url = format!("http://{}", parts.next().expect("addr"));
        let code = parts.next().expect("code").to_owned();
        Self {
            url,
            code,
            child,
            stdin,
            stdout,
            _dir: dir,
        }
    }

    /// (phones waiting, resident set in kB) of the hub process now.
    fn probe(&mut self) -> (usize, u64) {
        let stdin = self.stdin.as_mut().expect("hub stdin");
        writeln!(stdin, "?").expect("ask the hub");
        stdin.flush().expect("ask the hub");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("hub answers");
        let mut parts = line.split_whitespace();
        (
            parts.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            parts.next().and_then(|p| p.parse().ok()).unwrap_or(0),
        )
    }
}

impl Drop for WakeHub {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

fn post(url: &str, credential: &str, body: serde_json::Value) -> serde_json::Value {
    let client = sync::http_client(Duration::from_secs(60)).expect("client");
    let response = client
        .post(url)
        .bearer_auth(credential)
        .json(&body)
        .send()
        .expect("hub answers");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().expect("json")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs S10 with `devices` phones on duty; returns its rows and its target lines.
pub fn run(devices: usize) -> (Vec<Row>, Vec<String>) {
    eprintln!("S10: {devices} phones on duty, one incident assigned to their team");
    let mut hub = WakeHub::start();
    let coordinator = Device::new("s10-coordinator");
    sync::enroll(&coordinator.store, &hub.url, &hub.code).expect("coordinator enrols");
    let admin = coordinator.store.identity().credential.expect("credential");
    let enrol = |name: &str, role: &str, team: Option<&str>| {
        let code = post(
            &format!("{}/v1/enrol-codes", hub.url),
            &admin,
            serde_json::json!({ "role": role, "team": team }),
        )["code"]
            .as_str()
            .expect("code")
            .to_owned();
        let device = Device::new(name);
        sync::enroll(&device.store, &hub.url, &code).expect("enrols");
        device
    };
    let dispatcher = enrol("s10-dispatcher", "dispatcher", None);
    let desk = dispatcher.store.identity().credential.expect("credential");
    let phones: Vec<Device> = (0..devices)
        .map(|i| {
            let phone = enrol(&format!("s10-phone-{i}"), "volunteer", Some(TEAM));
            sync::sync(&phone.store, None).expect("first sync");
            phone
        })
        .collect();
    let id = post(
        &format!("{}/v1/incidents", hub.url),
        &desk,
        serde_json::json!({
            "place_text": "Cherokee St & Jefferson Ave",
            "description": "agents at the corner now",
            "urgency": "critical",
        }),
    )["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (_, rss_before) = hub.probe();
    let (stored_tx, stored_rx) = mpsc::channel::<(usize, Instant)>();
    let mut rss_waiting = 0;
    let mut assigned = Instant::now();
    std::thread::scope(|scope| {
        for (i, phone) in phones.iter().enumerate() {
            let stored_tx = stored_tx.clone();
            let id = id.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(scope, move || {
                    let cancel = WaitCancel::default();
                    for _ in 0..5 {
                        match sync::wait_for_work(&phone.store, Duration::from_secs(60), &cancel) {
                            Ok(WaitOutcome::Work) => {
                                let report = sync::sync(&phone.store, None).expect("sync");
                                if report.new_incidents.iter().any(|n| n.as_str() == id) {
                                    let _ = stored_tx.send((i, Instant::now()));
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => panic!("phone {i} cannot wait: {e}"),
                        }
                    }
                    panic!("phone {i} never received the incident");
                })
                .expect("phone thread");
        }
        drop(stored_tx);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (waiting, rss) = hub.probe();
            if waiting >= devices {
                rss_waiting = rss;
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {waiting} of {devices} phones waiting"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assigned = Instant::now();
        post(
            &format!("{}/v1/incidents/{id}/assign", hub.url),
            &desk,
            serde_json::json!({ "team": TEAM }),
        );
    });
    let mut latencies: Vec<f64> = stored_rx
        .iter()
        .map(|(_, at)| at.duration_since(assigned).as_secs_f64() * 1e3)
        .collect();
    assert_eq!(latencies.len(), devices, "every phone stored the incident");
    latencies.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    let per_device_kb = rss_waiting.saturating_sub(rss_before) as f64 / devices as f64;
    let mut row = Row::new("S10", "testigo wake (long-poll)");
    row.wall_ms = p99;
    row.peak_rss_kb = rss_waiting;
    row.notes = format!(
        "{devices} phones: assignment → stored p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms; \
         hub RSS {rss_before} kB idle → {rss_waiting} kB with every wait open = {per_device_kb:.1} kB per waiting phone; load {}",
        loadavg()
    );
    let targets = vec![format!(
        "- [{}] S10: p99 assignment → stored ≤ 1 s with {devices} phones on duty — got p50 {p50:.0} ms, p99 {p99:.0} ms ({per_device_kb:.1} kB of hub memory per waiting phone)",
        if p99 <= 1000.0 { "met" } else { "MISSED" }
    )];
    (vec![row], targets)
}
