//! Running a checklist for one person: which questions they see now, what they
//! answered, what is still missing, and what determination their answers suggest.
//!
//! Everything is computed from the incident's answers each time, never stored, so two
//! replicas with the same answers show the same checklist. Each person's checklist
//! follows their own answers: in an incident two volunteers verify, one may see the
//! agencies question and the other, who found nothing, may not.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::answer::AnswerValue;
use super::check::CheckedTemplate;
use super::display::display_answer;
use super::template::QuestionType;
use super::validate::{check_answer, Violation};
use crate::ids::DeviceId;
use crate::incident::{AnswerRecord, Confidence, Determination, QuestionAnswers, TemplateRef};

/// One person's checklist as it stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    pub template: TemplateRef,
    pub author: DeviceId,
    /// Sections with at least one visible question, in template order.
    pub sections: Vec<SectionState>,
    pub progress: Progress,
    /// Every visible required question is answered and no visible answer is invalid.
    pub complete: bool,
    /// The first visible question that needs attention: an invalid answer, or a
    /// required question without one. Skipped optional questions are not chased, so a
    /// volunteer who leaves one blank is not sent back to it.
    pub next: Option<String>,
    pub suggestion: Option<Suggestion>,
    /// Questions this person answered that their later answers hid. The answers stay in
    /// the document (nothing is deleted) and come back if the question shows again, but
    /// they count for nothing while hidden.
    pub hidden_answers: Vec<String>,
}

impl Evaluation {
    pub fn question(&self, id: &str) -> Option<&QuestionState> {
        self.questions().find(|q| q.id == id)
    }

