//! Two volunteers verify the same report offline, disagree on one count, and sync; the
//! team lead sees the disagreement, with both values, whichever replica they read.

use chrono::{DateTime, TimeZone, Utc};
use testigo_core::checklist::{
    combine, evaluate, validate_answer, AnswerValue, CombinedView, Registry, YesNo,
    DEFAULT_TEMPLATE_ID,
};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::{
    Author, Determination, IncidentDoc, NewIncident, Report, ReportSource, Role, Urgency,
};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::Error;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 7, 14, minute, 0)
        .single()
        .expect("a valid time")
}

fn author(n: u8, role: Role) -> Author {
    Author::new(DeviceId::from_public_key(&[n; 32]), role)
}

fn fix(minute: u32) -> LocationFix {
    LocationFix {
        lat: 38.6270,
        lon: -90.1994,
        accuracy_m: 8.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: at(minute),
        mock: false,
    }
}

fn picks(values: &[&str]) -> AnswerValue {
    AnswerValue::Choices(values.iter().map(|v| v.to_string()).collect())
}

fn report(place: &str) -> Report {
    Report {
        place_text: place.into(),
        point: None,
        reported_at: at(0),
        description: "Caller saw unmarked vans and agents in vests.".into(),
        urgency: Urgency::High,
        source: ReportSource::Call,
    }
}

/// Answers as a phone does: checked against the incident's own template, then written.
fn answer_all(
    doc: &mut IncidentDoc,
    registry: &Registry,
    who: &Author,
    answers: &[(&str, AnswerValue)],
    start: u32,
) {
    let template = registry
        .resolve(&doc.view().unwrap().template.unwrap())
        .unwrap();
    for (n, (question, value)) in answers.iter().enumerate() {
        validate_answer(template, question, value, "es")
            .unwrap_or_else(|e| panic!("{question}: {e}"));
        doc.answer(who, question, value.clone(), at(start + n as u32))
            .unwrap();
    }
}

fn combined(doc: &IncidentDoc, registry: &Registry, locale: &str) -> CombinedView {
    let view = doc.view().unwrap();
    let template = registry.resolve(view.template.as_ref().unwrap()).unwrap();
    combine(template, &view.answers, locale)
}

/// Ana and Beto answer on their own phones, from copies of the same document, then
/// merge both ways. Returns their phones and authors.
fn verify_offline() -> (Registry, IncidentDoc, IncidentDoc, Author, Author) {
    let registry = Registry::with_default().unwrap();
    let template = registry.latest(DEFAULT_TEMPLATE_ID).unwrap();
    let hub = author(9, Role::Hub);
    let new = NewIncident {
        report: report("Corner of Cherokee St and Jefferson Ave"),
        template: Some(template.template_ref()),
    };
    let original = IncidentDoc::create(&IncidentId::generate(), &hub, new, at(0)).unwrap();

    // Each phone gets its copy while online, then loses signal.
    let mut ana_phone = IncidentDoc::load(&original.automerge().save()).unwrap();
    let mut beto_phone = IncidentDoc::from_automerge(original.automerge().fork());
    let (ana, beto) = (author(1, Role::Volunteer), author(2, Role::Volunteer));

    answer_all(
        &mut ana_phone,
        &registry,
        &ana,
        &[
            (
                "arrival",
                AnswerValue::Checkpoint {
                    at: at(10),
                    fix: Some(fix(10)),
                },
            ),
            ("enforcement_present", AnswerValue::YesNo(YesNo::Yes)),
            ("agencies", picks(&["ice_ero", "cbp"])),
            ("agents_count", AnswerValue::Count(5)),
            ("warrant", AnswerValue::Choice("none".into())),
        ],
        10,
    );
    answer_all(
        &mut beto_phone,
        &registry,
        &beto,
        &[
            (
                "arrival",
                AnswerValue::Checkpoint {
                    at: at(12),
                    fix: None,
                },
            ),
            ("enforcement_present", AnswerValue::YesNo(YesNo::Yes)),
            ("agencies", picks(&["cbp", "ice_ero"])),
            ("agents_count", AnswerValue::Count(8)),
            ("warrant", AnswerValue::Choice("none".into())),
        ],
        12,
    );

    // Signal comes back: each replica merges what the other did meanwhile.
    let mut ana_before = ana_phone.clone();
    ana_phone
        .automerge_mut()
        .merge(beto_phone.automerge_mut())
        .unwrap();
    beto_phone
        .automerge_mut()
        .merge(ana_before.automerge_mut())
        .unwrap();
    let merged = ana_phone.view().unwrap();
    assert!(merged.problems.is_empty(), "{:?}", merged.problems);
    assert!(
        merged.answers.iter().all(|q| q.by_author.len() == 2),
        "both volunteers' answers survive the merge"
    );
    (registry, ana_phone, beto_phone, ana, beto)
}

