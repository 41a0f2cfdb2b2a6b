//! The hub's archive-then-delete policy: closed incidents older than the configured
//! age are written to the archive folder as evidence bundles, and only once that file
//! is safely on disk are they deleted from the hub, with their change log, deliveries,
//! assignments and caller contact. Their media files are copied beside the bundle
//! (`<incident>.media/`, named as `testigo verify --media` expects) before that, and
//! leave the hub's media storage once no other incident records them.
//!
//! Media are copied without the database lock held (they may be large, and in a
//! remote store); the bundle is then written and the incident deleted in one
//! transaction that first checks the incident still holds the same files, so nothing
//! that reaches it meanwhile is deleted unarchived.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{params, Connection};
use testigo_core::evidence::DeviceRecord;
use testigo_core::ids::IncidentId;

use crate::db::media as links;
use crate::error::{HubError, HubResult};
use crate::media::{Checked, MediaStorage};
use crate::server::AppState;

/// Archives and deletes incidents closed at or before `cutoff_ms`. Returns what left.
pub async fn archive_closed(
    state: &Arc<AppState>,
    archive_dir: &Path,
    cutoff_ms: i64,
) -> HubResult<Vec<IncidentId>> {
    let ids = state
        .write(move |_, conn| closed_by(conn, cutoff_ms))
        .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    std::fs::create_dir_all(archive_dir).map_err(|e| {
        HubError::internal(format!(
            "cannot create the archive folder {}: {e}",
            archive_dir.display()
        ))
    })?;
    let mut archived = Vec::with_capacity(ids.len());
    for id in ids {
        let files = {
            let id = id.clone();
            state
                .write(move |_, conn| links::for_incident(conn, &id))
                .await?
        };
        let media_dir = archive_dir.join(format!("{id}.media"));
        archive_media(&state.media, &media_dir, &files).await?;
        let deleted = {
            let (id, files, archive_dir) = (id.clone(), files.clone(), archive_dir.to_path_buf());
            state
                .write(move |state, tx| {
                    if links::for_incident(tx, &id)? != files {
                        // A file arrived since the copy: the next round takes it along.
                        return Ok(false);
                    }
                    let hub = state.hub_record(tx)?;
                    let bundle = crate::evidence::build_bundle(
                        tx,
                        &hub,
                        &state.hub.signing_key,
                        std::slice::from_ref(&id),
                    )?;
                    write_durably(&archive_dir.join(format!("{id}.json")), &bundle)?;
                    delete_incident(tx, &id, hub.device_id.as_str())?;
                    Ok(true)
                })
                .await?
        };
        if !deleted {
            continue;
        }
        for (sha256, mime) in &files {
            let copy = media_dir.join(testigo_core::evidence::media_file_name(sha256, mime));
            remove_if_unlinked(state, sha256, &copy).await?;
        }
        archived.push(id);
    }
    Ok(archived)
}

fn closed_by(conn: &Connection, cutoff_ms: i64) -> HubResult<Vec<IncidentId>> {
    let mut stmt = conn.prepare("SELECT incident_id FROM incidents WHERE closed_at IS NOT NULL AND closed_at <= ?1 ORDER BY incident_id")?;
    let rows = stmt.query_map([cutoff_ms], |r| r.get::<_, String>(0))?;
    Ok(rows
        .filter_map(|r| r.ok())
        .filter_map(|s| IncidentId::parse(&s).ok())
        .collect())
}

fn delete_incident(conn: &Connection, id: &IncidentId, hub_device: &str) -> HubResult<()> {
    for table in [
        "media_links",
        "changes",
        "history_signatures",
        "delivered",
        "assignments",
        "caller_contacts",
        "incidents",
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE incident_id = ?1"),
            params![id.as_str()],
        )?;
    }
    conn.execute(
        "INSERT INTO audit (at, device_id, role, incident_id, endpoint, action) VALUES (?1, ?2, 'hub', ?3, 'retention', 'archive')",
        params![chrono::Utc::now().timestamp_millis(), hub_device, id.as_str()],
    )?;
    Ok(())
}

