//! Testigo benchmark program (issue 7). `cargo run --release -p testigo-bench [-- --quick]`.
//!
//! Drives the real code: a real hub on loopback (its own tokio runtime on a thread, or a
//! child process for S8), encrypted device stores in temporary directories, real syncs.
//! Comparators (automerge's sync protocol, full JSON, lower bounds) run on the very
//! documents the devices hold. Prints a markdown table and writes
//! `target/bench/results.json`.

mod data;
mod infra;
mod library_size;
mod s10_wake;
mod s9_media;

use std::path::PathBuf;
use std::time::Instant;

use automerge::sync::{State, SyncDoc};
use automerge::{Automerge, ChangeHash};
use chrono::{Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{render_json, IncidentDoc};
use testigo_core::store::{ListQuery, Store};
use testigo_core::sync::{self, SyncReport};

use data::{Action, Rng};
use infra::*;

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub system: String,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u64,
    pub wall_ms: f64,
    pub peak_rss_kb: u64,
    pub notes: String,
}

impl Row {
    fn new(scenario: &str, system: &str) -> Self {
        Row {
            scenario: scenario.into(),
            system: system.into(),
            bytes_up: 0,
            bytes_down: 0,
            requests: 0,
            wall_ms: 0.0,
            peak_rss_kb: 0,
            notes: String::new(),
        }
    }
    fn edge_s(&self) -> f64 {
        self.requests as f64 * 0.3 + (self.bytes_up + self.bytes_down) as f64 * 8.0 / 200_000.0
    }
}

struct Scale {
    s1: usize,
    s2: usize,
    s2_changed: usize,
    s4: usize,
    s4_edits: usize,
    s6: usize,
    s7: usize,
    s8_devices: usize,
    s8_incidents: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__cold-start") {
        return infra::cold_start_child(&args[2]);
    }
    if args.get(1).map(String::as_str) == Some("__s9-phone") {
        return s9_media::phone_child(&args);
    }
    if args.get(1).map(String::as_str) == Some("__hub") {
        return infra::hub_child(&args[2]);
    }
    if args.get(1).map(String::as_str) == Some("__wake-hub") {
        return s10_wake::hub_child(&args[2]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let scale = if quick {
        Scale {
            s1: 100,
            s2: 500,
            s2_changed: 5,
            s4: 20,
            s4_edits: 50,
            s6: 1000,
            s7: 1000,
            s8_devices: 20,
            s8_incidents: 10,
        }
    } else {
        Scale {
            s1: 1000,
            s2: 5000,
            s2_changed: 50,
            s4: 200,
            s4_edits: 500,
            s6: 10_000,
            s7: 10_000,
            s8_devices: 200,
            s8_incidents: 50,
        }
    };
    let started = Instant::now();
    let load_before = loadavg();
    let mut rows: Vec<Row> = Vec::new();
    let want = |s: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == s));
    if want("S1") {
        rows.extend(s1_cold_upload(&scale, false));
    }
    if want("S2") || want("S3") {
        rows.extend(s2_s3(&scale));
    }
    if want("S4") {
        rows.extend(s4_long_history(&scale));
    }
    if want("S5") {
        rows.extend(s1_cold_upload(&scale, true));
    }
    if want("S6") {
        rows.extend(s6_cold_start(&scale));
    }
    if want("S7") {
        rows.extend(s7_capture(&scale));
    }
    if want("S8") {
        rows.extend(s8_hub_load(&scale));
    }
    if want("S9") {
        rows.extend(s9_media::run(quick));
    }
    let mut more_targets = Vec::new();
    if want("S10") {
        let (s10, s10_targets) = s10_wake::run(if quick { 20 } else { 200 });
        rows.extend(s10);
        more_targets.extend(s10_targets);
    }
    let (size_row, cdylib_bytes) = library_size::measure();
    rows.push(size_row);
    let load_after = loadavg();

    print_table(&rows);
    println!();
    for line in targets(&rows, cdylib_bytes).iter().chain(&more_targets) {
        println!("{line}");
    }
    println!();
    println!(
        "mode: {}; total {:.0} s; nproc {}; load average before: {}; after: {}; memory: {}",
        if quick { "--quick" } else { "full" },
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load_before,
        load_after,
        mem_total()
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let path = out.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&rows).unwrap()).expect("write results.json");
    println!("wrote {}", path.display());
}

// ----- building incidents ------------------------------------------------------------

/// Applies one action through the Store API, exactly as the app does (one change, one
/// signed, durable transaction).
fn apply_store(store: &Store, id: &IncidentId, action: &Action) {
    match action {
        Action::Answer(q, v) => store
            .answer(id, q, v.clone())
            .unwrap_or_else(|e| panic!("answer {q}: {e}")),
        Action::Observation(kind, text, count, fix) => {
            store
                .add_observation(id, *kind, text, *count, fix.clone())
                .expect("observation");
        }
    }
}

