//! A fresh process whose first act is opening several stores at once — the app
//! starting while its sync worker starts, a hub serving its first requests next to
//! in-process devices in the end-to-end tests: every open succeeds.
//!
//! What could go wrong lives in SQLite's one-time initialisation, which happens once per
//! process, so each try needs a process of its own: the test runs itself as a child,
//! many times, each child opening its stores from threads released together.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use common::store_key;
use testigo_core::store::Store;

const CHILD_DIR: &str = "TESTIGO_FIRST_OPEN_CHILD_DIR";
const TRIES: usize = 40;
const AT_ONCE: usize = 8;
const THIS_TEST: &str = "stores_opened_at_once_in_a_fresh_process_all_open";

#[test]
fn stores_opened_at_once_in_a_fresh_process_all_open() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        open_at_once(Path::new(&dir));
        return;
    }
    let this = std::env::current_exe().unwrap();
    for attempt in 1..=TRIES {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(&this)
            .args(["--exact", THIS_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .output()
            .unwrap();
        assert!(
            child.status.success(),
            "fresh process {attempt} of {TRIES} failed to open its stores:\n{}{}",
            String::from_utf8_lossy(&child.stdout),
            String::from_utf8_lossy(&child.stderr)
        );
    }
}

/// The child: `AT_ONCE` threads, released together, each open a store of their own.
fn open_at_once(dir: &Path) {
    let start = Arc::new(Barrier::new(AT_ONCE));
    let openers: Vec<_> = (0..AT_ONCE)
        .map(|n| {
            let start = Arc::clone(&start);
            let path = dir.join(format!("device-{n}.db"));
            std::thread::spawn(move || {
                start.wait();
                Store::open(&path, &store_key(n as u8)).map(drop)
            })
        })
        .collect();
    for (n, opener) in openers.into_iter().enumerate() {
        if let Err(e) = opener.join().unwrap() {
            panic!("store {n} of {AT_ONCE} opened at once failed: {e}");
        }
    }
}
