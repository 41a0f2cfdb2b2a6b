//! The verification checklist that ships with Testigo: a SALUTE-style walk through a
//! reported enforcement scene (arrival, what is there, who, how many, what they are
//! doing, the people affected, the volunteer's safety, a conclusion, departure), in
//! English and Spanish. It lives in `core/templates/` as plain JSON so coordinators
//! can read it, copy it and publish their own versions.

use super::check::CheckedTemplate;
use crate::error::Result;

pub const DEFAULT_TEMPLATE_ID: &str = "field-verification";

const DEFAULT_TEMPLATE_JSON: &str = include_str!("../../templates/field-verification.v1.json");

/// The shipped checklist, checked like any other template.
pub fn default_template() -> Result<CheckedTemplate> {
    CheckedTemplate::from_json(DEFAULT_TEMPLATE_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::answer::{AnswerValue, YesNo};
    use crate::checklist::check::check_template;
    use crate::checklist::engine::{evaluate, Evaluation};
    use crate::checklist::fixtures::{answers, at, device};
    use crate::incident::{Confidence, Determination};

    fn yes_no(v: YesNo) -> AnswerValue {
        AnswerValue::YesNo(v)
    }

    fn picks(values: &[&str]) -> AnswerValue {
        AnswerValue::Choices(values.iter().map(|v| v.to_string()).collect())
    }

    fn arrived() -> AnswerValue {
        AnswerValue::Checkpoint {
            at: at(0),
            fix: None,
        }
    }

    fn run(given: &[(&str, AnswerValue)], locale: &str) -> Evaluation {
        let me = device(1);
        let given: Vec<_> = given.iter().map(|(q, v)| (&me, *q, v.clone())).collect();
        evaluate(&default_template().unwrap(), &answers(&given), &me, locale)
    }

    fn suggested(given: &[(&str, AnswerValue)]) -> Option<(Determination, Confidence)> {
        run(given, "en")
            .suggestion
            .map(|s| (s.determination, s.confidence))
    }

    #[test]
    fn passes_the_check_in_english_and_spanish() {
        let template = default_template().unwrap();
        assert_eq!(template.template().id, DEFAULT_TEMPLATE_ID);
        let report = check_template(template.template());
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        assert!(
            report.warnings.is_empty(),
            "every text has its Spanish: {:#?}",
            report.warnings
        );
        for question in template.template().questions() {
            assert!(
                question.label.has("en") && question.label.has("es"),
                "{}",
                question.id
            );
        }
    }

    #[test]
    fn covers_the_salute_questions() {
        let template = default_template().unwrap();
        for id in [
            "arrival",
            "enforcement_present",
            "agencies",
            "agents_count",
            "vehicles_count",
            "activity_type",
            "detained_count",
            "warrant",
            "agents_identifiable",
            "identification_details",
            "checked",
            "witnesses_present",
            "witness_consent",
            "legal_help_needed",
            "safety_threat",
            "proposed_determination",
            "confidence",
            "departure",
        ] {
            assert!(template.question(id).is_some(), "missing {id}");
        }
        let agencies: Vec<&str> = template
            .question("agencies")
            .unwrap()
            .choices
            .iter()
            .map(|c| c.value.as_str())
            .collect();
        assert_eq!(
            agencies,
            [
                "ice_ero",
                "ice_hsi",
                "cbp",
                "other_federal",
                "local_police",
                "unknown"
            ]
        );
    }

    #[test]
    fn speaks_to_volunteers_in_spanish() {
        let start = run(&[], "es");
        assert_eq!(
            start.question("enforcement_present").unwrap().label,
            "¿Hay actividad de control migratorio en el lugar?"
        );
        assert_eq!(start.sections[0].title, "Llegada");
        let agents = run(
            &[
                ("enforcement_present", yes_no(YesNo::Yes)),
                ("agents_count", AnswerValue::Count(500)),
            ],
            "es",
        );
        assert_eq!(
            agents.question("agents_count").unwrap().error.as_deref(),
            Some("Escriba un número del 0 al 200.")
        );
    }

    #[test]
    fn suggests_verified_when_an_agency_is_seen() {
        let present = || ("enforcement_present", yes_no(YesNo::Yes));
        assert_eq!(
            suggested(&[present()]),
            None,
            "not before the agencies are known"
        );
        assert_eq!(
            suggested(&[present(), ("agencies", picks(&["ice_ero"]))]),
            Some((Determination::Verified, Confidence::Medium))
        );
        assert_eq!(
            suggested(&[
                present(),
                ("agencies", picks(&["unknown", "cbp"])),
                ("agents_identifiable", yes_no(YesNo::Yes))
            ]),
            Some((Determination::Verified, Confidence::High))
        );
        assert_eq!(
            suggested(&[present(), ("agencies", picks(&["unknown"]))]),
            Some((Determination::Verified, Confidence::Low))
        );
    }

    #[test]
    fn suggests_not_found_only_after_checking() {
        let absent = || ("enforcement_present", yes_no(YesNo::No));
        let arrival = || ("arrival", arrived());
        assert_eq!(suggested(&[absent()]), None);
        assert_eq!(
            suggested(&[absent(), ("checked", picks(&["reported_address"]))]),
            None,
            "not before arriving"
        );
        assert_eq!(
            suggested(&[
                absent(),
                arrival(),
                ("checked", picks(&["reported_address"]))
            ]),
            Some((Determination::NotFound, Confidence::Medium))
        );
        assert_eq!(
            suggested(&[
                absent(),
                arrival(),
                (
                    "checked",
                    picks(&["reported_address", "nearby_streets", "waited"])
                )
            ]),
            Some((Determination::NotFound, Confidence::High))
        );
    }

    #[test]
    fn suggests_inconclusive_when_the_volunteer_cannot_tell() {
        let evaluation = run(&[("enforcement_present", yes_no(YesNo::Unknown))], "es");
        let suggestion = evaluation.suggestion.clone().unwrap();
        assert_eq!(suggestion.determination, Determination::Inconclusive);
        assert_eq!(
            suggestion.reason,
            "No se pudo saber si había actividad de control migratorio."
        );
        assert!(evaluation.question("unclear_reason").is_some());
        assert!(
            evaluation.question("witnesses_present").is_some(),
            "witnesses matter when it is unclear"
        );
    }

    #[test]
    fn hidden_agencies_do_not_make_a_verification() {
        // The volunteer first saw ICE, then realised it was a utility crew.
        let given = [
            ("arrival", arrived()),
            ("agencies", picks(&["ice_ero"])),
            ("agents_identifiable", yes_no(YesNo::Yes)),
            ("enforcement_present", yes_no(YesNo::No)),
            ("checked", picks(&["reported_address"])),
        ];
        let evaluation = run(&given, "en");
        assert_eq!(
            evaluation.suggestion.map(|s| s.determination),
            Some(Determination::NotFound)
        );
        assert_eq!(
            evaluation.hidden_answers,
            ["agencies", "agents_identifiable"]
        );
    }

    #[test]
    fn a_full_verification_completes() {
        let mut given = vec![
            ("arrival", arrived()),
            ("enforcement_present", yes_no(YesNo::Yes)),
            ("agencies", picks(&["ice_ero", "local_police"])),
            ("agents_count", AnswerValue::Count(6)),
            ("activity_type", AnswerValue::Choice("workplace".into())),
            ("detained_count", AnswerValue::Count(2)),
            ("warrant", AnswerValue::Choice("administrative".into())),
            ("agents_identifiable", yes_no(YesNo::No)),
            ("witnesses_present", yes_no(YesNo::Yes)),
            ("witness_consent", yes_no(YesNo::Yes)),
            ("legal_help_needed", yes_no(YesNo::Yes)),
            ("safety_threat", yes_no(YesNo::No)),
            (
                "proposed_determination",
                AnswerValue::Choice("verified".into()),
            ),
            ("confidence", AnswerValue::Choice("high".into())),
        ];
        let before_leaving = run(&given, "en");
        assert_eq!(before_leaving.next.as_deref(), Some("departure"));
        assert_eq!(
            before_leaving.progress.required,
            before_leaving.progress.answered + 1
        );
        given.push(("departure", arrived()));
        let done = run(&given, "en");
        assert!(done.complete, "next: {:?}", done.next);
        assert_eq!(done.progress.answered, 15);
        assert_eq!(
            done.suggestion.map(|s| (s.determination, s.confidence)),
            Some((Determination::Verified, Confidence::Medium))
        );
    }
}
