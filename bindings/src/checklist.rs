//! Checklists as screens run them: one person's checklist in their language (visible
//! questions, progress, the next question, a suggested determination), the team
//! lead's side-by-side view of everyone's answers, and the answers themselves.
//!
//! Templates are data: the shipped bilingual verification checklist is always known;
//! others arrive from the hub or through `FieldStore.publish_template`.

use std::time::SystemTime;

use testigo_core::checklist::{
    self as core, AnswerStatus, AnswerValue as CoreAnswer, CheckedTemplate, QuestionType, Registry,
    YesNo,
};
use testigo_core::ids::DeviceId;
use testigo_core::incident::QuestionAnswers as CoreQuestionAnswers;

use crate::errors::{ffi_call, Result, TestigoError};
use crate::incidents::{Confidence, Determination, TemplateRef};
use crate::location::LocationFix;
use crate::time::{from_system, to_system};

/// Yes / no / "I could not tell": on scene, "unknown" is an honest answer.
///
/// Named `YesNoAnswer` in the bindings so it does not collide with the
/// `AnswerValue.YesNo` variant in Kotlin.
#[uniffi::remote(Enum)]
#[uniffi(name = "YesNoAnswer")]
pub enum YesNo {
    Yes,
    No,
    Unknown,
}

/// The value a person gives to one checklist question.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum AnswerValue {
    YesNo {
        answer: YesNo,
    },
    /// One choice value of a single-choice question.
    Choice {
        value: String,
    },
    /// The choice values of a multiple-choice question, in the order picked.
    Choices {
        values: Vec<String>,
    },
    Count {
        count: i64,
    },
    /// A number with decimals; NaN and infinity are refused (`InvalidInput`).
    Decimal {
        value: f64,
    },
    Text {
        text: String,
    },
    Location {
        fix: LocationFix,
    },
    Time {
        at: SystemTime,
    },
    /// Arrival or departure: the time and, when the phone had one, a fix.
    Checkpoint {
        at: SystemTime,
        fix: Option<LocationFix>,
    },
}

impl AnswerValue {
    pub(crate) fn into_core(self) -> Result<CoreAnswer> {
        Ok(match self {
            AnswerValue::YesNo { answer } => CoreAnswer::YesNo(answer),
            AnswerValue::Choice { value } => CoreAnswer::Choice(value),
            AnswerValue::Choices { values } => CoreAnswer::Choices(values),
            AnswerValue::Count { count } => CoreAnswer::Count(count),
            AnswerValue::Decimal { value } => CoreAnswer::Decimal(value),
            AnswerValue::Text { text } => CoreAnswer::Text(text),
            AnswerValue::Location { fix } => CoreAnswer::Location(fix.into_core()?),
            AnswerValue::Time { at } => CoreAnswer::Time(from_system(at, "answer time")?),
            AnswerValue::Checkpoint { at, fix } => CoreAnswer::Checkpoint {
                at: from_system(at, "checkpoint time")?,
                fix: fix.map(LocationFix::into_core).transpose()?,
            },
        })
    }
}

impl From<CoreAnswer> for AnswerValue {
    fn from(value: CoreAnswer) -> Self {
        match value {
            CoreAnswer::YesNo(answer) => AnswerValue::YesNo { answer },
            CoreAnswer::Choice(value) => AnswerValue::Choice { value },
            CoreAnswer::Choices(values) => AnswerValue::Choices { values },
            CoreAnswer::Count(count) => AnswerValue::Count { count },
            CoreAnswer::Decimal(value) => AnswerValue::Decimal { value },
            CoreAnswer::Text(text) => AnswerValue::Text { text },
            CoreAnswer::Location(fix) => AnswerValue::Location { fix: fix.into() },
            CoreAnswer::Time(at) => AnswerValue::Time { at: to_system(at) },
            CoreAnswer::Checkpoint { at, fix } => AnswerValue::Checkpoint {
                at: to_system(at),
                fix: fix.map(Into::into),
            },
        }
    }
}

#[uniffi::remote(Enum)]
pub enum QuestionType {
    YesNoUnknown,
    SingleChoice,
    MultipleChoice,
    /// A whole number; the template's constraints bound it.
    Count,
    /// A number that may have decimals; the template's constraints bound it.
    Decimal,
    Text,
    Location,
    Time,
    /// Arrival or departure: a time and, when the phone has one, a fix.
    Checkpoint,
}

