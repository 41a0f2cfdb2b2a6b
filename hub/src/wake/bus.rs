//! The seam between hub instances. A commit on any instance publishes a [`Signal`];
//! every instance (the publisher too) receives it and wakes the phones waiting on it.
//!
//! [`InProcessBus`] serves one hub process. Several instances behind one address
//! (one PostgreSQL database) need a bus that carries signals between them; with
//! PostgreSQL that is `NOTIFY testigo_wake, '<signal as JSON>'` in [`WakeBus::publish`]
//! (after the commit, or inside the transaction so it is sent only if it commits)
//! and one connection per instance doing `LISTEN testigo_wake`, feeding what it hears
//! to the same [`tokio::sync::broadcast`] the in-process bus uses. Nothing else
//! changes: a signal names incidents and devices only, never content, and each
//! instance decides from the shared database which of *its* waiting phones it
//! concerns. Signals lost while an instance is down do not matter: a phone's wait
//! carries its sync cursor, so work it missed is found when the wait begins.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use testigo_core::ids::{DeviceId, IncidentId};
use tokio::sync::broadcast;

/// Signals a slow instance may fall behind by before it hears it lagged (and then
/// wakes every phone waiting on it, so that nothing is missed).
const BACKLOG: usize = 1024;

/// What happened, as far as waiting phones care.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Signal {
    /// The change logs of these incidents grew. (Push wakes are not a matter for the
    /// bus: the instance that made the commit sends them, so a phone is pushed once.)
    Changed { incidents: Vec<ChangedIncident> },
    /// The device was revoked: its waits end, on every instance.
    Revoked { device: DeviceId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangedIncident {
    pub incident: IncidentId,
    /// Whose changes they were: a device is not woken for its own uploads.
    pub authors: BTreeSet<DeviceId>,
}

/// Carries signals to every hub instance.
pub trait WakeBus: Send + Sync + std::fmt::Debug {
    /// Sends `signal` to every instance, this one included. Never blocks for long:
    /// it is called right after a commit, with the database lock held.
    fn publish(&self, signal: Signal);
    /// Signals from every instance, from now on.
    fn subscribe(&self) -> broadcast::Receiver<Signal>;
}

/// The bus of a hub that runs as one process.
#[derive(Debug)]
pub struct InProcessBus {
    sender: broadcast::Sender<Signal>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(BACKLOG),
        }
    }
}

impl WakeBus for InProcessBus {
    fn publish(&self, signal: Signal) {
        // An error only means nobody listens yet (the hub is not serving).
        let _ = self.sender.send(signal);
    }

    fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.sender.subscribe()
    }
}
