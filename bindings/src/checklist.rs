//! Checklist answers as the apps give them.

use std::time::SystemTime;

use testigo_core::checklist::{AnswerValue as CoreAnswer, YesNo};

use crate::errors::Result;
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
    YesNo { answer: YesNo },
    /// One choice value of a single-choice question.
    Choice { value: String },
    /// The choice values of a multiple-choice question, in the order picked.
    Choices { values: Vec<String> },
    Count { count: i64 },
    Text { text: String },
    Location { fix: LocationFix },
    Time { at: SystemTime },
    /// Arrival or departure: the time and, when the phone had one, a fix.
    Checkpoint { at: SystemTime, fix: Option<LocationFix> },
}

impl AnswerValue {
    pub(crate) fn into_core(self) -> Result<CoreAnswer> {
        Ok(match self {
            AnswerValue::YesNo { answer } => CoreAnswer::YesNo(answer),
            AnswerValue::Choice { value } => CoreAnswer::Choice(value),
            AnswerValue::Choices { values } => CoreAnswer::Choices(values),
            AnswerValue::Count { count } => CoreAnswer::Count(count),
            AnswerValue::Text { text } => CoreAnswer::Text(text),
            AnswerValue::Location { fix } => CoreAnswer::Location(fix.into_core()?),
            AnswerValue::Time { at } => CoreAnswer::Time(from_system(at, "answer time")?),
            AnswerValue::Checkpoint { at, fix } => {
                CoreAnswer::Checkpoint { at: from_system(at, "checkpoint time")?, fix: fix.map(LocationFix::into_core).transpose()? }
            }
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
            CoreAnswer::Text(text) => AnswerValue::Text { text },
            CoreAnswer::Location(fix) => AnswerValue::Location { fix: fix.into() },
            CoreAnswer::Time(at) => AnswerValue::Time { at: to_system(at) },
            CoreAnswer::Checkpoint { at, fix } => AnswerValue::Checkpoint { at: to_system(at), fix: fix.map(Into::into) },
        }
    }
}
