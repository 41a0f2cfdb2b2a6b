//! The team lead's view of one incident: every verifier's answers side by side, and
//! the questions they disagree on, so a disagreement is seen and resolved rather than
//! settled by whichever replica synced last.
//!
//! Each author's answers are read through their own checklist: an answer their later
//! answers hid is kept in the document but not shown here, since it is not what they
//! ended up saying. A question appears when it is visible to at least one author.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use super::engine::{evaluate, AnswerStatus, Evaluation, Progress, QuestionState, Suggestion};
use crate::ids::DeviceId;
use crate::incident::{QuestionAnswers, TemplateRef};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CombinedView {
    pub template: TemplateRef,
    /// Everyone who answered, in device-id order.
    pub authors: Vec<AuthorSummary>,
    pub sections: Vec<CombinedSection>,
    /// Questions whose answers disagree, in template order.
    pub disagreements: Vec<String>,
}

impl CombinedView {
    pub fn question(&self, id: &str) -> Option<&CombinedQuestion> {
        self.sections
            .iter()
            .flat_map(|s| s.questions.iter())
            .find(|q| q.id == id)
    }
}

/// How far one author got and what their answers suggest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthorSummary {
    pub author: DeviceId,
    pub progress: Progress,
    pub complete: bool,
    pub suggestion: Option<Suggestion>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CombinedSection {
    pub id: String,
    pub title: String,
    pub questions: Vec<CombinedQuestion>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CombinedQuestion {
    pub id: String,
    pub label: String,
    /// One per author who answered it, in device-id order.
    pub answers: Vec<AuthorAnswer>,
    /// Every pair of answers says the same thing (true with fewer than two answers).
    pub agree: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuthorAnswer {
    pub author: DeviceId,
    pub value: AnswerValue,
    pub display: String,
    /// `false` when the answer does not fit the question; it is still shown.
    pub valid: bool,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
}

pub fn combine(
    template: &CheckedTemplate,
    answers: &[QuestionAnswers],
    locale: &str,
) -> CombinedView {
    let authors: BTreeSet<&DeviceId> = answers
        .iter()
        .filter(|q| template.question(&q.question_id).is_some())
        .flat_map(|q| q.by_author.iter().map(|a| &a.by))
        .collect();
    let evaluations: Vec<Evaluation> = authors
        .iter()
        .map(|author| evaluate(template, answers, author, locale))
        .collect();
    let states: Vec<HashMap<&str, &QuestionState>> = evaluations
        .iter()
        .map(|e| e.questions().map(|q| (q.id.as_str(), q)).collect())
        .collect();

    let mut sections = Vec::new();
    let mut disagreements = Vec::new();
    for section in &template.template().sections {
        let mut questions = Vec::new();
        for question in &section.questions {
            let visible: Vec<(&DeviceId, &QuestionState)> = authors
                .iter()
                .zip(&states)
                .filter_map(|(author, states)| {
                    states.get(question.id.as_str()).map(|s| (*author, *s))
                })
                .collect();
            if visible.is_empty() {
                continue;
            }
            let answers: Vec<AuthorAnswer> = visible
                .iter()
                .filter_map(|(author, state)| {
                    Some(AuthorAnswer {
                        author: (*author).clone(),
                        value: state.value.clone()?,
                        display: state.display.clone()?,
                        valid: state.status == AnswerStatus::Valid,
                        at: state.answered_at?,
                    })
                })
                .collect();
            let agree = answers.iter().enumerate().all(|(i, a)| {
                answers[i + 1..]
                    .iter()
                    .all(|b| a.value.agrees_with(&b.value))
            });
            if !agree {
                disagreements.push(question.id.clone());
            }
            questions.push(CombinedQuestion {
                id: question.id.clone(),
                label: question.label.get(locale).to_owned(),
                answers,
                agree,
            });
        }
        if !questions.is_empty() {
            sections.push(CombinedSection {
                id: section.id.clone(),
                title: section.title.get(locale).to_owned(),
                questions,
            });
        }
    }

    CombinedView {
        template: template.template_ref(),
        authors: evaluations
            .into_iter()
            .map(|e| AuthorSummary {
                author: e.author,
                progress: e.progress,
                complete: e.complete,
                suggestion: e.suggestion,
            })
            .collect(),
        sections,
        disagreements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::answer::YesNo;
    use crate::checklist::fixtures::{answers, chain_template, device};

    #[test]
    fn disagreements_are_listed_with_both_answers() {
        let t = chain_template();
        let (ana, beto) = (device(1), device(2));
        let given = answers(&[
            (&ana, "present", AnswerValue::YesNo(YesNo::Yes)),
            (
                &ana,
                "agencies",
                AnswerValue::Choices(vec!["ice".into(), "other".into()]),
            ),
            (&ana, "agents", AnswerValue::Count(4)),
            (&beto, "present", AnswerValue::YesNo(YesNo::Yes)),
            (
                &beto,
                "agencies",
                AnswerValue::Choices(vec!["other".into(), "ice".into()]),
            ),
            (&beto, "agents", AnswerValue::Count(6)),
        ]);
        let view = combine(&t, &given, "es");
        assert_eq!(view.disagreements, ["agents"]);
        let agents = view.question("agents").unwrap();
        assert!(!agents.agree);
        let mut expected = vec![(ana.clone(), "4"), (beto.clone(), "6")];
        expected.sort();
        assert_eq!(
            agents
                .answers
                .iter()
                .map(|a| (a.author.clone(), a.display.as_str()))
                .collect::<Vec<_>>(),
            expected
        );
        assert!(
            view.question("agencies").unwrap().agree,
            "the same agencies in another order agree"
        );
        assert_eq!(view.authors.len(), 2);
        assert!(view
            .authors
            .iter()
            .all(|a| a.suggestion.as_ref().map(|s| s.rule.as_str()) == Some("seen")));
    }

    #[test]
    fn answers_an_author_hid_are_not_held_against_them() {
        let t = chain_template();
        let (ana, beto) = (device(1), device(2));
        let given = answers(&[
            (&ana, "present", AnswerValue::YesNo(YesNo::Yes)),
            (&ana, "agents", AnswerValue::Count(4)),
            // Beto first saw agents, then found it was not enforcement: his count is hidden.
            (&beto, "agents", AnswerValue::Count(9)),
            (&beto, "present", AnswerValue::YesNo(YesNo::No)),
        ]);
        let view = combine(&t, &given, "en");
        assert_eq!(view.disagreements, ["present"]);
        let agents = view.question("agents").unwrap();
        assert_eq!(
            agents.answers.iter().map(|a| &a.author).collect::<Vec<_>>(),
            [&ana]
        );
        assert!(agents.agree);
        assert!(view.question("agency_other").is_none(), "visible to nobody");
        let present = view.question("present").unwrap();
        let mut shown: Vec<&str> = present.answers.iter().map(|a| a.display.as_str()).collect();
        shown.sort();
        assert_eq!(shown, ["No", "Yes"]);
    }

    #[test]
    fn nobody_answered_means_nothing_to_show() {
        let view = combine(&chain_template(), &[], "en");
        assert!(
            view.authors.is_empty() && view.sections.is_empty() && view.disagreements.is_empty()
        );
    }
}
