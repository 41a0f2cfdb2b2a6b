//! Conditions on answers: skip logic ("show the agencies question only when
//! enforcement is present") and the rules that suggest a determination.
//!
//! In JSON a condition is one small object, so a coordinator can read and write it:
//!
//! ```json
//! {"all": [{"equals": {"question": "enforcement_present", "value": "yes"}},
//!          {"selected": {"question": "agencies", "value": "ice_ero"}}]}
//! ```

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::answer::{AnswerValue, YesNo};
use super::number::Number;

/// A value compared with an answer: text for yes/no, choice and text questions, a
/// whole number for counts, a whole or decimal number for decimals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Integer(i64),
    Text(String),
    /// Tried after text, so `2` stays an integer and only `2.5` or `2.0` is decimal.
    Decimal(f64),
}

impl Literal {
    pub fn number(&self) -> Option<Number> {
        match self {
            Literal::Integer(n) => Some(Number::Integer(*n)),
            Literal::Decimal(x) => Some(Number::Decimal(*x)),
            Literal::Text(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The question has an answer (an empty text or selection is no answer).
    Answered(String),
    /// The answer is this value (yes/no/unknown, a single choice, a number or a text).
    Equals {
        question: String,
        value: Literal,
    },
    /// The question is answered, with another value. Unanswered is not "not equal",
    /// so a follow-up does not appear before the question it follows; write
    /// `{"not": {"equals": …}}` for "anything but this, including no answer".
    NotEquals {
        question: String,
        value: Literal,
    },
    /// The choice is picked, in a single- or multiple-choice question.
    Selected {
        question: String,
        value: String,
    },
    /// A count or decimal is at least `value`, or at least `value` distinct choices
    /// are picked.
    AtLeast {
        question: String,
        value: Number,
    },
    /// A count or decimal is more than `value`, or more than `value` distinct choices
    /// are picked. A decimal's "more than 1.5" cannot be written as "at least" anything.
    MoreThan {
        question: String,
        value: Number,
    },
    /// Every condition holds (true when empty, which the template check refuses).
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Whether the condition holds, given each question's usable answer (`None` when the
    /// question is unanswered, hidden or answered invalidly: such an answer says nothing).
    pub fn holds<'a>(&self, answer: &dyn Fn(&str) -> Option<&'a AnswerValue>) -> bool {
        match self {
            Condition::Answered(question) => answer(question).is_some(),
            Condition::Equals { question, value } => {
                answer(question).is_some_and(|a| matches(a, value))
            }
            Condition::NotEquals { question, value } => {
                answer(question).is_some_and(|a| !matches(a, value))
            }
            Condition::Selected { question, value } => match answer(question) {
                Some(AnswerValue::Choice(choice)) => choice == value,
                Some(AnswerValue::Choices(choices)) => choices.contains(value),
                _ => false,
            },
            Condition::AtLeast { question, value } => amount(answer(question))
                .and_then(|n| n.compare(*value))
                .is_some_and(Ordering::is_ge),
            Condition::MoreThan { question, value } => amount(answer(question))
                .and_then(|n| n.compare(*value))
                .is_some_and(Ordering::is_gt),
            Condition::All(conditions) => conditions.iter().all(|c| c.holds(answer)),
            Condition::Any(conditions) => conditions.iter().any(|c| c.holds(answer)),
            Condition::Not(condition) => !condition.holds(answer),
        }
    }

    /// Every comparison in the condition, for the template check and the dependency
    /// graph of skip logic.
    pub(crate) fn comparisons(&self) -> Vec<Comparison<'_>> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(condition) = stack.pop() {
            match condition {
                Condition::Answered(question) => out.push(Comparison {
                    question,
                    test: Test::Answered,
                }),
                Condition::Equals { question, value }
                | Condition::NotEquals { question, value } => out.push(Comparison {
                    question,
                    test: Test::Equals(value),
                }),
                Condition::Selected { question, value } => out.push(Comparison {
                    question,
                    test: Test::Selected(value),
                }),
                Condition::AtLeast { question, value } => out.push(Comparison {
                    question,
                    test: Test::Bound("at_least", *value),
                }),
                Condition::MoreThan { question, value } => out.push(Comparison {
                    question,
                    test: Test::Bound("more_than", *value),
                }),
                Condition::All(conditions) | Condition::Any(conditions) => {
                    stack.extend(conditions.iter().rev())
                }
                Condition::Not(condition) => stack.push(condition),
            }
        }
        out
    }

