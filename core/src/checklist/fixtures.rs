//! Shared by the checklist's unit tests: a small template with a relevance chain and
//! answers as they come out of an incident view.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use crate::ids::DeviceId;
use crate::incident::{AnswerRecord, QuestionAnswers};

/// `present` → `agencies` (when present = yes) → `agency_other` (when "other" is
/// picked); `agents` (a count from 0 to 50, when present = yes); `notes` (optional).
pub(crate) fn chain_template() -> CheckedTemplate {
    let template = json!({
        "id": "chain", "version": 1, "title": {"en": "Chain", "es": "Cadena"},
        "sections": [
            {"id": "scene", "title": {"en": "Scene", "es": "Lugar"}, "questions": [
                {"id": "present", "type": "yes_no_unknown", "required": true,
                 "label": {"en": "Is there activity?", "es": "¿Hay actividad?"}},
                {"id": "agencies", "type": "multiple_choice", "required": true,
                 "relevance": {"equals": {"question": "present", "value": "yes"}},
                 "label": {"en": "Agencies", "es": "Agencias"},
                 "choices": [
                     {"value": "ice", "label": {"en": "ICE", "es": "ICE"}},
                     {"value": "other", "label": {"en": "Other", "es": "Otra"}}
                 ]},
                {"id": "agency_other", "type": "text", "required": true,
                 "relevance": {"selected": {"question": "agencies", "value": "other"}},
                 "label": {"en": "Which other agency?", "es": "¿Qué otra agencia?"}},
                {"id": "agents", "type": "count", "required": true,
                 "relevance": {"equals": {"question": "present", "value": "yes"}},
                 "label": {"en": "Agents", "es": "Agentes"},
                 "constraints": [
                     {"rule": {"min": 0}, "message": {"en": "Enter 0 to 50.", "es": "Escriba de 0 a 50."}},
                     {"rule": {"max": 50}, "message": {"en": "Enter 0 to 50.", "es": "Escriba de 0 a 50."}}
                 ]}
            ]},
            {"id": "end", "title": {"en": "End", "es": "Final"}, "questions": [
                {"id": "notes", "type": "text", "label": {"en": "Notes", "es": "Notas"}}
            ]}
        ],
        "determination_rules": [
            {"id": "seen", "when": {"all": [
                {"equals": {"question": "present", "value": "yes"}},
                {"selected": {"question": "agencies", "value": "ice"}}
            ]}, "determination": "verified", "confidence": "medium",
             "reason": {"en": "ICE was seen.", "es": "Se vio a ICE."}}
        ]
    });
    CheckedTemplate::new(serde_json::from_value(template).expect("the fixture parses"))
        .expect("the fixture is sound")
}

pub(crate) fn device(n: u8) -> DeviceId {
    DeviceId::from_public_key(&[n; 32])
}

pub(crate) fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 7, 14, minute, 0)
        .single()
        .expect("a valid time")
}

/// Answers grouped as an incident view groups them: by question id, then device id.
pub(crate) fn answers(given: &[(&DeviceId, &str, AnswerValue)]) -> Vec<QuestionAnswers> {
    let mut out: Vec<QuestionAnswers> = Vec::new();
    for (n, (by, question, value)) in given.iter().enumerate() {
        let record = AnswerRecord {
            value: value.clone(),
            by: (*by).clone(),
            at: at(n as u32),
        };
        match out.iter_mut().find(|q| q.question_id == *question) {
            Some(q) => {
                q.by_author.retain(|a| &a.by != *by);
                q.by_author.push(record);
                q.by_author.sort_by(|a, b| a.by.cmp(&b.by));
            }
            None => out.push(QuestionAnswers {
                question_id: (*question).to_owned(),
                by_author: vec![record],
            }),
        }
    }
    out.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    out
}
