//! Whether one answer fits its question: the right type, a choice that exists, the
//! template's constraints. Checked before an answer is written, and again when the
//! engine reads answers back, because a peer's answer may have been written against
//! another version of the template or by a buggy client.

use std::cmp::Ordering;

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use super::template::{Constraint, ConstraintRule, Question, QuestionType};
use super::text::Lang;
use crate::error::{Error, Result};

/// Checks `value` as an answer to `question_id` before it is written. A wrong type, an
/// unknown choice or a broken constraint is [`Error::InvalidInput`] whose reason is
/// the message for the volunteer, in `locale`. A blank answer (clearing a field) fits
/// every question of its type.
pub fn validate_answer(
    template: &CheckedTemplate,
    question_id: &str,
    value: &AnswerValue,
    locale: &str,
) -> Result<()> {
    let question = template.question(question_id).ok_or_else(|| {
        Error::not_found(format!(
            "question {question_id:?} in checklist {:?} version {}",
            template.template().id,
            template.template().version
        ))
    })?;
    check_answer(question, value)
        .map_err(|violation| Error::invalid(question_id, violation.message(locale)))
}

/// Why an answer does not fit its question.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Violation<'t> {
    WrongType {
        expected: QuestionType,
        got: QuestionType,
    },
    UnknownChoice(String),
    RepeatedChoice(String),
    Constraint(&'t Constraint),
    InvalidFix(String),
    /// NaN or infinity, which no question takes.
    NotFinite,
}

pub(crate) fn check_answer<'t>(
    question: &'t Question,
    value: &AnswerValue,
) -> Result<(), Violation<'t>> {
    let got = QuestionType::of(value);
    if got != question.kind {
        return Err(Violation::WrongType {
            expected: question.kind,
            got,
        });
    }
    if value.is_blank() {
        return Ok(());
    }
    if value.is_non_finite() {
        return Err(Violation::NotFinite);
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
            fix.validate()
                .map_err(|e| Violation::InvalidFix(reason(e)))?;
        }
        _ => {}
    }
    match question
        .constraints
        .iter()
        .find(|c| !satisfies(c.rule, value))
    {
        Some(broken) => Err(Violation::Constraint(broken)),
        None => Ok(()),
    }
}

