//! The encrypted device store: documents, the list index, identity and sync
//! bookkeeping in one SQLCipher database.
//!
//! Every user action is one SQLite transaction that appends the new automerge change
//! and rewrites the incident's index row; when a call returns `Ok`, the record is on
//! disk. Calls block on disk I/O: platforms call them off the main thread.

mod attachments;
mod compaction;
mod connection;
mod documents;
mod fault;
mod flush;
mod identity;
mod index;
mod observer;
mod own_changes;
mod retention;
mod schema;
mod signatures;
mod sync_support;
mod templates;
mod wipe;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use automerge::Automerge;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction};

pub use connection::KEY_LEN;
#[doc(hidden)]
pub use fault::StorageFault;
pub use identity::DeviceIdentity;
pub use index::{IndexedIncident, ListQuery};
pub use observer::IncidentObserver;
pub use retention::DEFAULT_WINDOW as DEFAULT_RETENTION;
pub use schema::DeviceSchema;
pub use wipe::{attachments_dir, store_files, wipe_files};

use crate::checklist::{validate_answer, AnswerValue, CheckedTemplate, Registry};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, IncidentId, RecordId};
use crate::incident::{AttachmentRecord, PreviewRecord};
use crate::incident::{
    Author, Checkpoint, CheckpointKind, Confidence, Determination, EventKind, IncidentDoc,
    IncidentView, NewIncident, ObservationKind, Role,
};
use crate::location::LocationFix;
use crate::media::{self, sealed::SealedReader, CapturedFile, MediaError, MediaInput, StoredMedia};
use crate::rules::changes::{merge_checked, Writer};
use crate::sqlite;
use crate::time::{Clock, ClockOffset, SystemClock};

/// The setting that holds the hub's retention window, in hours.
pub const RETENTION_HOURS: &str = "retention_hours";

/// The largest attachment a device takes unless the hub says otherwise: 2 GiB, about
/// half an hour of phone video.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What [`Store::merge_received`] did with bytes from outside.
#[derive(Debug, Default)]
pub struct Received {
    /// Something new was merged and saved.
    pub changed: bool,
    /// Changes left out because they break the incident's rules, with the reason.
    pub refused: Vec<(automerge::ChangeHash, String)>,
}

/// Where bytes being merged come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A peer or the hub: a change in this device's name refuses the merge.
    Outside,
    /// Built in this process as this device ([`Store::adopt_own_document`]): its
    /// changes are recorded as made here.
    ThisProcess,
}

/// Documents kept decoded in memory, so a volunteer adding observations to the
/// incident in front of them does not re-read it from disk each time.
const CACHE_CAPACITY: usize = 32;

pub struct Store {
    /// Shared with the compaction thread, which writes its folds through it.
    inner: Arc<Mutex<Inner>>,
    /// Checklist versions this device knows; answers are checked against the exact
    /// version each incident started with.
    templates: std::sync::RwLock<Registry>,
    /// Language of checklist messages in errors (`en`, `es`…).
    locale: std::sync::RwLock<String>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    doc_loads: AtomicU64,
    observers: Mutex<Vec<Arc<dyn IncidentObserver>>>,
    /// Folds saved changes into snapshots on a thread of its own (never inside an action).
    compactor: compaction::Compactor,
    /// A query-only connection for the list screens, opened by the background thread
    /// ([`Store::read_index`]).
    list_reader: Arc<OnceLock<Mutex<Connection>>>,
}

struct Inner {
    conn: Connection,
    identity: DeviceIdentity,
    cache: HashMap<IncidentId, Automerge>,
}

/// How an action changes the incident's row in the list index. Re-reading the whole
/// document is exact but grows with the incident (it was half of an observation's
/// capture time on a long one); the commonest action, recording an observation, touches
/// only two columns of the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexChange {
    /// Re-read the document and rewrite the row.
    Reread,
    /// One observation (an amendment is one too) added at the action's time: status,
    /// answers, distance and problems do not depend on observations.
    ObservationAdded,
}

impl Store {
    /// Opens or creates the store at `path` with the 32-byte key from the platform
    /// keystore. A wrong key gives [`Error::WrongKey`]; no key, [`Error::MissingKey`].
    pub fn open(path: impl AsRef<Path>, key: &[u8]) -> Result<Self> {
        Self::open_with_clock(path, key, Arc::new(SystemClock))
    }

