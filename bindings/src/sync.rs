//! Sync with the hub: enrolment with a one-time code, then batched, resumable syncs
//! that send this device's changes and bring back what it may see.

use std::time::SystemTime;

use testigo_core::sync as core;

use crate::errors::Result;
use crate::store::{DeviceInfo, FieldStore};

/// What one sync did, for the UI ("3 changes sent, 1 incident received") and logs.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Changes sent to the hub (retries of changes it already had included).
    pub changes_up: u32,
    /// Changes by other people merged into incidents this device already held.
    pub changes_down: u32,
    /// Incidents received whole (newly assigned or visible).
    pub incidents_added: u32,
    /// Incidents removed from this device: no longer visible to it, and none of its
    /// changes still waiting for the hub.
    pub incidents_removed: u32,
    /// Changes the hub refused, kept in quarantine on this device (never dropped).
    pub rejected: Vec<RejectedChange>,
    /// Bytes on the wire (compressed), both ways.
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub requests: u32,
    /// Hub time − device time, now used to correct record times.
    pub clock_offset_ms: i64,
    /// The device clock is off enough that the user should fix it.
    pub skewed: bool,
}

/// A change the hub refused, and why.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RejectedChange {
    pub incident_id: String,
    /// Hex automerge change hash; `None` when the hub could not read the bytes at all.
    pub change_hash: Option<String>,
    pub reason: String,
}

/// A change kept in quarantine after the hub refused it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct QuarantinedChange {
    pub incident_id: String,
    pub change_hash: String,
    pub reason: String,
    pub at: SystemTime,
}

#[uniffi::export]
impl FieldStore {
    /// Enrols this device with the hub at `hub_url` using a one-time code from a
    /// coordinator; the hub's role, team and credential are saved in the store. Returns
    /// the device as now enrolled.
    ///
    /// Blocking (network): call off the main thread.
    pub fn enrol(&self, hub_url: String, code: String) -> Result<DeviceInfo> {
        self.call("FieldStore.enrol", |store| {
            core::enroll(store, &hub_url, &code)?;
            Ok(DeviceInfo::of(store))
        })
    }

    /// Sends this device's changes and receives what it lacks, in as few requests as
    /// the size budget allows. Safe to cut at any point and retry: nothing is lost or
    /// duplicated. `hub_url` overrides the hub saved at enrolment. Fails with `Sync`
    /// when the hub cannot be reached (retry later), `NotPermitted` when the device is
    /// not enrolled or the hub no longer recognises it.
    ///
    /// Blocking (network): call off the main thread.
    pub fn sync(&self, hub_url: Option<String>) -> Result<SyncReport> {
        self.call("FieldStore.sync", |store| {
            Ok(core::sync(store, hub_url.as_deref())?.into())
        })
    }

    /// Changes the hub refused, kept here so a team lead can see what and why.
    ///
    /// Blocking: call off the main thread.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedChange>> {
        self.call("FieldStore.quarantined", |store| {
            Ok(core::quarantined(store)?
                .into_iter()
                .map(|q| QuarantinedChange {
                    incident_id: q.incident.to_string(),
                    change_hash: q.change_hash,
                    reason: q.reason,
                    at: crate::time::to_system(
                        testigo_core::time::from_millis(q.at_ms).unwrap_or_default(),
                    ),
                })
                .collect())
        })
    }
}

impl From<core::SyncReport> for SyncReport {
    fn from(r: core::SyncReport) -> Self {
        SyncReport {
            changes_up: r.changes_up,
            changes_down: r.changes_down,
            incidents_added: r.incidents_added,
            incidents_removed: r.incidents_removed,
            rejected: r
                .rejected
                .into_iter()
                .map(|c| RejectedChange {
                    incident_id: c.incident.to_string(),
                    change_hash: c.change_hash,
                    reason: c.reason,
                })
                .collect(),
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            requests: r.requests,
            clock_offset_ms: r.clock_offset_ms,
            skewed: r.skewed,
        }
    }
}
