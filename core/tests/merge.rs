//! Two replicas of one incident work offline and merge both ways: nothing anyone
//! entered is lost, both answers to a question stay visible, disagreeing
//! determinations make the incident disputed, and both sides end up identical.

mod common;

use common::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::IncidentId;
use testigo_core::incident::{
    CheckpointKind, Determination, EventKind, IncidentDoc, IncidentStatus, ObservationKind, Role,
};

fn fork(doc: &IncidentDoc) -> IncidentDoc {
    IncidentDoc::load(&doc.automerge().save()).unwrap()
}

#[test]
fn offline_edits_merge_both_ways_without_loss() {
    let hub = person(1, Role::Hub);
    let ana = person(2, Role::Volunteer);
    let ben = person(3, Role::Volunteer);
    let dispatcher = person(4, Role::Dispatcher);
    let id = IncidentId::generate();

    let mut origin =
        IncidentDoc::create(&id, &hub, report("Cherokee St & Jefferson Ave"), at(0)).unwrap();
    origin
        .assign(&dispatcher, &ana.device, true, at(1))
        .unwrap();
    origin
        .assign(&dispatcher, &ben.device, true, at(1))
        .unwrap();
    let mut a = fork(&origin);
    let mut b = fork(&origin);

    // Offline, on scene.
    let check_in = a
        .checkpoint(&ana, CheckpointKind::CheckIn, fix_near(0.0005), at(10))
        .unwrap();
    a.answer(
        &ana,
        "enforcement_present",
        AnswerValue::YesNo(YesNo::Yes),
        at(11),
    )
    .unwrap();
    let note = a
        .add_observation(
            &ana,
            ObservationKind::Note,
            "Two SUVs, agents in ERO vests",
            None,
            Some(fix_near(0.0004)),
            at(12),
        )
        .unwrap();
    a.add_event(
        &ana,
        EventKind::DeterminationProposed,
        Some(Determination::Verified),
        None,
        None,
        at(13),
    )
    .unwrap();

    b.answer(
        &ben,
        "enforcement_present",
        AnswerValue::YesNo(YesNo::No),
        at(11),
    )
    .unwrap();
    b.add_observation(
        &ben,
        ObservationKind::Count,
        "vehicles",
        Some(0),
        None,
        at(12),
    )
    .unwrap();
    b.add_event(
        &ben,
        EventKind::DeterminationProposed,
        Some(Determination::NotFound),
        None,
        None,
        at(14),
    )
    .unwrap();

    // Meanwhile the dispatcher corrects the place on the origin replica.
    let mut edited = origin.view().unwrap().report;
    edited.place_text = "Cherokee St & Jefferson Ave (laundromat)".into();
    origin.edit_report(&dispatcher, edited, at(15)).unwrap();

    // Merge in different orders on each side.
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
    a.automerge_mut().merge(origin.automerge_mut()).unwrap();
    origin.automerge_mut().merge(b.automerge_mut()).unwrap();
    b.automerge_mut().merge(origin.automerge_mut()).unwrap();
    b.automerge_mut().merge(a.automerge_mut()).unwrap();

    let view_a = a.view().unwrap();
    let view_b = b.view().unwrap();
    assert_eq!(view_a, view_b, "replicas converged to different views");

    let answers = view_a.answers_to("enforcement_present").unwrap();
    assert_eq!(answers.by_author.len(), 2, "both answers stay");
    assert!(!answers.agree());
    assert_eq!(
        answers.by(&ana.device).unwrap().value,
        AnswerValue::YesNo(YesNo::Yes)
    );
    assert_eq!(
        answers.by(&ben.device).unwrap().value,
        AnswerValue::YesNo(YesNo::No)
    );
    assert_eq!(view_a.observations.len(), 2);
    assert!(view_a.observations.iter().any(|o| o.id == note));
    assert_eq!(view_a.checkpoints, vec![check_in.clone()]);
    let distance = check_in.distance_m.unwrap();
    assert!(
        (50.0..60.0).contains(&distance),
        "0.0005° of latitude is ~56 m, got {distance}"
    );
    assert_eq!(
        view_a.report.place_text,
        "Cherokee St & Jefferson Ave (laundromat)"
    );
    assert!(view_a
        .events
        .iter()
        .any(|e| e.kind == EventKind::ReportEdited
            && e.note
                .as_deref()
                .unwrap()
                .contains("\"Cherokee St & Jefferson Ave\"")));
    assert_eq!(view_a.status.status, IncidentStatus::Disputed);
    assert_eq!(view_a.status.proposals.len(), 2);
    assert!(view_a.problems.is_empty(), "{:?}", view_a.problems);

    // A team lead confirms one determination; the dispute is settled everywhere.
    let lead = person(5, Role::TeamLead);
    b.add_event(
        &lead,
        EventKind::DeterminationConfirmed,
        Some(Determination::Verified),
        None,
        Some("Photos confirm".into()),
        at(30),
    )
    .unwrap();
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
    assert_eq!(a.view().unwrap().status.status, IncidentStatus::Confirmed);
    assert_eq!(
        a.view().unwrap().status.determination,
        Some(Determination::Verified)
    );
}

