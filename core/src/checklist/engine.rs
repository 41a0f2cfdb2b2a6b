//! Running a checklist for one person: which questions they see now, what they
//! answered, what is still missing, and what determination their answers suggest.
//!
//! Everything is computed from the incident's answers each time, never stored, so two
//! replicas with the same answers show the same checklist. Each person's checklist
//! follows their own answers: in an incident two volunteers verify, one may see the
//! agencies question and the other, who found nothing, may not.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use super::display::display_answer;
use super::template::QuestionType;
use super::validate::{check_answer, Violation};
use crate::ids::DeviceId;
use crate::incident::{AnswerRecord, Confidence, Determination, QuestionAnswers, TemplateRef};

/// One person's checklist as it stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub template: TemplateRef,
    pub author: DeviceId,
    /// Sections with at least one visible question, in template order.
    pub sections: Vec<SectionState>,
    pub progress: Progress,
    /// Every visible required question is answered and no visible answer is invalid.
    pub complete: bool,
    /// The first visible question that needs attention: an invalid answer, or a
    /// required question without one. Skipped optional questions are not chased, so a
    /// volunteer who leaves one blank is not sent back to it.
    pub next: Option<String>,
    pub suggestion: Option<Suggestion>,
    /// Questions this person answered that their later answers hid. The answers stay in
    /// the document (nothing is deleted) and come back if the question shows again, but
    /// they count for nothing while hidden.
    pub hidden_answers: Vec<String>,
}

impl Evaluation {
    pub fn question(&self, id: &str) -> Option<&QuestionState> {
        self.questions().find(|q| q.id == id)
    }

    /// Visible questions, in order.
    pub fn questions(&self) -> impl Iterator<Item = &QuestionState> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SectionState {
    pub id: String,
    pub title: String,
    pub questions: Vec<QuestionState>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionState {
    pub id: String,
    pub kind: QuestionType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// For choice questions, in template order.
    pub choices: Vec<ChoiceLabel>,
    pub status: AnswerStatus,
    /// `None` when unanswered (a blank answer is no answer).
    pub value: Option<AnswerValue>,
    pub display: Option<String>,
    /// Why the answer is invalid, in the reader's locale.
    pub error: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChoiceLabel {
    pub value: String,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    Unanswered,
    Valid,
    /// Answered, but the answer does not fit the question (e.g. written by a peer
    /// against another template version); it counts as unanswered until corrected.
    Invalid,
}

/// Required questions answered, out of required questions visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub answered: u32,
    pub required: u32,
}

impl Progress {
    /// From 0 to 1; a checklist with nothing required is done.
    pub fn fraction(&self) -> f64 {
        if self.required == 0 {
            1.0
        } else {
            f64::from(self.answered) / f64::from(self.required)
        }
    }
}

/// What the template's rules make of the answers. Only a suggestion: the volunteer
/// proposes and the team lead confirms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub determination: Determination,
    pub confidence: Confidence,
    /// The id of the rule that matched.
    pub rule: String,
    pub reason: String,
}

/// `author`'s checklist for an incident whose answers are `answers`, in `locale`.
pub fn evaluate(template: &CheckedTemplate, answers: &[QuestionAnswers], author: &DeviceId, locale: &str) -> Evaluation {
    let count = template.len();
    let mut own: Vec<Option<&AnswerRecord>> = vec![None; count];
    for question in answers {
        if let Some(i) = template.position(&question.question_id) {
            own[i] = question.by(author).filter(|record| !record.value.is_blank());
        }
    }
    let checks: Vec<Option<Result<(), Violation>>> =
        own.iter().enumerate().map(|(i, record)| record.map(|r| check_answer(template.nth(i), &r.value))).collect();
    let usable: Vec<Option<&AnswerValue>> = own
        .iter()
        .zip(&checks)
        .map(|(record, check)| match check {
            Some(Ok(())) => record.map(|r| &r.value),
            _ => None,
        })
        .collect();

    let mut visible = vec![false; count];
    for &i in template.evaluation_order() {
        let shown = match &template.nth(i).relevance {
            None => true,
            Some(relevance) => relevance.holds(&|id| lookup(template, &visible, &usable, id)),
        };
        visible[i] = shown;
    }

    let mut sections = Vec::new();
    let mut progress = Progress { answered: 0, required: 0 };
    let mut any_invalid = false;
    let mut next = None;
    let mut hidden_answers = Vec::new();
    let mut i = 0;
    for section in &template.template().sections {
        let mut questions = Vec::new();
        for question in &section.questions {
            let (record, check) = (own[i], &checks[i]);
            let is_visible = visible[i];
            i += 1;
            if !is_visible {
                if record.is_some() {
                    hidden_answers.push(question.id.clone());
                }
                continue;
            }
            let status = match check {
                None => AnswerStatus::Unanswered,
                Some(Ok(())) => AnswerStatus::Valid,
                Some(Err(_)) => AnswerStatus::Invalid,
            };
            if question.required {
                progress.required += 1;
                if status == AnswerStatus::Valid {
                    progress.answered += 1;
                }
            }
            any_invalid |= status == AnswerStatus::Invalid;
            let needs_attention =
                status == AnswerStatus::Invalid || (question.required && status == AnswerStatus::Unanswered);
            if needs_attention && next.is_none() {
                next = Some(question.id.clone());
            }
            questions.push(QuestionState {
                id: question.id.clone(),
                kind: question.kind,
                label: question.label.get(locale).to_owned(),
                hint: question.hint.as_ref().map(|h| h.get(locale).to_owned()),
                required: question.required,
                choices: question
                    .choices
                    .iter()
                    .map(|c| ChoiceLabel { value: c.value.clone(), label: c.label.get(locale).to_owned() })
                    .collect(),
                status,
                value: record.map(|r| r.value.clone()),
                display: record.map(|r| display_answer(question, &r.value, locale)),
                error: match check {
                    Some(Err(violation)) => Some(violation.message(locale)),
                    _ => None,
                },
                answered_at: record.map(|r| r.at),
            });
        }
        if !questions.is_empty() {
            sections.push(SectionState { id: section.id.clone(), title: section.title.get(locale).to_owned(), questions });
        }
    }

    let suggestion = template
        .template()
        .determination_rules
        .iter()
        .find(|rule| rule.when.holds(&|id| lookup(template, &visible, &usable, id)))
        .map(|rule| Suggestion {
            determination: rule.determination,
            confidence: rule.confidence,
            rule: rule.id.clone(),
            reason: rule.reason.get(locale).to_owned(),
        });

    Evaluation {
        template: template.template_ref(),
        author: author.clone(),
        sections,
        complete: progress.answered == progress.required && !any_invalid,
        progress,
        next,
        suggestion,
        hidden_answers,
    }
}

/// The answer conditions may read: a valid answer to a visible question. A hidden
/// question's answer is kept but says nothing, so hiding a question also hides what
/// depends on it.
fn lookup<'a>(template: &CheckedTemplate, visible: &[bool], usable: &[Option<&'a AnswerValue>], id: &str) -> Option<&'a AnswerValue> {
    let i = template.position(id)?;
    if visible.get(i).copied().unwrap_or(false) {
        usable.get(i).copied().flatten()
    } else {
        None
    }
}
