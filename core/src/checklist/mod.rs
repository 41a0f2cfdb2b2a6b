//! Checklists: templates as data and the engine that runs them on scene.
//!
//! - [`Template`]: the serde shape of a template; [`Text`]: localized strings with an
//!   English fallback; [`Condition`]: skip logic and the rules behind suggestions.
//! - [`check_template`] / [`CheckedTemplate`]: a template is checked once, as a whole,
//!   before anything runs it.
//! - [`validate_answer`]: one answer against its question, before it is written.
//! - [`evaluate`]: one person's checklist (visible questions, progress, next question,
//!   suggested determination); [`combine`]: every author side by side for a team lead.
//! - [`Registry`]: every version, so an incident keeps the checklist it started with.
//! - [`default_template`]: the bilingual verification checklist that ships with Testigo.
//! - `xlsform` (feature `xlsform`): import and export of ODK / KoboToolbox XLSForms.

mod answer;
mod check;
mod combined;
mod default;
mod display;
mod engine;
#[cfg(test)]
mod fixtures;
mod number;
mod registry;
mod relevance;
mod template;
mod text;
mod validate;
#[cfg(feature = "xlsform")]
pub mod xlsform;

pub use answer::{AnswerValue, YesNo};
pub use check::{check_template, CheckReport, CheckedTemplate, MAX_TEMPLATE_BYTES};
pub use combined::{
    combine, AuthorAnswer, AuthorSummary, CombinedQuestion, CombinedSection, CombinedView,
};
pub use default::{default_template, DEFAULT_TEMPLATE_ID};
pub use display::display_answer;
pub use engine::{
    evaluate, AnswerStatus, ChoiceLabel, Evaluation, Progress, QuestionState, SectionState,
    Suggestion,
};
pub use number::Number;
pub use registry::Registry;
pub use relevance::{Condition, Literal};
pub use template::{
    Choice, Constraint, ConstraintRule, DeterminationRule, Question, QuestionType, Section,
    Template,
};
pub use text::{Text, EXPECTED_LOCALES, FALLBACK_LOCALE};
pub use validate::validate_answer;
