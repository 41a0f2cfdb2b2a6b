//! The encrypted store: what is on disk, what a wrong key gets, what invalid input
//! leaves behind, and what listing costs.

mod common;

use common::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::incident::{EventKind, IncidentStatus, ObservationKind};
use testigo_core::location::LocationFix;
use testigo_core::store::{ListQuery, Store};
use testigo_core::Error;

fn key(seed: u8) -> Vec<u8> {
    (0..32).map(|i| seed.wrapping_add(i)).collect()
}

/// Every byte of the database and its WAL/SHM companions.
fn files_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if let Ok(bytes) = std::fs::read(&file) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn nothing_written_is_readable_on_disk_and_a_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let secrets = [
        "Cherokee St & Jefferson Ave",
        "agents in ERO vests",
        "laundromat",
        "field-verification",
    ];
    {
        let store = Store::open(&path, &key(1)).unwrap();
        let id = store.create_incident(report(secrets[0])).unwrap();
        store
            .add_observation(
                &id,
                ObservationKind::Note,
                "two SUVs, agents in ERO vests",
                None,
                Some(fix_near(0.0)),
            )
            .unwrap();
        store
            .answer(
                &id,
                "identification_details",
                AnswerValue::Text("laundromat".into()),
            )
            .unwrap();
        let on_disk = files_bytes(&path);
        assert!(on_disk.len() > 4096, "the database was written");
        for secret in secrets {
            assert!(
                !contains(&on_disk, secret),
                "{secret:?} is readable in the database files while open"
            );
        }
    }
    let on_disk = files_bytes(&path);
    for secret in secrets {
        assert!(
            !contains(&on_disk, secret),
            "{secret:?} is readable in the database files after close"
        );
    }
    assert!(
        !contains(&on_disk, "SQLite format 3"),
        "the header is encrypted too"
    );

    assert!(matches!(Store::open(&path, &key(2)), Err(Error::WrongKey)));
    assert!(matches!(Store::open(&path, &[]), Err(Error::MissingKey)));
    assert!(matches!(
        Store::open(&path, &key(1)[..16]),
        Err(Error::MissingKey)
    ));
    assert!(matches!(
        Store::open(&path, &[0u8; 32]),
        Err(Error::MissingKey)
    ));
    // The right key still opens it, with everything there.
    let store = Store::open(&path, &key(1)).unwrap();
    assert_eq!(store.incident_count().unwrap(), 1);
}

#[test]
fn invalid_fixes_are_rejected_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("field.db"), &key(3)).unwrap();
    let id = store.create_incident(report("Gravois Ave")).unwrap();
    let before = store.view(&id).unwrap();
    let bytes_before = store.stored_document_bytes().unwrap();

    let bad: Vec<(LocationFix, &str)> = vec![
        (
            LocationFix {
                lat: f64::NAN,
                ..fix_near(0.0)
            },
            "latitude",
        ),
        (
            LocationFix {
                lat: 91.0,
                ..fix_near(0.0)
            },
            "latitude",
        ),
        (
            LocationFix {
                lon: -181.0,
                ..fix_near(0.0)
            },
            "longitude",
        ),
        (
            LocationFix {
                accuracy_m: -1.0,
                ..fix_near(0.0)
            },
            "accuracy",
        ),
    ];
    for (fix, field) in bad {
        for result in [
            store.check_in(&id, fix.clone()).map(|_| ()),
            store
                .add_observation(&id, ObservationKind::Note, "x", None, Some(fix.clone()))
                .map(|_| ()),
        ] {
            match result {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{fix:?} gave {other:?}"),
            }
        }
        // Through the checklist the error names the question the fix answers.
        match store.answer(
            &id,
            "arrival",
            AnswerValue::Checkpoint {
                at: t0(),
                fix: Some(fix.clone()),
            },
        ) {
            Err(Error::InvalidInput { field: f, reason }) => assert!(
                f == "arrival" && reason.to_lowercase().contains(field),
                "{f}: {reason}"
            ),
            other => panic!("{fix:?} gave {other:?}"),
        }
    }
    assert_eq!(store.view(&id).unwrap(), before);
    assert_eq!(
        store.stored_document_bytes().unwrap(),
        bytes_before,
        "no bytes were appended"
    );

    // And a valid one goes through, with its distance to the reported place.
    let check_in = store.check_in(&id, fix_near(0.001)).unwrap();
    assert!((100.0..120.0).contains(&check_in.distance_m.unwrap()));
    let listed = &store.list(&ListQuery::default()).unwrap()[0];
    assert_eq!(listed.summary.status, IncidentStatus::OnScene);
    assert_eq!(listed.summary.distance_m, check_in.distance_m);
    assert!(listed.has_unsynced);
}

