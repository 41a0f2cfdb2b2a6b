//! Writing to an incident document. Each user action is one automerge change made by
//! the author's own actor, so signatures, audit and permission checks can attribute
//! every change to one device.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ReadDoc, ROOT};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::json_bridge::put_json;
use super::read::{read_id, read_root_field, read_view};
use super::schema::*;
use super::view::IncidentView;
use crate::checklist::AnswerValue;
use crate::error::{Error, Result};
use crate::ids::{DeviceId, IncidentId, RecordId};
use crate::location::{haversine_m, LocationFix};
use crate::rules::permissions::{self, Act};

/// Longest free text accepted in one field; a phone keyboard never gets near it, a
/// hostile peer might.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Most files one observation carries (a burst of photos is several observations).
pub const MAX_ATTACHMENTS: usize = 32;

/// One incident's automerge document.
#[derive(Debug, Clone)]
pub struct IncidentDoc {
    doc: Automerge,
}

/// What a new incident starts with.
#[derive(Clone, Debug)]
pub struct NewIncident {
    pub report: Report,
    pub template: Option<TemplateRef>,
}

impl IncidentDoc {
    /// Creates the document and every root key, once. Only the hub (dispatched
    /// incidents) or the one device that opens a field incident ever calls this.
    pub fn create(
        id: &IncidentId,
        author: &Author,
        new: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        validate_report(&new.report)?;
        let mut doc = Automerge::new().with_actor(author.writer.actor_id());
        doc.transact_with(
            |_| commit_options("create incident", now),
            |tx| -> Result<()> {
                tx.put(ROOT, keys::SCHEMA, SCHEMA_VERSION)?;
                tx.put(ROOT, keys::KIND, KIND)?;
                tx.put(ROOT, keys::ID, id.as_str())?;
                tx.put(ROOT, keys::CREATED_AT, now.timestamp_millis())?;
                tx.put(ROOT, keys::CREATED_BY, author.device.as_str())?;
                put_json(tx, &ROOT, keys::REPORT, &to_value(&new.report)?)?;
                if let Some(template) = &new.template {
                    put_json(tx, &ROOT, keys::TEMPLATE, &to_value(template)?)?;
                }
                for collection in keys::COLLECTIONS {
                    tx.put_object(ROOT, collection, ObjType::Map)?;
                }
                Ok(())
            },
        )
        .map_err(|failure| failure.error)?;
        Ok(Self { doc })
    }

    /// Loads a document from bytes that may come from anywhere. The bytes must be an
    /// automerge document whose root reads as an incident.
    pub fn load(bytes: &[u8]) -> Result<Self> {
        let doc = super::untrusted::load(bytes)
            .map_err(|e| Error::corrupt("/", format!("not an automerge document: {e}")))?;
        let incident = Self { doc };
        incident.id()?;
        Ok(incident)
    }

    /// Wraps an automerge document without checking it (used when the caller has
    /// already checked, e.g. the store reloading its own saved document).
    pub fn from_automerge(doc: Automerge) -> Self {
        Self { doc }
    }

    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    pub fn automerge_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    pub fn into_automerge(self) -> Automerge {
        self.doc
    }

    pub fn id(&self) -> Result<IncidentId> {
        read_id(&self.doc)
    }

    pub fn view(&self) -> Result<IncidentView> {
        read_view(&self.doc)
    }

    /// What the caller reported, read without building the whole view.
    pub fn report(&self) -> Result<Report> {
        read_root_field(&self.doc, keys::REPORT)?
            .ok_or_else(|| Error::corrupt(format!("/{}", keys::REPORT), "missing"))
    }

    /// The checklist version the incident started with, if any.
    pub fn template(&self) -> Result<Option<TemplateRef>> {
        read_root_field(&self.doc, keys::TEMPLATE)
    }

    pub fn assign(
        &mut self,
        author: &Author,
        assignee: &DeviceId,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        permissions::require(author.role, Act::Assign)?;
        let record = Assignment {
            assignee: assignee.clone(),
            active,
            by: author.device.clone(),
            at: now,
        };
        self.put_record(
            author,
            now,
            if active { "assign" } else { "unassign" },
            keys::ASSIGNMENTS,
            assignee.as_str(),
            &record,
        )
    }