#[uniffi::remote(Enum)]
pub enum AnswerStatus {
    Unanswered,
    Valid,
    /// Answered, but the answer does not fit the question (e.g. written by a peer
    /// against another template version); it counts as unanswered until corrected.
    Invalid,
}

/// A checklist template as a picker shows it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TemplateInfo {
    pub template: TemplateRef,
    pub title: String,
    pub description: Option<String>,
    /// Questions in the template, visible or not.
    pub question_count: u32,
}

/// One person's checklist for one incident, in one language.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Checklist {
    pub template: TemplateRef,
    pub title: String,
    /// Whose answers these are (this device, for `FieldStore.checklist`).
    pub author: String,
    /// Sections with at least one visible question, in template order.
    pub sections: Vec<ChecklistSection>,
    pub progress: ChecklistProgress,
    /// Every visible required question is answered and no visible answer is invalid.
    pub complete: bool,
    /// The first visible question that needs attention.
    pub next_question: Option<String>,
    pub suggestion: Option<Suggestion>,
    /// Questions this person answered that their later answers hid; the answers stay
    /// and come back if the question shows again.
    pub hidden_answers: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ChecklistSection {
    pub id: String,
    pub title: String,
    pub questions: Vec<ChecklistQuestion>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ChecklistQuestion {
    /// The id answers are given under (`FieldStore.answer`).
    pub id: String,
    pub kind: QuestionType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// For choice questions, in template order.
    pub choices: Vec<ChoiceLabel>,
    pub status: AnswerStatus,
    pub value: Option<AnswerValue>,
    /// The answer as the reader's language says it ("Sí", "ICE (ERO), CBP").
    pub display: Option<String>,
    /// Why the answer is invalid, in the reader's language.
    pub error: Option<String>,
    pub answered_at: Option<SystemTime>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ChoiceLabel {
    /// What is stored in the answer.
    pub value: String,
    pub label: String,
}

/// Required questions answered, out of required questions visible.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ChecklistProgress {
    pub answered: u32,
    pub required: u32,
    /// From 0 to 1; a checklist with nothing required is done.
    pub fraction: f64,
}

/// What the template's rules make of the answers: only a suggestion, the volunteer
/// proposes and the team lead confirms.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Suggestion {
    pub determination: Determination,
    pub confidence: Confidence,
    /// The id of the rule that matched.
    pub rule: String,
    pub reason: String,
}

