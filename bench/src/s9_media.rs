//! S9: media over links that keep dropping.
//!
//! - A 20 MB video over a link cut every ~2 MB: bytes moved by Testigo's chunked,
//!   resumable upload against a restart-from-zero upload (one request for the whole
//!   file, begun again after each cut — ODK Collect's behaviour) on the same cut
//!   schedule.
//! - Peak memory of the phone (capture + upload, in a child process) and of the hub
//!   (a child process) for a 20 MB and a 200 MB file: neither should grow with the file.
//! - Time to the dispatcher's first picture on a 2G link model, preview first against
//!   the full photo first.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::Utc;
use testigo_core::incident::{NewIncident, ObservationKind, Report, ReportSource, Urgency};
use testigo_core::media::{self, MediaInput, Network, UploadOptions, UploadPolicy};
use testigo_core::store::Store;
use testigo_tests::proxy::{closing, exchange, head_end, read_message};

use crate::data::Rng;
use crate::infra::{peak_rss_kb, ChildHub, Device, FlakyProxy, InProcessHub};
use crate::Row;

const MB: u64 = 1024 * 1024;
/// The 2G model: GPRS-class throughput both ways and a long round trip per request.
const G2_BITS_PER_S: f64 = 40_000.0;
const G2_RTT_S: f64 = 0.6;

pub fn run(quick: bool) -> Vec<Row> {
    let mut rows = bytes_moved(20 * MB, 2 * MB);
    let big = if quick { 60 * MB } else { 200 * MB };
    rows.extend(peak_memory(20 * MB, big));
    rows.extend(first_preview());
    rows
}

/// The "Targets" lines for S9.
pub fn targets(rows: &[Row], line: &mut dyn FnMut(bool, String)) {
    let find = |system: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with("S9") && r.system == system)
    };
    if let (Some(t), Some(r)) = (find("testigo-resume"), find("restart-from-zero")) {
        let ratio = t.bytes_up as f64 / (20 * MB) as f64;
        line(
            ratio <= 1.1,
            format!(
                "S9: bytes moved ≤ 1.1 × the 20 MB file over a link cut every ~2 MB — {ratio:.3}× ({} B); restart-from-zero moved {} B and {}",
                t.bytes_up, r.bytes_up, r.notes
            ),
        );
    }
    for side in ["phone", "hub"] {
        let small = rows
            .iter()
            .find(|r| r.scenario == "S9 memory 20 MB" && r.system == side);
        let large = rows.iter().find(|r| {
            r.scenario.starts_with("S9 memory")
                && r.scenario != "S9 memory 20 MB"
                && r.system == side
        });
        if let (Some(s), Some(l)) = (small, large) {
            let ratio = l.peak_rss_kb as f64 / s.peak_rss_kb.max(1) as f64;
            line(
                ratio <= 1.2,
                format!(
                    "S9: {side} peak memory does not grow with the file (≤ 1.2×) — {} KiB vs {} KiB ({ratio:.2}×, {})",
                    s.peak_rss_kb, l.peak_rss_kb, l.scenario
                ),
            );
        }
    }
    if let (Some(p), Some(f)) = (find("preview-first"), find("full-photo-first")) {
        line(
            p.wall_ms < f.wall_ms,
            format!(
                "S9: first picture on the 2G model — preview first {:.1} s, full photo first {:.1} s",
                p.wall_ms / 1e3,
                f.wall_ms / 1e3
            ),
        );
    }
}

fn field_incident() -> NewIncident {
    NewIncident {
        report: Report {
            place_text: "Bench corner".into(),
            point: None,
            reported_at: Utc::now(),
            description: "bench".into(),
            urgency: Urgency::High,
            source: ReportSource::Field,
        },
        template: None,
    }
}

/// Writes an MP4-shaped file of `len` bytes in 1 MiB blocks (never whole in memory).
fn write_video(path: &Path, len: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("video file"));
    let mut head = vec![0, 0, 0, 0x18];
    head.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    file.write_all(&head).unwrap();
    let mut rng = Rng::new(9);
    let mut block = vec![0u8; MB as usize];
    let mut written = head.len() as u64;
    while written < len {
        for b in block.iter_mut() {
            *b = (rng.next() >> 24) as u8;
        }
        let n = (len - written).min(MB) as usize;
        file.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
    file.flush().unwrap();
}

