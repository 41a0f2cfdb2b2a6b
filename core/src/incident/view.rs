//! The typed read model that screens, the hub and exports use. Built from a document
//! by `read::read_view`; never written back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::schema::{
    AnswerRecord, Assignment, Checkpoint, Observation, Report, StatusEvent, TemplateRef, Urgency,
};
use super::status::{DerivedStatus, IncidentStatus};
use crate::ids::{DeviceId, IncidentId};

/// Every author's answer to one question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionAnswers {
    pub question_id: String,
    /// In device-id order.
    pub by_author: Vec<AnswerRecord>,
}

impl QuestionAnswers {
    /// Whether every author who answered said the same thing.
    pub fn agree(&self) -> bool {
        self.by_author
            .windows(2)
            .all(|w| w[0].value.agrees_with(&w[1].value))
    }

    pub fn by(&self, device: &DeviceId) -> Option<&AnswerRecord> {
        self.by_author.iter().find(|a| &a.by == device)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: IncidentId,
    pub schema: i64,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    pub created_by: DeviceId,
    pub report: Report,
    pub template: Option<TemplateRef>,
    /// Everyone ever assigned, with `active` telling who still is.
    pub assignments: Vec<Assignment>,
    /// In question-id order.
    pub answers: Vec<QuestionAnswers>,
    /// Oldest first (device time, then id).
    pub observations: Vec<Observation>,
    pub checkpoints: Vec<Checkpoint>,
    pub events: Vec<StatusEvent>,
    pub status: DerivedStatus,
    /// Records a peer wrote that do not follow the schema. They are left out of the
    /// view and listed here with their path, so a team lead can see something was off.
    pub problems: Vec<String>,
}

impl IncidentView {
    pub fn answers_to(&self, question_id: &str) -> Option<&QuestionAnswers> {
        self.answers.iter().find(|q| q.question_id == question_id)
    }

    pub fn is_assigned(&self, device: &DeviceId) -> bool {
        self.assignments
            .iter()
            .any(|a| a.active && &a.assignee == device)
    }

    /// Time of the newest record, for "updated" columns.
    pub fn updated_at(&self) -> DateTime<Utc> {
        let answers = self
            .answers
            .iter()
            .flat_map(|q| q.by_author.iter().map(|a| a.at));
        let records = self
            .observations
            .iter()
            .map(|o| o.at)
            .chain(self.checkpoints.iter().map(|c| c.at))
            .chain(self.events.iter().map(|e| e.at))
            .chain(self.assignments.iter().map(|a| a.at));
        answers.chain(records).fold(self.created_at, DateTime::max)
    }

    /// The closest check-in to the reported place, in metres.
    pub fn closest_check_in_m(&self) -> Option<f64> {
        self.checkpoints
            .iter()
            .filter_map(|c| c.distance_m)
            .reduce(f64::min)
    }

    pub fn summary(&self) -> IncidentSummary {
        IncidentSummary {
            id: self.id.clone(),
            status: self.status.status,
            urgency: self.report.urgency,
            place_text: self.report.place_text.clone(),
            reported_at: self.report.reported_at,
            updated_at: self.updated_at(),
            observation_count: self.observations.len() as u32,
            answer_count: self.answers.iter().map(|q| q.by_author.len() as u32).sum(),
            distance_m: self.closest_check_in_m(),
        }
    }
}

/// One row of a list screen, kept in the store's materialized index so that listing
/// never opens a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: IncidentId,
    pub status: IncidentStatus,
    pub urgency: Urgency,
    pub place_text: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub reported_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub updated_at: DateTime<Utc>,
    pub observation_count: u32,
    pub answer_count: u32,
    pub distance_m: Option<f64>,
}
