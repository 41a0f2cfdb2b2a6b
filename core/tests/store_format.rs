//! A phone updated to a new build opens the store the old build wrote. The store in
//! `fixtures/store-openssl/` was written by the build whose SQLCipher took its ciphers
//! from OpenSSL; the library now ships SQLCipher on libtomcrypt (CommonCrypto on Apple
//! targets), and the file format must not have noticed.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::IncidentId;
use testigo_core::incident::ObservationKind;
use testigo_core::store::Store;

/// The key the fixture store was written with.
const FIXTURE_KEY_SEED: u8 = 23;
/// Set to a folder to write a new fixture there (only ever with the build the fixture
/// stands for; see the module comment).
const WRITE_FIXTURE: &str = "TESTIGO_WRITE_STORE_FIXTURE";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-openssl")
}

/// What a volunteer's store holds after a short verification: everything the view
/// shows except the status derived from the clock.
fn comparable(store: &Store, id: &IncidentId) -> serde_json::Value {
    let mut view = serde_json::to_value(store.view(id).unwrap()).unwrap();
    view.as_object_mut().unwrap().remove("status");
    view
}

#[test]
fn a_store_written_with_the_openssl_build_opens_and_goes_on_saving() {
    if let Some(dir) = std::env::var_os(WRITE_FIXTURE) {
        write_fixture(Path::new(&dir));
        return;
    }
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap(),
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("device.db");
    std::fs::copy(fixture_dir().join("device.db"), &path).unwrap();

    let store = Store::open(&path, &store_key(FIXTURE_KEY_SEED)).unwrap();
    assert_eq!(
        store.device_id().to_string(),
        expected["device_id"].as_str().unwrap(),
        "the device's identity did not survive"
    );
    let id = IncidentId::parse(expected["incident_id"].as_str().unwrap()).unwrap();
    assert_eq!(store.incident_ids().unwrap(), vec![id.clone()]);
    assert_eq!(comparable(&store, &id), expected["view"]);
    // Its own changes are still signed by it, and it goes on recording.
    assert_eq!(
        store.change_signatures(&id).unwrap().len() as u64,
        expected["signed_changes"].as_u64().unwrap()
    );
    store
        .add_observation(&id, ObservationKind::Note, "after the update", None, None)
        .unwrap();
    drop(store);
    let reopened = Store::open(&path, &store_key(FIXTURE_KEY_SEED)).unwrap();
    let texts: Vec<String> = reopened
        .view(&id)
        .unwrap()
        .observations
        .into_iter()
        .map(|o| o.text)
        .collect();
    assert_eq!(texts.last().map(String::as_str), Some("after the update"));
    // A wrong key is still told apart from a damaged file.
    assert!(matches!(
        Store::open(&path, &store_key(FIXTURE_KEY_SEED + 1)),
        Err(testigo_core::Error::WrongKey)
    ));
}

fn write_fixture(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("device.db");
    let store = Store::open(&path, &store_key(FIXTURE_KEY_SEED)).unwrap();
    let id = store
        .create_incident(report("Gravois Ave & Chippewa St"))
        .unwrap();
    store.check_in(&id, fix_near(0.0002)).unwrap();
    for text in [
        "Two unmarked SUVs, Missouri plates",
        "Four agents in vests marked POLICE ICE",
    ] {
        store
            .add_observation(&id, ObservationKind::Note, text, None, None)
            .unwrap();
    }
    store
        .answer(&id, "enforcement_present", AnswerValue::YesNo(YesNo::Yes))
        .unwrap();
    let expected = serde_json::json!({
        "device_id": store.device_id().to_string(),
        "incident_id": id.to_string(),
        "signed_changes": store.change_signatures(&id).unwrap().len(),
        "view": comparable(&store, &id),
    });
    drop(store);
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_string_pretty(&expected).unwrap() + "\n",
    )
    .unwrap();
}
