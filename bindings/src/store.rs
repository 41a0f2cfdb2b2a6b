//! `FieldStore`: the encrypted store on a volunteer's phone, as the apps hold it.
//!
//! Every method delegates to `testigo_core::store::Store`. Each write is one SQLite
//! transaction: when a call returns, the record is on disk. Calls block on disk I/O
//! (and sync on the network), so the apps call them off the main thread; the object
//! is safe to share between threads.

use std::sync::Arc;
use std::time::SystemTime;

use testigo_core::store::Store;

use crate::checklist::AnswerValue;
use crate::errors::{ffi_call, Result};
use crate::incidents::{
    parse_device_id, parse_incident_id, parse_record_id, Checkpoint, Confidence, Determination, EventKind, IncidentSummary, IncidentView, ListQuery,
    NewFieldIncident, ObservationKind, Role,
};
use crate::location::LocationFix;
use crate::observer::{IncidentObserver, ObserverHub, ObserverRegistration};

/// Who this device is, as the store knows it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct DeviceInfo {
    /// Derived from the device's public key; names it in every record it writes.
    pub device_id: String,
    /// Hex of the ed25519 public key the hub verifies this device's changes with.
    pub public_key_hex: String,
    pub role: Role,
    pub team: Option<String>,
    pub hub_url: Option<String>,
    /// Whether the device holds a credential from a hub.
    pub enrolled: bool,
}

/// How far this device's clock is from the hub's, as measured by the last sync.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ClockStatus {
    /// Hub time − device time.
    pub offset_ms: i64,
    /// The difference is large enough that record times should be shown as doubtful.
    pub skewed: bool,
}

#[derive(uniffi::Object)]
pub struct FieldStore {
    pub(crate) store: Arc<Store>,
    observers: Arc<ObserverHub>,
}

