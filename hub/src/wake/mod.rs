//! The wake channel: telling a phone on duty, within a second, that the hub has
//! something for it — and nothing more. No wake carries incident content; the phone
//! syncs as usual and builds its notification from its own encrypted store.
//!
//! - [`long_poll`]: `POST /v1/wake`, held open by a phone on duty
//! - [`push`]: UnifiedPush endpoints (`PUT`/`DELETE /v1/push`) and the empty wakes
//!   POSTed to them, with retries
//! - [`waiters`]: the waits open on this instance, in memory (no thread, no database
//!   connection per waiting phone)
//! - [`bus`]: the seam between hub instances, and its in-process implementation
//! - [`audience`]: which devices a change concerns, by the sync round's own rules
//!
//! The flow: every commit that grows the change log (a sync round, a dispatcher's
//! action) is looked at by [`WakeState::committed`], called from the hub's one write
//! path with the database still held. It decides there and then which devices with a
//! push endpoint the commit concerns and queues their wakes — so the answer is the
//! database as this commit left it, not as a later commit changed it — and publishes
//! one [`Signal`] naming the incidents and who changed them. Each instance hears
//! every signal, asks the database which of its waiting phones it concerns and wakes
//! them. Revoking a device ends its waits and deletes its endpoint.

pub mod audience;
pub mod bus;
pub mod long_poll;
pub mod push;
pub mod waiters;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rusqlite::Connection;
use testigo_core::ids::DeviceId;
use tokio::sync::broadcast::error::RecvError;

pub use bus::{ChangedIncident, InProcessBus, Signal, WakeBus};
pub use push::PushPolicy;
use waiters::{Waiters, Wake};

use crate::db::{changes, push as push_db};
use crate::server::AppState;

/// What the wake channel keeps in the hub's memory.
pub struct WakeState {
    bus: Arc<dyn WakeBus>,
    pub(crate) waiters: Waiters,
    pub(crate) pusher: push::Pusher,
    pub(crate) policy: PushPolicy,
}

impl WakeState {
    pub fn new(bus: Arc<dyn WakeBus>, policy: PushPolicy) -> Self {
        Self {
            bus,
            waiters: Waiters::default(),
            pusher: push::Pusher::default(),
            policy,
        }
    }

    /// Called after a write that moved the change-log counter past `before`, with the
    /// database still held: pushes a wake to every device with an endpoint that the
    /// commit concerns, and tells every instance which incidents changed and by whom.
    ///
    /// The push audience is decided here, not when the signal is heard: by then a
    /// later commit (an assignment right after an open) may have made an earlier one
    /// look like the device's business, and it would be pushed twice for one event.
    pub(crate) fn committed(&self, conn: &Connection, before: u64, now_ms: i64, retention_ms: i64) {
        let changed = match changes::changed_since(conn, before) {
            Ok(changed) => changed,
            Err(e) => {
                // Phones then learn at their next wait or sync; nothing is lost.
                tracing::error!(error = %e, "cannot tell waiting phones about a commit");
                return;
            }
        };
        let mut incidents: BTreeMap<_, BTreeSet<DeviceId>> = BTreeMap::new();
        for (incident, author) in changed {
            incidents.entry(incident).or_default().insert(author);
        }
        if incidents.is_empty() {
            // The counter moved for a delivery stamp only: nothing new to anyone.
            return;
        }
        let incidents: Vec<ChangedIncident> = incidents
            .into_iter()
            .map(|(incident, authors)| ChangedIncident { incident, authors })
            .collect();
        let pushed = push_db::registered(conn).and_then(|registered| {
            let registered = registered.into_iter().collect();
            audience::concerned(conn, &registered, &incidents, now_ms, retention_ms)
        });
        match pushed {
            Ok(pushed) => {
                for device in pushed {
                    self.pusher.wake(device);
                }
            }
            // The phones' next wait or sync finds the work; a push is a shortcut.
            Err(e) => tracing::error!(error = %e, "cannot decide whom to push a wake to"),
        }
        self.bus.publish(Signal::Changed { incidents });
    }

    /// The device was revoked: its waits end on every instance.
    pub(crate) fn revoked(&self, device: &DeviceId) {
        self.bus.publish(Signal::Revoked {
            device: device.clone(),
        });
    }

    /// How many waits are open on this instance (figures, tests).
    pub fn waiting(&self) -> usize {
        self.waiters.count()
    }

    pub(crate) fn shut_down(&self) {
        self.waiters.close();
    }
}

/// Starts listening to the bus and sending push wakes, for as long as the hub runs.
pub(crate) fn spawn(state: &Arc<AppState>) {
    state.wake.pusher.spawn(state);
    let mut signals = state.wake.bus.subscribe();
    let state = Arc::clone(state);
    tokio::spawn(async move {
        loop {
            match signals.recv().await {
                Ok(signal) => handle(&state, signal).await,
                Err(RecvError::Lagged(missed)) => {
                    // Some signals were missed: wake everyone waiting here; each
                    // phone's sync finds what is really new (perhaps nothing).
                    tracing::warn!(missed, "wake signals missed; waking every waiting phone");
                    state.wake.waiters.wake_all(Wake::Work);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

async fn handle(state: &Arc<AppState>, signal: Signal) {
    match signal {
        Signal::Revoked { device } => state.wake.waiters.wake([&device], Wake::Revoked),
        Signal::Changed { incidents } => {
            let waiting: BTreeSet<DeviceId> = state.wake.waiters.devices().into_iter().collect();
            if waiting.is_empty() {
                return;
            }
            let found = state
                .write(move |state, conn| {
                    let (now, retention) = (state.now_ms(), state.retention_ms);
                    audience::concerned(conn, &waiting, &incidents, now, retention)
                })
                .await;
            match found {
                Ok(wake) => state.wake.waiters.wake(&wake, Wake::Work),
                Err(e) => {
                    tracing::error!(error = %e, "cannot decide whom a change concerns; waking every waiting phone");
                    state.wake.waiters.wake_all(Wake::Work);
                }
            }
        }
    }
}