/// The same action on an in-memory document (the code path `Store::update` runs,
/// without the disk), for building large "already in sync" states quickly.
fn apply_doc(
    doc: &mut IncidentDoc,
    author: &testigo_core::incident::Author,
    action: &Action,
    now: chrono::DateTime<Utc>,
) {
    match action {
        Action::Answer(q, v) => doc.answer(author, q, v.clone(), now).expect("answer"),
        Action::Observation(kind, text, count, fix) => {
            doc.add_observation(author, *kind, text, *count, fix.clone(), now)
                .expect("observation");
        }
    }
}

/// Creates field incidents through the Store API, one change per user action.
fn create_via_store(
    store: &Store,
    rng: &mut Rng,
    n: usize,
    observations: usize,
) -> Vec<IncidentId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let now = Utc::now();
        let id = store
            .create_incident(data::new_incident(rng, now))
            .expect("create");
        for action in data::field_session(rng, now - Duration::minutes(30), observations) {
            apply_store(store, &id, &action);
        }
        ids.push(id);
    }
    ids
}

/// Builds `n` realistic field incidents in memory as this device (same changes the
/// Store API makes: one per action), merges them into the store, then makes one more
/// action through the Store API so the store flags each for upload. Returns the ids.
fn seed_via_memory(store: &Store, rng: &mut Rng, n: usize, edits: usize) -> Vec<IncidentId> {
    let author = store.identity().author();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Utc::now() - Duration::hours(3);
        let id = IncidentId::generate();
        let mut doc = IncidentDoc::create(&id, &author, data::new_incident(rng, start), start)
            .expect("create");
        let actions: Vec<Action> = if edits == 0 {
            data::field_session(rng, start, 3)
        } else {
            let mut a = data::checklist(rng, start);
            a.extend(
                (0..edits.saturating_sub(a.len()))
                    .map(|i| data::long_edit(rng, start + Duration::seconds(i as i64 * 5))),
            );
            a
        };
        for (i, action) in actions.iter().enumerate() {
            apply_doc(
                &mut doc,
                &author,
                action,
                start + Duration::seconds(i as i64 * 7),
            );
        }
        store
            .adopt_own_document(&id, doc.automerge())
            .expect("merge");
        ids.push(id);
    }
    for id in &ids {
        let action = data::observation(rng, Utc::now());
        apply_store(store, id, &action);
    }
    ids
}

fn docs_of(store: &Store, ids: &[IncidentId]) -> Vec<Automerge> {
    ids.iter()
        .map(|id| store.with_document(id, |d| Ok(d.clone())).expect("doc"))
        .collect()
}

fn sync_all(store: &Store, url: &str) -> SyncReport {
    let mut total = SyncReport::default();
    for _ in 0..50 {
        let r = sync::sync(store, Some(url)).expect("sync");
        let done = r.changes_up == 0 && r.changes_down == 0 && r.incidents_added == 0;
        total.bytes_up += r.bytes_up;
        total.bytes_down += r.bytes_down;
        total.requests += r.requests;
        total.changes_up += r.changes_up;
        if done {
            return total;
        }
    }
    total
}

// ----- comparators -----------------------------------------------------------------

struct AmResult {
    up: u64,
    down: u64,
    rounds: u64,
    messages: u64,
}

/// One automerge sync session between the device's copy and the hub's copy of a
/// document, with the given states; counts encoded message bytes.
fn am_session(
    device: &mut Automerge,
    hub: &mut Automerge,
    sd: &mut State,
    sh: &mut State,
) -> AmResult {
    let mut r = AmResult {
        up: 0,
        down: 0,
        rounds: 0,
        messages: 0,
    };
    loop {
        let mut any = false;
        if let Some(m) = device.generate_sync_message(sd) {
            r.up += m.clone().encode().len() as u64;
            r.messages += 1;
            hub.receive_sync_message(sh, m).expect("hub receives");
            any = true;
        }
        let mut replied = false;
        if let Some(m) = hub.generate_sync_message(sh) {
            r.down += m.clone().encode().len() as u64;
            r.messages += 1;
            device.receive_sync_message(sd, m).expect("device receives");
            replied = true;
        }
        if !any && !replied {
            return r;
        }
        r.rounds += 1;
    }
}

