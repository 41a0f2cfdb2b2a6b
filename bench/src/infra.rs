//! Hubs (in process and in a child process), devices, a flaky proxy, and process
//! measurements.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use tempfile::TempDir;
use testigo_core::store::{ListQuery, Store};
use testigo_hub::{Hub, HubConfig, HubWatch};

use testigo_tests::proxy::{closing, exchange, head_end, read_message};

use crate::data::Rng;

pub fn peak_rss_kb() -> u64 {
    status_kb("/proc/self/status", "VmHWM:")
}

/// This process's resident memory now.
pub fn rss_kb() -> u64 {
    status_kb("/proc/self/status", "VmRSS:")
}

fn status_kb(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) used so far, in milliseconds, by this process (`thread:
/// false`) or by the calling thread alone (`thread: true`), from `/proc`.
pub fn cpu_ms(thread: bool) -> f64 {
    let path = if thread {
        "/proc/thread-self/stat"
    } else {
        "/proc/self/stat"
    };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn mem_total() -> String {
    format!("{} MiB", status_kb("/proc/meminfo", "MemTotal:") / 1024)
}

fn key_for(name: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(name.len() as u8) | 1;
    }
    key
}

/// A phone: an encrypted store in a temporary directory.
pub struct Device {
    pub store: Store,
    pub key: [u8; 32],
    pub dir: TempDir,
}

impl Device {
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let key = key_for(name);
        let store = Store::open(dir.path().join("device.db"), &key).expect("store opens");
        Self { store, key, dir }
    }

    /// A volunteer enrolled with a code the coordinator makes.
    pub fn enrolled(hub_url: &str, coordinator: &Device, name: &str) -> Self {
        let credential = coordinator
            .store
            .identity()
            .credential
            .expect("coordinator enrolled");
        let client =
            testigo_core::sync::http_client(std::time::Duration::from_secs(60)).expect("client");
        let body: serde_json::Value = client
            .post(format!("{hub_url}/v1/enrol-codes"))
            .bearer_auth(credential)
            .json(&serde_json::json!({ "role": "volunteer", "team": null }))
            .send()
            .expect("code")
            .json()
            .expect("code json");
        let code = body["code"].as_str().expect("code").to_owned();
        let device = Device::new(name);
        testigo_core::sync::enroll(&device.store, hub_url, &code).expect("volunteer enrols");
        device
    }
}

/// The in-process hub is the end-to-end tests' own: a random loopback port, its own
/// tokio runtime on a thread.
pub use testigo_tests::TestHub as InProcessHub;

/// One integer from the hub's database (counts that prove an upload is complete).
pub fn query_hub_i64(hub: &InProcessHub, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(&hub.db_path).expect("hub db");
    conn.query_row(sql, [], |r| r.get(0)).expect("query")
}

/// `__hub <db>`: serves a fresh hub and prints `<addr> <bootstrap code>`, until the
/// parent closes our stdin.
pub fn hub_child(db: &str) {
    serve_child_hub(db, |_| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
}

/// The body of a hub child process: a fresh hub on `db`, its address and bootstrap code
/// printed as `<addr> <code>`, served until `until` (run on a blocking thread, usually
/// reading the parent's stdin) returns.
pub fn serve_child_hub(db: &str, until: impl FnOnce(HubWatch) + Send + 'static) {
    let hub = Hub::open(HubConfig::with_db(db)).expect("hub opens");
    let code = hub.bootstrap_code().expect("bootstrap code").to_owned();
    let watch = hub.watch();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    println!("{} {code}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    runtime.block_on(async move {
        hub.run(listener, async move {
            let _ = tokio::task::spawn_blocking(move || until(watch)).await;
        })
        .await
        .expect("hub serves");
    });
}

/// A hub in a child process (this binary, `__hub`), so its peak RSS is its own.
pub struct ChildHub {
    pub url: String,
    pub bootstrap_code: String,
    child: Child,
    _dir: TempDir,
}

impl ChildHub {
    pub fn start() -> Self {
        let dir = TempDir::new().expect("temp dir");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("__hub")
            .arg(dir.path().join("hub.sqlite"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("hub child");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("hub address");
        let mut parts = line.split_whitespace();
        let addr = parts.next().expect("addr").to_owned();
        let code = parts.next().expect("code").to_owned();
        Self {
            url: format!("http://{addr}"),
            bootstrap_code: code,
            child,
            _dir: dir,
        }
    }

    /// Resets the child's peak RSS (Linux clear_refs "5").
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }

    pub fn peak_rss_kb(&self) -> u64 {
        status_kb(&format!("/proc/{}/status", self.child.id()), "VmHWM:")
    }
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// `__cold-start <db> <hex key>`: open, list the first 50, print `ms rss_kb`.
pub fn cold_start_child(db: &str) {
    let key_hex = std::env::args().nth(3).expect("key");
    let key: Vec<u8> = (0..key_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&key_hex[i..i + 2], 16).unwrap())
        .collect();
    let t = Instant::now();
    let store = Store::open(db, &key).expect("open");
    let listed = store
        .list(&ListQuery {
            limit: 50,
            ..Default::default()
        })
        .expect("list");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(listed.len(), 50);
    assert_eq!(
        store.document_loads(),
        0,
        "a list screen decodes no document"
    );
    println!("{ms} {}", peak_rss_kb());
}

pub fn run_cold_start(db: &Path, key: &[u8]) -> (f64, u64) {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("__cold-start")
        .arg(db)
        .arg(hex)
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "cold start child: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    let mut p = s.split_whitespace();
    (
        p.next().unwrap().parse().unwrap(),
        p.next().unwrap().parse().unwrap(),
    )
}

// ----- flaky proxy -------------------------------------------------------------------

#[derive(Default)]
pub struct ProxyStats {
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u64,
    pub dropped: u64,
    pub cut: u64,
}

/// Loopback HTTP proxy, one request per connection: drops `drop_p` of requests (reads
/// the request, never forwards it, hangs up), cuts `cut_p` of responses halfway
/// through the body; counts body bytes that crossed the client link.
pub struct FlakyProxy {
    pub url: String,
    addr: SocketAddr,
    stats: Arc<Mutex<ProxyStats>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FlakyProxy {
    pub fn start(target: SocketAddr, drop_p: f64, cut_p: f64, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Mutex::new(ProxyStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed);
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut client) = client else { continue };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = read_message(&mut client) else {
                        continue;
                    };
                    let req_body = body_len(&request);
                    let roll = rng.f();
                    let mut s = stats.lock().unwrap();
                    s.requests += 1;
                    s.bytes_up += req_body as u64;
                    if roll < drop_p {
                        s.dropped += 1;
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Some(response) = exchange(target, &request) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let body = body_len(&response);
                    let out = closing(&response).unwrap_or_else(|| response.clone());
                    let head = out.len() - body;
                    let n = if roll < drop_p + cut_p {
                        s.cut += 1;
                        head + body / 2
                    } else {
                        out.len()
                    };
                    s.bytes_down += (n - head) as u64;
                    drop(s);
                    let _ = client.write_all(&out[..n]);
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

    pub fn stats(&self) -> ProxyStats {
        let s = self.stats.lock().unwrap();
        ProxyStats {
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
            requests: s.requests,
            dropped: s.dropped,
            cut: s.cut,
        }
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn body_len(message: &[u8]) -> usize {
    head_end(message).map_or(0, |start| message.len() - start)
}
