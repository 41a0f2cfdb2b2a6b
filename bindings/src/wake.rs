//! Being on duty: the app's foreground service waits for the hub to say "sync now"
//! (a long-poll the phone holds open), and phones that sleep register a UnifiedPush
//! endpoint (Android) or a push gateway URL (iOS) so the hub can wake them with an
//! empty message. Nothing about an incident ever travels in a wake: the sync that
//! follows brings it, the store's observers fire as after any sync, and the
//! notification is built from the summaries returned here, read from the encrypted
//! store.

use std::sync::Arc;
use std::time::Duration;

use testigo_core::sync as core;

use crate::errors::{ffi_call, Result};
use crate::incidents::IncidentSummary;
use crate::store::FieldStore;
use crate::sync::SyncReport;

/// Cancels a [`FieldStore::wait_for_work`] from another thread: the service stopping,
/// the volunteer going off duty. Once cancelled it stays so; make a new one for the
/// next shift.
#[derive(uniffi::Object, Default)]
pub struct WaitCanceller {
    inner: core::WaitCancel,
}

#[uniffi::export]
impl WaitCanceller {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Ends the wait in progress (the connection is closed at once) and every later
    /// wait given this canceller.
    pub fn cancel(&self) -> Result<()> {
        ffi_call("WaitCanceller.cancel", || {
            self.inner.cancel();
            Ok(())
        })
    }

    pub fn is_cancelled(&self) -> Result<bool> {
        ffi_call("WaitCanceller.is_cancelled", || {
            Ok(self.inner.is_cancelled())
        })
    }
}

/// How one on-duty wait ended.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum DutyWake {
    /// The hub had something; this device synced. `new_incidents` are the incidents
    /// received whole (new assignments), as list rows from the local store: what the
    /// notification shows.
    Synced {
        report: SyncReport,
        new_incidents: Vec<IncidentSummary>,
    },
    /// Nothing came before the timeout: wait again.
    Timeout,
    /// The canceller was cancelled.
    Cancelled,
}

#[uniffi::export]
impl FieldStore {
    /// Blocks until the hub has work for this device (an assignment, a change to an
    /// incident it holds, a removal), then syncs and returns what arrived; or returns
    /// `Timeout` after `timeout_secs` (at most 120), or `Cancelled`. The app's on-duty
    /// service calls it in a loop. The store is not held while waiting, so a wipe is
    /// never delayed by it.
    ///
    /// Fails with `NotPermitted` when the device is not enrolled or was revoked (a
    /// revocation ends a wait in progress), `Sync` when the hub cannot be reached
    /// (wait a little and call again).
    ///
    /// Blocking (network, up to `timeout_secs`): call off the main thread.
    pub fn wait_for_work(
        &self,
        timeout_secs: u32,
        canceller: Arc<WaitCanceller>,
    ) -> Result<DutyWake> {
        let prepared = self.call("FieldStore.wait_for_work", |store| {
            Ok(core::PreparedWait::of(store)?)
        })?;
        let outcome = ffi_call("FieldStore.wait_for_work", || {
            Ok(prepared.wait(
                Duration::from_secs(u64::from(timeout_secs)),
                &canceller.inner,
            )?)
        })?;
        match outcome {
            core::WaitOutcome::Timeout => Ok(DutyWake::Timeout),
            core::WaitOutcome::Cancelled => Ok(DutyWake::Cancelled),
            core::WaitOutcome::Work => self.call("FieldStore.wait_for_work", |store| {
                let report = core::sync(store, None)?;
                let mut new_incidents = Vec::new();
                for id in &report.new_incidents {
                    if let Some(row) = store.summary(id)? {
                        new_incidents.push(row.into());
                    }
                }
                Ok(DutyWake::Synced {
                    report: report.into(),
                    new_incidents,
                })
            }),
        }
    }

    /// Gives the hub this device's push endpoint: the URL a UnifiedPush distributor
    /// passed to the app (`onNewEndpoint`), or on iOS the URL of the hotline's push
    /// gateway for this device's APNs token. Replaces any earlier one. The hub POSTs
    /// only empty wakes to it; on one, call `sync` (or `wait_for_work`).
    ///
    /// Blocking (network): call off the main thread.
    pub fn register_push_endpoint(&self, endpoint: String) -> Result<()> {
        self.call("FieldStore.register_push_endpoint", |store| {
            Ok(core::register_push(store, &endpoint)?)
        })
    }

    /// Tells the hub to stop pushing to this device (off duty; distributor removed).
    ///
    /// Blocking (network): call off the main thread.
    pub fn unregister_push_endpoint(&self) -> Result<()> {
        self.call("FieldStore.unregister_push_endpoint", |store| {
            Ok(core::unregister_push(store)?)
        })
    }
}