#[test]
fn an_amendment_keeps_the_original_and_answers_are_per_author() {
    let ana = person(2, Role::Volunteer);
    let id = IncidentId::generate();
    let mut doc = IncidentDoc::create(&id, &ana, report("Courthouse steps"), at(0)).unwrap();
    let first = doc
        .add_observation(&ana, ObservationKind::Count, "agents", Some(3), None, at(1))
        .unwrap();
    doc.amend_observation(&ana, &first, "agents (recounted)", Some(4), at(2))
        .unwrap();
    doc.answer(&ana, "agents_count", AnswerValue::Count(3), at(1))
        .unwrap();
    doc.answer(&ana, "agents_count", AnswerValue::Count(4), at(2))
        .unwrap();

    let view = doc.view().unwrap();
    assert_eq!(view.observations.len(), 2);
    assert_eq!(
        view.observations[0].count,
        Some(3),
        "the original is untouched"
    );
    assert_eq!(view.observations[1].amends.as_ref(), Some(&first));
    // A person's newer answer replaces their own earlier one, never someone else's.
    let answers = view.answers_to("agents_count").unwrap();
    assert_eq!(answers.by_author.len(), 1);
    assert_eq!(answers.by_author[0].value, AnswerValue::Count(4));
    // Amending what does not exist is refused.
    let missing = testigo_core::ids::RecordId::generate();
    assert!(matches!(
        doc.amend_observation(&ana, &missing, "x", None, at(3)),
        Err(testigo_core::Error::NotFound { .. })
    ));
}

/// A decimal answer is an automerge F64 and reads back bit for bit, after a save and a
/// load; NaN and infinity are refused before anything is written.
#[test]
fn decimal_answers_are_stored_as_floats_and_read_back_exactly() {
    use automerge::{ReadDoc, ScalarValue, Value, ROOT};
    let ana = person(2, Role::Volunteer);
    let id = IncidentId::generate();
    let mut doc = IncidentDoc::create(&id, &ana, report("Courthouse steps"), at(0)).unwrap();
    let values = [0.1, 2.0, -0.25, 1e-300, 5e-324, f64::MAX, 1.0 / 3.0];
    for (i, x) in values.iter().enumerate() {
        doc.answer(&ana, &format!("d{i}"), AnswerValue::Decimal(*x), at(1))
            .unwrap();
    }
    let loaded = fork(&doc);
    let view = loaded.view().unwrap();
    for (i, x) in values.iter().enumerate() {
        let answer = &view.answers_to(&format!("d{i}")).unwrap().by_author[0].value;
        match answer {
            AnswerValue::Decimal(back) => assert_eq!(back.to_bits(), x.to_bits(), "{x}"),
            other => panic!("{x} read back as {other:?}"),
        }
    }
    // In the document itself: answers/<key>/value/value is an F64, even for 2.0.
    let am = loaded.automerge();
    let object = |obj: &automerge::ObjId, key: &str| match am.get(obj, key).unwrap() {
        Some((Value::Object(_), id)) => id,
        other => panic!("{key}: {other:?}"),
    };
    let answers = object(&ROOT, "answers");
    let record = object(
        &answers,
        &testigo_core::incident::answer_key("d1", &ana.device),
    );
    let value = object(&record, "value");
    assert!(matches!(
        am.get(&value, "value").unwrap(),
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::F64(x) if *x == 2.0)
    ));

    let heads = doc.automerge().get_heads();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let refused = doc.answer(&ana, "d0", AnswerValue::Decimal(bad), at(2));
        assert!(
            matches!(&refused, Err(testigo_core::Error::InvalidInput { field, reason }) if field == "answer" && reason.contains("NaN or infinity")),
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(doc.automerge().get_heads(), heads, "nothing was written");
    assert_eq!(
        doc.view().unwrap().answers_to("d0").unwrap().by_author[0].value,
        AnswerValue::Decimal(0.1),
        "the saved answer stays"
    );
}

#[test]
fn a_volunteer_cannot_confirm_or_edit_the_report() {
    let ana = person(2, Role::Volunteer);
    let mut doc =
        IncidentDoc::create(&IncidentId::generate(), &ana, report("Bus stop"), at(0)).unwrap();
    let heads = doc.automerge().get_heads();
    let err = doc
        .add_event(
            &ana,
            EventKind::DeterminationConfirmed,
            Some(Determination::Verified),
            None,
            None,
            at(1),
        )
        .unwrap_err();
    assert!(
        matches!(err, testigo_core::Error::NotPermitted { .. }),
        "{err:?}"
    );
    let err = doc
        .edit_report(&ana, doc.view().unwrap().report, at(1))
        .unwrap_err();
    assert!(
        matches!(err, testigo_core::Error::NotPermitted { .. }),
        "{err:?}"
    );
    assert_eq!(
        doc.automerge().get_heads(),
        heads,
        "a refused action writes nothing"
    );
}