    /// The `all` / `any` lists that are empty: always true or always false, so
    /// certainly a mistake.
    pub(crate) fn has_empty_list(&self) -> bool {
        match self {
            Condition::All(conditions) | Condition::Any(conditions) => {
                conditions.is_empty() || conditions.iter().any(Condition::has_empty_list)
            }
            Condition::Not(condition) => condition.has_empty_list(),
            _ => false,
        }
    }
}

/// One leaf of a condition: which question it reads and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Comparison<'a> {
    pub(crate) question: &'a str,
    pub(crate) test: Test<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Test<'a> {
    Answered,
    Equals(&'a Literal),
    Selected(&'a str),
    /// `at_least` or `more_than` (its JSON name), with its value.
    Bound(&'static str, Number),
}

/// The JSON spelling of a yes/no answer, which is what conditions compare with.
pub(crate) fn yes_no_str(value: YesNo) -> &'static str {
    match value {
        YesNo::Yes => "yes",
        YesNo::No => "no",
        YesNo::Unknown => "unknown",
    }
}

/// What numeric conditions read: a count or a decimal, or how many distinct choices
/// are picked.
fn amount(answer: Option<&AnswerValue>) -> Option<Number> {
    match answer? {
        AnswerValue::Choices(choices) => {
            let mut distinct: Vec<&String> = choices.iter().collect();
            distinct.sort();
            distinct.dedup();
            i64::try_from(distinct.len()).ok().map(Number::Integer)
        }
        other => other.number(),
    }
}

fn matches(answer: &AnswerValue, literal: &Literal) -> bool {
    match (answer, literal) {
        (AnswerValue::YesNo(yes_no), Literal::Text(text)) => yes_no_str(*yes_no) == text,
        (AnswerValue::Choice(choice), Literal::Text(text)) => choice == text,
        (AnswerValue::Text(answer), Literal::Text(text)) => answer.trim() == text.trim(),
        // By value: a decimal answer of 2.0 equals the literal 2.
        _ => answer
            .number()
            .zip(literal.number())
            .and_then(|(a, l)| a.compare(l))
            .is_some_and(Ordering::is_eq),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn answers(pairs: &[(&str, AnswerValue)]) -> HashMap<String, AnswerValue> {
        pairs
            .iter()
            .map(|(q, v)| (q.to_string(), v.clone()))
            .collect()
    }

    fn holds(condition: &str, answers: &HashMap<String, AnswerValue>) -> bool {
        let condition: Condition = serde_json::from_str(condition).unwrap();
        condition.holds(&|q| answers.get(q))
    }

    #[test]
    fn comparisons_read_answers_of_each_type() {
        let a = answers(&[
            ("present", AnswerValue::YesNo(YesNo::Yes)),
            ("agents", AnswerValue::Count(4)),
            (
                "agencies",
                AnswerValue::Choices(vec!["ice_ero".into(), "cbp".into(), "cbp".into()]),
            ),
            ("activity", AnswerValue::Choice("home".into())),
        ]);
        assert!(holds(
            r#"{"equals": {"question": "present", "value": "yes"}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"equals": {"question": "present", "value": "no"}}"#,
            &a
        ));
        assert!(holds(
            r#"{"equals": {"question": "agents", "value": 4}}"#,
            &a
        ));
        assert!(
            !holds(r#"{"equals": {"question": "agents", "value": "4"}}"#, &a),
            "a count is not text"
        );
        assert!(holds(
            r#"{"at_least": {"question": "agents", "value": 4}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"at_least": {"question": "agents", "value": 5}}"#,
            &a
        ));
        assert!(holds(
            r#"{"at_least": {"question": "agencies", "value": 2}}"#,
            &a
        ));
        assert!(
            !holds(r#"{"at_least": {"question": "agencies", "value": 3}}"#, &a),
            "a repeated choice counts once"
        );
        assert!(holds(
            r#"{"selected": {"question": "agencies", "value": "cbp"}}"#,
            &a
        ));
        assert!(holds(
            r#"{"selected": {"question": "activity", "value": "home"}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"selected": {"question": "activity", "value": "workplace"}}"#,
            &a
        ));
        assert!(holds(r#"{"answered": "activity"}"#, &a));
        assert!(!holds(r#"{"answered": "warrant"}"#, &a));
    }

    #[test]
    fn not_equals_needs_an_answer_but_not_equals_does_not() {
        let a = answers(&[("present", AnswerValue::YesNo(YesNo::Unknown))]);
        assert!(holds(
            r#"{"not_equals": {"question": "present", "value": "no"}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"not_equals": {"question": "warrant", "value": "no"}}"#,
            &a
        ));
        assert!(holds(
            r#"{"not": {"equals": {"question": "warrant", "value": "no"}}}"#,
            &a
        ));
    }

    #[test]
    fn all_any_not_combine() {
        let a = answers(&[
            ("present", AnswerValue::YesNo(YesNo::No)),
            ("agents", AnswerValue::Count(0)),
        ]);
        let both = r#"{"all": [{"equals": {"question": "present", "value": "no"}}, {"answered": "agents"}]}"#;
        let either = r#"{"any": [{"equals": {"question": "present", "value": "yes"}}, {"answered": "agents"}]}"#;
        let neither = r#"{"any": [{"equals": {"question": "present", "value": "yes"}}, {"answered": "warrant"}]}"#;
        assert!(holds(both, &a));
        assert!(holds(either, &a));
        assert!(!holds(neither, &a));
        assert!(holds(&format!(r#"{{"not": {neither}}}"#), &a));
    }

    #[test]
    fn unknown_keys_are_refused_rather_than_ignored() {
        let typo = r#"{"equals": {"question": "present", "value": "yes", "vale": "no"}}"#;
        assert!(serde_json::from_str::<Condition>(typo).is_err());
        assert!(serde_json::from_str::<Condition>(
            r#"{"greater_than": {"question": "a", "value": 1}}"#
        )
        .is_err());
    }

    #[test]
    fn comparisons_list_every_leaf_in_order() {
        let condition: Condition = serde_json::from_str(
            r#"{"all": [{"answered": "a"}, {"not": {"selected": {"question": "b", "value": "x"}}}, {"any": [{"at_least": {"question": "c", "value": 1}}]}]}"#,
        )
        .unwrap();
        let questions: Vec<&str> = condition.comparisons().iter().map(|c| c.question).collect();
        assert_eq!(questions, ["a", "b", "c"]);
        assert!(!condition.has_empty_list());
        assert!(Condition::Not(Box::new(Condition::Any(vec![]))).has_empty_list());
    }

    #[test]
    fn decimals_compare_by_value() {
        let a = answers(&[
            ("distance", AnswerValue::Decimal(1.5)),
            ("agents", AnswerValue::Count(2)),
        ]);
        assert!(holds(
            r#"{"more_than": {"question": "distance", "value": 1}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"more_than": {"question": "distance", "value": 1.5}}"#,
            &a
        ));
        assert!(holds(
            r#"{"at_least": {"question": "distance", "value": 1.5}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"at_least": {"question": "distance", "value": 1.50001}}"#,
            &a
        ));
        assert!(holds(
            r#"{"equals": {"question": "distance", "value": 1.5}}"#,
            &a
        ));
        assert!(
            !holds(
                r#"{"equals": {"question": "distance", "value": "1.5"}}"#,
                &a
            ),
            "a number is not text"
        );
        assert!(
            holds(r#"{"equals": {"question": "agents", "value": 2.0}}"#, &a),
            "2 is 2.0"
        );
        assert!(holds(
            r#"{"more_than": {"question": "agents", "value": 1}}"#,
            &a
        ));
        assert!(!holds(
            r#"{"more_than": {"question": "agents", "value": 2}}"#,
            &a
        ));
        let nan = answers(&[("distance", AnswerValue::Decimal(f64::NAN))]);
        for test in ["more_than", "at_least", "equals"] {
            let condition = format!(r#"{{"{test}": {{"question": "distance", "value": 0}}}}"#);
            assert!(
                !holds(&condition, &nan),
                "NaN compares with nothing ({test})"
            );
        }
    }
}
