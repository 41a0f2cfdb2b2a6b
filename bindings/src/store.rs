//! `FieldStore`: the encrypted store on a volunteer's phone, as the apps hold it.
//!
//! Every method delegates to `testigo_core::store::Store`. Each write is one SQLite
//! transaction: when a call returns, the record is on disk. Calls block on disk I/O
//! (and sync on the network), so the apps call them off the main thread; the object
//! is safe to share between threads.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use testigo_core::checklist::{validate_answer, CheckedTemplate};
use testigo_core::store::Store;

use crate::checklist::{self, AnswerValue, Checklist, CombinedChecklist, TemplateInfo};
use crate::errors::{ffi_call, Result, TestigoError};
use crate::incidents::{
    parse_device_id, parse_incident_id, parse_record_id, Checkpoint, Confidence, Determination,
    EventKind, IncidentSummary, IncidentView, ListQuery, NewFieldIncident, ObservationKind, Role,
    TemplateRef,
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

impl DeviceInfo {
    pub(crate) fn of(store: &Store) -> Self {
        let identity = store.identity();
        DeviceInfo {
            device_id: identity.device_id.to_string(),
            public_key_hex: hex::encode(identity.public_key()),
            role: identity.role,
            team: identity.team.clone(),
            hub_url: identity.hub_url.clone(),
            enrolled: identity.is_enrolled(),
        }
    }
}

/// How far this device's clock is from the hub's, as measured by the last sync.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ClockStatus {
    /// Hub time − device time.
    pub offset_ms: i64,
    /// The difference is large enough that record times should be shown as doubtful.
    pub skewed: bool,
}

/// The encrypted store on this phone: incidents, on-scene records, checklists, sync.
/// Open one per database file and share it; every method is thread-safe. Methods that
/// touch the disk or the network block: call them off the main thread.
#[derive(uniffi::Object)]
pub struct FieldStore {
    /// `None` once wiped. Calls share the read lock (the core store is itself safe
    /// across threads); only `wipe` takes the write lock.
    store: RwLock<Option<Store>>,
    observers: Arc<ObserverHub>,
}

