//! Telling screens that incidents changed, after a local write or a sync merge.
//!
//! The store has one core observer per open `FieldStore`: an [`ObserverHub`] that fans
//! out to the platform observers registered through `FieldStore.observe`, each with an
//! [`ObserverRegistration`] to cancel it (a Kotlin `Flow` cancels it in `awaitClose`).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use testigo_core::ids::IncidentId;
use testigo_core::store::IncidentObserver as CoreObserver;

use crate::errors::{ffi_call, panic_message, Result};

/// Implemented by the app. Called on the thread that made the change (the caller of
/// a write, or the sync worker), after the change is on disk and outside the store's
/// lock, so the observer may read the store at once. Keep it short: hand the ids to
/// the UI's own thread or queue. An exception it throws is logged and ignored; it
/// never undoes the write.
#[uniffi::export(foreign)]
pub trait IncidentObserver: Send + Sync {
    fn incidents_changed(&self, incident_ids: Vec<String>);
}

/// The observers of one store.
#[derive(Default)]
pub(crate) struct ObserverHub {
    next: AtomicU64,
    observers: Mutex<BTreeMap<u64, Arc<dyn IncidentObserver>>>,
}

impl ObserverHub {
    pub(crate) fn register(
        self: &Arc<Self>,
        observer: Arc<dyn IncidentObserver>,
    ) -> Arc<ObserverRegistration> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, observer);
        Arc::new(ObserverRegistration {
            hub: Arc::downgrade(self),
            id,
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<dyn IncidentObserver>>> {
        // The map is only inserted into and removed from; a panic elsewhere while it
        // was held cannot leave it half-changed.
        self.observers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CoreObserver for ObserverHub {
    fn incidents_changed(&self, ids: &[IncidentId]) {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        // Called outside the lock so an observer may cancel itself or register another.
        let observers: Vec<_> = self.lock().values().cloned().collect();
        for observer in observers {
            // A foreign observer that throws makes uniffi panic on this side; the
            // write it was told about is already committed, so report and go on.
            if let Err(payload) =
                catch_unwind(AssertUnwindSafe(|| observer.incidents_changed(ids.clone())))
            {
                tracing::warn!(target: "testigo_ffi", "an incident observer failed: {}", panic_message(payload.as_ref()));
            }
        }
    }
}

/// Keeps one observer registered until [`ObserverRegistration::cancel`] is called.
/// Dropping or garbage-collecting the registration does *not* stop the observer, so an
/// observer never goes quiet behind the app's back; cancel it when the screen goes away.
#[derive(uniffi::Object)]
pub struct ObserverRegistration {
    hub: Weak<ObserverHub>,
    id: u64,
}

#[uniffi::export]
impl ObserverRegistration {
    /// Stops calling the observer. Calling it again does nothing.
    pub fn cancel(&self) -> Result<()> {
        ffi_call("ObserverRegistration.cancel", || {
            if let Some(hub) = self.hub.upgrade() {
                hub.lock().remove(&self.id);
            }
            Ok(())
        })
    }

    /// Whether the observer is still called.
    pub fn is_active(&self) -> Result<bool> {
        ffi_call("ObserverRegistration.is_active", || {
            Ok(self
                .hub
                .upgrade()
                .is_some_and(|hub| hub.lock().contains_key(&self.id)))
        })
    }
}