/// A phone that recorded one video observation and synced it.
fn phone_with_video(hub_url: &str, coordinator: &Device, len: u64) -> Device {
    let device = Device::enrolled(hub_url, coordinator, "vol");
    let id = device.store.create_incident(field_incident()).unwrap();
    let path = device.dir.path().join("VID.mp4");
    write_video(&path, len);
    device
        .store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[input(path, "video/mp4")],
        )
        .unwrap();
    std::fs::remove_file(device.dir.path().join("VID.mp4")).unwrap();
    testigo_core::sync::sync(&device.store, Some(hub_url)).expect("sync");
    device
}

fn input(path: std::path::PathBuf, mime: &str) -> MediaInput {
    MediaInput {
        path,
        mime: mime.into(),
        captured_at: Utc::now(),
        fix: None,
        preview: None,
    }
}

fn urgent() -> UploadPolicy {
    UploadPolicy {
        urgent: true,
        ..Default::default()
    }
}

fn bytes_moved(len: u64, cut_every: u64) -> Vec<Row> {
    eprintln!("[S9] {len} B video over a link cut every ~{cut_every} B");
    let hub = InProcessHub::start();
    let coordinator = Device::new("coord");
    testigo_core::sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).unwrap();
    let phone = phone_with_video(&hub.url, &coordinator, len);

    let link = CutLink::start(hub.addr, cut_every, 9);
    let t = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match media::upload_media(
            &phone.store,
            Some(&link.url),
            Network::Unmetered,
            &urgent(),
            &UploadOptions::default(),
            None,
        ) {
            Ok(report) if report.completed == 1 => break,
            Ok(report) => panic!("nothing uploaded: {report:?}"),
            Err(testigo_core::Error::Sync(_)) if attempts < 1000 => continue,
            Err(e) => panic!("upload: {e}"),
        }
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let stats = link.stats();
    assert!(phone.store.pending_uploads().unwrap().is_empty());
    let mut testigo = Row::new("S9 20 MB video, cut every ~2 MB", "testigo-resume");
    testigo.bytes_up = stats.up;
    testigo.bytes_down = stats.down;
    testigo.requests = stats.requests;
    testigo.wall_ms = ms;
    testigo.notes = format!(
        "{} cuts, {attempts} upload runs, 256 KiB chunks",
        stats.cuts
    );

    // Restart from zero on the same schedule: one request for the whole file, begun
    // again after each cut. A cut every ~2 MB never lets a 20 MB request through; it
    // gives up after 10 tries as a phone's retry budget would.
    let restart = CutLink::start(hub.addr, cut_every, 9);
    let client = testigo_core::sync::http_client(std::time::Duration::from_secs(120)).unwrap();
    let body = vec![0u8; len as usize];
    let mut completed = false;
    let t = Instant::now();
    for _ in 0..10 {
        if client
            .put(format!("{}/restart-from-zero", restart.url))
            .body(body.clone())
            .send()
            .is_ok()
        {
            completed = true;
            break;
        }
    }
    let stats = restart.stats();
    let mut naive = Row::new("S9 20 MB video, cut every ~2 MB", "restart-from-zero");
    naive.bytes_up = stats.up;
    naive.bytes_down = stats.down;
    naive.requests = stats.requests;
    naive.wall_ms = t.elapsed().as_secs_f64() * 1e3;
    naive.notes = if completed {
        "completed".into()
    } else {
        format!(
            "never completed in {} tries ({} cuts)",
            stats.requests, stats.cuts
        )
    };
    vec![testigo, naive]
}

