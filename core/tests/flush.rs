//! An action returns once its commit is in SQLite's write-ahead log, which survives the
//! app being killed; the store's background thread then flushes it into the database
//! file and to disk, so a power cut soon after loses nothing either. Here the log is
//! what is left behind: a copy of the database file alone, taken after the action and
//! with no further action, must already hold it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use testigo_core::incident::ObservationKind;
use testigo_core::store::Store;

const KEY_SEED: u8 = 17;

#[test]
fn a_recorded_observation_reaches_the_database_file_without_another_action() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let store = Store::open(&path, &store_key(KEY_SEED)).unwrap();
    let id = store
        .create_incident(report("Cherokee St & Jefferson Ave"))
        .unwrap();
    let note = "Two unmarked vans, agents in vests";
    let record = store
        .add_observation(
            &id,
            ObservationKind::Note,
            note,
            None,
            Some(fix_near(0.0001)),
        )
        .unwrap();

    // Far below SQLite's own checkpoint (1,000 log pages): without the flush thread
    // the database file would hold none of this until many more actions.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let copy = tempfile::tempdir().unwrap();
        if let Some(found) = observations_in_file_alone(&path, copy.path(), &id) {
            if found.contains(&record) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the observation is still only in the write-ahead log"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The store goes on working after its file was read behind its back.
    store
        .add_observation(&id, ObservationKind::Note, "They left north", None, None)
        .unwrap();
    assert_eq!(store.view(&id).unwrap().observations.len(), 2);
}

/// Opens a copy of the database file without its log, and lists the incident's
/// observations there (None if the incident is not in the file yet).
fn observations_in_file_alone(
    path: &Path,
    into: &Path,
    id: &testigo_core::ids::IncidentId,
) -> Option<Vec<testigo_core::ids::RecordId>> {
    let copy = into.join("device.db");
    std::fs::copy(path, &copy).unwrap();
    let store = Store::open(&copy, &store_key(KEY_SEED)).unwrap();
    let view = store.view(id).ok()?;
    Some(view.observations.into_iter().map(|o| o.id).collect())
}
