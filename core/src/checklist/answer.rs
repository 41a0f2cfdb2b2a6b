//! The value a person gives to one checklist question. Stored per author in the
//! incident document (see `incident::schema`), checked against the template by the
//! checklist engine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::number::Number;
use crate::location::LocationFix;

/// Yes / no / "I could not tell": on scene, "unknown" is an honest answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNo {
    Yes,
    No,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    YesNo(YesNo),
    /// One choice value of a single-choice question.
    Choice(String),
    /// The choice values of a multiple-choice question, in the order picked.
    Choices(Vec<String>),
    Count(i64),
    /// A number with decimals (a distance, a weight). Always finite: NaN and infinity
    /// are refused before an answer is written and when a change is checked.
    Decimal(f64),
    Text(String),
    Location(LocationFix),
    #[serde(with = "chrono::serde::ts_milliseconds")]
    Time(DateTime<Utc>),
    /// Arrival or departure: the time and, when the phone had one, a fix.
    Checkpoint {
        #[serde(with = "chrono::serde::ts_milliseconds")]
        at: DateTime<Utc>,
        fix: Option<LocationFix>,
    },
}

impl AnswerValue {
    /// An empty text or an empty selection. Answers are never deleted, so this is what
    /// clearing a field writes; it counts as no answer.
    pub fn is_blank(&self) -> bool {
        match self {
            AnswerValue::Text(text) => text.trim().is_empty(),
            AnswerValue::Choices(choices) => choices.is_empty(),
            _ => false,
        }
    }

    /// The number a count or decimal answer holds, for constraints and conditions.
    pub fn number(&self) -> Option<Number> {
        match self {
            AnswerValue::Count(n) => Some(Number::Integer(*n)),
            AnswerValue::Decimal(x) => Some(Number::Decimal(*x)),
            _ => None,
        }
    }

    /// A number answer that is NaN or infinite, which nothing may record: it has no
    /// JSON form, compares with nothing, and would read back as no answer at all.
    pub fn is_non_finite(&self) -> bool {
        matches!(self, AnswerValue::Decimal(x) if !x.is_finite())
    }

    /// Whether two answers say the same thing (order of multiple choices does not matter).
    pub fn agrees_with(&self, other: &AnswerValue) -> bool {
        match (self, other) {
            (AnswerValue::Choices(a), AnswerValue::Choices(b)) => {
                let (mut a, mut b) = (a.clone(), b.clone());
                a.sort();
                a.dedup();
                b.sort();
                b.dedup();
                a == b
            }
            // Two people's checkpoints are their own arrivals: they never disagree.
            (AnswerValue::Checkpoint { .. }, AnswerValue::Checkpoint { .. }) => true,
            (AnswerValue::Location(_), AnswerValue::Location(_)) => true,
            _ => self == other,
        }
    }
}
