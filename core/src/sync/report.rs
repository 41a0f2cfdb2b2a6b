//! What one call to `sync` did, for the UI and for logs.

use crate::ids::IncidentId;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    /// Changes sent to the hub (retries of changes it already had included).
    pub changes_up: u32,
    /// Changes by other people merged into incidents this device already held.
    pub changes_down: u32,
    /// Incidents received whole (newly assigned or visible).
    pub incidents_added: u32,
    /// The incidents received whole, in the order they arrived: what a notification
    /// of a new assignment is built from (read from the store, never from a push).
    pub new_incidents: Vec<IncidentId>,
    /// Incidents removed from this device because the hub said so and none of their
    /// changes were still waiting for the hub.
    pub incidents_removed: u32,
    /// Changes the hub refused, now in quarantine, with their local descendants.
    pub rejected: Vec<RejectedChange>,
    /// Request and response bodies as they went over the wire (compressed).
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// HTTP requests made; 1 unless the hub's answer was cut to its size budget or
    /// the uploads did not fit in one request.
    pub requests: u32,
    /// hub time − device time, now applied to the store's time correction.
    pub clock_offset_ms: i64,
    /// The device clock is off by more than `time::SKEW_WARN`.
    pub skewed: bool,
    /// Checklist versions received from the hub and kept.
    pub templates_received: u32,
    /// Checklist versions the hub sent that this device refused, with why (a template
    /// that fails the check here, or other content under a version already known).
    pub templates_refused: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RejectedChange {
    pub incident: IncidentId,
    /// Hex automerge change hash; `None` when the hub could not read the bytes at all.
    pub change_hash: Option<String>,
    pub reason: String,
}