    /// Records `author`'s answer to a question, replacing only their own earlier answer.
    pub fn answer(
        &mut self,
        author: &Author,
        question_id: &str,
        value: AnswerValue,
        now: DateTime<Utc>,
    ) -> Result<()> {
        permissions::require(author.role, Act::Answer)?;
        validate_question_id(question_id)?;
        validate_answer(&value)?;
        let record = AnswerRecord {
            value,
            by: author.device.clone(),
            at: now,
        };
        let value = to_value(&record)?;
        let key = super::schema::answer_key(question_id, &author.device);
        self.change(author, now, "answer", |tx, root_obj| {
            let answers = root_obj(tx, keys::ANSWERS)?;
            put_json(tx, &answers, key.as_str(), &value)
        })
    }

    pub fn add_observation(
        &mut self,
        author: &Author,
        kind: ObservationKind,
        text: &str,
        count: Option<i64>,
        fix: Option<LocationFix>,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        if kind == ObservationKind::Amendment {
            return Err(Error::invalid(
                "kind",
                "use amend_observation to correct an observation",
            ));
        }
        self.append_observation(author, kind, text, count, fix, None, Vec::new(), now)
    }

    /// Records an observation that carries photos, video or audio. The attachment
    /// records go into the observation in the same change, so the record of each file
    /// is signed with the observation and never exists without it.
    #[allow(clippy::too_many_arguments)]
    pub fn add_observation_with_attachments(
        &mut self,
        author: &Author,
        kind: ObservationKind,
        text: &str,
        count: Option<i64>,
        fix: Option<LocationFix>,
        attachments: Vec<AttachmentRecord>,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        if kind == ObservationKind::Amendment {
            return Err(Error::invalid(
                "kind",
                "use amend_observation to correct an observation",
            ));
        }
        if attachments.is_empty() {
            return Err(Error::invalid("attachments", "at least one file is needed"));
        }
        self.append_observation(author, kind, text, count, fix, None, attachments, now)
    }

