//! Incidents as screens read them: the full view of one incident, the list rows, and
//! what a volunteer gives to open a field incident. Ids cross as strings and are
//! checked on the way in (`TestigoError.InvalidInput` for a malformed one).

use std::time::SystemTime;

use testigo_core::ids::{DeviceId, IncidentId, RecordId};
use testigo_core::incident as core;
pub use testigo_core::incident::{
    CheckpointKind, Confidence, Determination, EventKind, IncidentStatus, ObservationKind,
    ReportSource, Role, Urgency,
};
use testigo_core::store::{IndexedIncident, ListQuery as CoreListQuery};

use crate::checklist::AnswerValue;
use crate::errors::Result;
use crate::location::{GeoPoint, LocationFix};
use crate::time::{from_system, to_system};

/// What people do in Testigo; the hub decides who is what at enrolment.
#[uniffi::remote(Enum)]
pub enum Role {
    Coordinator,
    Dispatcher,
    TeamLead,
    Volunteer,
    /// Changes the hub makes itself.
    Hub,
}

#[uniffi::remote(Enum)]
pub enum Urgency {
    Low,
    Normal,
    High,
    /// People are being detained right now.
    Critical,
}

#[uniffi::remote(Enum)]
pub enum ReportSource {
    /// Opened by a dispatcher from a hotline call.
    Call,
    /// Opened by a volunteer who saw something in the field.
    Field,
}

/// Derived from the incident's records, never stored: every replica holding the same
/// records shows the same status.
#[uniffi::remote(Enum)]
pub enum IncidentStatus {
    /// Reported, nobody assigned yet.
    Open,
    Dispatched,
    /// Somebody checked in on scene.
    OnScene,
    /// Determinations were proposed and all agree.
    Proposed,
    /// Determinations by different people disagree; a team lead must confirm one.
    Disputed,
    Confirmed,
    CallerNotified,
    Closed,
}

#[uniffi::remote(Enum)]
pub enum Determination {
    /// Enforcement activity seen on scene.
    Verified,
    /// The scene was checked and nothing was found.
    NotFound,
    /// Something was there but it could not be told whether it was enforcement.
    Inconclusive,
}

#[uniffi::remote(Enum)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[uniffi::remote(Enum)]
pub enum EventKind {
    Dispatched,
    DeterminationProposed,
    DeterminationConfirmed,
    CallerNotified,
    ReportEdited,
    Closed,
}

#[uniffi::remote(Enum)]
pub enum ObservationKind {
    /// Free text: what the volunteer sees.
    Note,
    /// A number of something (agents, vehicles, people detained).
    Count,
    /// A correction of an earlier observation, which stays as it was.
    Amendment,
}

#[uniffi::remote(Enum)]
pub enum CheckpointKind {
    CheckIn,
    CheckOut,
}

/// A checklist template as an incident refers to it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TemplateRef {
    pub id: String,
    pub version: u32,
}

/// What a volunteer gives to open an incident they saw in the field.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewFieldIncident {
    pub place_text: String,
    /// The reported place on the map, when known; check-ins measure their distance to it.
    #[uniffi(default = None)]
    pub point: Option<GeoPoint>,
    pub reported_at: SystemTime,
    pub description: String,
    pub urgency: Urgency,
    /// The checklist to run on scene.
    #[uniffi(default = None)]
    pub template: Option<TemplateRef>,
}

/// What was reported. Caller identity is never here: it stays on the hub.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Report {
    pub place_text: String,
    pub point: Option<GeoPoint>,
    pub reported_at: SystemTime,
    pub description: String,
    pub urgency: Urgency,
    pub source: ReportSource,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Assignment {
    pub assignee: String,
    /// `false` once unassigned; the record stays so the history is readable.
    pub active: bool,
    pub by: String,
    pub at: SystemTime,
}

/// One author's answer to a question.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AnswerRecord {
    pub value: AnswerValue,
    pub by: String,
    pub at: SystemTime,
}

/// Every author's answer to one question. Answers are kept per author: when two
/// people answer differently both stay, and `agree` is false so the screen shows it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct QuestionAnswers {
    pub question_id: String,
    /// In device-id order.
    pub by_author: Vec<AnswerRecord>,
    pub agree: bool,
}