/// automerge-sync (fresh states) and, when `prior` hub documents are given,
/// automerge-sync-persisted (states kept from a previous sync of `prior`, saved and
/// reloaded as automerge-repo's storage does).
fn automerge_rows(
    scenario: &str,
    device_docs: &[Automerge],
    hub_docs: &[Automerge],
    persisted_from: Option<&[Automerge]>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let t = Instant::now();
    let (mut up, mut down, mut rounds, mut msgs) = (0, 0, 0, 0);
    for (d, h) in device_docs.iter().zip(hub_docs) {
        let (mut d, mut h) = (d.clone(), h.clone());
        let r = am_session(&mut d, &mut h, &mut State::new(), &mut State::new());
        up += r.up;
        down += r.down;
        rounds = rounds.max(r.rounds);
        msgs += r.messages;
        assert_eq!(d.get_heads(), h.get_heads(), "automerge sync converges");
    }
    let mut row = Row::new(scenario, "automerge-sync");
    row.bytes_up = up;
    row.bytes_down = down;
    row.requests = rounds;
    row.wall_ms = t.elapsed().as_secs_f64() * 1e3;
    row.peak_rss_kb = peak_rss_kb();
    row.notes = format!("{} sessions, {msgs} messages; requests = rounds with sessions pipelined on one connection; in process", device_docs.len());
    rows.push(row);
    if let Some(prior) = persisted_from {
        let t = Instant::now();
        let (mut up, mut down, mut rounds, mut msgs) = (0, 0, 0, 0);
        for ((d, h), p) in device_docs.iter().zip(hub_docs).zip(prior) {
            // Previous sync: device and hub both at `p`.
            let (mut pd, mut ph) = (p.clone(), p.clone());
            let (mut sd, mut sh) = (State::new(), State::new());
            am_session(&mut pd, &mut ph, &mut sd, &mut sh);
            let mut sd = State::decode(&sd.encode()).expect("state");
            let mut sh = State::decode(&sh.encode()).expect("state");
            let (mut d, mut h) = (d.clone(), h.clone());
            let r = am_session(&mut d, &mut h, &mut sd, &mut sh);
            up += r.up;
            down += r.down;
            rounds = rounds.max(r.rounds);
            msgs += r.messages;
        }
        let mut row = Row::new(scenario, "automerge-sync-persisted");
        row.bytes_up = up;
        row.bytes_down = down;
        row.requests = rounds;
        row.wall_ms = t.elapsed().as_secs_f64() * 1e3;
        row.peak_rss_kb = peak_rss_kb();
        row.notes = format!(
            "sync states persisted from the previous sync (encode/decode); {msgs} messages"
        );
        rows.push(row);
    }
    rows
}

fn zstd_max(bytes: &[u8]) -> u64 {
    zstd::bulk::compress(bytes, 19).expect("zstd").len() as u64
}