#[test]
fn a_store_with_ten_thousand_incidents_lists_from_the_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    {
        let store = Store::open(&path, &key(4)).unwrap();
        for i in 0..10_000 {
            store
                .create_incident(report(&format!("{} Broadway", i + 1)))
                .unwrap();
        }
    }
    let store = Store::open(&path, &key(4)).unwrap();
    let page = store
        .list(&ListQuery {
            limit: 50,
            ..ListQuery::default()
        })
        .unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(store.incident_count().unwrap(), 10_000);
    let second = store
        .list(&ListQuery {
            limit: 50,
            offset: 50,
            ..ListQuery::default()
        })
        .unwrap();
    assert!(second
        .iter()
        .all(|row| !page.iter().any(|p| p.summary.id == row.summary.id)));
    assert_eq!(store.document_loads(), 0, "listing decoded documents");
    // Opening one incident is what loads a document.
    store.view(&page[0].summary.id).unwrap();
    assert_eq!(store.document_loads(), 1);
}

/// Recording an observation updates the list row in place instead of re-reading the
/// document; the row must still be exactly what a full re-read gives.
#[test]
fn the_list_row_after_observations_and_amendments_matches_a_full_reread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("field.db"), &key(6)).unwrap();
    let id = store.create_incident(report("Grand Blvd")).unwrap();
    store
        .answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::Yes))
        .unwrap();
    let mut first = None;
    for i in 0..5 {
        let recorded = store
            .add_observation(&id, ObservationKind::Count, "agents", Some(i), None)
            .unwrap();
        first.get_or_insert(recorded);
    }
    store
        .amend_observation(&id, first.as_ref().unwrap(), "agents (recounted)", Some(7))
        .unwrap();
    let row_of = |store: &Store| {
        store
            .list(&Default::default())
            .unwrap()
            .into_iter()
            .find(|row| row.summary.id == id)
            .unwrap()
    };
    let row = row_of(&store);
    let view = store.view(&id).unwrap();
    assert_eq!(row.summary, view.summary());
    assert_eq!(row.summary.observation_count, 6);
    assert_eq!(row.summary.answer_count, 1);
    assert!(row.has_unsynced);
    // An action that re-reads the document rewrites the same row.
    store
        .answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::No))
        .unwrap();
    assert_eq!(row_of(&store).summary, store.view(&id).unwrap().summary());
}

#[test]
fn each_action_is_saved_before_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let store = Store::open(&path, &key(5)).unwrap();
    let id = store.create_incident(report("Kingshighway")).unwrap();
    store
        .answer(
            &id,
            "enforcement_present",
            AnswerValue::YesNo(YesNo::Unknown),
        )
        .unwrap();
    for i in 0..20 {
        store
            .add_observation(&id, ObservationKind::Count, "agents", Some(i), None)
            .unwrap();
    }
    store
        .record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(testigo_core::incident::Determination::Inconclusive),
            None,
            None,
        )
        .unwrap();
    let expected = store.view(&id).unwrap();
    // A second handle (as after a process restart) reads the same thing from disk:
    // from the snapshot and chunks as saved, and again once they are folded.
    let reopened = Store::open(&path, &key(5)).unwrap();
    assert_eq!(reopened.view(&id).unwrap(), expected);
    store.fold_now(&id).unwrap();
    assert_eq!(
        Store::open(&path, &key(5)).unwrap().view(&id).unwrap(),
        expected,
        "a fold changed what the incident holds"
    );
    assert_eq!(
        reopened.view(&id).unwrap().status.status,
        IncidentStatus::Proposed
    );
    reopened.integrity_check().unwrap();
}