    /// Corrects an observation by adding an amendment; the original stays as it was.
    pub fn amend_observation(
        &mut self,
        author: &Author,
        original: &RecordId,
        text: &str,
        count: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        let view = self.view()?;
        if !view.observations.iter().any(|o| &o.id == original) {
            return Err(Error::not_found(format!("observation {original}")));
        }
        self.append_observation(
            author,
            ObservationKind::Amendment,
            text,
            count,
            None,
            Some(original.clone()),
            Vec::new(),
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn append_observation(
        &mut self,
        author: &Author,
        kind: ObservationKind,
        text: &str,
        count: Option<i64>,
        fix: Option<LocationFix>,
        amends: Option<RecordId>,
        attachments: Vec<AttachmentRecord>,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        permissions::require(author.role, Act::RecordObservation)?;
        validate_observation(
            kind,
            text,
            count,
            fix.as_ref(),
            amends.as_ref(),
            &attachments,
            &author.device,
        )?;
        let id = RecordId::generate();
        let record = Observation {
            id: id.clone(),
            kind,
            text: text.to_owned(),
            count,
            fix,
            amends,
            attachments,
            by: author.device.clone(),
            at: now,
        };
        self.put_record(
            author,
            now,
            "observation",
            keys::OBSERVATIONS,
            id.as_str(),
            &record,
        )?;
        Ok(id)
    }

    /// Check-in or check-out with a fix; records the distance to the reported place.
    pub fn checkpoint(
        &mut self,
        author: &Author,
        kind: CheckpointKind,
        fix: LocationFix,
        now: DateTime<Utc>,
    ) -> Result<Checkpoint> {
        permissions::require(author.role, Act::Checkpoint)?;
        fix.validate()?;
        let report = self.report()?;
        let distance_m = report.point.map(|p| haversine_m(p.point(), fix.point()));
        let record = Checkpoint {
            id: RecordId::generate(),
            kind,
            fix,
            distance_m,
            by: author.device.clone(),
            at: now,
        };
        let message = match kind {
            CheckpointKind::CheckIn => "check in",
            CheckpointKind::CheckOut => "check out",
        };
        self.put_record(
            author,
            now,
            message,
            keys::CHECKPOINTS,
            record.id.as_str(),
            &record,
        )?;
        Ok(record)
    }

    /// Appends a status event. Who may record which event is checked here for the
    /// device's own sake and again by the hub for everyone's (both ask
    /// [`permissions::may`]).
    pub fn add_event(
        &mut self,
        author: &Author,
        kind: EventKind,
        determination: Option<Determination>,
        confidence: Option<Confidence>,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<RecordId> {
        permissions::require(author.role, Act::of_event(kind))?;
        validate_event(kind, determination, note.as_deref())?;
        let id = RecordId::generate();
        let record = StatusEvent {
            id: id.clone(),
            kind,
            role: author.role,
            determination,
            confidence,
            note,
            by: author.device.clone(),
            at: now,
        };
        self.put_record(
            author,
            now,
            "status event",
            keys::EVENTS,
            id.as_str(),
            &record,
        )?;
        Ok(id)
    }

    /// A dispatcher corrects what the caller said. The previous text is kept in a
    /// `report_edited` event, so nothing is lost.
    pub fn edit_report(
        &mut self,
        author: &Author,
        report: Report,
        now: DateTime<Utc>,
    ) -> Result<()> {
        permissions::require(author.role, Act::EditReport)?;
        validate_report(&report)?;
        // Both versions go in the event: if two dispatchers edit at once, the report
        // shows one edit and the events keep the other.
        let previous = self.report()?;
        let note = serde_json::json!({ "previous": previous, "new": report }).to_string();
        let event = StatusEvent {
            id: RecordId::generate(),
            kind: EventKind::ReportEdited,
            role: author.role,
            determination: None,
            confidence: None,
            note: Some(note),
            by: author.device.clone(),
            at: now,
        };
        let report = to_value(&report)?;
        let event_value = to_value(&event)?;
        self.change(author, now, "edit report", |tx, root_obj| {
            put_json(tx, &ROOT, keys::REPORT, &report)?;
            let events = root_obj(tx, keys::EVENTS)?;
            put_json(tx, &events, event.id.as_str(), &event_value)
        })
    }

    fn put_record<T: Serialize>(
        &mut self,
        author: &Author,
        now: DateTime<Utc>,
        message: &str,
        collection: &'static str,
        key: &str,
        record: &T,
    ) -> Result<()> {
        let value = to_value(record)?;
        self.change(author, now, message, |tx, root_obj| {
            let map = root_obj(tx, collection)?;
            put_json(tx, &map, key, &value)
        })
    }

    /// Runs one change as `author`. The actor is set on every change because a
    /// document loaded from bytes gets a random one.
    fn change<F>(&mut self, author: &Author, now: DateTime<Utc>, message: &str, f: F) -> Result<()>
    where
        F: FnOnce(&mut automerge::transaction::Transaction<'_>, RootObj) -> Result<()>,
    {
        self.doc.set_actor(author.writer.actor_id());
        self.doc
            .transact_with(|_| commit_options(message, now), |tx| f(tx, root_obj))
            .map(|_| ())
            .map_err(|failure| failure.error)
    }
}

type RootObj = fn(&mut automerge::transaction::Transaction<'_>, &str) -> Result<ObjId>;

/// Finds a root collection, which must be a map.
fn root_obj(tx: &mut automerge::transaction::Transaction<'_>, key: &str) -> Result<ObjId> {
    match tx.get(ROOT, key)? {
        Some((automerge::Value::Object(ObjType::Map), obj)) => Ok(obj),
        Some(_) => Err(Error::corrupt(format!("/{key}"), "is not a map")),
        None => Err(Error::corrupt(format!("/{key}"), "missing")),
    }
}

fn commit_options(message: &str, now: DateTime<Utc>) -> CommitOptions {
    CommitOptions::default()
        .with_message(message.to_owned())
        .with_time(now.timestamp())
}

fn to_value<T: Serialize>(record: &T) -> Result<serde_json::Value> {
    serde_json::to_value(record).map_err(|e| Error::invalid("record", e.to_string()))
}

/// What an observation must be, wherever it is written or received.
pub(crate) fn validate_observation(
    kind: ObservationKind,
    text: &str,
    count: Option<i64>,
    fix: Option<&LocationFix>,
    amends: Option<&RecordId>,
    attachments: &[AttachmentRecord],
    by: &DeviceId,
) -> Result<()> {
    // A photo may speak for itself: the text is optional when files come with it.
    validate_text(
        "text",
        text,
        kind != ObservationKind::Count && attachments.is_empty(),
    )?;
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "attachments",
            format!("at most {MAX_ATTACHMENTS} files per observation"),
        ));
    }
    for record in attachments {
        crate::media::validate_record(record, by)?;
    }
    if let Some(n) = count {
        if n < 0 {
            return Err(Error::invalid("count", "cannot be negative"));
        }
    } else if kind == ObservationKind::Count {
        return Err(Error::invalid(
            "count",
            "a count observation needs a number",
        ));
    }
    if let Some(fix) = fix {
        fix.validate()?;
    }
    if (kind == ObservationKind::Amendment) != amends.is_some() {
        return Err(Error::invalid(
            "amends",
            "an amendment names the observation it corrects, and only an amendment does",
        ));
    }
    Ok(())
}

/// What a status event must be, wherever it is written or received. A report edit's
/// note carries both versions of the report, so it is bounded by the change limits
/// instead of the text limit.
pub(crate) fn validate_event(
    kind: EventKind,
    determination: Option<Determination>,
    note: Option<&str>,
) -> Result<()> {
    let needs_determination = matches!(
        kind,
        EventKind::DeterminationProposed | EventKind::DeterminationConfirmed
    );
    if needs_determination != determination.is_some() {
        return Err(Error::invalid(
            "determination",
            if needs_determination {
                "required for this event"
            } else {
                "only proposals and confirmations carry one"
            },
        ));
    }
    if let Some(note) = note {
        if kind != EventKind::ReportEdited {
            validate_text("note", note, false)?;
        }
    }
    Ok(())
}

pub(crate) fn validate_text(field: &str, text: &str, required: bool) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(Error::invalid(field, "cannot be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_question_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "question id",
            format!("{id:?} must be 1–64 letters, digits, _ or -"),
        ))
    }
}

