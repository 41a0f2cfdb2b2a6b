//! An answer as a person reads it: choice labels instead of stored values, "Sí" instead
//! of `yes`. Used by the engine's question states and the team lead's combined view.
//! Times are shown in UTC because the core does not know the reader's time zone; the
//! app formats the raw value when it does.

use chrono::{DateTime, Utc};

use super::answer::{AnswerValue, YesNo};
use super::template::Question;
use super::text::Lang;
use crate::location::LocationFix;

pub fn display_answer(question: &Question, value: &AnswerValue, locale: &str) -> String {
    let lang = Lang::of(locale);
    let choice_label = |value: &str| {
        question
            .choice(value)
            .map_or_else(|| value.to_owned(), |c| c.label.get(locale).to_owned())
    };
    match value {
        AnswerValue::YesNo(yes_no) => yes_no_label(*yes_no, lang).to_owned(),
        AnswerValue::Choice(choice) => choice_label(choice),
        AnswerValue::Choices(choices) => choices
            .iter()
            .map(|c| choice_label(c))
            .collect::<Vec<_>>()
            .join(", "),
        AnswerValue::Count(n) => n.to_string(),
        AnswerValue::Decimal(x) => decimal(*x),
        AnswerValue::Text(text) => text.clone(),
        AnswerValue::Location(fix) => place(fix),
        AnswerValue::Time(at) => time(at),
        AnswerValue::Checkpoint { at, fix: Some(fix) } => format!("{} · {}", time(at), place(fix)),
        AnswerValue::Checkpoint { at, fix: None } => {
            let no_fix = match lang {
                Lang::En => "no location",
                Lang::Es => "sin ubicación",
            };
            format!("{} · {no_fix}", time(at))
        }
    }
}

pub(crate) fn yes_no_label(value: YesNo, lang: Lang) -> &'static str {
    match (value, lang) {
        (YesNo::Yes, Lang::En) => "Yes",
        (YesNo::Yes, Lang::Es) => "Sí",
        (YesNo::No, _) => "No",
        (YesNo::Unknown, Lang::En) => "Unknown",
        (YesNo::Unknown, Lang::Es) => "No se sabe",
    }
}

/// The shortest digits that read back as the same number (`1.5`, `2`), with a decimal
/// point in Spanish too: the Spanish of the hotlines' volunteers (Mexico, Central
/// America, the United States) writes 1.5. The CLI takes a decimal comma as input.
fn decimal(x: f64) -> String {
    x.to_string()
}

fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn place(fix: &LocationFix) -> String {
    format!("{:.5}, {:.5} (±{:.0} m)", fix.lat, fix.lon, fix.accuracy_m)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::checklist::template::{Choice, QuestionType};
    use crate::checklist::text::Text;
    use crate::location::LocationProvider;

    fn question(kind: QuestionType) -> Question {
        Question {
            id: "q".into(),
            kind,
            label: Text::new([("en", "Q")]),
            hint: None,
            required: false,
            relevance: None,
            choices: vec![
                Choice {
                    value: "ice_ero".into(),
                    label: Text::new([("en", "ICE ERO"), ("es", "ICE (ERO)")]),
                },
                Choice {
                    value: "cbp".into(),
                    label: Text::new([
                        ("en", "CBP / Border Patrol"),
                        ("es", "CBP / Patrulla Fronteriza"),
                    ]),
                },
            ],
            constraints: vec![],
        }
    }

    #[test]
    fn choices_show_their_labels_in_the_locale() {
        let q = question(QuestionType::MultipleChoice);
        let value = AnswerValue::Choices(vec!["cbp".into(), "ice_ero".into()]);
        assert_eq!(
            display_answer(&q, &value, "es"),
            "CBP / Patrulla Fronteriza, ICE (ERO)"
        );
        assert_eq!(
            display_answer(&q, &value, "en"),
            "CBP / Border Patrol, ICE ERO"
        );
        let stale = AnswerValue::Choice("hsi".into());
        assert_eq!(
            display_answer(&question(QuestionType::SingleChoice), &stale, "es"),
            "hsi",
            "a value the template no longer has is shown as stored"
        );
    }

    #[test]
    fn yes_no_times_and_places_read_naturally() {
        let q = question(QuestionType::YesNoUnknown);
        assert_eq!(
            display_answer(&q, &AnswerValue::YesNo(YesNo::Yes), "es-MX"),
            "Sí"
        );
        assert_eq!(
            display_answer(&q, &AnswerValue::YesNo(YesNo::Unknown), "es"),
            "No se sabe"
        );
        assert_eq!(
            display_answer(&q, &AnswerValue::YesNo(YesNo::Unknown), "en"),
            "Unknown"
        );
        let at = Utc.with_ymd_and_hms(2025, 6, 7, 14, 5, 0).unwrap();
        let fix = LocationFix {
            lat: 38.62727,
            lon: -90.19789,
            accuracy_m: 12.4,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: at,
            mock: false,
        };
        let checkpoint = AnswerValue::Checkpoint { at, fix: Some(fix) };
        assert_eq!(
            display_answer(&question(QuestionType::Checkpoint), &checkpoint, "en"),
            "2025-06-07 14:05 UTC · 38.62727, -90.19789 (±12 m)"
        );
        let no_fix = AnswerValue::Checkpoint { at, fix: None };
        assert_eq!(
            display_answer(&question(QuestionType::Checkpoint), &no_fix, "es"),
            "2025-06-07 14:05 UTC · sin ubicación"
        );
    }

    #[test]
    fn decimals_show_their_shortest_digits_with_a_point_in_both_languages() {
        let q = question(QuestionType::Decimal);
        for (x, shown) in [
            (1.5, "1.5"),
            (2.0, "2"),
            (0.1, "0.1"),
            (-0.25, "-0.25"),
            (1e-7, "0.0000001"),
        ] {
            assert_eq!(display_answer(&q, &AnswerValue::Decimal(x), "en"), shown);
            assert_eq!(display_answer(&q, &AnswerValue::Decimal(x), "es-MX"), shown);
        }
    }
}
