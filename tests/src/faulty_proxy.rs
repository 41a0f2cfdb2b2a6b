//! A loopback proxy between devices and the hub that behaves like a bad mobile
//! network: it drops requests, delays them, cuts requests and responses in the middle
//! of their bodies, sends a request to the hub twice, and holds a request back to
//! deliver it after a later one. Which fault hits which request comes from a seeded
//! generator, so a failing run replays with the seed it printed.
//!
//! One request per connection, handled one at a time (devices in these tests sync one
//! after another, so the same seed gives the same faults).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::proxy::{closing, exchange, head_end, read_message};
use crate::rng::{pick, RngExt, SeedableRng, SmallRng};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The request never reaches the hub; the device's connection is closed.
    Drop,
    /// The request reaches the hub late, then the response reaches the device late.
    Delay,
    /// Part of the request's body reaches the hub, then both connections close.
    CutRequest,
    /// The hub answers in full; the device gets only part of the response's body.
    CutResponse,
    /// The hub receives the request twice; the device gets one of the two responses.
    Duplicate,
    /// The request is held back (its device sees the connection close) and reaches the
    /// hub only after a later request has been answered; its response goes nowhere.
    Reorder,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Drop,
        Fault::Delay,
        Fault::CutRequest,
        Fault::CutResponse,
        Fault::Duplicate,
        Fault::Reorder,
    ];
}

/// How many requests went through untouched, and how many met each fault.
#[derive(Clone, Debug, Default)]
pub struct FaultCounts {
    pub passed: usize,
    pub faults: BTreeMap<Fault, usize>,
}

impl FaultCounts {
    pub fn of(&self, fault: Fault) -> usize {
        self.faults.get(&fault).copied().unwrap_or(0)
    }

    fn bump(&mut self, fault: Fault) {
        *self.faults.entry(fault).or_default() += 1;
    }
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed", self.passed)?;
        for fault in Fault::ALL {
            write!(f, ", {:?} {}", fault, self.of(fault))?;
        }
        Ok(())
    }
}

struct State {
    rng: SmallRng,
    /// Chance in percent that a request meets some fault.
    fault_percent: u64,
    counts: FaultCounts,
    /// A request held back by `Reorder`, waiting for a later one to pass it.
    held: Option<Vec<u8>>,
}

pub struct FaultyProxy {
    pub url: String,
    addr: SocketAddr,
    target: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultyProxy {
    /// Proxies to `target`; `fault_percent` of requests meet a fault, picked evenly
    /// among the kinds.
    pub fn start(target: SocketAddr, seed: u64, fault_percent: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(State {
            rng: SmallRng::seed_from_u64(seed),
            fault_percent,
            counts: FaultCounts::default(),
            held: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(client) = client {
                        handle(client, target, &state);
                    }
                }
            })
        };
        Self {
            url: format!("http://{addr}"),
            addr,
            target,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn counts(&self) -> FaultCounts {
        self.state.lock().unwrap().counts.clone()
    }

    /// Delivers a request still held back, as the network would eventually. Returns
    /// whether there was one.
    pub fn release_held(&self) -> bool {
        let held = self.state.lock().unwrap().held.take();
        match held {
            Some(request) => {
                let _ = exchange(self.target, &request);
                self.state.lock().unwrap().counts.bump(Fault::Reorder);
                true
            }
            None => false,
        }
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A point strictly inside the body of `message` (or inside the message, if its body
/// is shorter than two bytes), so a cut leaves the body incomplete but not empty.
fn inside_body(message: &[u8], rng: &mut SmallRng) -> usize {
    let start = head_end(message).unwrap_or(0);
    let body = message.len() - start;
    if body >= 2 {
        start + 1 + rng.random_range(0..body as u64 - 1) as usize
    } else {
        rng.random_range(0..message.len() as u64) as usize
    }
}

fn hang_up(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

fn handle(mut client: TcpStream, target: SocketAddr, state: &Mutex<State>) {
    let Some(request) = read_message(&mut client) else {
        return;
    };
    let fault = {
        let mut s = state.lock().unwrap();
        let percent = s.fault_percent;
        if s.rng.random_range(0..100) < percent {
            let fault = *pick(&mut s.rng, &Fault::ALL);
            // One request held back at a time; a second `Reorder` passes.
            (fault != Fault::Reorder || s.held.is_none()).then_some(fault)
        } else {
            None
        }
    };
    // The lock is taken afresh in each statement and never held across one (a guard
    // kept alive by `if let` would deadlock the next `s()`).
    let s = || state.lock().unwrap();
    let response = match fault {
        Some(Fault::Drop) => {
            s().counts.bump(Fault::Drop);
            return hang_up(&client);
        }
        Some(Fault::Reorder) => {
            s().held = Some(request);
            return hang_up(&client);
        }
        Some(Fault::CutRequest) => {
            let cut = inside_body(&request, &mut s().rng);
            if let Ok(mut hub) = TcpStream::connect(target) {
                let _ = hub.write_all(&request[..cut]);
                hang_up(&hub);
            }
            s().counts.bump(Fault::CutRequest);
            return hang_up(&client);
        }
        Some(Fault::Delay) => {
            let pause = Duration::from_millis(1 + s().rng.random_range(0..40));
            std::thread::sleep(pause);
            let response = exchange(target, &request);
            std::thread::sleep(pause);
            s().counts.bump(Fault::Delay);
            response
        }
        Some(Fault::Duplicate) => {
            let first = exchange(target, &request);
            let second = exchange(target, &request);
            s().counts.bump(Fault::Duplicate);
            if s().rng.random_bool(0.5) {
                first
            } else {
                second
            }
        }
        Some(Fault::CutResponse) | None => exchange(target, &request),
    };
    // A later request has now reached the hub: the held one follows it.
    let held = s().held.take();
    if let Some(held) = held {
        let _ = exchange(target, &held);
        s().counts.bump(Fault::Reorder);
    }
    let Some(out) = response.as_deref().and_then(closing) else {
        return hang_up(&client);
    };
    let length = if fault == Some(Fault::CutResponse) {
        s().counts.bump(Fault::CutResponse);
        inside_body(&out, &mut s().rng)
    } else {
        s().counts.passed += usize::from(fault.is_none());
        out.len()
    };
    let _ = client.write_all(&out[..length]);
    hang_up(&client);
}
