//! Conditions on answers: skip logic ("show the agencies question only when
//! enforcement is present") and the rules that suggest a determination.
//!
//! In JSON a condition is one small object, so a coordinator can read and write it:
//!
//! ```json
//! {"all": [{"equals": {"question": "enforcement_present", "value": "yes"}},
//!          {"selected": {"question": "agencies", "value": "ice_ero"}}]}
//! ```

use serde::{Deserialize, Serialize};

use super::answer::{AnswerValue, YesNo};

/// A value compared with an answer: text for yes/no, choice and text questions, an
/// integer for counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Integer(i64),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The question has an answer (an empty text or selection is no answer).
    Answered(String),
    /// The answer is this value (yes/no/unknown, a single choice, a count or a text).
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
    /// A count is at least `value`, or at least `value` distinct choices are picked.
    AtLeast {
        question: String,
        value: i64,
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
            Condition::AtLeast { question, value } => match answer(question) {
                Some(AnswerValue::Count(n)) => n >= value,
                Some(AnswerValue::Choices(choices)) => {
                    let mut distinct: Vec<&String> = choices.iter().collect();
                    distinct.sort();
                    distinct.dedup();
                    i64::try_from(distinct.len()).is_ok_and(|n| n >= *value)
                }
                _ => false,
            },
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
                Condition::AtLeast { question, .. } => out.push(Comparison {
                    question,
                    test: Test::AtLeast,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Comparison<'a> {
    pub(crate) question: &'a str,
    pub(crate) test: Test<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Test<'a> {
    Answered,
    Equals(&'a Literal),
    Selected(&'a str),
    AtLeast,
}

/// The JSON spelling of a yes/no answer, which is what conditions compare with.
pub(crate) fn yes_no_str(value: YesNo) -> &'static str {
    match value {
        YesNo::Yes => "yes",
        YesNo::No => "no",
        YesNo::Unknown => "unknown",
    }
}

fn matches(answer: &AnswerValue, literal: &Literal) -> bool {
    match (answer, literal) {
        (AnswerValue::YesNo(yes_no), Literal::Text(text)) => yes_no_str(*yes_no) == text,
        (AnswerValue::Choice(choice), Literal::Text(text)) => choice == text,
        (AnswerValue::Text(answer), Literal::Text(text)) => answer.trim() == text.trim(),
        (AnswerValue::Count(n), Literal::Integer(i)) => n == i,
        _ => false,
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
}