pub(crate) fn validate_answer(value: &AnswerValue) -> Result<()> {
    if value.is_non_finite() {
        // JSON has no NaN or infinity: written, it would be a null, read as no answer.
        return Err(Error::invalid(
            "answer",
            "a decimal answer is a finite number, not NaN or infinity",
        ));
    }
    match value {
        AnswerValue::Text(t) => validate_text("answer", t, false),
        AnswerValue::Location(fix) => fix.validate(),
        AnswerValue::Checkpoint { fix: Some(fix), .. } => fix.validate(),
        AnswerValue::Choices(values) if values.len() > 100 => {
            Err(Error::invalid("answer", "too many choices"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn validate_report(report: &Report) -> Result<()> {
    validate_text("place", &report.place_text, true)?;
    validate_text("description", &report.description, false)?;
    if let Some(p) = &report.point {
        if !p.lat.is_finite()
            || !(-90.0..=90.0).contains(&p.lat)
            || !p.lon.is_finite()
            || !(-180.0..=180.0).contains(&p.lon)
        {
            return Err(Error::invalid(
                "reported point",
                format!("({}, {}) is not a valid latitude/longitude", p.lat, p.lon),
            ));
        }
    }
    Ok(())
}

/// Whether a document's root already holds incident keys, i.e. whether creating it
/// again would conflict. Used by tests and the hub's validation.
pub fn has_root(doc: &Automerge) -> bool {
    doc.get(ROOT, keys::SCHEMA)
        .map(|v| v.is_some())
        .unwrap_or(false)
}
