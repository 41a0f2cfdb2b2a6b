//! A phone may skip app updates for months: a store written at any earlier schema
//! version opens in this build, keeps what it held, and works.

mod common;

use common::*;
use testigo_core::incident::ObservationKind;
use testigo_core::sqlite::{migrations, Schema};
use testigo_core::store::{DeviceSchema, Store};

const KEY_SEED: u8 = 23;

/// The store's file opened directly, with the store's key.
fn keyed(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    let key = hex::encode(store_key(KEY_SEED));
    conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
        .unwrap();
    conn
}

/// A database at schema `version`, keyed as the store keys it, holding one setting
/// (the `settings` table is there from version 1).
fn store_at_version(path: &std::path::Path, version: i64) {
    let mut conn = keyed(path);
    migrations::upgrade_to::<DeviceSchema>(&mut conn, version).unwrap();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('left-by', ?1)",
        [format!("schema {version}")],
    )
    .unwrap();
    assert_eq!(migrations::version(&conn).unwrap(), version);
}

#[test]
fn a_store_of_every_earlier_schema_opens_keeps_its_data_and_works() {
    for version in 1..DeviceSchema::VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        store_at_version(&path, version);

        let store = Store::open(&path, &store_key(KEY_SEED))
            .unwrap_or_else(|e| panic!("schema {version} does not open: {e}"));
        assert_eq!(
            store.setting("left-by").unwrap().as_deref(),
            Some(format!("schema {version}").as_str()),
            "schema {version}: what the store held is gone"
        );
        let id = store.create_incident(report("Cherokee St")).unwrap();
        store
            .add_observation(
                &id,
                ObservationKind::Note,
                "Two vans",
                None,
                Some(fix_near(0.0)),
            )
            .unwrap();
        assert_eq!(store.view(&id).unwrap().observations.len(), 1);
        store.integrity_check().unwrap();
        drop(store);

        // And it is now at the current version for good: reopening upgrades nothing.
        let conn = keyed(&path);
        assert_eq!(migrations::version(&conn).unwrap(), DeviceSchema::VERSION);
    }
}

#[test]
fn a_store_from_a_newer_build_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    store_at_version(&path, DeviceSchema::VERSION);
    {
        let conn = keyed(&path);
        conn.pragma_update(None, "user_version", DeviceSchema::VERSION + 1)
            .unwrap();
    }
    let refused = match Store::open(&path, &store_key(KEY_SEED)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a store from a newer build opened"),
    };
    assert!(refused.contains("newer Testigo"), "{refused}");
    let conn = keyed(&path);
    assert_eq!(
        migrations::version(&conn).unwrap(),
        DeviceSchema::VERSION + 1
    );
}