/// The parts of `after` that are not in `before` (new or changed leaves), as JSON.
fn json_diff(before: &Value, after: &Value) -> Option<Value> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut out = serde_json::Map::new();
            for (k, v) in a {
                match b.get(k) {
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                    Some(bv) => {
                        if let Some(d) = json_diff(bv, v) {
                            out.insert(k.clone(), d);
                        }
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (b, a) if b == a => None,
        (_, a) => Some(a.clone()),
    }
}

/// json-full, lower-bound and info-bound for `changed` (hub's copy before, device's
/// after) with `held` all documents the device holds.
fn bound_rows(
    scenario: &str,
    changed: &[(Option<Automerge>, Automerge)],
    held: &[Automerge],
) -> Vec<Row> {
    let mut rows = Vec::new();
    // json-full
    let t = Instant::now();
    let up: Vec<Value> = changed.iter().map(|(_, a)| render_json(a)).collect();
    let down: Vec<Value> = held.iter().map(render_json).collect();
    let up_bytes = serde_json::to_vec(&up).unwrap();
    let down_bytes = serde_json::to_vec(&down).unwrap();
    let mut row = Row::new(scenario, "json-full");
    row.bytes_up = zstd::bulk::compress(&up_bytes, 3).unwrap().len() as u64;
    row.bytes_down = zstd::bulk::compress(&down_bytes, 3).unwrap().len() as u64;
    row.requests = 1;
    row.wall_ms = t.elapsed().as_secs_f64() * 1e3;
    row.notes = format!(
        "up: full JSON of {} changed incidents, down: of all {} held; zstd-3 bodies (raw {} / {} B)",
        changed.len(),
        held.len(),
        up_bytes.len(),
        down_bytes.len()
    );
    rows.push(row);
    // lower-bound
    let mut concat = Vec::new();
    let (mut raw_total, mut save_total) = (0usize, 0usize);
    for (before, after) in changed {
        let heads: Vec<ChangeHash> = before.as_ref().map(|b| b.get_heads()).unwrap_or_default();
        let raw: Vec<u8> = after
            .get_changes(&heads)
            .iter()
            .flat_map(|c| c.raw_bytes().to_vec())
            .collect();
        let saved = if heads.is_empty() {
            after.save()
        } else {
            after.save_after(&heads)
        };
        raw_total += raw.len();
        save_total += saved.len();
        concat.extend_from_slice(if raw.len() <= saved.len() {
            &raw
        } else {
            &saved
        });
    }
    let mut row = Row::new(scenario, "lower-bound");
    row.bytes_up = if concat.is_empty() {
        0
    } else {
        zstd_max(&concat)
    };
    row.requests = if changed.is_empty() { 0 } else { 1 };
    row.notes = format!(
        "zstd-19 of min(raw changes {raw_total} B, save/save_after {save_total} B) per doc"
    );
    rows.push(row);
    // info-bound
    let info: Vec<Value> = changed
        .iter()
        .filter_map(|(b, a)| match b {
            None => Some(render_json(a)),
            Some(b) => json_diff(&render_json(b), &render_json(a)),
        })
        .collect();
    let info_bytes = serde_json::to_vec(&info).unwrap();
    let mut row = Row::new(scenario, "info-bound");
    row.bytes_up = if info.is_empty() {
        0
    } else {
        zstd_max(&info_bytes)
    };
    row.requests = if changed.is_empty() { 0 } else { 1 };
    row.notes = format!(
        "zstd-19 of the new information as compact JSON ({} B raw)",
        info_bytes.len()
    );
    rows.push(row);
    rows
}

/// The cold upload's bytes under other encodings of the same changes, so the wire
/// format is chosen by figures: each incident's changes as separate chunks (what the
/// hub validates one by one) or as one automerge document (`save()`, columnar), with
/// the request's one 64-byte signature, postcard-framed like a request, at several zstd
/// levels, and with a zstd dictionary trained on a tenth of the incidents.
fn encoding_rows(scenario: &str, docs: &[Automerge]) -> Vec<Row> {
    // Signatures are random bytes to a compressor; these stand in for them.
    let signature = |i: usize| -> Vec<u8> {
        (0..64u64)
            .map(|j| ((i as u64 * 64 + j).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
            .collect()
    };
    let request = |chunks: Vec<Vec<Vec<u8>>>| -> Vec<u8> {
        let uploads: Vec<sync::protocol::Upload> = chunks
            .into_iter()
            .map(|changes| sync::protocol::Upload {
                incident: IncidentId::generate(),
                changes,
                new_incident: true,
                signature: Vec::new(),
                retries: Vec::new(),
            })
            .collect();
        postcard::to_stdvec(&sync::protocol::SyncRequest {
            cursor: 0,
            uploads,
            max_response_bytes: 4 << 20,
            signature: signature(0),
        })
        .expect("postcard")
    };
    let as_changes = request(
        docs.iter()
            .map(|d| {
                d.get_changes(&[])
                    .iter()
                    .map(|c| c.raw_bytes().to_vec())
                    .collect()
            })
            .collect(),
    );
    let as_documents = request(docs.iter().map(|d| vec![d.save()]).collect());
    let mut rows = Vec::new();
    let mut push = |system: String, bytes: u64, ms: f64, notes: String| {
        let mut row = Row::new(scenario, &system);
        row.bytes_up = bytes;
        row.wall_ms = ms;
        row.notes = notes;
        rows.push(row);
    };
    for (label, plain) in [("changes", &as_changes), ("document", &as_documents)] {
        for level in [3, 9, 15, 19] {
            let t = Instant::now();
            let size = zstd::bulk::compress(plain, level).expect("zstd").len() as u64;
            push(
                format!("enc: {label} zstd-{level}"),
                size,
                t.elapsed().as_secs_f64() * 1e3,
                format!(
                    "{} B before compression; wall_ms = compression time",
                    plain.len()
                ),
            );
        }
    }
    // A dictionary trained on the first tenth of the incidents' changes, applied to
    // the other nine tenths (both sides would ship it).
    let train = docs.len() / 10;
    if train >= 8 {
        let samples: Vec<Vec<u8>> = docs[..train]
            .iter()
            .flat_map(|d| {
                d.get_changes(&[])
                    .into_iter()
                    .map(|c| c.raw_bytes().to_vec())
            })
            .collect();
        if let Ok(dict) = zstd::dict::from_samples(&samples, 32 * 1024) {
            let rest = request(
                docs[train..]
                    .iter()
                    .map(|d| {
                        d.get_changes(&[])
                            .iter()
                            .map(|c| c.raw_bytes().to_vec())
                            .collect()
                    })
                    .collect(),
            );
            let plain_rest = zstd::bulk::compress(&rest, 19).expect("zstd").len() as u64;
            for level in [3, 19] {
                let t = Instant::now();
                let mut compressor =
                    zstd::bulk::Compressor::with_dictionary(level, &dict).expect("dictionary");
                let size = compressor.compress(&rest).expect("zstd").len() as u64;
                push(
                    format!("enc: changes zstd-{level} + 32 KiB dictionary"),
                    size,
                    t.elapsed().as_secs_f64() * 1e3,
                    format!(
                        "the other {} incidents only (zstd-19 without dictionary: {plain_rest} B)",
                        docs.len() - train
                    ),
                );
            }
        }
    }
    rows
}

fn testigo_row(scenario: &str, r: &SyncReport, wall_ms: f64, notes: String) -> Row {
    let mut row = Row::new(scenario, "testigo");
    row.bytes_up = r.bytes_up;
    row.bytes_down = r.bytes_down;
    row.requests = r.requests as u64;
    row.wall_ms = wall_ms;
    row.peak_rss_kb = peak_rss_kb();
    row.notes = notes;
    row
}

// ----- scenarios -------------------------------------------------------------------

fn s1_cold_upload(scale: &Scale, flaky: bool) -> Vec<Row> {
    let name = if flaky { "S5 flaky" } else { "S1 cold upload" };
    eprintln!(
        "[{name}] setting up {} incidents through the Store API…",
        scale.s1
    );
    let hub = InProcessHub::start();
    let coordinator = Device::new("coord");
    sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).expect("coordinator enrols");
    let volunteer = Device::enrolled(&hub.url, &coordinator, "vol");
    let mut rng = Rng::new(1);
    let setup = Instant::now();
    let ids = create_via_store(&volunteer.store, &mut rng, scale.s1, 3);
    let setup_s = setup.elapsed().as_secs_f64();
    let docs = docs_of(&volunteer.store, &ids);
    let changes: usize = docs.iter().map(|d| d.get_changes(&[]).len()).sum();
    eprintln!("[{name}] setup {setup_s:.1} s ({changes} changes); syncing");
    let mut rows = Vec::new();
    if !flaky {
        let checks_before = testigo_hub::history::signature_checks();
        let t = Instant::now();
        // The hub runs in this process on its own threads; the device syncs on this
        // one. What the process spends beyond this thread is the hub's (plus the HTTP
        // client's I/O thread, which is small).
        let (process_cpu, thread_cpu) = (infra::cpu_ms(false), infra::cpu_ms(true));
        let r = sync::sync(&volunteer.store, Some(&hub.url)).expect("sync");
        let wall = t.elapsed().as_secs_f64() * 1e3;
        let checks = testigo_hub::history::signature_checks() - checks_before;
        let hub_cpu_ms = (infra::cpu_ms(false) - process_cpu) - (infra::cpu_ms(true) - thread_cpu);
        let rest = volunteer
            .store
            .list(&ListQuery {
                only_unsynced: true,
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert!(rest.is_empty(), "S1: everything acknowledged");
        rows.push(testigo_row(
            name,
            &r,
            wall,
            format!(
                "{} incidents, {changes} changes, one Store call per user action (setup {setup_s:.0} s); {} changes up; {checks} hub signature checks; hub CPU {hub_cpu_ms:.0} ms = {:.0} µs per accepted change",
                scale.s1,
                r.changes_up,
                hub_cpu_ms * 1e3 / f64::from(r.changes_up.max(1))
            ),
        ));
        let empty: Vec<Automerge> = docs.iter().map(|_| Automerge::new()).collect();
        rows.extend(automerge_rows(name, &docs, &empty, None));
        rows.extend(encoding_rows(name, &docs));
        let changed: Vec<(Option<Automerge>, Automerge)> =
            docs.iter().map(|d| (None, d.clone())).collect();
        rows.extend(bound_rows(name, &changed, &docs));
    } else {
        let proxy = FlakyProxy::start(hub.addr, 0.20, 0.10, 7);
        let t = Instant::now();
        let (mut attempts, mut failures) = (0u32, 0u32);
        loop {
            attempts += 1;
            // Round budgets of 64 KiB, as a phone on a bad link would ask for, so that
            // the upload spans many requests and faults hit it.
            let options = sync::SyncOptions {
                max_request_bytes: 64 << 10,
                max_response_bytes: 64 << 10,
                ..Default::default()
            };
            match sync::sync_with(&volunteer.store, Some(&proxy.url), &options) {
                Ok(_) => {
                    let rest = volunteer
                        .store
                        .list(&ListQuery {
                            only_unsynced: true,
                            limit: 10,
                            ..Default::default()
                        })
                        .unwrap();
                    if rest.is_empty() {
                        break;
                    }
                }
                Err(_) => failures += 1,
            }
            assert!(attempts < 500, "S5 never completed");
        }
        let wall = t.elapsed().as_secs_f64() * 1e3;
        let stats = proxy.stats();
        // Completeness, asserted on the hub's own database.
        let hub_incidents = query_hub_i64(&hub, "SELECT count(*) FROM incidents");
        let hub_changes = query_hub_i64(&hub, "SELECT count(*) FROM changes");
        assert_eq!(
            hub_incidents as usize, scale.s1,
            "S5: every incident on the hub"
        );
        assert!(
            hub_changes as usize >= changes,
            "S5: every change on the hub ({hub_changes} < {changes})"
        );
        let mut row = Row::new(name, "testigo");
        row.bytes_up = stats.bytes_up;
        row.bytes_down = stats.bytes_down;
        row.requests = stats.requests;
        row.wall_ms = wall;
        row.peak_rss_kb = peak_rss_kb();
        row.notes = format!(
            "S1 data via proxy (64 KiB round budgets) dropping 20% of requests, cutting 10% of responses mid-body: {} dropped, {} cut; {attempts} sync calls ({failures} failed); bodies incl. retries; hub holds {hub_incidents} incidents / {hub_changes} changes (asserted complete)",
            stats.dropped, stats.cut
        );
        rows.push(row);
    }
    rows
}

fn s2_s3(scale: &Scale) -> Vec<Row> {
    eprintln!("[S2/S3] seeding {} incidents in sync…", scale.s2);
    let hub = InProcessHub::start();
    let coordinator = Device::new("coord");
    sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).expect("coordinator enrols");
    let volunteer = Device::enrolled(&hub.url, &coordinator, "vol");
    let mut rng = Rng::new(2);
    let setup = Instant::now();
    let ids = seed_via_memory(&volunteer.store, &mut rng, scale.s2, 0);
    let seed_report = sync_all(&volunteer.store, &hub.url);
    assert!(volunteer
        .store
        .list(&ListQuery {
            only_unsynced: true,
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .is_empty());
    let setup_s = setup.elapsed().as_secs_f64();
    let seed_note = format!(
        "{} incidents (checklist + 4 obs each) built in memory with IncidentDoc, merged into the store, 1 Store action each, uploaded ({} requests; setup {setup_s:.0} s)",
        scale.s2, seed_report.requests
    );
    eprintln!("[S2/S3] {seed_note}");
    let before = docs_of(&volunteer.store, &ids);
    let mut rows = Vec::new();

    // S3: nothing changed.
    let t = Instant::now();
    let r = sync::sync(&volunteer.store, Some(&hub.url)).expect("sync");
    rows.push(testigo_row(
        "S3 no-op",
        &r,
        t.elapsed().as_secs_f64() * 1e3,
        seed_note.clone(),
    ));
    rows.extend(automerge_rows("S3 no-op", &before, &before, Some(&before)));
    rows.extend(bound_rows("S3 no-op", &[], &before));

    // S2: 50 get one new observation.
    let step = (ids.len() / scale.s2_changed).max(1);
    let chosen: Vec<usize> = (0..scale.s2_changed).map(|i| i * step).collect();
    for &i in &chosen {
        let action = data::observation(&mut rng, Utc::now());
        apply_store(&volunteer.store, &ids[i], &action);
    }
    let after = docs_of(&volunteer.store, &ids);
    let t = Instant::now();
    let r = sync::sync(&volunteer.store, Some(&hub.url)).expect("sync");
    let wall = t.elapsed().as_secs_f64() * 1e3;
    rows.push(testigo_row(
        "S2 sparse",
        &r,
        wall,
        format!(
            "{} of {} incidents got one observation (Store API); {} changes up",
            scale.s2_changed, scale.s2, r.changes_up
        ),
    ));
    rows.extend(automerge_rows("S2 sparse", &after, &before, Some(&before)));
    let changed: Vec<(Option<Automerge>, Automerge)> = chosen
        .iter()
        .map(|&i| (Some(before[i].clone()), after[i].clone()))
        .collect();
    rows.extend(bound_rows("S2 sparse", &changed, &after));
    rows
}

fn s4_long_history(scale: &Scale) -> Vec<Row> {
    let name = "S4 long history";
    eprintln!(
        "[S4] seeding {} incidents × {} edits…",
        scale.s4, scale.s4_edits
    );
    let hub = InProcessHub::start();
    let coordinator = Device::new("coord");
    sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).expect("coordinator enrols");
    let volunteer = Device::enrolled(&hub.url, &coordinator, "vol");
    let mut rng = Rng::new(4);
    let setup = Instant::now();
    let ids = seed_via_memory(&volunteer.store, &mut rng, scale.s4, scale.s4_edits);
    let seed_report = sync_all(&volunteer.store, &hub.url);
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!(
        "[S4] setup {setup_s:.1} s ({} requests to upload the history)",
        seed_report.requests
    );
    let before = docs_of(&volunteer.store, &ids);
    for id in &ids {
        let action = data::long_edit(&mut rng, Utc::now());
        apply_store(&volunteer.store, id, &action);
    }
    let after = docs_of(&volunteer.store, &ids);
    let t = Instant::now();
    let r = sync::sync(&volunteer.store, Some(&hub.url)).expect("sync");
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let stored = volunteer
        .store
        .stored_document_bytes()
        .expect("stored bytes");
    let file_bytes: u64 = testigo_core::store::store_files(volunteer.store.path())
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // Reopen and list.
    let path = volunteer.store.path().to_path_buf();
    let key = volunteer.key;
    let Device { store, dir, .. } = volunteer;
    drop(store);
    let t = Instant::now();
    let reopened = Store::open(&path, &key).expect("reopen");
    let listed = reopened
        .list(&ListQuery {
            limit: 50,
            ..Default::default()
        })
        .expect("list");
    let reopen_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(reopened);
    drop(dir);
    let mut rows = vec![testigo_row(
        name,
        &r,
        wall,
        format!(
            "{} incidents × {} edits (in memory, merged, uploaded; setup {setup_s:.0} s) + 1 Store edit each; device documents {} KiB, store files {} KiB; reopen + list {} in {reopen_ms:.1} ms",
            scale.s4,
            scale.s4_edits,
            stored / 1024,
            file_bytes / 1024,
            listed.len()
        ),
    )];
    rows.extend(automerge_rows(name, &after, &before, Some(&before)));
    let changed: Vec<(Option<Automerge>, Automerge)> = before
        .iter()
        .cloned()
        .map(Some)
        .zip(after.iter().cloned())
        .collect();
    rows.extend(bound_rows(name, &changed, &after));
    rows
}

fn s6_cold_start(scale: &Scale) -> Vec<Row> {
    eprintln!("[S6] seeding a store with {} incidents…", scale.s6);
    let device = Device::new("s6");
    let mut rng = Rng::new(6);
    let author = device.store.identity().author();
    let setup = Instant::now();
    for _ in 0..scale.s6 {
        let start = Utc::now() - Duration::hours(rng.range(1, 500));
        let id = IncidentId::generate();
        let mut doc = IncidentDoc::create(&id, &author, data::new_incident(&mut rng, start), start)
            .expect("create");
        for (i, a) in data::field_session(&mut rng, start, 3).iter().enumerate() {
            apply_doc(
                &mut doc,
                &author,
                a,
                start + Duration::seconds(i as i64 * 7),
            );
        }
        device
            .store
            .adopt_own_document(&id, doc.automerge())
            .expect("merge");
    }
    let setup_s = setup.elapsed().as_secs_f64();
    let path = device.store.path().to_path_buf();
    let key = device.key;
    let Device { store, dir, .. } = device;
    drop(store);
    let mut runs: Vec<(f64, u64)> = (0..3).map(|_| infra::run_cold_start(&path, &key)).collect();
    drop(dir);
    runs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let (ms, rss) = runs[1];
    let mut row = Row::new("S6 cold start", "testigo");
    row.wall_ms = ms;
    row.peak_rss_kb = rss;
    row.notes = format!(
        "open store of {} incidents + list first 50, in a child process (VmHWM of the child); median of 3 runs: {:?} ms; setup {setup_s:.0} s",
        scale.s6,
        runs.iter().map(|r| (r.0 * 10.0).round() / 10.0).collect::<Vec<_>>()
    );
    vec![row]
}

fn s7_capture(scale: &Scale) -> Vec<Row> {
    eprintln!("[S7] {} captures…", scale.s7);
    let device = Device::new("s7");
    let mut rng = Rng::new(7);
    let per_incident = 100;
    let n_incidents = scale.s7.div_ceil(per_incident);
    let ids: Vec<IncidentId> = (0..n_incidents)
        .map(|_| {
            device
                .store
                .create_incident(data::new_incident(&mut rng, Utc::now()))
                .unwrap()
        })
        .collect();
    let mut times = Vec::with_capacity(scale.s7);
    let t0 = Instant::now();
    for i in 0..scale.s7 {
        let id = &ids[i / per_incident];
        let text = data::note(&mut rng);
        let fix = data::fix(&mut rng, Utc::now());
        let t = Instant::now();
        device
            .store
            .add_observation(
                id,
                testigo_core::incident::ObservationKind::Note,
                &text,
                None,
                Some(fix),
            )
            .expect("capture");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let wall = t0.elapsed().as_secs_f64() * 1e3;
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let mut row = Row::new("S7 capture", "testigo");
    row.wall_ms = pct(0.99);
    row.peak_rss_kb = peak_rss_kb();
    row.notes = format!(
        "wall_ms = p99. add_observation with fix (signed change, committed to the WAL, flushed to disk behind it): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} ({} incidents × {per_incident}); total {:.1} s",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        times[times.len() - 1],
        scale.s7,
        n_incidents,
        wall / 1e3
    );
    vec![row]
}

fn s8_hub_load(scale: &Scale) -> Vec<Row> {
    eprintln!(
        "[S8] {} devices × {} incidents: seeding…",
        scale.s8_devices, scale.s8_incidents
    );
    let hub = ChildHub::start();
    let coordinator = Device::new("coord");
    sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).expect("coordinator enrols");
    let mut rng = Rng::new(8);
    let setup = Instant::now();
    let mut devices = Vec::new();
    let mut all_ids = Vec::new();
    for _ in 0..scale.s8_devices {
        let d = Device::enrolled(&hub.url, &coordinator, "vol");
        let ids = seed_via_memory(&d.store, &mut rng, scale.s8_incidents, 0);
        sync_all(&d.store, &hub.url);
        devices.push(d);
        all_ids.push(ids);
    }
    for (d, ids) in devices.iter().zip(&all_ids) {
        for k in 0..5 {
            let action = data::observation(&mut rng, Utc::now());
            apply_store(&d.store, &ids[(k * 7) % ids.len()], &action);
        }
    }
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!("[S8] setup {setup_s:.0} s; syncing all at once");
    hub.reset_peak();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(devices.len()));
    let url = hub.url.clone();
    let t = Instant::now();
    let results: Vec<(f64, SyncReport)> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .map(|d| {
                let barrier = barrier.clone();
                let url = url.clone();
                s.spawn(move || {
                    barrier.wait();
                    let t = Instant::now();
                    let r = sync::sync(&d.store, Some(&url)).expect("sync under load");
                    (t.elapsed().as_secs_f64() * 1e3, r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let mut lat: Vec<f64> = results.iter().map(|r| r.0).collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let mut row = Row::new("S8 hub load", "testigo");
    row.bytes_up = results.iter().map(|r| r.1.bytes_up).sum();
    row.bytes_down = results.iter().map(|r| r.1.bytes_down).sum();
    row.requests = results.iter().map(|r| r.1.requests as u64).sum();
    row.wall_ms = wall;
    row.peak_rss_kb = hub.peak_rss_kb();
    row.notes = format!(
        "{} devices syncing at once, {} incidents and 5 new changes each: {:.1} syncs/s, latency p50 {:.0} ms, p99 {:.0} ms; hub in a child process, its VmHWM (reset before the burst; seeding {setup_s:.0} s)",
        devices.len(),
        scale.s8_incidents,
        devices.len() as f64 / (wall / 1e3),
        p(0.5),
        p(0.99)
    );
    vec![row]
}

// ----- output ----------------------------------------------------------------------

fn print_table(rows: &[Row]) {
    println!("| scenario | system | bytes up | bytes down | requests | wall ms | peak RSS KiB | 2G/EDGE s | notes |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {} | {:.2} | {} |",
            r.scenario,
            r.system,
            r.bytes_up,
            r.bytes_down,
            r.requests,
            r.wall_ms,
            r.peak_rss_kb,
            r.edge_s(),
            r.notes
        );
    }
}

fn find<'a>(rows: &'a [Row], scenario: &str, system: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario.starts_with(scenario) && r.system == system)
}

fn targets(rows: &[Row], cdylib_bytes: Option<u64>) -> Vec<String> {
    let mut out = vec!["Targets (reported, never asserted):".to_string()];
    let total = |r: &Row| r.bytes_up + r.bytes_down;
    let mut line = |ok: bool, text: String| {
        out.push(format!("- [{}] {text}", if ok { "met" } else { "MISSED" }))
    };
    if let Some(t) = find(rows, "S3", "testigo") {
        line(
            t.requests == 1 && total(t) <= 64,
            format!(
                "S3: 1 request and ≤ 64 B of bodies — got {} request(s), {} B",
                t.requests,
                total(t)
            ),
        );
        if let Some(a) = find(rows, "S3", "automerge-sync") {
            line(
                total(t) * 2 <= total(a),
                format!(
                    "S3: ≤ 0.5 × automerge-sync — {} vs {} B ({:.3}×)",
                    total(t),
                    total(a),
                    total(t) as f64 / total(a).max(1) as f64
                ),
            );
        }
    }
    if let (Some(t), Some(lb)) = (find(rows, "S2", "testigo"), find(rows, "S2", "lower-bound")) {
        let limit = lb.bytes_up as f64 * 1.2 + 1024.0;
        line(
            total(t) as f64 <= limit,
            format!(
                "S2: ≤ 1.2 × lower bound + 1 KiB = {limit:.0} B — got {} B ({:.2}× lower bound)",
                total(t),
                total(t) as f64 / lb.bytes_up.max(1) as f64
            ),
        );
        if let Some(a) = find(rows, "S2", "automerge-sync") {
            line(
                total(t) * 2 <= total(a),
                format!(
                    "S2: ≤ 0.5 × automerge-sync — {} vs {} B ({:.3}×)",
                    total(t),
                    total(a),
                    total(t) as f64 / total(a).max(1) as f64
                ),
            );
        }
    }
    if let (Some(t), Some(lb)) = (find(rows, "S1", "testigo"), find(rows, "S1", "lower-bound")) {
        let limit = lb.bytes_up as f64 * 1.1;
        line(
            total(t) as f64 <= limit,
            format!(
                "S1: ≤ 1.1 × lower bound = {limit:.0} B — got {} B ({:.2}×)",
                total(t),
                total(t) as f64 / lb.bytes_up.max(1) as f64
            ),
        );
        if let Some(a) = find(rows, "S1", "automerge-sync") {
            line(
                total(t) as f64 <= total(a) as f64 * 0.6,
                format!(
                    "S1: ≤ 0.6 × automerge-sync — {} vs {} B ({:.3}×)",
                    total(t),
                    total(a),
                    total(t) as f64 / total(a).max(1) as f64
                ),
            );
        }
    }
    for s in ["S1", "S2", "S3", "S4"] {
        if let Some(t) = find(rows, s, "testigo") {
            line(
                t.requests <= 2,
                format!("{s}: ≤ 2 requests without faults — got {}", t.requests),
            );
        }
    }
    if let Some(t) = find(rows, "S6", "testigo") {
        line(
            t.wall_ms <= 50.0 && t.peak_rss_kb <= 40 * 1024,
            format!(
                "S6: ≤ 50 ms and ≤ 40 MB — got {:.1} ms, {:.1} MB",
                t.wall_ms,
                t.peak_rss_kb as f64 / 1024.0
            ),
        );
    }
    if let Some(t) = find(rows, "S7", "testigo") {
        line(
            t.wall_ms <= 2.0,
            format!("S7: p99 ≤ 2 ms — got {:.2} ms", t.wall_ms),
        );
    }
    s9_media::targets(rows, &mut line);
    let budget_mb = library_size::BUDGET_BYTES as f64 / 1e6;
    match cdylib_bytes {
        Some(size) => line(
            size <= library_size::BUDGET_BYTES,
            format!(
                "cdylib ≤ {budget_mb} MB stripped — got {:.2} MB ({size} B)",
                size as f64 / 1e6
            ),
        ),
        None => out.push(format!(
            "- [n/a] cdylib ≤ {budget_mb} MB — see the cdylib row"
        )),
    }
    out
}