#[test]
fn two_volunteers_disagree_offline_and_the_team_lead_sees_it_on_every_replica() {
    let (registry, ana_phone, beto_phone, ana, beto) = verify_offline();

    let on_ana = combined(&ana_phone, &registry, "es");
    let on_beto = combined(&beto_phone, &registry, "es");
    assert_eq!(
        on_ana, on_beto,
        "every replica shows the team lead the same thing"
    );

    assert_eq!(on_ana.disagreements, ["agents_count"]);
    let agents = on_ana.question("agents_count").unwrap();
    assert!(!agents.agree);
    let shown: Vec<(&DeviceId, &str)> = agents
        .answers
        .iter()
        .map(|a| (&a.author, a.display.as_str()))
        .collect();
    let mut expected = vec![(&ana.device, "5"), (&beto.device, "8")];
    expected.sort();
    assert_eq!(shown, expected);
    assert_eq!(agents.label, "¿Cuántos agentes hay, más o menos?");

    let agencies = on_ana.question("agencies").unwrap();
    assert!(agencies.agree, "the same agencies picked in another order");
    assert_eq!(agencies.answers.len(), 2);
    assert!(agencies
        .answers
        .iter()
        .all(|a| a.display.contains("CBP / Patrulla Fronteriza")));
    assert!(
        on_ana.question("arrival").unwrap().agree,
        "two arrivals never disagree"
    );

    assert_eq!(on_ana.authors.len(), 2);
    for summary in &on_ana.authors {
        assert_eq!(
            summary.suggestion.as_ref().map(|s| s.determination),
            Some(Determination::Verified)
        );
        assert!(!summary.complete);
    }

    // Each volunteer's own checklist is untouched by the other's answers.
    let view = beto_phone.view().unwrap();
    let template = registry.resolve(view.template.as_ref().unwrap()).unwrap();
    let ana_sees = evaluate(template, &view.answers, &ana.device, "en");
    assert_eq!(
        ana_sees
            .question("agents_count")
            .and_then(|q| q.display.as_deref()),
        Some("5")
    );
}

#[test]
fn a_mismatched_answer_is_refused_before_writing_and_flagged_if_a_peer_writes_it() {
    let registry = Registry::with_default().unwrap();
    let template = registry.latest(DEFAULT_TEMPLATE_ID).unwrap();
    let refused = validate_answer(
        template,
        "enforcement_present",
        &AnswerValue::Count(3),
        "en",
    );
    assert!(
        matches!(&refused, Err(Error::InvalidInput { field, reason })
            if field == "enforcement_present" && reason.contains("expects a yes / no / unknown answer")),
        "{refused:?}"
    );
    let refused = validate_answer(
        template,
        "warrant",
        &AnswerValue::Choice("verbal".into()),
        "es",
    );
    assert!(
        matches!(&refused, Err(Error::InvalidInput { reason, .. }) if reason == "«verbal» no es una de las opciones."),
        "{refused:?}"
    );

    // A buggy peer skips the check: the document keeps the answer, the checklist flags it.
    let volunteer = author(3, Role::Volunteer);
    let new = NewIncident {
        report: report("Courthouse steps"),
        template: Some(template.template_ref()),
    };
    let mut doc = IncidentDoc::create(&IncidentId::generate(), &volunteer, new, at(0)).unwrap();
    doc.answer(
        &volunteer,
        "enforcement_present",
        AnswerValue::Count(3),
        at(1),
    )
    .unwrap();
    let view = doc.view().unwrap();
    let combined = combine(template, &view.answers, "en");
    let present = combined.question("enforcement_present").unwrap();
    assert!(!present.answers[0].valid);
    assert_eq!(present.answers[0].display, "3");
    assert_eq!(combined.authors[0].suggestion, None);
}