#[test]
fn answers_are_checked_against_the_incident_checklist_in_the_store_locale() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("field.db"), &key(6)).unwrap();
    let id = store.create_incident(report("Kingshighway")).unwrap();
    let err = store
        .answer(&id, "agents_count", AnswerValue::Text("many".into()))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    store.set_locale("es");
    let err = store
        .answer(
            &id,
            "warrant",
            AnswerValue::Choice("signed_by_the_mayor".into()),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = store
        .answer(&id, "no_such_question", AnswerValue::YesNo(YesNo::Yes))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { .. } | Error::NotFound { .. }),
        "{err:?}"
    );
    assert!(
        store.view(&id).unwrap().answers.is_empty(),
        "nothing refused was written"
    );
    store
        .answer(&id, "agents_count", AnswerValue::Count(4))
        .unwrap();
    assert_eq!(store.view(&id).unwrap().answers.len(), 1);
}

#[test]
fn checking_in_and_out_answers_the_checklists_arrival_and_departure() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("field.db"), &key(7)).unwrap();
    let id = store.create_incident(report("Cherokee St")).unwrap();
    let me = store.device_id();
    let mine = |question: &str| {
        store
            .view(&id)
            .unwrap()
            .answers_to(question)
            .and_then(|a| a.by(&me).map(|a| (a.value.clone(), a.at)))
    };
    assert_eq!(mine("arrival"), None);

    let first = store.check_in(&id, fix_near(0.0)).unwrap();
    let (arrival, at) = mine("arrival").expect("checking in answers the arrival question");
    // Records keep milliseconds.
    assert_eq!(at.timestamp_millis(), first.at.timestamp_millis());
    assert!(matches!(arrival, AnswerValue::Checkpoint { fix: Some(fix), .. } if fix == first.fix));
    assert_eq!(mine("departure"), None, "a check-in is not a departure");

    // Back on scene after a break: another checkpoint record, the same arrival.
    let again = store.check_in(&id, fix_near(0.001)).unwrap();
    assert_ne!(again.id, first.id);
    assert_eq!(
        mine("arrival").unwrap().1.timestamp_millis(),
        first.at.timestamp_millis()
    );
    assert_eq!(store.view(&id).unwrap().checkpoints.len(), 2);

    let out = store.check_out(&id, fix_near(0.002)).unwrap();
    assert!(
        matches!(mine("departure"), Some((AnswerValue::Checkpoint { fix: Some(fix), .. }, _)) if fix == out.fix)
    );
    // One action each: the check-in's record and answer are one transaction, so a
    // refused fix leaves neither.
    let mut bad = fix_near(0.0);
    bad.lat = 95.0;
    assert!(store.check_in(&id, bad).is_err());
    assert_eq!(store.view(&id).unwrap().checkpoints.len(), 3);
}

#[test]
fn published_checklists_survive_a_restart_and_new_incidents_open_with_the_newest() {
    use testigo_core::checklist::{default_template, CheckedTemplate, Text};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let mut v2 = default_template().unwrap().template().clone();
    v2.version = 2;
    v2.sections[0].questions[0].label = Text::new([("en", "Arrived"), ("es", "Llegué")]);
    {
        let store = Store::open(&path, &key(8)).unwrap();
        assert_eq!(store.current_template().unwrap().version, 1);
        store
            .publish_template(CheckedTemplate::new(v2.clone()).unwrap())
            .unwrap();
        // Other content under a version already known is refused, and not kept.
        let mut other = v2.clone();
        other.title = Text::new([("en", "Other"), ("es", "Otra")]);
        assert!(store
            .publish_template(CheckedTemplate::new(other).unwrap())
            .is_err());
    }
    let store = Store::open(&path, &key(8)).unwrap();
    let current = store.current_template().unwrap();
    assert_eq!(
        (current.id.as_str(), current.version),
        ("field-verification", 2)
    );
    store.with_templates(|r| {
        assert_eq!(r.versions("field-verification"), [1, 2]);
        assert_eq!(r.resolve(&current).unwrap().template(), &v2);
    });
    // Checking in on an incident opened with version 2 answers its arrival.
    let mut new = report("Jefferson Ave");
    new.template = Some(current);
    let id = store.create_incident(new).unwrap();
    store.check_in(&id, fix_near(0.0)).unwrap();
    assert!(store.view(&id).unwrap().answers_to("arrival").is_some());
}