    pub fn open_with_clock(
        path: impl AsRef<Path>,
        key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut conn = connection::open_encrypted(&path, key)?;
        sqlite::migrations::upgrade::<schema::DeviceSchema>(&mut conn)?;
        let identity = identity::load_or_create(&conn)?;
        let mut registry = Registry::with_default()?;
        templates::load_into(&conn, &mut registry)?;
        attachments::sweep_orphans(&conn, &wipe::attachments_dir(&path))?;
        let inner = Arc::new(Mutex::new(Inner {
            conn,
            identity,
            cache: HashMap::new(),
        }));
        let writer: Arc<dyn compaction::FoldWriter> = inner.clone();
        let list_reader = Arc::new(OnceLock::new());
        let compactor = compaction::Compactor::start(
            &path,
            key,
            Arc::downgrade(&writer),
            Arc::clone(&list_reader),
        )?;
        compactor
            .flush_after_each_commit(&mut inner.lock().unwrap_or_else(|p| p.into_inner()).conn)?;
        Ok(Self {
            inner,
            templates: std::sync::RwLock::new(registry),
            locale: std::sync::RwLock::new(crate::checklist::FALLBACK_LOCALE.to_owned()),
            path,
            clock,
            doc_loads: AtomicU64::new(0),
            observers: Mutex::new(Vec::new()),
            compactor,
            list_reader,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn identity(&self) -> DeviceIdentity {
        self.lock().identity.clone()
    }

    pub fn device_id(&self) -> DeviceId {
        self.lock().identity.device_id.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// How many documents have been decoded from disk since the store was opened.
    /// List screens must not move it.
    pub fn document_loads(&self) -> u64 {
        self.doc_loads.load(Ordering::Relaxed)
    }

    pub fn add_observer(&self, observer: Arc<dyn IncidentObserver>) {
        self.observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(observer);
    }

    /// Records what the hub said when this device enrolled.
    pub fn save_enrolment(
        &self,
        role: Role,
        team: Option<&str>,
        hub_url: &str,
        credential: &str,
    ) -> Result<()> {
        let now = self.now().timestamp_millis();
        let mut inner = self.lock();
        identity::save_enrolment(&inner.conn, role, team, hub_url, credential, now)?;
        inner.identity = identity::load_or_create(&inner.conn)?;
        Ok(())
    }

    // ----- incidents -------------------------------------------------------------

    /// Opens a field-initiated incident: this device creates its document, once.
    pub fn create_incident(&self, new: NewIncident) -> Result<IncidentId> {
        let id = IncidentId::generate();
        let now = self.now();
        self.write(&id, |write| {
            let doc =
                IncidentDoc::create(&id, &write.identity.author(), new, now)?.into_automerge();
            let view = crate::incident::read_view(&doc)?;
            documents::put_snapshot(write.tx, &id, &doc)?;
            signatures::sign_new_changes(write.tx, write.identity, &id, &doc, &[])?;
            index::upsert(write.tx, &view, &write.identity.device_id, true)?;
            write.keep(doc);
            write.changed();
            Ok(())
        })?;
        Ok(id)
    }

    pub fn view(&self, id: &IncidentId) -> Result<IncidentView> {
        let mut inner = self.lock();
        let doc = self.cached(&mut inner, id)?;
        crate::incident::read_view(doc)
    }

    pub fn list(&self, query: &ListQuery) -> Result<Vec<IndexedIncident>> {
        self.read_index(|conn| index::list(conn, query))
    }

    /// One incident's list row (no document is opened), if this device holds it.
    pub fn summary(&self, id: &IncidentId) -> Result<Option<IndexedIncident>> {
        self.read_index(|conn| index::one(conn, id))
    }

    pub fn incident_count(&self) -> Result<u64> {
        self.read_index(index::count)
    }

    /// Runs a read of the list index on the list reader, so a long write (a sync
    /// merging many incidents) never holds up the list screen: WAL lets the reader see
    /// the last committed state meanwhile, and every write commits before it returns,
    /// so what an action just saved is always there. Until the background thread has
    /// opened the reader (moments after the store opens), the store's own connection
    /// serves.
    fn read_index<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match self.list_reader.get() {
            Some(reader) => read(&reader.lock().unwrap_or_else(|p| p.into_inner())),
            None => read(&self.lock().conn),
        }
    }

    /// Runs one user action on an incident as this device, in one transaction.
    pub fn update<T>(
        &self,
        id: &IncidentId,
        action: impl FnOnce(&mut IncidentDoc, &Author, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        self.update_indexed(id, IndexChange::Reread, action)
    }

    /// [`Store::update`], telling how the action changes the incident's list row.
    fn update_indexed<T>(
        &self,
        id: &IncidentId,
        index_change: IndexChange,
        action: impl FnOnce(&mut IncidentDoc, &Author, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        self.update_with(id, index_change, action, |_, _| Ok(()))
    }

    /// [`Store::update_indexed`], also writing `rows` (given the action's result) in
    /// the same transaction as the change.
    fn update_with<T>(
        &self,
        id: &IncidentId,
        index_change: IndexChange,
        action: impl FnOnce(&mut IncidentDoc, &Author, DateTime<Utc>) -> Result<T>,
        rows: impl FnOnce(&Transaction<'_>, &T) -> Result<()>,
    ) -> Result<T> {
        let now = self.now();
        self.write(id, |write| {
            let author = write.identity.author();
            let mut doc = IncidentDoc::from_automerge(write.document()?);
            let before = doc.automerge().get_heads();
            let value = action(&mut doc, &author, now)?;
            write.fold_due(documents::append_changes(
                write.tx,
                id,
                doc.automerge(),
                &before,
            )?);
            signatures::sign_new_changes(write.tx, write.identity, id, doc.automerge(), &before)?;
            let row_updated = match index_change {
                IndexChange::Reread => false,
                IndexChange::ObservationAdded => index::observation_added(write.tx, id, now)?,
            };
            if !row_updated {
                index::upsert(write.tx, &doc.view()?, &write.identity.device_id, true)?;
            }
            rows(write.tx, &value)?;
            write.keep(doc.into_automerge());
            write.changed();
            Ok(value)
        })
    }

    /// Checks in on scene: the checkpoint record (with the distance to the reported
    /// place) and, in the same transaction, this device's answer to the checklist's
    /// arrival question, so every front end gets both from one action.
    pub fn check_in(&self, id: &IncidentId, fix: LocationFix) -> Result<Checkpoint> {
        self.checkpoint(id, CheckpointKind::CheckIn, fix)
    }

    /// Checks out: the checkpoint record and the answer to the departure question.
    pub fn check_out(&self, id: &IncidentId, fix: LocationFix) -> Result<Checkpoint> {
        self.checkpoint(id, CheckpointKind::CheckOut, fix)
    }

    fn checkpoint(
        &self,
        id: &IncidentId,
        kind: CheckpointKind,
        fix: LocationFix,
    ) -> Result<Checkpoint> {
        let templates = self.templates.read().unwrap_or_else(|p| p.into_inner());
        self.update(id, |doc, author, now| {
            let checkpoint = doc.checkpoint(author, kind, fix.clone(), now)?;
            // An incident whose checklist this device does not know still gets its
            // checkpoint record; the answer waits for nothing.
            let question = doc
                .template()?
                .and_then(|reference| templates.resolve(&reference).ok())
                .and_then(|template| template.checkpoint_question(kind))
                .map(|question| question.id.clone());
            if let Some(question) = question {
                let already = doc
                    .view()?
                    .answers_to(&question)
                    .is_some_and(|a| a.by_author.iter().any(|a| a.by == author.device));
                // The first arrival is the arrival; a second check-in (back on scene
                // after a break) is a checkpoint record of its own.
                if kind == CheckpointKind::CheckOut || !already {
                    let value = AnswerValue::Checkpoint {
                        at: now,
                        fix: Some(fix),
                    };
                    doc.answer(author, &question, value, now)?;
                }
            }
            Ok(checkpoint)
        })
    }

    /// Answers a checklist question. The answer is checked against the question in the
    /// template version the incident started with: a wrong type, a choice not in the
    /// list or a count out of bounds is refused with the template's message in the
    /// store's locale, and nothing is written.
    pub fn answer(&self, id: &IncidentId, question_id: &str, value: AnswerValue) -> Result<()> {
        let locale = self.locale();
        let templates = self.templates.read().unwrap_or_else(|p| p.into_inner());
        self.update(id, |doc, author, now| {
            if let Some(reference) = doc.template()? {
                validate_answer(templates.resolve(&reference)?, question_id, &value, &locale)?;
            }
            doc.answer(author, question_id, value, now)
        })
    }

    /// Makes a checklist version known to this device (e.g. received from the hub) and
    /// keeps it in the store. The template is checked again here whatever checked it
    /// before ([`CheckedTemplate`] is the proof); a version already known with other
    /// content is refused and nothing changes.
    pub fn publish_template(
        &self,
        template: CheckedTemplate,
    ) -> Result<crate::incident::TemplateRef> {
        let mut registry = self.templates.write().unwrap_or_else(|p| p.into_inner());
        // Refused here before anything is saved: the registry owns the "a published
        // version never changes" rule.
        let mut trial = registry.clone();
        let reference = trial.publish(template.clone())?;
        templates::save(&self.lock().conn, &template)?;
        *registry = trial;
        Ok(reference)
    }

    /// The checklist a new incident opens with: the version the hub published most
    /// recently, or the one that ships with Testigo.
    pub fn current_template(&self) -> Result<crate::incident::TemplateRef> {
        if let Some(newest) = templates::newest(&self.lock().conn)? {
            if self.with_templates(|r| r.resolve(&newest).is_ok()) {
                return Ok(newest);
            }
        }
        self.with_templates(|r| {
            r.latest(crate::checklist::DEFAULT_TEMPLATE_ID)
                .map(|t| t.template_ref())
        })
    }

    /// Runs `f` with the checklist versions this device knows.
    pub fn with_templates<T>(&self, f: impl FnOnce(&Registry) -> T) -> T {
        f(&self.templates.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Sets the language of checklist messages (`en`, `es`; others fall back to `en`).
    pub fn set_locale(&self, locale: &str) {
        *self.locale.write().unwrap_or_else(|p| p.into_inner()) = locale.to_owned();
    }

    pub fn locale(&self) -> String {
        self.locale
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn add_observation(
        &self,
        id: &IncidentId,
        kind: ObservationKind,
        text: &str,
        count: Option<i64>,
        fix: Option<LocationFix>,
    ) -> Result<RecordId> {
        self.update_indexed(id, IndexChange::ObservationAdded, |doc, author, now| {
            doc.add_observation(author, kind, text, count, fix, now)
        })
    }

    /// Records an observation with photos, video or audio, in one durable action.
    ///
    /// Each file is streamed (never whole in memory) into the encrypted attachment
    /// area while its SHA-256 is computed; then the observation, carrying an
    /// [`AttachmentRecord`](crate::incident::AttachmentRecord) per file, is signed and
    /// saved with the files' rows in one transaction. A file that is gone, empty, of
    /// an unknown type or over `max_attachment_bytes`, or a full device, is a typed
    /// error and nothing — observation or file — is kept. The app deletes its own
    /// capture files after `Ok`; the core never leaves a plaintext copy.
    pub fn add_observation_with_media(
        &self,
        id: &IncidentId,
        kind: ObservationKind,
        text: &str,
        count: Option<i64>,
        fix: Option<LocationFix>,
        media: &[MediaInput],
    ) -> Result<RecordId> {
        let dir = wipe::attachments_dir(&self.path);
        let max = self.max_attachment_bytes()?;
        let device = self.device_id();
        // Sealing runs without the store's lock: a long video must not stop the
        // volunteer's other screens.
        let mut captured: Vec<(CapturedFile, Option<CapturedFile>)> = Vec::new();
        let mut taken = || -> Result<()> {
            for input in media {
                let original = media::capture::capture(&dir, &input.path, &input.mime, max)?;
                captured.push((original, None));
                if let Some(preview) = &input.preview {
                    let mime = preview_mime(preview)?;
                    let file = media::capture::capture(&dir, preview, mime, max)?;
                    if let Some(last) = captured.last_mut() {
                        last.1 = Some(file);
                    }
                }
            }
            Ok(())
        };
        let outcome = taken();
        if let Err(e) = outcome {
            discard_all(captured);
            return Err(e);
        }
        let records: Vec<AttachmentRecord> = media
            .iter()
            .zip(&captured)
            .map(|(input, (original, preview))| AttachmentRecord {
                kind: original.kind,
                mime: original.mime.clone(),
                sha256: original.sealed.sha256.clone(),
                size: original.sealed.size,
                captured_at: input.captured_at,
                fix: input.fix.clone(),
                preview: preview.as_ref().map(|p| PreviewRecord {
                    mime: p.mime.clone(),
                    sha256: p.sealed.sha256.clone(),
                    size: p.sealed.size,
                }),
                by: device.clone(),
            })
            .collect();
        let now_ms = self.now().timestamp_millis();
        let mut duplicates: Vec<String> = Vec::new();
        let saved = self.update_with(
            id,
            IndexChange::ObservationAdded,
            |doc, author, now| {
                doc.add_observation_with_attachments(author, kind, text, count, fix, records, now)
            },
            |tx, record| {
                for (original, preview) in &captured {
                    for (file, is_preview) in
                        std::iter::once((original, false)).chain(preview.iter().map(|p| (p, true)))
                    {
                        if !attachments::insert(tx, id, record, file, is_preview, now_ms)? {
                            duplicates.push(file.file_name.clone());
                        }
                    }
                }
                Ok(())
            },
        );
        match saved {
            Ok(record) => {
                attachments::delete_files(&dir, &duplicates);
                Ok(record)
            }
            Err(e) => {
                discard_all(captured);
                Err(e)
            }
        }
    }

    /// Every attachment file of an incident this device holds, with its upload state.
    pub fn attachments(&self, id: &IncidentId) -> Result<Vec<StoredMedia>> {
        attachments::for_incident(&self.lock().conn, id)
    }

    /// Files the hub does not hold yet, previews first.
    pub fn pending_uploads(&self) -> Result<Vec<StoredMedia>> {
        attachments::pending(&self.lock().conn)
    }

    /// Reads an attachment's original bytes (decrypted as they are read, one segment
    /// in memory). Reading to the end checks that the file was not cut or altered.
    pub fn open_attachment(&self, id: &IncidentId, sha256: &str) -> Result<SealedReader> {
        let file = attachments::file_ref(&self.lock().conn, id, sha256)?;
        let path = wipe::attachments_dir(&self.path).join(&file.file);
        SealedReader::open(&path, &file.key).map_err(|e| damaged(sha256, e))
    }

    /// Writes an attachment's original bytes to `dst` (an evidence export) and checks
    /// them against the hash they were recorded with.
    pub fn export_attachment(
        &self,
        id: &IncidentId,
        sha256: &str,
        dst: &mut impl std::io::Write,
    ) -> Result<u64> {
        let file = attachments::file_ref(&self.lock().conn, id, sha256)?;
        let path = wipe::attachments_dir(&self.path).join(&file.file);
        let sealed =
            media::sealed::unseal(&path, &file.key, dst).map_err(|e| damaged(sha256, e))?;
        if sealed.sha256 != sha256 {
            return Err(MediaError::Damaged {
                sha256: sha256.to_owned(),
                reason: format!("its bytes hash to {}", sealed.sha256),
            }
            .into());
        }
        Ok(sealed.size)
    }

    /// Writes a copy of a photo for sharing outside the hotline, without its location,
    /// device and time metadata ([`media::strip_metadata`]); the stored original is
    /// untouched. Video and audio are refused (see `media::share` for why).
    pub fn export_for_sharing(
        &self,
        id: &IncidentId,
        sha256: &str,
        dst: &mut impl std::io::Write,
    ) -> Result<u64> {
        let mime = self
            .attachments(id)?
            .into_iter()
            .find(|m| m.sha256 == sha256)
            .map(|m| m.mime)
            .ok_or_else(|| Error::not_found(format!("attachment {sha256} of incident {id}")))?;
        // Checked first: a video must not be decrypted into memory only to be refused.
        media::check_strippable(&mime)?;
        let mut original = Vec::new();
        self.export_attachment(id, sha256, &mut original)?;
        media::strip_metadata(&mut original.as_slice(), &mime, dst)
    }

    /// Records how much of a file the hub acknowledged.
    pub fn set_upload_progress(
        &self,
        id: &IncidentId,
        sha256: &str,
        acked_bytes: u64,
        uploaded: bool,
    ) -> Result<()> {
        attachments::set_progress(&self.lock().conn, id, sha256, acked_bytes, uploaded)
    }

    /// The largest file accepted as an attachment (setting `max_attachment_bytes`,
    /// which the hub may lower; [`DEFAULT_MAX_ATTACHMENT_BYTES`] otherwise).
    pub fn max_attachment_bytes(&self) -> Result<u64> {
        Ok(self
            .setting("max_attachment_bytes")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_ATTACHMENT_BYTES))
    }

    pub fn amend_observation(
        &self,
        id: &IncidentId,
        original: &RecordId,
        text: &str,
        count: Option<i64>,
    ) -> Result<RecordId> {
        self.update_indexed(id, IndexChange::ObservationAdded, |doc, author, now| {
            doc.amend_observation(author, original, text, count, now)
        })
    }

    pub fn record_event(
        &self,
        id: &IncidentId,
        kind: EventKind,
        determination: Option<Determination>,
        confidence: Option<Confidence>,
        note: Option<String>,
    ) -> Result<RecordId> {
        self.update(id, |doc, author, now| {
            doc.add_event(author, kind, determination, confidence, note, now)
        })
    }

    pub fn assign(&self, id: &IncidentId, assignee: &DeviceId, active: bool) -> Result<()> {
        self.update(id, |doc, author, now| {
            doc.assign(author, assignee, active, now)
        })
    }

    // ----- documents from elsewhere (sync) ------------------------------------------

    /// Takes in a document that this process built as this device outside the store
    /// (with `IncidentDoc` and this device's author): its changes by this device are
    /// recorded as made here, signed, then the document is merged. For seeding a store
    /// with work made in memory (benchmarks, import tools); bytes from anywhere else go
    /// through [`Store::merge_remote`], which refuses changes in this device's name.
    pub fn adopt_own_document(&self, id: &IncidentId, doc: &Automerge) -> Result<bool> {
        Ok(self
            .merge_checked_in(id, &doc.save(), Origin::ThisProcess)?
            .changed)
    }

    /// Merges automerge bytes (a whole document or concatenated changes) received for
    /// incident `id`. New incidents are stored only if the bytes really are incident
    /// `id`. Returns whether anything changed; changes refused by the rules are left out
    /// (see [`Store::merge_received`]).
    pub fn merge_remote(&self, id: &IncidentId, bytes: &[u8]) -> Result<bool> {
        Ok(self.merge_received(id, bytes)?.changed)
    }

    /// [`Store::merge_remote`], saying which changes were refused. Every change is
    /// checked by its ops against the document before it is merged
    /// ([`crate::rules::changes`]), so a compromised hub or a relayed change cannot
    /// plant what the hub itself would refuse (an op counter at the top of automerge's
    /// range, a replaced collection, a deletion); the valid changes still land.
    pub fn merge_received(&self, id: &IncidentId, bytes: &[u8]) -> Result<Received> {
        self.merge_checked_in(id, bytes, Origin::Outside)
    }

    fn merge_checked_in(&self, id: &IncidentId, bytes: &[u8], origin: Origin) -> Result<Received> {
        let incoming = crate::incident::untrusted::changes_in(bytes)
            .map_err(|e| Error::corrupt(format!("incoming changes for {id}"), e))?;
        self.write(id, |write| {
            let me = write.identity.device_id.clone();
            let known = write.exists()?;
            let mut doc = if known {
                write.document()?
            } else {
                Automerge::new()
            };
            let before = doc.get_heads();
            // On error the half-merged `doc` is dropped; the next read reloads from disk.
            let merged = merge_checked(&mut doc, id, incoming, |_| Writer::Peer)
                .map_err(|e| Error::corrupt(format!("incoming changes for {id}"), e.to_string()))?;
            for (hash, reason) in &merged.refused {
                tracing::warn!(incident = %id, change = %hash, %reason, "received change refused");
            }
            let refused = merged.refused;
            // Checked after the rules, before anything is saved: a change in this
            // device's name that it never made fails the whole merge, so no later
            // history signature of this device can ever cover it.
            if origin == Origin::Outside {
                own_changes::refuse_forged_own_changes(write.tx, &me, id, &doc, &before)?;
            }
            if doc.get_heads() == before {
                if known {
                    write.keep(doc);
                }
                return Ok(Received {
                    changed: false,
                    refused,
                });
            }
            let incoming = IncidentDoc::from_automerge(doc);
            if incoming.id()? != *id {
                return Err(Error::corrupt(
                    "/id",
                    format!("document sent as {id} is another incident"),
                ));
            }
            let view = incoming.view()?;
            let doc = incoming.into_automerge();
            if known {
                write.fold_due(documents::append_changes(write.tx, id, &doc, &before)?);
            } else {
                documents::put_snapshot(write.tx, id, &doc)?;
            }
            // Only work built here is signed here, recorded as made here in the
            // transaction that saves it, once the document's row exists for it.
            if origin == Origin::ThisProcess {
                signatures::sign_new_changes(write.tx, write.identity, id, &doc, &before)?;
            }
            index::upsert(write.tx, &view, &me, false)?;
            write.keep(doc);
            write.changed();
            Ok(Received {
                changed: true,
                refused,
            })
        })
    }

    /// Runs `f` on the stored document without changing it (sync reads changes and
    /// heads this way).
    pub fn with_document<T>(
        &self,
        id: &IncidentId,
        f: impl FnOnce(&Automerge) -> Result<T>,
    ) -> Result<T> {
        let mut inner = self.lock();
        let doc = self.cached(&mut inner, id)?;
        f(doc)
    }

    /// This device's signatures over its own changes to incident `id`.
    pub fn change_signatures(
        &self,
        id: &IncidentId,
    ) -> Result<std::collections::HashMap<automerge::ChangeHash, [u8; 64]>> {
        signatures::for_incident(&self.lock().conn, id)
    }

    /// Every incident id held, in index order.
    pub fn incident_ids(&self) -> Result<Vec<IncidentId>> {
        let inner = self.lock();
        let mut stmt = inner
            .conn
            .prepare("SELECT incident_id FROM documents ORDER BY incident_id")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok())
            .filter_map(|s| IncidentId::parse(&s).ok())
            .collect();
        Ok(ids)
    }

    /// Removes an incident from this device (unassigned, or past retention), with
    /// its attachment files.
    pub fn remove_incident(&self, id: &IncidentId) -> Result<()> {
        let files = self.write(id, |write| {
            let files = attachments::files_of(write.tx, id)?;
            // The rows go with the document (ON DELETE CASCADE).
            documents::delete(write.tx, id)?;
            write.changed();
            Ok(files)
        })?;
        // The files after the commit, so a failed delete never leaves rows naming
        // missing files.
        attachments::delete_files(&wipe::attachments_dir(&self.path), &files);
        Ok(())
    }

    // ----- leaving the phone -----------------------------------------------------------

    /// Removes closed incidents whose retention window has passed and whose changes
    /// the hub has acknowledged. The window comes from the hub with every sync
    /// (setting `retention_hours`; 72 hours until the first sync) and counts from the
    /// hub's closing time, compared with this device's clock corrected by the measured
    /// offset. Returns what was removed.
    pub fn apply_retention(&self) -> Result<Vec<IncidentId>> {
        let window = self
            .setting(RETENTION_HOURS)?
            .and_then(|h| h.parse::<i64>().ok())
            .filter(|h| *h >= 0)
            .map(chrono::Duration::hours)
            .unwrap_or(retention::DEFAULT_WINDOW);
        let hub_now = self.now() + chrono::Duration::milliseconds(self.clock_offset()?.millis);
        let expired = retention::expired(&self.lock().conn, hub_now, window)?;
        for id in &expired {
            self.remove_incident(id)?;
        }
        retention::forget_quarantine(&self.lock().conn, &expired, self.now() - window)?;
        Ok(expired)
    }

    /// Destroys this store: the device key, every document and every file. The
    /// platform must also delete the database key from its keystore.
    pub fn wipe(self) -> Result<()> {
        let Store {
            inner,
            path,
            compactor,
            list_reader,
            ..
        } = self;
        // The fold thread stops first (a fold in progress finishes or rolls back); it
        // held the only other handle on `inner`, and only while writing.
        drop(compactor);
        drop(list_reader);
        let inner = Arc::try_unwrap(inner)
            .map_err(|_| Error::Storage("the store is still in use; close it first".into()))?
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        // secure_delete overwrites the freed pages, so even the key bytes in a WAL
        // frame are zeroed before the files go.
        inner.conn.execute("DELETE FROM identity", [])?;
        inner.conn.close().map_err(|(_, e)| Error::from(e))?;
        wipe::wipe_files(&path)
    }

    /// Records when the hub saw incident `id` closed (hub time, from a sync); retention
    /// counts from it.
    pub fn note_hub_closing(&self, id: &IncidentId, at_ms: i64) -> Result<()> {
        retention::note_hub_closing(&self.lock().conn, id, at_ms)
    }

    // ----- small settings -------------------------------------------------------------

    pub fn clock_offset(&self) -> Result<ClockOffset> {
        Ok(ClockOffset {
            millis: self
                .setting("clock_offset_ms")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        })
    }

    pub fn set_clock_offset(&self, offset: ClockOffset) -> Result<()> {
        self.set_setting("clock_offset_ms", &offset.millis.to_string())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .lock()
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.lock()
            .conn
            .execute("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])?;
        Ok(())
    }

    /// Bytes of all stored documents.
    pub fn stored_document_bytes(&self) -> Result<i64> {
        documents::stored_bytes(&self.lock().conn)
    }

    /// SQLite's own consistency check; `Ok` only if it says "ok".
    pub fn integrity_check(&self) -> Result<()> {
        Ok(sqlite::integrity::check(&self.lock().conn)?)
    }

    /// **Fault injection, for the reliability suite only**: makes this store's
    /// connection behave as a full or read-only device until called with
    /// [`StorageFault::None`]. Hidden from the docs; the app never calls it.
    #[doc(hidden)]
    pub fn inject_storage_fault(&self, fault: StorageFault) -> Result<()> {
        fault::inject(&self.lock().conn, fault)?;
        self.compactor.inject_fault(fault);
        Ok(())
    }

    /// Folds incident `id`'s saved changes into its snapshot now, on this thread, as the
    /// compaction thread would. Returns how many chunks were folded. Hidden from the
    /// docs; tests and benchmarks use it to reach a known state.
    #[doc(hidden)]
    pub fn fold_now(&self, id: &IncidentId) -> Result<usize> {
        Ok(match self.compactor.fold_now(id)? {
            compaction::Folded::Done { chunks } => chunks,
            compaction::Folded::Nothing | compaction::Folded::Stale => 0,
        })
    }

    /// Gives crate code (sync, retention) the connection under the store's lock.
    pub(crate) fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        f(&mut self.lock().conn)
    }

    // ----- internals ---------------------------------------------------------------------

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached<'a>(&self, inner: &'a mut Inner, id: &IncidentId) -> Result<&'a Automerge> {
        if !inner.cache.contains_key(id) {
            let doc = self.load(&inner.conn, id)?;
            inner.remember(id.clone(), doc);
        }
        inner
            .cache
            .get(id)
            .ok_or_else(|| Error::not_found(format!("incident {id}")))
    }

    fn load(&self, conn: &Connection, id: &IncidentId) -> Result<Automerge> {
        self.doc_loads.fetch_add(1, Ordering::Relaxed);
        documents::load(conn, id)?.ok_or_else(|| Error::not_found(format!("incident {id}")))
    }

    fn notify(&self, ids: &[IncidentId]) {
        let observers = self
            .observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for observer in observers {
            observer.incidents_changed(ids);
        }
    }
}

/// The compaction thread's folds are written on the store's one connection, under its
/// lock, in the same order as every action ([`compaction`]).
impl compaction::FoldWriter for Mutex<Inner> {
    fn with_writer(
        &self,
        write: &mut dyn FnMut(&mut Connection) -> Result<compaction::Folded>,
    ) -> Result<compaction::Folded> {
        let mut inner = self.lock().unwrap_or_else(|p| p.into_inner());
        write(&mut inner.conn)
    }
}

impl Inner {
    fn remember(&mut self, id: IncidentId, doc: Automerge) {
        if self.cache.len() >= CACHE_CAPACITY && !self.cache.contains_key(&id) {
            if let Some(evict) = self.cache.keys().next().cloned() {
                self.cache.remove(&evict);
            }
        }
        self.cache.insert(id, doc);
    }
}

/// The type of a preview picture, from its first bytes (the platform makes JPEG or
/// PNG thumbnails).
fn preview_mime(path: &Path) -> Result<&'static str> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| media::capture::io_error(e, &path.display().to_string()))?;
    ["image/jpeg", "image/png"]
        .into_iter()
        .find(|mime| media::sniff_matches(mime, &head[..n]))
        .ok_or_else(|| {
            MediaError::UnknownType {
                mime: "preview".into(),
                reason: "a preview is a JPEG or PNG picture".into(),
            }
            .into()
        })
}

fn discard_all(captured: Vec<(CapturedFile, Option<CapturedFile>)>) {
    for (original, preview) in captured {
        original.discard();
        if let Some(preview) = preview {
            preview.discard();
        }
    }
}

fn damaged(sha256: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        return MediaError::Vanished {
            path: format!("attachment {sha256}"),
        }
        .into();
    }
    MediaError::Damaged {
        sha256: sha256.to_owned(),
        reason: e.to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::incident::{Report, ReportSource, Urgency};

    fn report(place: &str) -> NewIncident {
        NewIncident {
            report: Report {
                place_text: place.to_owned(),
                point: None,
                reported_at: Utc::now(),
                description: "two unmarked vans".into(),
                urgency: Urgency::High,
                source: ReportSource::Call,
            },
            template: None,
        }
    }

    #[test]
    fn a_list_is_answered_while_a_long_write_holds_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("device.db"), &[5; 32]).unwrap());
        store.create_incident(report("Cherokee St")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.list_reader.get().is_none() {
            assert!(Instant::now() < deadline, "the list reader never opened");
            std::thread::sleep(Duration::from_millis(5));
        }

        let (answered, answer) = mpsc::channel();
        store
            .with_connection(|_writer_held| {
                let lister = Arc::clone(&store);
                std::thread::spawn(move || {
                    let _ = answered.send(lister.list(&ListQuery::default()).map(|l| l.len()));
                });
                let listed = answer.recv_timeout(Duration::from_secs(10));
                assert_eq!(
                    listed.ok().and_then(|r| r.ok()),
                    Some(1),
                    "the list waited for the write to finish"
                );
                Ok(())
            })
            .unwrap();
    }
}