fn peak_memory(small: u64, large: u64) -> Vec<Row> {
    let mut rows = Vec::new();
    for len in [small, large] {
        eprintln!("[S9] peak memory with a {len} B file");
        let hub = ChildHub::start();
        let coordinator = Device::new("coord");
        testigo_core::sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).unwrap();
        let phone = Device::enrolled(&hub.url, &coordinator, "vol");
        let db = phone.store.path().to_path_buf();
        let key = phone.key;
        let dir = phone.dir;
        drop(phone.store);
        hub.reset_peak();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let out = Command::new(std::env::current_exe().unwrap())
            .arg("__s9-phone")
            .arg(&db)
            .arg(hex)
            .arg(len.to_string())
            .arg(&hub.url)
            .output()
            .expect("phone child");
        assert!(
            out.status.success(),
            "phone child: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let ms: f64 = parts.next().unwrap().parse().unwrap();
        let phone_kb: u64 = parts.next().unwrap().parse().unwrap();
        let scenario = format!("S9 memory {} MB", len / MB);
        let mut phone_row = Row::new(&scenario, "phone");
        phone_row.peak_rss_kb = phone_kb;
        phone_row.wall_ms = ms;
        phone_row.bytes_up = len;
        phone_row.notes = "capture (seal + hash) then upload, child process".into();
        let mut hub_row = Row::new(&scenario, "hub");
        hub_row.peak_rss_kb = hub.peak_rss_kb();
        hub_row.bytes_down = len;
        hub_row.notes = "receiving the upload, child process".into();
        rows.push(phone_row);
        rows.push(hub_row);
        drop(dir);
    }
    rows
}

/// `__s9-phone <db> <hex key> <bytes> <hub url>`: captures a video of that size,
/// syncs and uploads it, prints `ms peak_rss_kb`.
pub fn phone_child(args: &[String]) {
    let key: Vec<u8> = (0..args[3].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&args[3][i..i + 2], 16).unwrap())
        .collect();
    let len: u64 = args[4].parse().unwrap();
    let url = &args[5];
    let db = Path::new(&args[2]);
    let video = db.with_extension("mp4");
    write_video(&video, len);
    let t = Instant::now();
    let store = Store::open(db, &key).expect("open");
    let id = store.create_incident(field_incident()).unwrap();
    store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[input(video.clone(), "video/mp4")],
        )
        .unwrap();
    std::fs::remove_file(&video).unwrap();
    testigo_core::sync::sync(&store, Some(url)).expect("sync");
    let report = media::upload_media(
        &store,
        Some(url),
        Network::Unmetered,
        &urgent(),
        &UploadOptions::default(),
        None,
    )
    .expect("upload");
    assert_eq!(report.completed, 1);
    println!("{} {}", t.elapsed().as_secs_f64() * 1e3, peak_rss_kb());
}

/// Time to the first picture on the dispatcher's screen on the 2G model: the sync that
/// carries the observation, then the first file. Bytes and requests are measured
/// through a counting proxy; the time is the model's (`G2_*`).
fn first_preview() -> Vec<Row> {
    eprintln!("[S9] first picture on the 2G model");
    let mut rows = Vec::new();
    for preview_first in [true, false] {
        let hub = InProcessHub::start();
        let coordinator = Device::new("coord");
        testigo_core::sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code).unwrap();
        let phone = Device::enrolled(&hub.url, &coordinator, "vol");
        let id = phone.store.create_incident(field_incident()).unwrap();
        let photo = phone.dir.path().join("IMG.jpg");
        let thumb = phone.dir.path().join("thumb.jpg");
        std::fs::write(&photo, testigo_tests::media::jpeg_with_gps(2048, 1536)).unwrap();
        std::fs::write(&thumb, testigo_tests::media::thumbnail()).unwrap();
        let mut capture = input(photo, "image/jpeg");
        if preview_first {
            capture.preview = Some(thumb);
        }
        phone
            .store
            .add_observation_with_media(&id, ObservationKind::Note, "plate", None, None, &[capture])
            .unwrap();
        let counter = FlakyProxy::start(hub.addr, 0.0, 0.0, 1);
        testigo_core::sync::sync(&phone.store, Some(&counter.url)).expect("sync");
        // What crossed the link by the time the first file (the one the dispatcher
        // sees first) was complete.
        let first = phone.store.pending_uploads().unwrap().remove(0);
        let watch = FirstFile {
            sha256: first.sha256.clone(),
            link: &counter,
            at_first: Mutex::new(None),
        };
        media::upload_media(
            &phone.store,
            Some(&counter.url),
            Network::Metered,
            &urgent(),
            &UploadOptions::default(),
            Some(&watch),
        )
        .expect("upload");
        let stats = watch
            .at_first
            .into_inner()
            .unwrap()
            .expect("the first file completed");
        let seconds = stats.requests as f64 * G2_RTT_S
            + (stats.bytes_up + stats.bytes_down) as f64 * 8.0 / G2_BITS_PER_S;
        let mut row = Row::new(
            "S9 first picture, 2G model",
            if preview_first {
                "preview-first"
            } else {
                "full-photo-first"
            },
        );
        row.bytes_up = stats.bytes_up;
        row.bytes_down = stats.bytes_down;
        row.requests = stats.requests;
        row.wall_ms = seconds * 1e3;
        row.notes = format!(
            "{} B first file; modelled: {G2_RTT_S} s per request, {} kbit/s",
            first.size,
            G2_BITS_PER_S / 1e3
        );
        rows.push(row);
    }
    rows
}