/// Whether `value` follows `rule`; a rule for another type of question says nothing.
fn satisfies(rule: ConstraintRule, value: &AnswerValue) -> bool {
    let number = |bound, holds: fn(Ordering) -> bool| {
        value
            .number()
            .map_or(true, |n| n.compare(bound).is_some_and(holds))
    };
    match (rule, value) {
        (ConstraintRule::Min(min), _) => number(min, Ordering::is_ge),
        (ConstraintRule::Max(max), _) => number(max, Ordering::is_le),
        (ConstraintRule::MoreThan(low), _) => number(low, Ordering::is_gt),
        (ConstraintRule::LessThan(high), _) => number(high, Ordering::is_lt),
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
                format!(
                    "This question expects {}, not {}.",
                    type_name(*expected, lang),
                    type_name(*got, lang)
                )
            }
            (Violation::WrongType { expected, got }, Lang::Es) => {
                format!(
                    "Esta pregunta espera {}, no {}.",
                    type_name(*expected, lang),
                    type_name(*got, lang)
                )
            }
            (Violation::UnknownChoice(choice), Lang::En) => {
                format!("“{choice}” is not one of the choices.")
            }
            (Violation::UnknownChoice(choice), Lang::Es) => {
                format!("«{choice}» no es una de las opciones.")
            }
            (Violation::RepeatedChoice(choice), Lang::En) => {
                format!("“{choice}” is chosen more than once.")
            }
            (Violation::RepeatedChoice(choice), Lang::Es) => {
                format!("«{choice}» está marcada más de una vez.")
            }
            (Violation::InvalidFix(reason), Lang::En) => {
                format!("The location is not valid ({reason}).")
            }
            (Violation::InvalidFix(reason), Lang::Es) => {
                format!("La ubicación no es válida ({reason}).")
            }
            (Violation::NotFinite, Lang::En) => "Enter a number with digits.".to_owned(),
            (Violation::NotFinite, Lang::Es) => "Escriba un número con cifras.".to_owned(),
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
        (QuestionType::Decimal, Lang::En) => "a number",
        (QuestionType::Decimal, Lang::Es) => "un número",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::answer::YesNo;
    use crate::checklist::fixtures::{at, chain_template};
    use crate::location::{LocationFix, LocationProvider};

    fn refusal(question: &str, value: AnswerValue, locale: &str) -> (String, String) {
        match validate_answer(&chain_template(), question, &value, locale) {
            Err(Error::InvalidInput { field, reason }) => (field, reason),
            other => panic!("expected InvalidInput for {question}, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_is_refused_with_a_clear_message() {
        assert_eq!(
            refusal("present", AnswerValue::Count(3), "en"),
            (
                "present".to_owned(),
                "This question expects a yes / no / unknown answer, not a whole number.".to_owned()
            )
        );
        assert_eq!(
            refusal("agencies", AnswerValue::Choice("ice".into()), "es").1,
            "Esta pregunta espera una lista de opciones, no una sola opción."
        );
        assert_eq!(
            refusal("agents", AnswerValue::Text("five".into()), "en").1,
            "This question expects a whole number, not text."
        );
    }

    #[test]
    fn choices_must_exist_and_appear_once() {
        assert_eq!(
            refusal(
                "agencies",
                AnswerValue::Choices(vec!["ice".into(), "fbi".into()]),
                "en"
            )
            .1,
            "“fbi” is not one of the choices."
        );
        assert_eq!(
            refusal(
                "agencies",
                AnswerValue::Choices(vec!["ice".into(), "ice".into()]),
                "es"
            )
            .1,
            "«ice» está marcada más de una vez."
        );
    }

    #[test]
    fn a_count_outside_its_bounds_gets_the_constraint_message() {
        assert_eq!(
            refusal("agents", AnswerValue::Count(-1), "en").1,
            "Enter 0 to 50."
        );
        assert_eq!(
            refusal("agents", AnswerValue::Count(51), "es").1,
            "Escriba de 0 a 50."
        );
        assert!(
            validate_answer(&chain_template(), "agents", &AnswerValue::Count(50), "en").is_ok()
        );
        assert!(validate_answer(&chain_template(), "agents", &AnswerValue::Count(0), "en").is_ok());
    }

    #[test]
    fn good_and_blank_answers_pass() {
        let t = chain_template();
        assert!(validate_answer(&t, "present", &AnswerValue::YesNo(YesNo::Unknown), "en").is_ok());
        assert!(validate_answer(
            &t,
            "agencies",
            &AnswerValue::Choices(vec!["other".into(), "ice".into()]),
            "en"
        )
        .is_ok());
        assert!(
            validate_answer(&t, "agencies", &AnswerValue::Choices(vec![]), "en").is_ok(),
            "clearing a field is allowed"
        );
        assert!(validate_answer(&t, "notes", &AnswerValue::Text(String::new()), "en").is_ok());
    }

    #[test]
    fn an_unknown_question_is_not_found() {
        let result = validate_answer(&chain_template(), "agency", &AnswerValue::Count(1), "en");
        assert!(
            matches!(result, Err(Error::NotFound { what }) if what.contains("\"agency\"") && what.contains("\"chain\" version 1"))
        );
    }

    #[test]
    fn constraints_on_selections_and_text_and_fixes_are_checked() {
        let question: Question = serde_json::from_value(serde_json::json!({
            "id": "q", "type": "multiple_choice", "label": {"en": "Q"},
            "choices": [{"value": "a", "label": {"en": "A"}}, {"value": "b", "label": {"en": "B"}}, {"value": "c", "label": {"en": "C"}}],
            "constraints": [
                {"rule": {"min_selected": 2}, "message": {"en": "Pick two or three."}},
                {"rule": {"max_selected": 2}, "message": {"en": "Pick two at most."}}
            ]
        }))
        .unwrap();
        let picks = |v: &[&str]| AnswerValue::Choices(v.iter().map(|s| s.to_string()).collect());
        assert!(
            matches!(check_answer(&question, &picks(&["a"])), Err(Violation::Constraint(c)) if c.message.get("en") == "Pick two or three.")
        );
        assert!(
            matches!(check_answer(&question, &picks(&["a", "b", "c"])), Err(Violation::Constraint(c)) if c.message.get("en") == "Pick two at most.")
        );
        assert_eq!(check_answer(&question, &picks(&["c", "a"])), Ok(()));

        let text: Question = serde_json::from_value(serde_json::json!({
            "id": "t", "type": "text", "label": {"en": "T"},
            "constraints": [{"rule": {"max_length": 3}, "message": {"en": "Three letters at most."}}]
        }))
        .unwrap();
        assert_eq!(
            check_answer(&text, &AnswerValue::Text("ñañ".into())),
            Ok(()),
            "length is in characters, not bytes"
        );
        assert!(matches!(
            check_answer(&text, &AnswerValue::Text("abcd".into())),
            Err(Violation::Constraint(_))
        ));

        let checkpoint: Question = serde_json::from_value(
            serde_json::json!({"id": "c", "type": "checkpoint", "label": {"en": "C"}}),
        )
        .unwrap();
        let fix = LocationFix {
            lat: 91.0,
            lon: 0.0,
            accuracy_m: 5.0,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: at(0),
            mock: false,
        };
        let violation = check_answer(
            &checkpoint,
            &AnswerValue::Checkpoint {
                at: at(0),
                fix: Some(fix),
            },
        )
        .unwrap_err();
        assert!(
            violation
                .message("es")
                .starts_with("La ubicación no es válida (latitude: 91"),
            "{}",
            violation.message("es")
        );
        assert_eq!(
            check_answer(
                &checkpoint,
                &AnswerValue::Checkpoint {
                    at: at(0),
                    fix: None
                }
            ),
            Ok(())
        );
    }

    #[test]
    fn decimals_are_bounded_and_never_nan_or_infinite() {
        let question: Question = serde_json::from_value(serde_json::json!({
            "id": "d", "type": "decimal", "label": {"en": "D"},
            "constraints": [
                {"rule": {"more_than": 0}, "message": {"en": "More than 0."}},
                {"rule": {"max": 2.5}, "message": {"en": "2.5 at most."}}
            ]
        }))
        .unwrap();
        let check = |x: f64| check_answer(&question, &AnswerValue::Decimal(x));
        assert_eq!(check(2.5), Ok(()));
        assert_eq!(check(0.001), Ok(()));
        assert!(
            matches!(check(0.0), Err(Violation::Constraint(c)) if c.message.get("en") == "More than 0.")
        );
        assert!(
            matches!(check(2.5000001), Err(Violation::Constraint(c)) if c.message.get("en") == "2.5 at most.")
        );
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let violation = check(x).unwrap_err();
            assert_eq!(violation, Violation::NotFinite);
            assert_eq!(violation.message("en"), "Enter a number with digits.");
        }
        assert_eq!(
            check_answer(&question, &AnswerValue::Count(2))
                .unwrap_err()
                .message("es"),
            "Esta pregunta espera un número, no un número entero.",
            "a count is not a decimal answer"
        );
    }
}