/// Removes a stored file once no incident links it. An upload for another incident
/// (on this instance or another) may link the same file between the question and the
/// removal; asked again afterwards, the file is then put back from the archive's copy.
async fn remove_if_unlinked(state: &Arc<AppState>, sha256: &str, copy: &Path) -> HubResult<()> {
    let linked = |sha256: String| async move {
        state
            .write(move |_, conn| links::linked_anywhere(conn, &sha256))
            .await
    };
    if linked(sha256.to_owned()).await? {
        return Ok(());
    }
    state.media.remove(sha256).await;
    if linked(sha256.to_owned()).await? {
        if let Checked::HashMismatch { actual } = state.media.store_from_file(sha256, copy).await? {
            tracing::error!(sha256, %actual, "the archive's copy of a media file is not the file");
        }
    }
    Ok(())
}

/// Copies an incident's media files into `dir`, each flushed to disk before the
/// incident may be deleted.
async fn archive_media(
    media: &MediaStorage,
    dir: &Path,
    files: &[(String, String)],
) -> HubResult<()> {
    if files.is_empty() {
        return Ok(());
    }
    let fail = |e: &dyn std::fmt::Display| {
        HubError::internal(format!("cannot archive media into {}: {e}", dir.display()))
    };
    tokio::fs::create_dir_all(dir).await.map_err(|e| fail(&e))?;
    for (sha256, mime) in files {
        let target = dir.join(testigo_core::evidence::media_file_name(sha256, mime));
        media
            .copy_to_file(sha256, &target)
            .await
            .map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// Writes through a temporary file and renames it, after an fsync: a crash leaves
/// either no archive file or a whole one, never a torn one the deletion relied on.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> HubResult<()> {
    let fail = |e: std::io::Error| {
        HubError::internal(format!("cannot write the archive {}: {e}", path.display()))
    };
    let temporary = path.with_extension("partial");
    let mut file = std::fs::File::create(&temporary).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)?;
    Ok(())
}

/// Whether the incident left the hub for the archive.
pub(crate) fn was_archived(conn: &Connection, id: &IncidentId) -> HubResult<bool> {
    Ok(conn.query_row(
        "SELECT count(*) FROM audit WHERE incident_id = ?1 AND action = 'archive'",
        [id.as_str()],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// One signed change that reached the hub after its incident was archived.
#[derive(serde::Serialize)]
pub(crate) struct LateChange {
    pub hash: String,
    /// Hex of the automerge change bytes.
    pub bytes: String,
    /// Hex of the author's ed25519 signature over the change hash, for a change
    /// offered again from quarantine; the others are covered by the file's
    /// `history_signature`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Adds work a device recorded while it held an incident, received after the
/// incident was archived, beside its bundle: `<id>.late-<digest>.json`, named by the
/// changes it holds so that a retried upload writes the same file again. The changes
/// are as the device signed them; with the incident gone from the hub they were not
/// checked against its document, which the file says.
pub(crate) fn add_to_archive(
    archive_dir: &Path,
    id: &IncidentId,
    device: &DeviceRecord,
    received_at_ms: i64,
    changes: &[LateChange],
    history: Option<&crate::history::Signed>,
) -> HubResult<()> {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for change in changes {
        digest.update(change.hash.as_bytes());
    }
    let name = format!("{id}.late-{}.json", &hex::encode(digest.finalize())[..16]);
    let body = serde_json::json!({
        "incident": id,
        "received_at_ms": received_at_ms,
        "device": device,
        "validated_against_document": false,
        "changes": changes,
        // The device's signature over its newest change here, which vouches for
        // every earlier one of its own (`evidence::HistoryStatement`).
        "history_signature": history.map(|h| serde_json::json!({
            "seq": h.statement.seq,
            "head": h.statement.head.to_string(),
            "hub": h.statement.hub,
            "signature": hex::encode(h.signature),
            // Set when the signature is the request's, over a tree of statements.
            "upload": h.inclusion.as_ref().map(testigo_core::evidence::UploadPlace::from),
        })),
    });
    let bytes = serde_json::to_vec_pretty(&body)
        .map_err(|e| HubError::internal(format!("cannot write the archive addendum: {e}")))?;
    std::fs::create_dir_all(archive_dir).map_err(|e| {
        HubError::internal(format!(
            "cannot create the archive folder {}: {e}",
            archive_dir.display()
        ))
    })?;
    write_durably(&archive_dir.join(name), &bytes)
}
