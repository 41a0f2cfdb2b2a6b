//! What every test of the `testigo` command needs: the command itself, its JSON
//! output, and a `testigo hub` running on a free port. Each test file uses some.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub fn testigo() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_testigo"));
    command
        .env_remove("TESTIGO_STORE")
        .env_remove("TESTIGO_STORE_KEY")
        .env("NO_COLOR", "1");
    command
}

/// Runs `testigo --json ARGS` and returns its JSON output; panics with stderr on failure.
pub fn json(args: &[&str]) -> Value {
    let output = testigo()
        .arg("--json")
        .args(args)
        .output()
        .expect("testigo runs");
    assert!(
        output.status.success(),
        "testigo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "testigo {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

pub struct RunningHub(Child);

impl Drop for RunningHub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `testigo hub` on a free port; returns it with its URL and coordinator code.
pub fn start_hub(dir: &Path) -> (RunningHub, String, String) {
    let (hub, started) = start_hub_with(dir, &[]);
    (
        hub,
        started["url"].as_str().unwrap().to_owned(),
        started["coordinator_code"].as_str().unwrap().to_owned(),
    )
}

/// `testigo hub` with more flags; returns it with what it printed on starting.
pub fn start_hub_with(dir: &Path, flags: &[&str]) -> (RunningHub, Value) {
    let mut child = testigo()
        .args(["--json", "hub", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("hub.sqlite"))
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hub starts");
    let mut text = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.expect("hub output");
        text.push_str(&line);
        if line == "}" {
            break;
        }
    }
    let started: Value = serde_json::from_str(&text).expect("the hub prints its address as JSON");
    (RunningHub(child), started)
}