    /// Visible questions, in order.
    pub fn questions(&self) -> impl Iterator<Item = &QuestionState> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SectionState {
    pub id: String,
    pub title: String,
    pub questions: Vec<QuestionState>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionState {
    pub id: String,
    pub kind: QuestionType,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// For choice questions, in template order.
    pub choices: Vec<ChoiceLabel>,
    pub status: AnswerStatus,
    /// `None` when unanswered (a blank answer is no answer).
    pub value: Option<AnswerValue>,
    pub display: Option<String>,
    /// Why the answer is invalid, in the reader's locale.
    pub error: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChoiceLabel {
    pub value: String,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    Unanswered,
    Valid,
    /// Answered, but the answer does not fit the question (e.g. written by a peer
    /// against another template version); it counts as unanswered until corrected.
    Invalid,
}

/// Required questions answered, out of required questions visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub answered: u32,
    pub required: u32,
}

impl Progress {
    /// From 0 to 1; a checklist with nothing required is done.
    pub fn fraction(&self) -> f64 {
        if self.required == 0 {
            1.0
        } else {
            f64::from(self.answered) / f64::from(self.required)
        }
    }
}

/// What the template's rules make of the answers. Only a suggestion: the volunteer
/// proposes and the team lead confirms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub determination: Determination,
    pub confidence: Confidence,
    /// The id of the rule that matched.
    pub rule: String,
    pub reason: String,
}

/// `author`'s checklist for an incident whose answers are `answers`, in `locale`.
pub fn evaluate(
    template: &CheckedTemplate,
    answers: &[QuestionAnswers],
    author: &DeviceId,
    locale: &str,
) -> Evaluation {
    let count = template.len();
    let mut own: Vec<Option<&AnswerRecord>> = vec![None; count];
    for question in answers {
        if let Some(i) = template.position(&question.question_id) {
            own[i] = question
                .by(author)
                .filter(|record| !record.value.is_blank());
        }
    }
    let checks: Vec<Option<Result<(), Violation>>> = own
        .iter()
        .enumerate()
        .map(|(i, record)| record.map(|r| check_answer(template.nth(i), &r.value)))
        .collect();
    let usable: Vec<Option<&AnswerValue>> = own
        .iter()
        .zip(&checks)
        .map(|(record, check)| match check {
            Some(Ok(())) => record.map(|r| &r.value),
            _ => None,
        })
        .collect();

    let mut visible = vec![false; count];
    for &i in template.evaluation_order() {
        let shown = match &template.nth(i).relevance {
            None => true,
            Some(relevance) => relevance.holds(&|id| lookup(template, &visible, &usable, id)),
        };
        visible[i] = shown;
    }

    let mut sections = Vec::new();
    let mut progress = Progress {
        answered: 0,
        required: 0,
    };
    let mut any_invalid = false;
    let mut next = None;
    let mut hidden_answers = Vec::new();
    let mut i = 0;
    for section in &template.template().sections {
        let mut questions = Vec::new();
        for question in &section.questions {
            let (record, check) = (own[i], &checks[i]);
            let is_visible = visible[i];
            i += 1;
            if !is_visible {
                if record.is_some() {
                    hidden_answers.push(question.id.clone());
                }
                continue;
            }
            let status = match check {
                None => AnswerStatus::Unanswered,
                Some(Ok(())) => AnswerStatus::Valid,
                Some(Err(_)) => AnswerStatus::Invalid,
            };
            if question.required {
                progress.required += 1;
                if status == AnswerStatus::Valid {
                    progress.answered += 1;
                }
            }
            any_invalid |= status == AnswerStatus::Invalid;
            let needs_attention = status == AnswerStatus::Invalid
                || (question.required && status == AnswerStatus::Unanswered);
            if needs_attention && next.is_none() {
                next = Some(question.id.clone());
            }
            questions.push(QuestionState {
                id: question.id.clone(),
                kind: question.kind,
                label: question.label.get(locale).to_owned(),
                hint: question.hint.as_ref().map(|h| h.get(locale).to_owned()),
                required: question.required,
                choices: question
                    .choices
                    .iter()
                    .map(|c| ChoiceLabel {
                        value: c.value.clone(),
                        label: c.label.get(locale).to_owned(),
                    })
                    .collect(),
                status,
                value: record.map(|r| r.value.clone()),
                display: record.map(|r| display_answer(question, &r.value, locale)),
                error: match check {
                    Some(Err(violation)) => Some(violation.message(locale)),
                    _ => None,
                },
                answered_at: record.map(|r| r.at),
            });
        }
        if !questions.is_empty() {
            sections.push(SectionState {
                id: section.id.clone(),
                title: section.title.get(locale).to_owned(),
                questions,
            });
        }
    }

    let suggestion = template
        .template()
        .determination_rules
        .iter()
        .find(|rule| {
            rule.when
                .holds(&|id| lookup(template, &visible, &usable, id))
        })
        .map(|rule| Suggestion {
            determination: rule.determination,
            confidence: rule.confidence,
            rule: rule.id.clone(),
            reason: rule.reason.get(locale).to_owned(),
        });

    Evaluation {
        template: template.template_ref(),
        author: author.clone(),
        sections,
        complete: progress.answered == progress.required && !any_invalid,
        progress,
        next,
        suggestion,
        hidden_answers,
    }
}

/// The answer conditions may read: a valid answer to a visible question. A hidden
/// question's answer is kept but says nothing, so hiding a question also hides what
/// depends on it.
fn lookup<'a>(
    template: &CheckedTemplate,
    visible: &[bool],
    usable: &[Option<&'a AnswerValue>],
    id: &str,
) -> Option<&'a AnswerValue> {
    let i = template.position(id)?;
    if visible.get(i).copied().unwrap_or(false) {
        usable.get(i).copied().flatten()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::answer::YesNo;
    use crate::checklist::fixtures::{answers, chain_template, device};

    fn yes_no(v: YesNo) -> AnswerValue {
        AnswerValue::YesNo(v)
    }

    fn picks(values: &[&str]) -> AnswerValue {
        AnswerValue::Choices(values.iter().map(|v| v.to_string()).collect())
    }

    fn visible(evaluation: &Evaluation) -> Vec<&str> {
        evaluation.questions().map(|q| q.id.as_str()).collect()
    }

    #[test]
    fn hiding_the_start_of_a_chain_hides_its_end_and_keeps_the_answers() {
        let t = chain_template();
        let me = device(1);
        let mut given = vec![
            (&me, "present", yes_no(YesNo::Yes)),
            (&me, "agencies", picks(&["other"])),
            (
                &me,
                "agency_other",
                AnswerValue::Text("State troopers".into()),
            ),
        ];
        let shown = evaluate(&t, &answers(&given), &me, "en");
        assert_eq!(
            visible(&shown),
            ["present", "agencies", "agency_other", "agents", "notes"]
        );
        assert!(shown.hidden_answers.is_empty());

        given[0].2 = yes_no(YesNo::No);
        let hidden = evaluate(&t, &answers(&given), &me, "en");
        assert_eq!(
            visible(&hidden),
            ["present", "notes"],
            "agency_other goes with agencies, though \"other\" is still picked"
        );
        assert_eq!(hidden.hidden_answers, ["agencies", "agency_other"]);

        given[0].2 = yes_no(YesNo::Yes);
        let back = evaluate(&t, &answers(&given), &me, "en");
        assert_eq!(
            back.question("agency_other")
                .and_then(|q| q.display.as_deref()),
            Some("State troopers")
        );
    }

    #[test]
    fn hidden_required_questions_do_not_block_completion() {
        let t = chain_template();
        let me = device(1);
        let nothing_there = evaluate(
            &t,
            &answers(&[(&me, "present", yes_no(YesNo::No))]),
            &me,
            "en",
        );
        assert_eq!(
            nothing_there.progress,
            Progress {
                answered: 1,
                required: 1
            }
        );
        assert!(nothing_there.complete);
        assert_eq!(nothing_there.next, None);

        let something_there = evaluate(
            &t,
            &answers(&[(&me, "present", yes_no(YesNo::Yes))]),
            &me,
            "en",
        );
        assert_eq!(
            something_there.progress,
            Progress {
                answered: 1,
                required: 3
            }
        );
        assert!(!something_there.complete);
        assert_eq!(something_there.next.as_deref(), Some("agencies"));
        assert!((something_there.progress.fraction() - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_broken_constraint_shows_the_templates_message_in_the_locale() {
        let t = chain_template();
        let me = device(1);
        let given = answers(&[
            (&me, "present", yes_no(YesNo::Yes)),
            (&me, "agents", AnswerValue::Count(51)),
        ]);
        for (locale, message) in [("en", "Enter 0 to 50."), ("es-MX", "Escriba de 0 a 50.")] {
            let evaluation = evaluate(&t, &given, &me, locale);
            let agents = evaluation.question("agents").unwrap();
            assert_eq!(agents.status, AnswerStatus::Invalid);
            assert_eq!(agents.error.as_deref(), Some(message));
            assert_eq!(
                agents.value,
                Some(AnswerValue::Count(51)),
                "an invalid answer is still shown"
            );
            assert_eq!(
                evaluation.next.as_deref(),
                Some("agencies"),
                "the first question needing attention"
            );
        }
    }

    #[test]
    fn an_invalid_answer_counts_for_nothing() {
        let t = chain_template();
        let me = device(1);
        // A peer on another template version wrote a count where a yes/no belongs.
        let given = answers(&[
            (&me, "present", AnswerValue::Count(1)),
            (&me, "notes", AnswerValue::Text("x".into())),
        ]);
        let evaluation = evaluate(&t, &given, &me, "es");
        let present = evaluation.question("present").unwrap();
        assert_eq!(present.status, AnswerStatus::Invalid);
        assert_eq!(
            present.error.as_deref(),
            Some("Esta pregunta espera una respuesta de sí, no o no se sabe, no un número entero.")
        );
        assert_eq!(visible(&evaluation), ["present", "notes"]);
        assert_eq!(
            evaluation.progress,
            Progress {
                answered: 0,
                required: 1
            }
        );
        assert!(!evaluation.complete);
        assert_eq!(evaluation.next.as_deref(), Some("present"));
    }

    #[test]
    fn an_invalid_optional_answer_blocks_completion() {
        let t = chain_template();
        let me = device(1);
        let given = answers(&[
            (&me, "present", yes_no(YesNo::No)),
            (&me, "notes", AnswerValue::Count(3)),
        ]);
        let evaluation = evaluate(&t, &given, &me, "en");
        assert_eq!(
            evaluation.progress,
            Progress {
                answered: 1,
                required: 1
            }
        );
        assert!(!evaluation.complete);
        assert_eq!(evaluation.next.as_deref(), Some("notes"));
    }

    #[test]
    fn a_cleared_answer_is_no_answer() {
        let t = chain_template();
        let me = device(1);
        let given = answers(&[
            (&me, "present", yes_no(YesNo::Yes)),
            (&me, "agencies", picks(&[])),
            (&me, "notes", AnswerValue::Text("  ".into())),
        ]);
        let evaluation = evaluate(&t, &given, &me, "en");
        assert_eq!(
            evaluation.question("agencies").unwrap().status,
            AnswerStatus::Unanswered
        );
        assert_eq!(evaluation.question("notes").unwrap().value, None);
        assert_eq!(evaluation.next.as_deref(), Some("agencies"));
    }

    #[test]
    fn each_person_sees_their_own_checklist() {
        let t = chain_template();
        let (me, other) = (device(1), device(2));
        let given = answers(&[
            (&other, "present", yes_no(YesNo::Yes)),
            (&other, "agencies", picks(&["ice"])),
        ]);
        let mine = evaluate(&t, &given, &me, "en");
        assert_eq!(visible(&mine), ["present", "notes"]);
        assert_eq!(
            mine.question("present").unwrap().status,
            AnswerStatus::Unanswered
        );
        assert_eq!(mine.suggestion, None);
        let theirs = evaluate(&t, &given, &other, "en");
        assert_eq!(
            theirs.suggestion.map(|s| (s.determination, s.rule)),
            Some((Determination::Verified, "seen".to_owned()))
        );
    }

    #[test]
    fn states_are_localized() {
        let t = chain_template();
        let me = device(1);
        let evaluation = evaluate(
            &t,
            &answers(&[
                (&me, "present", yes_no(YesNo::Yes)),
                (&me, "agencies", picks(&["ice", "other"])),
            ]),
            &me,
            "es",
        );
        assert_eq!(
            evaluation
                .sections
                .iter()
                .map(|s| s.title.as_str())
                .collect::<Vec<_>>(),
            ["Lugar", "Final"]
        );
        let present = evaluation.question("present").unwrap();
        assert_eq!(
            (present.label.as_str(), present.display.as_deref()),
            ("¿Hay actividad?", Some("Sí"))
        );
        let agencies = evaluation.question("agencies").unwrap();
        assert_eq!(agencies.display.as_deref(), Some("ICE, Otra"));
        assert_eq!(
            agencies.choices[1],
            ChoiceLabel {
                value: "other".into(),
                label: "Otra".into()
            }
        );
        assert_eq!(
            evaluation.suggestion.map(|s| s.reason),
            Some("Se vio a ICE.".to_owned())
        );
    }

    #[test]
    fn answers_to_questions_the_template_does_not_have_are_ignored() {
        let t = chain_template();
        let me = device(1);
        let evaluation = evaluate(
            &t,
            &answers(&[(&me, "from_v2", yes_no(YesNo::Yes))]),
            &me,
            "en",
        );
        assert_eq!(visible(&evaluation), ["present", "notes"]);
        assert!(evaluation.hidden_answers.is_empty());
    }

    #[test]
    fn a_decimal_answer_is_checked_shown_and_read_by_relevance() {
        let template: crate::checklist::Template = serde_json::from_value(serde_json::json!({
            "id": "d", "version": 1, "title": {"en": "D", "es": "D"},
            "sections": [{"id": "s", "title": {"en": "S", "es": "S"}, "questions": [
                {"id": "distance", "type": "decimal", "required": true,
                 "label": {"en": "Distance (km)", "es": "Distancia (km)"},
                 "constraints": [
                     {"rule": {"min": 0.5}, "message": {"en": "At least 0.5 km.", "es": "Al menos 0.5 km."}},
                     {"rule": {"less_than": 250}, "message": {"en": "Under 250 km.", "es": "Menos de 250 km."}}
                 ]},
                {"id": "route", "type": "text", "required": true,
                 "relevance": {"more_than": {"question": "distance", "value": 1.5}},
                 "label": {"en": "Route", "es": "Ruta"}},
                {"id": "exact", "type": "text", "required": true,
                 "relevance": {"equals": {"question": "distance", "value": 2}},
                 "label": {"en": "Exactly two?", "es": "¿Justo dos?"}}
            ]}],
            "determination_rules": [
                {"id": "far", "when": {"at_least": {"question": "distance", "value": 100.5}},
                 "determination": "inconclusive", "confidence": "low",
                 "reason": {"en": "Far", "es": "Lejos"}}
            ]
        }))
        .unwrap();
        let t = CheckedTemplate::new(template).unwrap();
        let me = device(1);
        let at = |x: f64| {
            evaluate(
                &t,
                &answers(&[(&me, "distance", AnswerValue::Decimal(x))]),
                &me,
                "es",
            )
        };

        let near = at(1.5);
        assert_eq!(visible(&near), ["distance"], "1.5 is not more than 1.5");
        assert_eq!(
            near.progress,
            Progress {
                answered: 1,
                required: 1
            }
        );
        assert!(near.complete);
        assert_eq!(
            near.question("distance").unwrap().display.as_deref(),
            Some("1.5")
        );

        let two = at(2.0);
        assert_eq!(
            visible(&two),
            ["distance", "route", "exact"],
            "2.0 equals the literal 2"
        );
        assert_eq!(
            two.progress,
            Progress {
                answered: 1,
                required: 3
            }
        );
        assert_eq!(two.next.as_deref(), Some("route"));
        assert_eq!(
            two.question("distance").unwrap().display.as_deref(),
            Some("2")
        );
        assert_eq!(two.suggestion, None);

        let far = at(100.5);
        assert_eq!(far.suggestion.map(|s| s.rule), Some("far".to_owned()));

        for (x, message) in [(0.25, "Al menos 0.5 km."), (250.0, "Menos de 250 km.")] {
            let out = at(x);
            let distance = out.question("distance").unwrap();
            assert_eq!(distance.status, AnswerStatus::Invalid);
            assert_eq!(distance.error.as_deref(), Some(message));
            assert_eq!(
                out.progress,
                Progress {
                    answered: 0,
                    required: 1
                }
            );
            assert_eq!(
                visible(&out),
                ["distance"],
                "an invalid answer says nothing to relevance"
            );
        }

        // A peer's NaN (refused everywhere it could be written) still counts for nothing.
        let nan = at(f64::NAN);
        assert_eq!(
            nan.question("distance").unwrap().status,
            AnswerStatus::Invalid
        );
        assert_eq!(
            nan.question("distance").unwrap().error.as_deref(),
            Some("Escriba un número con cifras.")
        );
        assert!(!nan.complete);
    }
}
