//! The shape of a checklist template: plain data, read from JSON, so coordinators can
//! publish new checklists without a new app. `check.rs` decides whether one is sound.
//!
//! Unknown fields are refused everywhere: a misspelt `"relevence"` silently ignored
//! would show a question to everyone, and an older app reading a newer template is
//! better told it cannot than left to misread it.

use serde::{Deserialize, Serialize};

use super::answer::AnswerValue;
use super::number::Number;
use super::relevance::Condition;
use super::text::Text;
use crate::incident::{Confidence, Determination};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    /// Starts at 1. A published version never changes; an edit is a new version, so an
    /// incident keeps the checklist it started with.
    pub version: u32,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    pub sections: Vec<Section>,
    /// Tried in order; the first whose condition holds is the suggestion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub determination_rules: Vec<DeterminationRule>,
}

impl Template {
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: Text,
    pub questions: Vec<Question>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    YesNoUnknown,
    SingleChoice,
    MultipleChoice,
    /// A whole number; bounds come from `min` / `max` constraints.
    Count,
    /// A number that may have decimals; bounds come from `min` / `max` constraints.
    Decimal,
    Text,
    Location,
    Time,
    /// Arrival or departure: a time and, when the phone has one, a fix.
    Checkpoint,
}

impl QuestionType {
    /// The question type an answer value belongs to.
    pub fn of(value: &AnswerValue) -> Self {
        match value {
            AnswerValue::YesNo(_) => QuestionType::YesNoUnknown,
            AnswerValue::Choice(_) => QuestionType::SingleChoice,
            AnswerValue::Choices(_) => QuestionType::MultipleChoice,
            AnswerValue::Count(_) => QuestionType::Count,
            AnswerValue::Decimal(_) => QuestionType::Decimal,
            AnswerValue::Text(_) => QuestionType::Text,
            AnswerValue::Location(_) => QuestionType::Location,
            AnswerValue::Time(_) => QuestionType::Time,
            AnswerValue::Checkpoint { .. } => QuestionType::Checkpoint,
        }
    }

    /// Count and decimal questions: the ones `min` / `max` bound and numeric
    /// conditions (`at_least`, `more_than`) read.
    pub fn is_number(self) -> bool {
        matches!(self, QuestionType::Count | QuestionType::Decimal)
    }

    pub fn has_choices(self) -> bool {
        matches!(
            self,
            QuestionType::SingleChoice | QuestionType::MultipleChoice
        )
    }

    /// The name used in JSON and in template-check messages.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionType::YesNoUnknown => "yes_no_unknown",
            QuestionType::SingleChoice => "single_choice",
            QuestionType::MultipleChoice => "multiple_choice",
            QuestionType::Count => "count",
            QuestionType::Decimal => "decimal",
            QuestionType::Text => "text",
            QuestionType::Location => "location",
            QuestionType::Time => "time",
            QuestionType::Checkpoint => "checkpoint",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// 1–64 letters, digits, `_` or `-`: the key the answers are stored under.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub label: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Text>,
    /// Required only while visible: a hidden question never blocks completion.
    #[serde(default)]
    pub required: bool,
    /// Skip logic: the question is shown only while this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance: Option<Condition>,
    /// For single- and multiple-choice questions only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
}

impl Question {
    pub fn choice(&self, value: &str) -> Option<&Choice> {
        self.choices.iter().find(|c| c.value == value)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What is stored in the answer; never shown.
    pub value: String,
    pub label: Text,
}

/// A rule an answer must follow, with the message shown when it does not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    pub rule: ConstraintRule,
    pub message: Text,
}

/// In JSON: `{"min": 0}`, `{"max": 2.5}`, `{"more_than": 0}`, `{"max_length": 2000}`…
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConstraintRule {
    /// Count and decimal questions; a whole number for a count.
    Min(Number),
    /// Count and decimal questions; a whole number for a count.
    Max(Number),
    /// Decimal questions: the answer is more than this (`. > 0`). A count's strict
    /// bound is a `min` one step up.
    MoreThan(Number),
    /// Decimal questions: the answer is less than this.
    LessThan(Number),
    /// Text questions, in characters.
    MaxLength(u32),
    /// Multiple-choice questions.
    MinSelected(u32),
    /// Multiple-choice questions.
    MaxSelected(u32),
}

impl ConstraintRule {
    pub fn applies_to(self, kind: QuestionType) -> bool {
        match self {
            ConstraintRule::Min(_) | ConstraintRule::Max(_) => kind.is_number(),
            ConstraintRule::MoreThan(_) | ConstraintRule::LessThan(_) => {
                kind == QuestionType::Decimal
            }
            ConstraintRule::MaxLength(_) => kind == QuestionType::Text,
            ConstraintRule::MinSelected(_) | ConstraintRule::MaxSelected(_) => {
                kind == QuestionType::MultipleChoice
            }
        }
    }

    /// The questions the rule applies to, as the template check names them.
    pub fn applies_to_names(self) -> &'static str {
        match self {
            ConstraintRule::Min(_) | ConstraintRule::Max(_) => "count or decimal",
            ConstraintRule::MoreThan(_) | ConstraintRule::LessThan(_) => "decimal",
            ConstraintRule::MaxLength(_) => "text",
            ConstraintRule::MinSelected(_) | ConstraintRule::MaxSelected(_) => "multiple_choice",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ConstraintRule::Min(_) => "min",
            ConstraintRule::Max(_) => "max",
            ConstraintRule::MoreThan(_) => "more_than",
            ConstraintRule::LessThan(_) => "less_than",
            ConstraintRule::MaxLength(_) => "max_length",
            ConstraintRule::MinSelected(_) => "min_selected",
            ConstraintRule::MaxSelected(_) => "max_selected",
        }
    }
}

/// "When these answers are given, suggest this determination."
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminationRule {
    pub id: String,
    pub when: Condition,
    pub determination: Determination,
    pub confidence: Confidence,
    /// Why, in words the volunteer can check against what they saw.
    pub reason: Text,
}
