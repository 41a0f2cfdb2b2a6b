//! A volunteer's phone fills up, or its storage turns read-only, in the middle of an
//! incident. Saving then fails with a clear storage error; everything saved before is
//! still there; the file stays consistent; and once space returns the same store goes
//! on saving, with nothing half-written left behind.

mod common;

use common::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{Determination, EventKind, ObservationKind};
use testigo_core::store::{StorageFault, Store};
use testigo_core::Error;

fn open(path: &std::path::Path) -> Store {
    Store::open(path, &store_key(9)).unwrap()
}

/// An incident with a few saved observations, as a volunteer has on scene.
fn on_scene(store: &Store) -> (IncidentId, Vec<RecordId>) {
    let id = store
        .create_incident(report("Gravois Ave & Chippewa St"))
        .unwrap();
    let saved = (0..5)
        .map(|n| {
            store
                .add_observation(
                    &id,
                    ObservationKind::Note,
                    &format!("before the fault {n}"),
                    None,
                    None,
                )
                .unwrap()
        })
        .collect();
    (id, saved)
}

fn assert_all_present(store: &Store, id: &IncidentId, saved: &[RecordId]) {
    store.integrity_check().unwrap();
    let view = store.view(id).unwrap();
    for record in saved {
        assert_eq!(
            view.observations.iter().filter(|o| &o.id == record).count(),
            1,
            "observation {record} lost or duplicated"
        );
    }
    assert_eq!(
        view.observations.len(),
        saved.len(),
        "an observation that failed to save appeared anyway"
    );
    let row = store
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .find(|r| &r.summary.id == id)
        .unwrap();
    assert_eq!(
        row.summary.observation_count as usize,
        saved.len(),
        "the list index disagrees with the document"
    );
}

/// Calls `write` (with a counter) until it is refused, at most 500 times: what it saved,
/// and the refusal.
fn until_refused<T>(mut write: impl FnMut(usize) -> Result<T, Error>) -> (Vec<T>, Error) {
    let mut saved = Vec::new();
    for n in 0..500 {
        match write(n) {
            Ok(value) => saved.push(value),
            Err(e) => return (saved, e),
        }
    }
    panic!("the full device never refused a write");
}

fn assert_storage_error(result: Result<impl std::fmt::Debug, Error>, expected: &str) {
    match result {
        Err(Error::Storage(message)) => assert_eq!(message, expected),
        other => panic!("expected a storage error {expected:?}, got {other:?}"),
    }
}

#[test]
fn a_full_device_refuses_new_records_keeps_the_old_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let store = open(&path);
    let (id, mut saved) = on_scene(&store);

    store.inject_storage_fault(StorageFault::DiskFull).unwrap();
    // Free pages may take a few more records; long notes use them up quickly.
    let long_note = "Agents going door to door on the east side. ".repeat(100);
    let (more, failure) = until_refused(|_| {
        store.add_observation(
            &id,
            ObservationKind::Note,
            &long_note,
            None,
            Some(fix_near(0.0002)),
        )
    });
    saved.extend(more);
    assert_eq!(failure.to_string(), "storage: the device storage is full");
    // Room for a long note is gone; short records may still fit in what is left of
    // the pages. Once they are refused too, the device is full for everything.
    let (more, short_failure) = until_refused(|n| {
        store.add_observation(
            &id,
            ObservationKind::Note,
            &format!("short {n}"),
            None,
            None,
        )
    });
    saved.extend(more);
    assert_eq!(
        short_failure.to_string(),
        "storage: the device storage is full"
    );
    // Each table grows into pages of its own: a new incident can fit where a new
    // observation no longer does, until it cannot either.
    let (created, incident_failure) =
        until_refused(|_| store.create_incident(report("Another corner")));
    assert_storage_error(Err::<(), _>(incident_failure), "the device storage is full");
    assert_all_present(&store, &id, &saved);
    assert_eq!(
        store.incident_count().unwrap() as usize,
        1 + created.len(),
        "a refused incident was saved, or a saved one lost"
    );

    // Space returns: the same store saves again, and so does a reopened one.
    store.inject_storage_fault(StorageFault::None).unwrap();
    saved.push(
        store
            .add_observation(&id, ObservationKind::Note, &long_note, None, None)
            .unwrap(),
    );
    assert_all_present(&store, &id, &saved);
    drop(store);
    let store = open(&path);
    assert_all_present(&store, &id, &saved);
    saved.push(
        store
            .add_observation(&id, ObservationKind::Note, "after reopening", None, None)
            .unwrap(),
    );
    assert_all_present(&store, &id, &saved);
}

#[test]
fn a_read_only_database_refuses_every_write_and_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let store = open(&path);
    let (id, mut saved) = on_scene(&store);
    let before = store.view(&id).unwrap();

    store.inject_storage_fault(StorageFault::ReadOnly).unwrap();
    let read_only = "the database is read-only";
    assert_storage_error(
        store.add_observation(&id, ObservationKind::Note, "while read-only", None, None),
        read_only,
    );
    assert_storage_error(
        store.amend_observation(&id, &saved[0], "corrected", None),
        read_only,
    );
    assert_storage_error(store.check_in(&id, fix_near(0.0001)), read_only);
    assert_storage_error(
        store.answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::Yes)),
        read_only,
    );
    assert_storage_error(
        store.record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(Determination::Verified),
            None,
            None,
        ),
        read_only,
    );
    assert_storage_error(store.create_incident(report("Another corner")), read_only);
    assert_storage_error(store.set_setting("retention_hours", "1"), read_only);
    // The volunteer can still read everything.
    assert_eq!(
        store.view(&id).unwrap(),
        before,
        "a refused write changed what the store shows"
    );
    assert_all_present(&store, &id, &saved);

    store.inject_storage_fault(StorageFault::None).unwrap();
    saved.push(
        store
            .add_observation(&id, ObservationKind::Note, "writable again", None, None)
            .unwrap(),
    );
    store.check_in(&id, fix_near(0.0001)).unwrap();
    assert_all_present(&store, &id, &saved);
    drop(store);
    assert_all_present(&open(&path), &id, &saved);
}