#[test]
fn single_field_reads_agree_with_the_whole_view() {
    let dispatcher = person(1, Role::Dispatcher);
    let mut with_template = IncidentDoc::create(
        &IncidentId::generate(),
        &dispatcher,
        report("Library"),
        at(0),
    )
    .unwrap();
    let mut corrected = report("Library, north entrance").report;
    corrected.description = "Caller called back: it is the north entrance".into();
    with_template
        .edit_report(&dispatcher, corrected.clone(), at(1))
        .unwrap();
    let view = with_template.view().unwrap();
    assert_eq!(with_template.report().unwrap(), corrected);
    assert_eq!(with_template.report().unwrap(), view.report);
    assert_eq!(with_template.template().unwrap(), view.template);
    assert!(view.template.is_some());

    let mut bare = report("Bus stop");
    bare.template = None;
    let without_template =
        IncidentDoc::create(&IncidentId::generate(), &dispatcher, bare, at(0)).unwrap();
    assert_eq!(without_template.template().unwrap(), None);
}

/// Anyone can write any actor id into a change. A peer that forges one in this
/// device's name (here: a copy of the incident edited with the device's actor, exactly
/// as automerge lets anyone do) is refused, so the device's next history signature —
/// which vouches for every change of its actor in the history — never covers it.
#[test]
fn a_forged_change_in_the_devices_own_name_is_refused_and_never_signed_over() {
    use testigo_core::incident::Author;
    use testigo_core::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let ana = Store::open(dir.path().join("ana.db"), &store_key(1)).unwrap();
    let id = ana.create_incident(report("Cherokee St")).unwrap();
    ana.add_observation(&id, ObservationKind::Note, "what ana saw", None, None)
        .unwrap();
    let before = ana.with_document(&id, |d| Ok(d.get_heads())).unwrap();

    // The forger's copy, edited as ana: IncidentDoc writes with the author's actor.
    let ana_author = Author::new(ana.device_id(), Role::Volunteer);
    let mut forged_doc =
        IncidentDoc::load(&ana.with_document(&id, |d| Ok(d.save())).unwrap()).unwrap();
    forged_doc
        .add_observation(
            &ana_author,
            ObservationKind::Note,
            "words ana never wrote",
            None,
            None,
            at(5),
        )
        .unwrap();
    let forgery = forged_doc.automerge().save_after(&before);
    let forged_hash = forged_doc.automerge().get_heads()[0];

    let refused = ana.merge_remote(&id, &forgery);
    assert!(
        matches!(&refused, Err(testigo_core::Error::CorruptDocument { reason, .. }) if reason.contains("not made on this device")),
        "{refused:?}"
    );
    // Nothing of it was kept: not in the document, not in what a signature covers.
    let (heads, texts) = ana
        .with_document(&id, |d| {
            let view = testigo_core::incident::read_view(d)?;
            Ok((
                d.get_heads(),
                view.observations
                    .iter()
                    .map(|o| o.text.clone())
                    .collect::<Vec<_>>(),
            ))
        })
        .unwrap();
    assert_eq!(heads, before);
    assert_eq!(texts, vec!["what ana saw".to_owned()]);
    ana.with_document(&id, |d| {
        use automerge::ReadDoc;
        assert!(d.get_change_by_hash(&forged_hash).is_none());
        Ok(())
    })
    .unwrap();
    assert!(!ana
        .change_signatures(&id)
        .unwrap()
        .contains_key(&forged_hash));

    // The same change made by ana herself, and a peer's change in its own name, merge.
    let lead = person(9, Role::TeamLead);
    let mut peer = IncidentDoc::load(&ana.with_document(&id, |d| Ok(d.save())).unwrap()).unwrap();
    peer.add_observation(
        &lead,
        ObservationKind::Note,
        "lead's note",
        None,
        None,
        at(6),
    )
    .unwrap();
    assert!(ana
        .merge_remote(&id, &peer.automerge().save_after(&before))
        .unwrap());
}

#[test]
fn a_new_incident_built_in_memory_as_this_device_is_adopted_and_signed() {
    use testigo_core::incident::Author;
    use testigo_core::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let ana = Store::open(dir.path().join("ana.db"), &store_key(1)).unwrap();
    let ana_author = Author::new(ana.device_id(), Role::Volunteer);
    let id = IncidentId::generate();
    let mut doc = IncidentDoc::create(&id, &ana_author, report("Cherokee St"), at(0)).unwrap();
    doc.add_observation(
        &ana_author,
        ObservationKind::Note,
        "two vans",
        None,
        None,
        at(1),
    )
    .unwrap();
    let heads = doc.automerge().get_heads();

    // The same bytes from outside would be refused (they are in ana's name); adopted,
    // they are hers: stored, and every change recorded as made here.
    assert!(ana.merge_remote(&id, &doc.automerge().save()).is_err());
    assert!(ana.adopt_own_document(&id, doc.automerge()).unwrap());
    assert_eq!(ana.view(&id).unwrap().observations.len(), 1);
    let signed = ana.change_signatures(&id).unwrap();
    for hash in &heads {
        assert!(signed.contains_key(hash), "{hash} recorded as made here");
    }
    assert_eq!(signed.len(), doc.automerge().get_changes(&[]).len());
}