/// An append-only observation; a correction is a new `Amendment` pointing at it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Observation {
    pub id: String,
    pub kind: ObservationKind,
    pub text: String,
    pub count: Option<i64>,
    pub fix: Option<LocationFix>,
    /// The observation this one corrects, for amendments.
    pub amends: Option<String>,
    pub by: String,
    pub at: SystemTime,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Checkpoint {
    pub id: String,
    pub kind: CheckpointKind,
    pub fix: LocationFix,
    /// Distance from the fix to the reported place, when the report has a point.
    pub distance_m: Option<f64>,
    pub by: String,
    pub at: SystemTime,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct StatusEvent {
    pub id: String,
    pub kind: EventKind,
    /// The role the author claimed; the hub checks it against enrolment.
    pub role: Role,
    pub determination: Option<Determination>,
    pub confidence: Option<Confidence>,
    pub note: Option<String>,
    pub by: String,
    pub at: SystemTime,
}

/// One person's latest word on what happened.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Position {
    pub by: String,
    pub determination: Determination,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct DerivedStatus {
    pub status: IncidentStatus,
    /// The settled determination: confirmed, or proposed by everyone who proposed.
    pub determination: Option<Determination>,
    /// Each proposer's latest proposal, in device-id order.
    pub proposals: Vec<Position>,
    /// Each confirmer's latest confirmation, in device-id order.
    pub confirmations: Vec<Position>,
    pub caller_notified: bool,
}

/// Everything known about one incident on this device.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct IncidentView {
    pub id: String,
    pub schema_version: i64,
    pub created_at: SystemTime,
    pub created_by: String,
    pub report: Report,
    pub template: Option<TemplateRef>,
    /// Everyone ever assigned, with `active` telling who still is.
    pub assignments: Vec<Assignment>,
    /// In question-id order.
    pub answers: Vec<QuestionAnswers>,
    /// Oldest first.
    pub observations: Vec<Observation>,
    pub checkpoints: Vec<Checkpoint>,
    pub events: Vec<StatusEvent>,
    pub status: DerivedStatus,
    /// Records a peer wrote that do not follow the schema, by path: left out of the
    /// view, listed so a team lead can see something was off.
    pub problems: Vec<String>,
    /// Time of the newest record.
    pub updated_at: SystemTime,
    /// The closest check-in to the reported place, in metres.
    pub closest_check_in_m: Option<f64>,
}

/// One row of a list screen, read from the store's index without opening the document.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct IncidentSummary {
    pub id: String,
    pub status: IncidentStatus,
    pub urgency: Urgency,
    pub place_text: String,
    pub reported_at: SystemTime,
    pub updated_at: SystemTime,
    pub observation_count: u32,
    pub answer_count: u32,
    pub distance_m: Option<f64>,
    /// Changed on this device since the last sync.
    pub has_unsynced: bool,
    pub assigned_to_me: bool,
}

/// What a list screen asks for; every filter is optional.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ListQuery {
    #[uniffi(default = None)]
    pub status: Option<IncidentStatus>,
    /// Only incidents at least this urgent.
    #[uniffi(default = None)]
    pub min_urgency: Option<Urgency>,
    #[uniffi(default = false)]
    pub only_unsynced: bool,
    /// 0 means the default page size (50); at most 1000.
    #[uniffi(default = 0)]
    pub limit: u32,
    #[uniffi(default = 0)]
    pub offset: u32,
}

pub(crate) fn parse_incident_id(s: &str) -> Result<IncidentId> {
    Ok(IncidentId::parse(s)?)
}

pub(crate) fn parse_record_id(s: &str) -> Result<RecordId> {
    Ok(RecordId::parse(s)?)
}

pub(crate) fn parse_device_id(s: &str) -> Result<DeviceId> {
    Ok(DeviceId::parse(s)?)
}

impl NewFieldIncident {
    pub(crate) fn into_core(self) -> Result<core::NewIncident> {
        Ok(core::NewIncident {
            report: core::Report {
                place_text: self.place_text,
                point: self.point.map(Into::into),
                reported_at: from_system(self.reported_at, "reported_at")?,
                description: self.description,
                urgency: self.urgency,
                source: ReportSource::Field,
            },
            template: self.template.map(Into::into),
        })
    }
}

impl From<TemplateRef> for core::TemplateRef {
    fn from(t: TemplateRef) -> Self {
        core::TemplateRef {
            id: t.id,
            version: t.version,
        }
    }
}

impl From<core::TemplateRef> for TemplateRef {
    fn from(t: core::TemplateRef) -> Self {
        TemplateRef {
            id: t.id,
            version: t.version,
        }
    }
}

