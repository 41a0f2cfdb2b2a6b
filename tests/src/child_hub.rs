//! The real hub as a child process: the test binary re-runs itself as one ignored test
//! that opens the hub on a database file and serves until killed. A separate process
//! lets a test kill the hub (SIGKILL) or read its peak memory (`VmHWM`) without
//! counting the test's own.
//!
//! A test file using it declares the child test with [`child_hub_test!`] and starts it
//! with [`HubProcess::start`], naming that test.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use testigo_hub::{Hub, HubConfig};

pub const CHILD_DB_ENV: &str = "TESTIGO_HUB_CHILD_DB";
pub const CHILD_LISTEN_ENV: &str = "TESTIGO_HUB_CHILD_LISTEN";

/// Declares the ignored test the child process runs.
#[macro_export]
macro_rules! child_hub_test {
    ($name:ident) => {
        #[test]
        #[ignore = "run by this file's tests as their hub child process"]
        fn $name() {
            $crate::child_hub::serve_as_child();
        }
    };
}

/// The child's body: the real hub on the database and address in the environment,
/// until killed. Does nothing when not started as a child.
pub fn serve_as_child() {
    let (Ok(db), Ok(listen)) = (std::env::var(CHILD_DB_ENV), std::env::var(CHILD_LISTEN_ENV))
    else {
        return;
    };
    let hub = Hub::open(HubConfig::with_db(&db)).expect("the hub opens its database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .expect("the hub listens");
        if let Some(code) = hub.bootstrap_code() {
            println!("BOOTSTRAP {code}");
        }
        println!("LISTENING {}", listener.local_addr().expect("address"));
        hub.run(listener, std::future::pending())
            .await
            .expect("the hub serves");
    });
}

/// A hub child process and what it printed.
pub struct HubProcess {
    child: Child,
    pub addr: SocketAddr,
    pub bootstrap_code: Option<String>,
}

impl HubProcess {
    /// Starts the hub on `db` at `listen` by running `child_test` of this binary, and
    /// waits until it accepts connections.
    pub fn start(child_test: &str, db: &Path, listen: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                child_test,
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB_ENV, db)
            .env(CHILD_LISTEN_ENV, listen)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the hub");
        let lines = lines_of(&mut child);
        let mut bootstrap_code = None;
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the hub starts and prints its address");
            // The test harness may print `test … ` on the same line first.
            if let Some(code) = after(&line, "BOOTSTRAP ") {
                bootstrap_code = Some(code.to_owned());
            }
            if let Some(addr) = after(&line, "LISTENING ") {
                return Self {
                    child,
                    addr: addr.parse().expect("an address"),
                    bootstrap_code,
                };
            }
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the hub");
        self.child.wait().expect("the hub is gone");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_memory_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the hub's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .expect("VmHWM in /proc status")
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|at| line[at + marker.len()..].trim())
}
