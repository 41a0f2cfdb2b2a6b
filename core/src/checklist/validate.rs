//! Whether one answer fits its question: the right type, a choice that exists, the
//! template's constraints. Checked before an answer is written, and again when the
//! engine reads answers back, because a peer's answer may have been written against
//! another version of the template or by a buggy client.

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use super::template::{Constraint, ConstraintRule, Question, QuestionType};
use super::text::Lang;
use crate::error::{Error, Result};

/// Checks `value` as an answer to `question_id` before it is written. A wrong type, an
/// unknown choice or a broken constraint is [`Error::InvalidInput`] whose reason is
/// the message for the volunteer, in `locale`. A blank answer (clearing a field) fits
/// every question of its type.
pub fn validate_answer(template: &CheckedTemplate, question_id: &str, value: &AnswerValue, locale: &str) -> Result<()> {
    let question = template.question(question_id).ok_or_else(|| {
        Error::not_found(format!("question {question_id:?} in checklist {:?} version {}", template.template().id, template.template().version))
    })?;
    check_answer(question, value).map_err(|violation| Error::invalid(question_id, violation.message(locale)))
}

/// Why an answer does not fit its question.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Violation<'t> {
    WrongType { expected: QuestionType, got: QuestionType },
    UnknownChoice(String),
    RepeatedChoice(String),
    Constraint(&'t Constraint),
    InvalidFix(String),
}

pub(crate) fn check_answer<'t>(question: &'t Question, value: &AnswerValue) -> Result<(), Violation<'t>> {
    let got = QuestionType::of(value);
    if got != question.kind {
        return Err(Violation::WrongType { expected: question.kind, got });
    }
    if value.is_blank() {
        return Ok(());
    }
    match value {
        AnswerValue::Choice(choice) if question.choice(choice).is_none() => {
            return Err(Violation::UnknownChoice(choice.clone()));
        }
        AnswerValue::Choices(choices) => {
            for (i, choice) in choices.iter().enumerate() {
                if question.choice(choice).is_none() {
                    return Err(Violation::UnknownChoice(choice.clone()));
                }
                if choices[..i].contains(choice) {
                    return Err(Violation::RepeatedChoice(choice.clone()));
                }
            }
        }
        AnswerValue::Location(fix) | AnswerValue::Checkpoint { fix: Some(fix), .. } => {
            fix.validate().map_err(|e| Violation::InvalidFix(reason(e)))?;
        }
        _ => {}
    }
    match question.constraints.iter().find(|c| !satisfies(c.rule, value)) {
        Some(broken) => Err(Violation::Constraint(broken)),
        None => Ok(()),
    }
}

/// Whether `value` follows `rule`; a rule for another type of question says nothing.
fn satisfies(rule: ConstraintRule, value: &AnswerValue) -> bool {
    match (rule, value) {
        (ConstraintRule::Min(min), AnswerValue::Count(n)) => *n >= min,
        (ConstraintRule::Max(max), AnswerValue::Count(n)) => *n <= max,
        (ConstraintRule::MaxLength(max), AnswerValue::Text(text)) => {
            usize::try_from(max).map_or(true, |max| text.chars().count() <= max)
        }
        (ConstraintRule::MinSelected(min), AnswerValue::Choices(choices)) => {
            usize::try_from(min).is_ok_and(|min| choices.len() >= min)
        }
        (ConstraintRule::MaxSelected(max), AnswerValue::Choices(choices)) => {
            usize::try_from(max).map_or(true, |max| choices.len() <= max)
        }
        _ => true,
    }
}

fn reason(error: Error) -> String {
    match error {
        Error::InvalidInput { field, reason } => format!("{field}: {reason}"),
        other => other.to_string(),
    }
}

impl Violation<'_> {
    /// The message for the volunteer: the template's own for a constraint, the engine's
    /// for everything else.
    pub(crate) fn message(&self, locale: &str) -> String {
        let lang = Lang::of(locale);
        match (self, lang) {
            (Violation::Constraint(constraint), _) => constraint.message.get(locale).to_owned(),
            (Violation::WrongType { expected, got }, Lang::En) => {
                format!("This question expects {}, not {}.", type_name(*expected, lang), type_name(*got, lang))
            }
            (Violation::WrongType { expected, got }, Lang::Es) => {
                format!("Esta pregunta espera {}, no {}.", type_name(*expected, lang), type_name(*got, lang))
            }
            (Violation::UnknownChoice(choice), Lang::En) => format!("“{choice}” is not one of the choices."),
            (Violation::UnknownChoice(choice), Lang::Es) => format!("«{choice}» no es una de las opciones."),
            (Violation::RepeatedChoice(choice), Lang::En) => format!("“{choice}” is chosen more than once."),
            (Violation::RepeatedChoice(choice), Lang::Es) => format!("«{choice}» está marcada más de una vez."),
            (Violation::InvalidFix(reason), Lang::En) => format!("The location is not valid ({reason})."),
            (Violation::InvalidFix(reason), Lang::Es) => format!("La ubicación no es válida ({reason})."),
        }
    }
}

fn type_name(kind: QuestionType, lang: Lang) -> &'static str {
    match (kind, lang) {
        (QuestionType::YesNoUnknown, Lang::En) => "a yes / no / unknown answer",
        (QuestionType::YesNoUnknown, Lang::Es) => "una respuesta de sí, no o no se sabe",
        (QuestionType::SingleChoice, Lang::En) => "one choice",
        (QuestionType::SingleChoice, Lang::Es) => "una sola opción",
        (QuestionType::MultipleChoice, Lang::En) => "a list of choices",
        (QuestionType::MultipleChoice, Lang::Es) => "una lista de opciones",
        (QuestionType::Count, Lang::En) => "a whole number",
        (QuestionType::Count, Lang::Es) => "un número entero",
        (QuestionType::Text, Lang::En) => "text",
        (QuestionType::Text, Lang::Es) => "un texto",
        (QuestionType::Location, Lang::En) => "a location",
        (QuestionType::Location, Lang::Es) => "una ubicación",
        (QuestionType::Time, Lang::En) => "a time",
        (QuestionType::Time, Lang::Es) => "una hora",
        (QuestionType::Checkpoint, Lang::En) => "a check-in with time and place",
        (QuestionType::Checkpoint, Lang::Es) => "un registro de hora y lugar",
    }
}