impl From<ListQuery> for CoreListQuery {
    fn from(q: ListQuery) -> Self {
        CoreListQuery {
            status: q.status,
            min_urgency: q.min_urgency,
            only_unsynced: q.only_unsynced,
            limit: q.limit,
            offset: q.offset,
        }
    }
}

impl From<IndexedIncident> for IncidentSummary {
    fn from(row: IndexedIncident) -> Self {
        let s = row.summary;
        IncidentSummary {
            id: s.id.to_string(),
            status: s.status,
            urgency: s.urgency,
            place_text: s.place_text,
            reported_at: to_system(s.reported_at),
            updated_at: to_system(s.updated_at),
            observation_count: s.observation_count,
            answer_count: s.answer_count,
            distance_m: s.distance_m,
            has_unsynced: row.has_unsynced,
            assigned_to_me: row.assigned_to_me,
        }
    }
}

impl From<core::IncidentView> for IncidentView {
    fn from(v: core::IncidentView) -> Self {
        let updated_at = to_system(v.updated_at());
        let closest_check_in_m = v.closest_check_in_m();
        let answers = v
            .answers
            .into_iter()
            .map(|q| QuestionAnswers {
                agree: q.agree(),
                question_id: q.question_id,
                by_author: q.by_author.into_iter().map(Into::into).collect(),
            })
            .collect();
        IncidentView {
            id: v.id.to_string(),
            schema_version: v.schema,
            created_at: to_system(v.created_at),
            created_by: v.created_by.to_string(),
            report: v.report.into(),
            template: v.template.map(Into::into),
            assignments: v.assignments.into_iter().map(Into::into).collect(),
            answers,
            observations: v.observations.into_iter().map(Into::into).collect(),
            checkpoints: v.checkpoints.into_iter().map(Into::into).collect(),
            events: v.events.into_iter().map(Into::into).collect(),
            status: v.status.into(),
            problems: v.problems,
            updated_at,
            closest_check_in_m,
        }
    }
}

impl From<core::Report> for Report {
    fn from(r: core::Report) -> Self {
        Report {
            place_text: r.place_text,
            point: r.point.map(Into::into),
            reported_at: to_system(r.reported_at),
            description: r.description,
            urgency: r.urgency,
            source: r.source,
        }
    }
}

impl From<core::Assignment> for Assignment {
    fn from(a: core::Assignment) -> Self {
        Assignment {
            assignee: a.assignee.to_string(),
            active: a.active,
            by: a.by.to_string(),
            at: to_system(a.at),
        }
    }
}

impl From<core::AnswerRecord> for AnswerRecord {
    fn from(a: core::AnswerRecord) -> Self {
        AnswerRecord {
            value: a.value.into(),
            by: a.by.to_string(),
            at: to_system(a.at),
        }
    }
}

impl From<core::Observation> for Observation {
    fn from(o: core::Observation) -> Self {
        Observation {
            id: o.id.to_string(),
            kind: o.kind,
            text: o.text,
            count: o.count,
            fix: o.fix.map(Into::into),
            amends: o.amends.map(|id| id.to_string()),
            by: o.by.to_string(),
            at: to_system(o.at),
        }
    }
}

impl From<core::Checkpoint> for Checkpoint {
    fn from(c: core::Checkpoint) -> Self {
        Checkpoint {
            id: c.id.to_string(),
            kind: c.kind,
            fix: c.fix.into(),
            distance_m: c.distance_m,
            by: c.by.to_string(),
            at: to_system(c.at),
        }
    }
}

impl From<core::StatusEvent> for StatusEvent {
    fn from(e: core::StatusEvent) -> Self {
        StatusEvent {
            id: e.id.to_string(),
            kind: e.kind,
            role: e.role,
            determination: e.determination,
            confidence: e.confidence,
            note: e.note,
            by: e.by.to_string(),
            at: to_system(e.at),
        }
    }
}

impl From<core::DerivedStatus> for DerivedStatus {
    fn from(s: core::DerivedStatus) -> Self {
        let positions = |ps: Vec<core::Position>| {
            ps.into_iter()
                .map(|p| Position {
                    by: p.by.to_string(),
                    determination: p.determination,
                })
                .collect()
        };
        DerivedStatus {
            status: s.status,
            determination: s.determination,
            proposals: positions(s.proposals),
            confirmations: positions(s.confirmations),
            caller_notified: s.caller_notified,
        }
    }
}