#[uniffi::export]
impl FieldStore {
    /// Opens the store at `path`, creating it on first use, with the 32-byte key the
    /// platform keystore holds. A key that does not open an existing store fails with
    /// `WrongKey`; an empty or short key with `MissingKey`.
    ///
    /// Blocking: call off the main thread.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Self>> {
        ffi_call("FieldStore.open", || {
            let store = Arc::new(Store::open(&path, &key)?);
            let observers = Arc::new(ObserverHub::default());
            store.add_observer(observers.clone());
            Ok(Arc::new(Self { store, observers }))
        })
    }

    /// Blocking: call off the main thread.
    pub fn device(&self) -> Result<DeviceInfo> {
        ffi_call("FieldStore.device", || {
            let identity = self.store.identity();
            Ok(DeviceInfo {
                device_id: identity.device_id.to_string(),
                public_key_hex: hex::encode(identity.public_key()),
                role: identity.role,
                team: identity.team.clone(),
                hub_url: identity.hub_url.clone(),
                enrolled: identity.is_enrolled(),
            })
        })
    }

    /// Calls `observer` after every change to incidents on this device (local writes
    /// and merges from sync) until the returned registration is cancelled.
    pub fn observe(&self, observer: Arc<dyn IncidentObserver>) -> Result<Arc<ObserverRegistration>> {
        ffi_call("FieldStore.observe", || Ok(self.observers.register(observer)))
    }

    /// Opens an incident seen in the field; this device creates its document, once.
    /// Returns the new incident's id.
    ///
    /// Blocking: call off the main thread.
    pub fn create_incident(&self, incident: NewFieldIncident) -> Result<String> {
        ffi_call("FieldStore.create_incident", || Ok(self.store.create_incident(incident.into_core()?)?.to_string()))
    }

    /// Everything known about one incident.
    ///
    /// Blocking: call off the main thread.
    pub fn incident(&self, incident_id: String) -> Result<IncidentView> {
        ffi_call("FieldStore.incident", || Ok(self.store.view(&parse_incident_id(&incident_id)?)?.into()))
    }

    /// List rows, newest change first, read from the index (no document is opened).
    ///
    /// Blocking: call off the main thread.
    pub fn list(&self, query: ListQuery) -> Result<Vec<IncidentSummary>> {
        ffi_call("FieldStore.list", || Ok(self.store.list(&query.into())?.into_iter().map(Into::into).collect()))
    }

    /// How many incidents this device holds.
    ///
    /// Blocking: call off the main thread.
    pub fn incident_count(&self) -> Result<u64> {
        ffi_call("FieldStore.incident_count", || Ok(self.store.incident_count()?))
    }

    /// Records arrival on scene with the fix at that moment; the distance to the
    /// reported place is computed when the report has a point.
    ///
    /// Blocking: call off the main thread.
    pub fn check_in(&self, incident_id: String, fix: LocationFix) -> Result<Checkpoint> {
        ffi_call("FieldStore.check_in", || Ok(self.store.check_in(&parse_incident_id(&incident_id)?, fix.into_core()?)?.into()))
    }

    /// Records leaving the scene.
    ///
    /// Blocking: call off the main thread.
    pub fn check_out(&self, incident_id: String, fix: LocationFix) -> Result<Checkpoint> {
        ffi_call("FieldStore.check_out", || Ok(self.store.check_out(&parse_incident_id(&incident_id)?, fix.into_core()?)?.into()))
    }

    /// Records this device's answer to a checklist question, replacing only its own
    /// earlier answer; other people's answers stay.
    ///
    /// Blocking: call off the main thread.
    pub fn answer(&self, incident_id: String, question_id: String, value: AnswerValue) -> Result<()> {
        ffi_call("FieldStore.answer", || Ok(self.store.answer(&parse_incident_id(&incident_id)?, &question_id, value.into_core()?)?))
    }

    /// Appends an observation (a note, or a count of something) with the fix where it
    /// was made. Returns the observation's id.
    ///
    /// Blocking: call off the main thread.
    pub fn add_observation(
        &self,
        incident_id: String,
        kind: ObservationKind,
        text: String,
        count: Option<i64>,
        fix: Option<LocationFix>,
    ) -> Result<String> {
        ffi_call("FieldStore.add_observation", || {
            let fix = fix.map(LocationFix::into_core).transpose()?;
            Ok(self.store.add_observation(&parse_incident_id(&incident_id)?, kind, &text, count, fix)?.to_string())
        })
    }

    /// Corrects an observation by appending an amendment; the original stays as it was.
    /// Returns the amendment's id.
    ///
    /// Blocking: call off the main thread.
    pub fn amend_observation(&self, incident_id: String, observation_id: String, text: String, count: Option<i64>) -> Result<String> {
        ffi_call("FieldStore.amend_observation", || {
            Ok(self.store.amend_observation(&parse_incident_id(&incident_id)?, &parse_record_id(&observation_id)?, &text, count)?.to_string())
        })
    }

    /// Records a status event: a proposed or confirmed determination (with its
    /// confidence), the caller notified, the incident closed. The role rules are the
    /// hub's: a volunteer proposes, a team lead confirms. Returns the event's id.
    ///
    /// Blocking: call off the main thread.
    pub fn record_event(
        &self,
        incident_id: String,
        kind: EventKind,
        determination: Option<Determination>,
        confidence: Option<Confidence>,
        note: Option<String>,
    ) -> Result<String> {
        ffi_call("FieldStore.record_event", || {
            Ok(self.store.record_event(&parse_incident_id(&incident_id)?, kind, determination, confidence, note)?.to_string())
        })
    }

    /// Assigns (or with `active = false` unassigns) a device to an incident. Only
    /// dispatchers, team leads and coordinators may.
    ///
    /// Blocking: call off the main thread.
    pub fn assign(&self, incident_id: String, assignee_device_id: String, active: bool) -> Result<()> {
        ffi_call("FieldStore.assign", || Ok(self.store.assign(&parse_incident_id(&incident_id)?, &parse_device_id(&assignee_device_id)?, active)?))
    }

    /// The clock offset measured by the last sync.
    ///
    /// Blocking: call off the main thread.
    pub fn clock(&self) -> Result<ClockStatus> {
        ffi_call("FieldStore.clock", || {
            let offset = self.store.clock_offset()?;
            Ok(ClockStatus { offset_ms: offset.millis, skewed: offset.is_skewed() })
        })
    }

    /// The device's current time as the store stamps records with it.
    pub fn now(&self) -> Result<SystemTime> {
        ffi_call("FieldStore.now", || Ok(crate::time::to_system(self.store.now())))
    }

    /// SQLite's own consistency check of the whole database; `Storage` if it fails.
    ///
    /// Blocking (reads every page): call off the main thread.
    pub fn integrity_check(&self) -> Result<()> {
        ffi_call("FieldStore.integrity_check", || Ok(self.store.integrity_check()?))
    }
}
