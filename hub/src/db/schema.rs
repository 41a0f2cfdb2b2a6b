//! The hub database schema and its migrations, run by [`testigo_core::sqlite::migrations`]: every step in
//! one transaction with the version bump.

use rusqlite::Transaction;
use testigo_core::sqlite::migrations::Step;
use testigo_core::sqlite::Schema;

/// The hub database's schema.
pub struct HubSchema;

impl Schema for HubSchema {
    const NAME: &'static str = "hub database";
    const STEPS: &'static [Step] = &[
        create_v1,
        upgrade_to_v2,
        upgrade_to_v3,
        upgrade_to_v4,
        upgrade_to_v5,
        upgrade_to_v6,
        upgrade_to_v7,
        upgrade_to_v8,
        upgrade_to_v9,
    ];
}

fn create_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        -- The hub's own key, and the one counter that orders the change log and
        -- delivery stamps (see db::changes).
        CREATE TABLE hub_meta (
            key    TEXT PRIMARY KEY,
            value  BLOB NOT NULL
        );

        CREATE TABLE devices (
            device_id        TEXT PRIMARY KEY,
            public_key       BLOB NOT NULL,
            role             TEXT NOT NULL,
            team             TEXT,
            credential_hash  BLOB NOT NULL UNIQUE,
            enrolled_at      INTEGER NOT NULL,
            revoked          INTEGER NOT NULL DEFAULT 0
        );

        -- One-time codes, kept only as hashes.
        CREATE TABLE enrol_codes (
            code_hash   BLOB PRIMARY KEY,
            role        TEXT NOT NULL,
            team        TEXT,
            expires_at  INTEGER NOT NULL,
            used_at     INTEGER,
            created_by  TEXT
        );

        -- The hub's copy of every incident document, with what permission checks and
        -- list screens need beside it.
        CREATE TABLE incidents (
            incident_id      TEXT PRIMARY KEY,
            document         BLOB NOT NULL,
            heads            BLOB NOT NULL,
            status           TEXT NOT NULL,
            urgency          TEXT NOT NULL,
            place_text       TEXT NOT NULL,
            created_by       TEXT NOT NULL,
            team             TEXT,
            updated_at       INTEGER NOT NULL,
            caller_notified  INTEGER NOT NULL DEFAULT 0,
            -- Hub time when the hub first saw the incident closed: retention counts
            -- from here, never from a device's clock.
            closed_at        INTEGER
        );
        CREATE INDEX incidents_by_team ON incidents(team);

        -- Mirror of the documents' assignments, for permission queries.
        CREATE TABLE assignments (
            incident_id  TEXT NOT NULL REFERENCES incidents(incident_id) ON DELETE CASCADE,
            device_id    TEXT NOT NULL,
            active       INTEGER NOT NULL,
            PRIMARY KEY (incident_id, device_id)
        );
        CREATE INDEX assignments_by_device ON assignments(device_id, active);

        -- Every stored change, in the order the hub accepted it.
        CREATE TABLE changes (
            seq          INTEGER PRIMARY KEY,
            incident_id  TEXT NOT NULL REFERENCES incidents(incident_id) ON DELETE CASCADE,
            hash         BLOB NOT NULL,
            bytes        BLOB NOT NULL,
            from_device  TEXT NOT NULL,
            signature    BLOB,
            received_at  INTEGER NOT NULL,
            UNIQUE (incident_id, hash)
        );

        -- What each device holds. A row is stamped with the response that carried it
        -- (`since_seq`) and counts only once the device's cursor has reached that
        -- stamp: a response lost on the way delivers nothing.
        CREATE TABLE delivered (
            device_id    TEXT NOT NULL,
            incident_id  TEXT NOT NULL REFERENCES incidents(incident_id) ON DELETE CASCADE,
            since_seq    INTEGER NOT NULL,
            removed_seq  INTEGER,
            PRIMARY KEY (device_id, incident_id)
        );

        -- Caller identity. Private to dispatchers; never in a document or sync response.
        CREATE TABLE caller_contacts (
            incident_id  TEXT PRIMARY KEY REFERENCES incidents(incident_id) ON DELETE CASCADE,
            name         TEXT,
            phone        TEXT,
            notified_at  INTEGER
        );
        "#,
    )
}

/// v2: the audit log.
fn upgrade_to_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE audit (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            at           INTEGER NOT NULL,
            device_id    TEXT NOT NULL,
            role         TEXT NOT NULL,
            incident_id  TEXT,
            endpoint     TEXT NOT NULL,
            action       TEXT NOT NULL
        );
        CREATE INDEX audit_by_incident ON audit(incident_id, id);
        "#,
    )
}

/// v3: re-enrolment codes, and who was ever given each incident.
fn upgrade_to_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        -- A code made for one device enrols only that device, again; a code without
        -- one enrols only a device the hub has never seen.
        ALTER TABLE enrol_codes ADD COLUMN device_id TEXT;

        -- Every device the hub ever gave an incident to (or that uploaded to one it
        -- could see). Such a device may still upload what it recorded on it after it
        -- lost sight of it: moved to another team, closed past retention, archived.
        -- No foreign key: the right outlives the incident's rows.
        CREATE TABLE ever_held (
            device_id    TEXT NOT NULL,
            incident_id  TEXT NOT NULL,
            PRIMARY KEY (device_id, incident_id)
        );
        INSERT OR IGNORE INTO ever_held (device_id, incident_id)
            SELECT device_id, incident_id FROM delivered;

        -- What the hub refused each device, and why: the device keeps the changes in
        -- quarantine; a coordinator reads this to help (GET /v1/devices/{id}/refusals).
        CREATE TABLE refusals (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id    TEXT NOT NULL,
            incident_id  TEXT NOT NULL,
            change_hash  BLOB,
            reason       TEXT NOT NULL,
            at           INTEGER NOT NULL
        );
        CREATE INDEX refusals_by_device ON refusals(device_id, id);
        "#,
    )
}

