//! The device store schema and its migrations, run by [`crate::sqlite::migrations`]: every step in
//! one transaction with the version bump.

use crate::sqlite::migrations::Step;
use crate::sqlite::Schema;
use rusqlite::Transaction;

/// The device store's schema.
pub struct DeviceSchema;

impl Schema for DeviceSchema {
    const NAME: &'static str = "device store";
    const STEPS: &'static [Step] = &[
        create_v1,
        upgrade_to_v2,
        upgrade_to_v3,
        upgrade_to_v4,
        upgrade_to_v5,
        upgrade_to_v6,
    ];
}

fn create_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        -- This device: its key pair and, once enrolled, its role and hub.
        CREATE TABLE identity (
            singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
            device_id    TEXT NOT NULL,
            secret_key   BLOB NOT NULL,
            role         TEXT NOT NULL,
            team         TEXT,
            hub_url      TEXT,
            credential   TEXT,
            enrolled_at  INTEGER
        );

        -- One automerge document per incident: a compacted snapshot plus the changes
        -- saved since, in order. Loading concatenates them.
        CREATE TABLE documents (
            incident_id   TEXT PRIMARY KEY,
            snapshot      BLOB NOT NULL,
            chunks_bytes  INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE doc_chunks (
            incident_id  TEXT NOT NULL REFERENCES documents(incident_id) ON DELETE CASCADE,
            seq          INTEGER NOT NULL,
            bytes        BLOB NOT NULL,
            PRIMARY KEY (incident_id, seq)
        );

        -- What list screens show, kept in step with each document write so that a
        -- list never opens a document.
        CREATE TABLE incident_index (
            incident_id        TEXT PRIMARY KEY REFERENCES documents(incident_id) ON DELETE CASCADE,
            status             TEXT NOT NULL,
            urgency            TEXT NOT NULL,
            urgency_rank       INTEGER NOT NULL,
            place_text         TEXT NOT NULL,
            reported_at        INTEGER NOT NULL,
            updated_at         INTEGER NOT NULL,
            observation_count  INTEGER NOT NULL,
            answer_count       INTEGER NOT NULL,
            distance_m         REAL,
            assigned_to_me     INTEGER NOT NULL,
            closed_at          INTEGER,
            has_unsynced       INTEGER NOT NULL,
            problems           INTEGER NOT NULL
        );
        CREATE INDEX incident_index_by_update ON incident_index(updated_at DESC);
        CREATE INDEX incident_index_by_status ON incident_index(status, updated_at DESC);

        -- Sync bookkeeping per incident: the heads the hub is known to hold.
        CREATE TABLE sync_state (
            incident_id  TEXT PRIMARY KEY REFERENCES documents(incident_id) ON DELETE CASCADE,
            hub_heads    BLOB NOT NULL
        );

        -- Changes the hub refused, kept for review instead of dropped.
        CREATE TABLE quarantine (
            change_hash  TEXT PRIMARY KEY,
            incident_id  TEXT NOT NULL,
            bytes        BLOB NOT NULL,
            reason       TEXT NOT NULL,
            at           INTEGER NOT NULL
        );

        -- This device's signature over each change it made (see evidence::signing).
        CREATE TABLE change_signatures (
            change_hash  TEXT PRIMARY KEY,
            incident_id  TEXT NOT NULL REFERENCES documents(incident_id) ON DELETE CASCADE,
            signature    BLOB NOT NULL
        );

        -- Small values: sync cursor, clock offset, retention window.
        CREATE TABLE settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL
        );
        "#,
    )
}

/// v2: incidents the hub said to remove while they still held changes the hub had not
/// acknowledged. They leave the device once those changes are acknowledged or
/// quarantined, never before.
fn upgrade_to_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE sync_removals (
            incident_id  TEXT PRIMARY KEY,
            at           INTEGER NOT NULL
        );
        "#,
    )
}

/// v3: the hub's closing time of each closed incident held. Retention counts from
/// it, never from the closing event's time, which is the closer's device clock.
fn upgrade_to_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE hub_closings (
            incident_id  TEXT PRIMARY KEY REFERENCES documents(incident_id) ON DELETE CASCADE,
            closed_at    INTEGER NOT NULL
        );
        "#,
    )
}

/// v4: attachment files (photos, video, audio and their previews). Each row names a
/// sealed file in the attachment area and holds its key; the upload resumes from
/// `acked_bytes`. Rows go with their incident; the files are deleted beside them.
fn upgrade_to_v4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE attachments (
            incident_id  TEXT NOT NULL REFERENCES documents(incident_id) ON DELETE CASCADE,
            sha256       TEXT NOT NULL,
            record_id    TEXT NOT NULL,
            kind         TEXT NOT NULL,
            mime         TEXT NOT NULL,
            size         INTEGER NOT NULL,
            is_preview   INTEGER NOT NULL,
            file         TEXT NOT NULL,
            file_key     BLOB NOT NULL,
            acked_bytes  INTEGER NOT NULL DEFAULT 0,
            uploaded     INTEGER NOT NULL DEFAULT 0,
            created_at   INTEGER NOT NULL,
            PRIMARY KEY (incident_id, sha256)
        );
        "#,
    )
}

/// v5: checklist versions received from the hub, kept as the JSON the hub sent (checked
/// again on every open), so new incidents open with them after a restart.
/// `received_seq` orders them: the newest publication is the checklist new
/// incidents start with.
fn upgrade_to_v5(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        CREATE TABLE templates (
            template_id   TEXT NOT NULL,
            version       INTEGER NOT NULL,
            json          TEXT NOT NULL,
            received_seq  INTEGER NOT NULL,
            PRIMARY KEY (template_id, version)
        );
        "#,
    )
}

/// v6: each snapshot's generation, so the compaction thread never writes a fold over a
/// snapshot replaced since it read it (see `documents` and `compaction`); and the
/// incidents due for a fold found by index, so the thread's first look at a store of
/// thousands of incidents does not read (and decrypt) all of them while the app opens.
fn upgrade_to_v6(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
        ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX documents_due_for_fold ON documents (incident_id)
            WHERE chunks_bytes > length(snapshot);
        "#,
    )
}
