//! The shape of an incident document. Device and hub share this file: it is the
//! contract between them.
//!
//! ```text
//! {
//!   schema: 1, kind: "testigo.incident", id, created_at, created_by,
//!   report:      { place_text, point?, reported_at, description, urgency, source },
//!   template:    { id, version },
//!   assignments: { <device id>: Assignment },           -- one key per assignee
//!   answers:     { "<question id>@<device id>": AnswerRecord }  -- one key per author
//!   observations:{ <record id>: Observation }           -- append-only
//!   checkpoints: { <record id>: Checkpoint }            -- append-only
//!   events:      { <record id>: StatusEvent }           -- append-only
//! }
//! ```
//!
//! Every collection is a flat map keyed by something unique to its writer, so two
//! replicas never write the same key concurrently and nothing a person entered is
//! overwritten by a merge. No nested map is ever created after the document is: two
//! replicas creating the same nested map would conflict and one would hide the other.
//! The root keys are created once, by whoever creates the incident.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checklist::AnswerValue;
use crate::ids::{DeviceId, RecordId};
use crate::location::LocationFix;

pub const SCHEMA_VERSION: i64 = 1;
pub const KIND: &str = "testigo.incident";

pub mod keys {
    pub const SCHEMA: &str = "schema";
    pub const KIND: &str = "kind";
    pub const ID: &str = "id";
    pub const CREATED_AT: &str = "created_at";
    pub const CREATED_BY: &str = "created_by";
    pub const REPORT: &str = "report";
    pub const TEMPLATE: &str = "template";
    pub const ASSIGNMENTS: &str = "assignments";
    pub const ANSWERS: &str = "answers";
    pub const OBSERVATIONS: &str = "observations";
    pub const CHECKPOINTS: &str = "checkpoints";
    pub const EVENTS: &str = "events";
    pub const COLLECTIONS: [&str; 5] = [ASSIGNMENTS, ANSWERS, OBSERVATIONS, CHECKPOINTS, EVENTS];
}

/// The key of one person's answer to one question in `answers`.
pub fn answer_key(question_id: &str, device: &DeviceId) -> String {
    format!("{question_id}@{device}")
}

/// Splits an `answers` key back into question id and device id.
pub fn parse_answer_key(key: &str) -> Option<(&str, DeviceId)> {
    let (question, device) = key.rsplit_once('@')?;
    Some((question, DeviceId::parse(device).ok()?))
}

/// What people do in Testigo; the hub decides who is what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Coordinator,
    Dispatcher,
    TeamLead,
    Volunteer,
    /// Changes the hub makes itself (incident creation, assignment on behalf of a
    /// dispatcher).
    Hub,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Dispatcher => "dispatcher",
            Role::TeamLead => "team_lead",
            Role::Volunteer => "volunteer",
            Role::Hub => "hub",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// Who is writing, as the document records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// The person's device, recorded as `by` in every record.
    pub device: DeviceId,
    pub role: Role,
    /// The device whose automerge actor makes the change. Usually `device`; the hub
    /// when it writes on a dispatcher's behalf, so that the hub signs what it makes.
    pub writer: DeviceId,
}

impl Author {
    /// A device writing for its own user.
    pub fn new(device: DeviceId, role: Role) -> Self {
        Self {
            writer: device.clone(),
            device,
            role,
        }
    }

    /// The hub writing what `device` asked for through the API or console.
    pub fn via(device: DeviceId, role: Role, writer: DeviceId) -> Self {
        Self {
            device,
            role,
            writer,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    High,
    /// People are being detained right now.
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// Opened by a dispatcher from a hotline call.
    Call,
    /// Opened by a volunteer who saw something in the field.
    Field,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn point(&self) -> geo_types::Point<f64> {
        geo_types::Point::new(self.lon, self.lat)
    }
}

/// What the caller said. Caller identity is never here: it stays in the hub's
/// private table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub place_text: String,
    #[serde(default)]
    pub point: Option<GeoPoint>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub reported_at: DateTime<Utc>,
    pub description: String,
    pub urgency: Urgency,
    pub source: ReportSource,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: String,
    pub version: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub assignee: DeviceId,
    /// `false` once unassigned; the key stays so the history is readable.
    pub active: bool,
    pub by: DeviceId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerRecord {
    pub value: AnswerValue,
    pub by: DeviceId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// Free text: what the volunteer sees.
    Note,
    /// A number of something (agents, vehicles, people detained).
    Count,
    /// A correction of an earlier observation, which stays as it was.
    Amendment,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub id: RecordId,
    pub kind: ObservationKind,
    pub text: String,
    #[serde(default)]
    pub count: Option<i64>,
    #[serde(default)]
    pub fix: Option<LocationFix>,
    /// The observation this one corrects, for [`ObservationKind::Amendment`].
    #[serde(default)]
    pub amends: Option<RecordId>,
    /// Photos, video and audio captured with this observation, recorded in the same
    /// change that creates it (so old incidents need no new root key). The files
    /// themselves travel separately, content-addressed by `sha256`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRecord>,
    pub by: DeviceId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

/// What a captured file is, as evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Photo,
    Video,
    Audio,
}

/// The signed record of one captured file: the hash *is* the evidence, the bytes are
/// never altered after capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub kind: MediaKind,
    /// The media type the platform recorded (`image/jpeg`, `video/mp4`…).
    pub mime: String,
    /// SHA-256 of the original bytes, lower-case hex.
    pub sha256: String,
    pub size: u64,
    /// When the platform captured it (the device's clock, like every record).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub captured_at: DateTime<Utc>,
    #[serde(default)]
    pub fix: Option<LocationFix>,
    /// A small picture made by the platform, sent before the full file.
    #[serde(default)]
    pub preview: Option<PreviewRecord>,
    pub by: DeviceId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviewRecord {
    pub mime: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    CheckIn,
    CheckOut,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: RecordId,
    pub kind: CheckpointKind,
    pub fix: LocationFix,
    /// Distance from the fix to the reported place, when the report has a point.
    #[serde(default)]
    pub distance_m: Option<f64>,
    pub by: DeviceId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Determination {
    /// Enforcement activity seen on scene.
    Verified,
    /// The scene was checked and nothing was found.
    NotFound,
    /// Something was there but it could not be told whether it was enforcement.
    Inconclusive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Dispatched,
    DeterminationProposed,
    DeterminationConfirmed,
    CallerNotified,
    ReportEdited,
    Closed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusEvent {
    pub id: RecordId,
    pub kind: EventKind,
    /// The role the author claimed; the hub checks it against enrolment.
    pub role: Role,
    #[serde(default)]
    pub determination: Option<Determination>,
    #[serde(default)]
    pub confidence: Option<Confidence>,
    #[serde(default)]
    pub note: Option<String>,
    pub by: DeviceId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}