/// v4: UnifiedPush endpoints, one per device (see `wake::push`).
fn upgrade_to_v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE push_endpoints (
            device_id      TEXT PRIMARY KEY REFERENCES devices(device_id) ON DELETE CASCADE,
            endpoint       TEXT NOT NULL,
            registered_at  INTEGER NOT NULL,
            -- Wakes in a row that failed after every retry; the endpoint is dropped
            -- when this reaches the limit.
            failed_wakes   INTEGER NOT NULL DEFAULT 0
        );
        "#,
    )
}

/// v5: media files each incident holds (the bytes are in the media storage, once).
fn upgrade_to_v5(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE media_links (
            incident_id  TEXT NOT NULL REFERENCES incidents(incident_id) ON DELETE CASCADE,
            sha256       TEXT NOT NULL,
            size         INTEGER NOT NULL,
            mime         TEXT NOT NULL,
            received_at  INTEGER NOT NULL,
            PRIMARY KEY (incident_id, sha256)
        );
        "#,
    )
}

/// v6: history signatures, one per upload and incident (see `crate::history`). Changes
/// logged before keep their per-change `signature`; changes logged since have none.
fn upgrade_to_v6(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE history_signatures (
            incident_id  TEXT NOT NULL REFERENCES incidents(incident_id) ON DELETE CASCADE,
            device_id    TEXT NOT NULL,
            seq          INTEGER NOT NULL,
            head         BLOB NOT NULL,
            signature    BLOB NOT NULL,
            -- The signed change, only when validation refused it.
            head_bytes   BLOB,
            received_at  INTEGER NOT NULL,
            PRIMARY KEY (incident_id, device_id, head)
        );
        "#,
    )
}

/// v7: checklist templates. Imported versions wait as drafts until a coordinator
/// publishes one; `published_seq` is a stamp from the change counter, so a device
/// receives a publication exactly once, in the sync round after its cursor.
fn upgrade_to_v7(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE templates (
            template_id    TEXT NOT NULL,
            version        INTEGER NOT NULL,
            json           TEXT NOT NULL,
            imported_at    INTEGER NOT NULL,
            imported_by    TEXT NOT NULL,
            published_seq  INTEGER UNIQUE,
            published_at   INTEGER,
            published_by   TEXT,
            PRIMARY KEY (template_id, version)
        );
        "#,
    )
}

/// v8: upload signatures. A history statement signed as one leaf of a request's tree
/// keeps its place in it (`crate::history::Inclusion`); `signature` is then the
/// request's. Rows without them are signed alone, as before.
fn upgrade_to_v8(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE history_signatures ADD COLUMN upload_index  INTEGER;
        ALTER TABLE history_signatures ADD COLUMN upload_leaves INTEGER;
        ALTER TABLE history_signatures ADD COLUMN upload_root   BLOB;
        ALTER TABLE history_signatures ADD COLUMN upload_proof  BLOB;
        "#,
    )
}

/// v9: incidents by who opened them, so that what a volunteer sees is found through
/// indexes (their own, their team's, their assignments), never a scan of every incident
/// (`crate::permissions`).
fn upgrade_to_v9(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("CREATE INDEX incidents_by_creator ON incidents(created_by);")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use testigo_core::sqlite::migrations;

    fn objects(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name FROM sqlite_master ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A hub left at any earlier version — one device enrolled, one incident delivered
    /// to it — upgrades to the schema a new hub makes, keeps its rows, and the step that
    /// derives who ever held an incident (v3) takes what was delivered before it.
    #[test]
    fn a_hub_database_of_every_earlier_schema_upgrades_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = crate::db::open(&dir.path().join("fresh.sqlite")).unwrap();
        for version in 1..HubSchema::VERSION {
            let path = dir.path().join(format!("v{version}.sqlite"));
            let mut conn = Connection::open(&path).unwrap();
            migrations::upgrade_to::<HubSchema>(&mut conn, version).unwrap();
            conn.execute_batch(
                "INSERT INTO devices (device_id, public_key, role, credential_hash, enrolled_at)
                     VALUES ('phone', x'00', 'volunteer', x'01', 1);
                 INSERT INTO incidents (incident_id, document, heads, status, urgency,
                                        place_text, created_by, updated_at)
                     VALUES ('inc', x'', x'', 'new', 'normal', 'Cherokee St', 'desk', 1);
                 INSERT INTO delivered (device_id, incident_id, since_seq)
                     VALUES ('phone', 'inc', 1);",
            )
            .unwrap();
            drop(conn);

            let upgraded = crate::db::open(&path)
                .unwrap_or_else(|e| panic!("schema {version} does not upgrade: {e}"));
            assert_eq!(migrations::version(&upgraded).unwrap(), HubSchema::VERSION);
            assert_eq!(objects(&upgraded), objects(&fresh), "schema {version}");
            let devices: i64 = upgraded
                .query_row("SELECT count(*) FROM devices", [], |r| r.get(0))
                .unwrap();
            assert_eq!(devices, 1, "schema {version}: the enrolled device is gone");
            let ever_held: i64 = upgraded
                .query_row("SELECT count(*) FROM ever_held", [], |r| r.get(0))
                .unwrap();
            let derived_by_v3 = i64::from(version < 3);
            assert_eq!(ever_held, derived_by_v3, "schema {version}");
        }
    }
}