impl FieldStore {
    /// Runs one exported call on the open store, inside the panic barrier.
    pub(crate) fn call<T>(
        &self,
        name: &'static str,
        body: impl FnOnce(&Store) -> Result<T>,
    ) -> Result<T> {
        ffi_call(name, || {
            // Only a panic during `wipe` can poison the lock, and wipe leaves `None`
            // or the intact store behind: the value is usable either way.
            let guard = self.store.read().unwrap_or_else(|p| p.into_inner());
            let store = guard.as_ref().ok_or_else(|| TestigoError::Closed {
                reason: "this store was wiped".into(),
            })?;
            body(store)
        })
    }
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
            let store = Store::open(&path, &key)?;
            let observers = Arc::new(ObserverHub::default());
            store.add_observer(observers.clone());
            Ok(Arc::new(Self {
                store: RwLock::new(Some(store)),
                observers,
            }))
        })
    }

    /// Blocking: call off the main thread.
    pub fn device(&self) -> Result<DeviceInfo> {
        self.call("FieldStore.device", |store| Ok(DeviceInfo::of(store)))
    }

    /// Calls `observer` after every change to incidents on this device (local writes
    /// and merges from sync) until the returned registration is cancelled.
    pub fn observe(
        &self,
        observer: Arc<dyn IncidentObserver>,
    ) -> Result<Arc<ObserverRegistration>> {
        ffi_call("FieldStore.observe", || {
            Ok(self.observers.register(observer))
        })
    }

    /// Opens an incident seen in the field; this device creates its document, once.
    /// Returns the new incident's id.
    ///
    /// Blocking: call off the main thread.
    pub fn create_incident(&self, incident: NewFieldIncident) -> Result<String> {
        self.call("FieldStore.create_incident", |store| {
            Ok(store.create_incident(incident.into_core()?)?.to_string())
        })
    }

    /// Everything known about one incident.
    ///
    /// Blocking: call off the main thread.
    pub fn incident(&self, incident_id: String) -> Result<IncidentView> {
        self.call("FieldStore.incident", |store| {
            Ok(store.view(&parse_incident_id(&incident_id)?)?.into())
        })
    }

    /// List rows, newest change first, read from the index (no document is opened).
    ///
    /// Blocking: call off the main thread.
    pub fn list(&self, query: ListQuery) -> Result<Vec<IncidentSummary>> {
        self.call("FieldStore.list", |store| {
            Ok(store
                .list(&query.into())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// How many incidents this device holds.
    ///
    /// Blocking: call off the main thread.
    pub fn incident_count(&self) -> Result<u64> {
        self.call("FieldStore.incident_count", |store| {
            Ok(store.incident_count()?)
        })
    }

    /// Records arrival on scene with the fix at that moment; the distance to the
    /// reported place is computed when the report has a point.
    ///
    /// Blocking: call off the main thread.
    pub fn check_in(&self, incident_id: String, fix: LocationFix) -> Result<Checkpoint> {
        self.call("FieldStore.check_in", |store| {
            Ok(store
                .check_in(&parse_incident_id(&incident_id)?, fix.into_core()?)?
                .into())
        })
    }

    /// Records leaving the scene.
    ///
    /// Blocking: call off the main thread.
    pub fn check_out(&self, incident_id: String, fix: LocationFix) -> Result<Checkpoint> {
        self.call("FieldStore.check_out", |store| {
            Ok(store
                .check_out(&parse_incident_id(&incident_id)?, fix.into_core()?)?
                .into())
        })
    }

    /// Records this device's answer to a checklist question, replacing only its own
    /// earlier answer; other people's answers stay.
    ///
    /// Blocking: call off the main thread.
    pub fn answer(
        &self,
        incident_id: String,
        question_id: String,
        value: AnswerValue,
    ) -> Result<()> {
        self.call("FieldStore.answer", |store| {
            Ok(store.answer(
                &parse_incident_id(&incident_id)?,
                &question_id,
                value.into_core()?,
            )?)
        })
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
        self.call("FieldStore.add_observation", |store| {
            let fix = fix.map(LocationFix::into_core).transpose()?;
            Ok(store
                .add_observation(&parse_incident_id(&incident_id)?, kind, &text, count, fix)?
                .to_string())
        })
    }

    /// Corrects an observation by appending an amendment; the original stays as it was.
    /// Returns the amendment's id.
    ///
    /// Blocking: call off the main thread.
    pub fn amend_observation(
        &self,
        incident_id: String,
        observation_id: String,
        text: String,
        count: Option<i64>,
    ) -> Result<String> {
        self.call("FieldStore.amend_observation", |store| {
            Ok(store
                .amend_observation(
                    &parse_incident_id(&incident_id)?,
                    &parse_record_id(&observation_id)?,
                    &text,
                    count,
                )?
                .to_string())
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
        self.call("FieldStore.record_event", |store| {
            Ok(store
                .record_event(
                    &parse_incident_id(&incident_id)?,
                    kind,
                    determination,
                    confidence,
                    note,
                )?
                .to_string())
        })
    }

    /// Assigns (or with `active = false` unassigns) a device to an incident. Only
    /// dispatchers, team leads and coordinators may.
    ///
    /// Blocking: call off the main thread.
    pub fn assign(
        &self,
        incident_id: String,
        assignee_device_id: String,
        active: bool,
    ) -> Result<()> {
        self.call("FieldStore.assign", |store| {
            Ok(store.assign(
                &parse_incident_id(&incident_id)?,
                &parse_device_id(&assignee_device_id)?,
                active,
            )?)
        })
    }

    /// The clock offset measured by the last sync.
    ///
    /// Blocking: call off the main thread.
    pub fn clock(&self) -> Result<ClockStatus> {
        self.call("FieldStore.clock", |store| {
            let offset = store.clock_offset()?;
            Ok(ClockStatus {
                offset_ms: offset.millis,
                skewed: offset.is_skewed(),
            })
        })
    }

    /// The device's current time as the store stamps records with it.
    pub fn now(&self) -> Result<SystemTime> {
        self.call("FieldStore.now", |store| {
            Ok(crate::time::to_system(store.now()))
        })
    }

    /// SQLite's own consistency check of the whole database; `Storage` if it fails.
    ///
    /// Blocking (reads every page): call off the main thread.
    pub fn integrity_check(&self) -> Result<()> {
        self.call("FieldStore.integrity_check", |store| {
            Ok(store.integrity_check()?)
        })
    }

    // ----- checklists ------------------------------------------------------------------

    /// Sets the language of checklist texts and of answer-validation messages (`en`,
    /// `es`, `es-MX`…; a language a template lacks falls back to English).
    pub fn set_locale(&self, locale: String) -> Result<()> {
        self.call("FieldStore.set_locale", |store| {
            store.set_locale(&locale);
            Ok(())
        })
    }

    pub fn locale(&self) -> Result<String> {
        self.call("FieldStore.locale", |store| Ok(store.locale()))
    }

    /// This device's checklist for the incident, in `locale` (default: the store's):
    /// visible questions with their answers, progress, the next question to answer and
    /// the suggested determination. `NotFound` if the incident has no checklist.
    ///
    /// Blocking: call off the main thread.
    pub fn checklist(&self, incident_id: String, locale: Option<String>) -> Result<Checklist> {
        self.call("FieldStore.checklist", |store| {
            let view = store.view(&parse_incident_id(&incident_id)?)?;
            let reference = checklist::template_of(&view)?;
            let locale = locale.unwrap_or_else(|| store.locale());
            let me = store.device_id();
            store.with_templates(|registry| {
                checklist::checklist(registry, &reference, &view.answers, &me, &locale)
            })
        })
    }

    /// Every verifier's answers side by side, with the questions they disagree on: the
    /// team lead's review screen.
    ///
    /// Blocking: call off the main thread.
    pub fn combined_checklist(
        &self,
        incident_id: String,
        locale: Option<String>,
    ) -> Result<CombinedChecklist> {
        self.call("FieldStore.combined_checklist", |store| {
            let view = store.view(&parse_incident_id(&incident_id)?)?;
            let reference = checklist::template_of(&view)?;
            let locale = locale.unwrap_or_else(|| store.locale());
            store.with_templates(|registry| {
                checklist::combined(registry, &reference, &view.answers, &locale)
            })
        })
    }

    /// Checks an answer against the incident's checklist without writing it (e.g. as
    /// the volunteer types): `InvalidInput` whose `field` is the question id and whose
    /// `reason` is the template's message in the store's locale. `answer` runs the
    /// same check before writing.
    ///
    /// Blocking: call off the main thread.
    pub fn check_answer(
        &self,
        incident_id: String,
        question_id: String,
        value: AnswerValue,
    ) -> Result<()> {
        self.call("FieldStore.check_answer", |store| {
            let view = store.view(&parse_incident_id(&incident_id)?)?;
            let reference = checklist::template_of(&view)?;
            let value = value.into_core()?;
            let locale = store.locale();
            store.with_templates(|registry| {
                Ok(validate_answer(
                    registry.resolve(&reference)?,
                    &question_id,
                    &value,
                    &locale,
                )?)
            })
        })
    }

    /// The newest version of a checklist this device knows, to start a new incident
    /// with (`NewFieldIncident.template`).
    pub fn latest_template(
        &self,
        template_id: String,
        locale: Option<String>,
    ) -> Result<TemplateInfo> {
        self.call("FieldStore.latest_template", |store| {
            let locale = locale.unwrap_or_else(|| store.locale());
            store.with_templates(|registry| {
                Ok(checklist::template_info(
                    registry.latest(&template_id)?,
                    &locale,
                ))
            })
        })
    }

    /// Makes a checklist version known to this device. The template is checked first
    /// (`InvalidTemplate` lists every problem); a version already known with other
    /// content is `NotPermitted`, since incidents started on it must keep it.
    pub fn publish_template(&self, json: String) -> Result<TemplateRef> {
        self.call("FieldStore.publish_template", |store| {
            Ok(store
                .publish_template(CheckedTemplate::from_json(&json)?)?
                .into())
        })
    }

    // ----- leaving the phone -----------------------------------------------------------

    /// Removes closed incidents past the retention window whose changes the hub holds.
    /// Returns the ids removed; observers are told.
    ///
    /// Blocking: call off the main thread.
    pub fn apply_retention(&self) -> Result<Vec<String>> {
        self.call("FieldStore.apply_retention", |store| {
            Ok(store
                .apply_retention()?
                .iter()
                .map(ToString::to_string)
                .collect())
        })
    }

    /// Destroys this store: the device identity, every document, every file. Every
    /// later call on this object fails with `Closed`. The platform must also delete
    /// the database key from its keystore (the wrappers do).
    ///
    /// Blocking: waits for calls in progress, then deletes; call off the main thread.
    pub fn wipe(&self) -> Result<()> {
        ffi_call("FieldStore.wipe", || {
            let mut guard = self.store.write().unwrap_or_else(|p| p.into_inner());
            match guard.take() {
                Some(store) => Ok(store.wipe()?),
                None => Ok(()),
            }
        })
    }
}

/// Deletes every file of the store at `path` without opening it: for a phone whose
/// database key is gone (keystore reset), where the store can no longer be opened.
/// Close every `FieldStore` on that path first.
///
/// Blocking: call off the main thread.
#[uniffi::export]
pub fn wipe_store_files(path: String) -> Result<()> {
    ffi_call("wipe_store_files", || {
        Ok(testigo_core::store::wipe_files(std::path::Path::new(
            &path,
        ))?)
    })
}