/// The team lead's view: every verifier's answers side by side.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CombinedChecklist {
    pub template: TemplateRef,
    pub title: String,
    /// Everyone who answered, in device-id order.
    pub authors: Vec<AuthorSummary>,
    pub sections: Vec<CombinedSection>,
    /// Questions whose answers disagree, in template order.
    pub disagreements: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AuthorSummary {
    pub author: String,
    pub progress: ChecklistProgress,
    pub complete: bool,
    pub suggestion: Option<Suggestion>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CombinedSection {
    pub id: String,
    pub title: String,
    pub questions: Vec<CombinedQuestion>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CombinedQuestion {
    pub id: String,
    pub label: String,
    /// One per author who answered it, in device-id order.
    pub answers: Vec<AuthorAnswer>,
    /// Every pair of answers says the same thing.
    pub agree: bool,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AuthorAnswer {
    pub author: String,
    pub value: AnswerValue,
    pub display: String,
    /// `false` when the answer does not fit the question; it is still shown.
    pub valid: bool,
    pub at: SystemTime,
}

/// The id of the verification checklist that ships with Testigo.
#[uniffi::export]
pub fn default_template_id() -> String {
    core::DEFAULT_TEMPLATE_ID.to_owned()
}

/// Checks a template (JSON, as coordinators write them) without publishing it:
/// `InvalidTemplate` lists every problem with its place. Returns the warnings (e.g. a
/// missing Spanish text), which do not stop publishing.
#[uniffi::export]
pub fn check_template_json(json: String) -> Result<Vec<String>> {
    ffi_call("check_template_json", || {
        Ok(CheckedTemplate::from_json(&json)?.warnings().to_vec())
    })
}

pub(crate) fn template_info(template: &CheckedTemplate, locale: &str) -> TemplateInfo {
    let t = template.template();
    TemplateInfo {
        template: template.template_ref().into(),
        title: t.title.get(locale).to_owned(),
        description: t.description.as_ref().map(|d| d.get(locale).to_owned()),
        question_count: u32::try_from(t.questions().count()).unwrap_or(u32::MAX),
    }
}

/// `author`'s checklist for an incident holding `answers`.
pub(crate) fn checklist(
    registry: &Registry,
    reference: &testigo_core::incident::TemplateRef,
    answers: &[CoreQuestionAnswers],
    author: &DeviceId,
    locale: &str,
) -> Result<Checklist> {
    let template = registry.resolve(reference)?;
    let e = core::evaluate(template, answers, author, locale);
    Ok(Checklist {
        template: e.template.into(),
        title: template.template().title.get(locale).to_owned(),
        author: e.author.to_string(),
        sections: e
            .sections
            .into_iter()
            .map(|s| ChecklistSection {
                id: s.id,
                title: s.title,
                questions: s.questions.into_iter().map(Into::into).collect(),
            })
            .collect(),
        progress: e.progress.into(),
        complete: e.complete,
        next_question: e.next,
        suggestion: e.suggestion.map(Into::into),
        hidden_answers: e.hidden_answers,
    })
}

/// Every author's checklist for an incident holding `answers`, side by side.
pub(crate) fn combined(
    registry: &Registry,
    reference: &testigo_core::incident::TemplateRef,
    answers: &[CoreQuestionAnswers],
    locale: &str,
) -> Result<CombinedChecklist> {
    let template = registry.resolve(reference)?;
    let c = core::combine(template, answers, locale);
    Ok(CombinedChecklist {
        template: c.template.into(),
        title: template.template().title.get(locale).to_owned(),
        authors: c
            .authors
            .into_iter()
            .map(|a| AuthorSummary {
                author: a.author.to_string(),
                progress: a.progress.into(),
                complete: a.complete,
                suggestion: a.suggestion.map(Into::into),
            })
            .collect(),
        sections: c
            .sections
            .into_iter()
            .map(|s| CombinedSection {
                id: s.id,
                title: s.title,
                questions: s
                    .questions
                    .into_iter()
                    .map(|q| CombinedQuestion {
                        id: q.id,
                        label: q.label,
                        agree: q.agree,
                        answers: q
                            .answers
                            .into_iter()
                            .map(|a| AuthorAnswer {
                                author: a.author.to_string(),
                                value: a.value.into(),
                                display: a.display,
                                valid: a.valid,
                                at: to_system(a.at),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        disagreements: c.disagreements,
    })
}

/// The template an incident runs, or `NotFound` when it was opened without one.
pub(crate) fn template_of(
    view: &testigo_core::incident::IncidentView,
) -> Result<testigo_core::incident::TemplateRef> {
    view.template.clone().ok_or_else(|| TestigoError::NotFound {
        reason: format!("incident {} has no checklist", view.id),
    })
}

impl From<core::QuestionState> for ChecklistQuestion {
    fn from(q: core::QuestionState) -> Self {
        ChecklistQuestion {
            id: q.id,
            kind: q.kind,
            label: q.label,
            hint: q.hint,
            required: q.required,
            choices: q
                .choices
                .into_iter()
                .map(|c| ChoiceLabel {
                    value: c.value,
                    label: c.label,
                })
                .collect(),
            status: q.status,
            value: q.value.map(Into::into),
            display: q.display,
            error: q.error,
            answered_at: q.answered_at.map(to_system),
        }
    }
}

impl From<core::Progress> for ChecklistProgress {
    fn from(p: core::Progress) -> Self {
        ChecklistProgress {
            answered: p.answered,
            required: p.required,
            fraction: p.fraction(),
        }
    }
}

impl From<core::Suggestion> for Suggestion {
    fn from(s: core::Suggestion) -> Self {
        Suggestion {
            determination: s.determination,
            confidence: s.confidence,
            rule: s.rule,
            reason: s.reason,
        }
    }
}