/// Notes what the link had carried when the first file was complete.
struct FirstFile<'a> {
    sha256: String,
    link: &'a FlakyProxy,
    at_first: Mutex<Option<crate::infra::ProxyStats>>,
}

impl media::UploadProgress for FirstFile<'_> {
    fn progress(&self, file: &media::StoredMedia, acked_bytes: u64) {
        if file.sha256 == self.sha256 && acked_bytes == file.size {
            *self.at_first.lock().unwrap() = Some(self.link.stats());
        }
    }
}

// ----- a link that drops every ~N bytes -------------------------------------------

#[derive(Default, Clone, Copy)]
struct LinkStats {
    up: u64,
    down: u64,
    requests: u64,
    cuts: u64,
}

/// A loopback link that cuts the connection once ~`every` bytes (±25 %, seeded) of
/// request bodies have crossed since the last cut, in the middle of whatever request
/// is crossing. Counts the body bytes that crossed each way.
struct CutLink {
    url: String,
    addr: SocketAddr,
    stats: Arc<Mutex<LinkStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CutLink {
    fn start(target: SocketAddr, every: u64, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind link");
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Mutex::new(LinkStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed);
                let next_cut =
                    |rng: &mut Rng| every * 3 / 4 + (rng.f() * (every / 2) as f64) as u64;
                let mut budget = next_cut(&mut rng);
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut client) = client else { continue };
                    let Some(request) = read_message(&mut client) else {
                        continue;
                    };
                    let head = head_end(&request).unwrap_or(request.len());
                    let body = (request.len() - head) as u64;
                    let mut s = stats.lock().unwrap();
                    s.requests += 1;
                    if body > budget {
                        // The link drops partway through this request's body.
                        s.up += budget;
                        s.cuts += 1;
                        drop(s);
                        if let Ok(mut hub) = TcpStream::connect(target) {
                            let _ = hub.write_all(&request[..head + budget as usize]);
                            let _ = hub.shutdown(Shutdown::Both);
                        }
                        let _ = client.shutdown(Shutdown::Both);
                        budget = next_cut(&mut rng);
                        continue;
                    }
                    budget -= body;
                    s.up += body;
                    drop(s);
                    let Some(response) = exchange(target, &request) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    stats.lock().unwrap().down +=
                        (response.len() - head_end(&response).unwrap_or(0)) as u64;
                    let out = closing(&response).unwrap_or(response);
                    let _ = client.write_all(&out);
                    let _ = client.shutdown(Shutdown::Both);
                }
            })
        };
        Self {
            url: format!("http://{addr}"),
            addr,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    fn stats(&self) -> LinkStats {
        *self.stats.lock().unwrap()
    }
}

impl Drop for CutLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
