//! The attachment rows: which sealed file holds which hash of which incident, its key,
//! and how far its upload got.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::ids::{IncidentId, RecordId};
use crate::incident::MediaKind;
use crate::media::sealed::FileKey;
use crate::media::{CapturedFile, StoredMedia};

/// A row's file and key, to read it.
pub struct FileRef {
    pub file: String,
    pub key: FileKey,
}

fn kind_str(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Photo => "photo",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
    }
}

fn parse_kind(s: &str) -> MediaKind {
    match s {
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        _ => MediaKind::Photo,
    }
}

/// Records a captured file. Returns `false` when the incident already holds a file
/// with this hash (the same picture attached twice): the caller then removes the new
/// sealed copy, so a file is never kept twice.
pub fn insert(
    conn: &Connection,
    incident: &IncidentId,
    record: &RecordId,
    file: &CapturedFile,
    is_preview: bool,
    now_ms: i64,
) -> Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO attachments (incident_id, sha256, record_id, kind, mime, size, is_preview, file, file_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            incident.as_str(),
            file.sealed.sha256,
            record.as_str(),
            kind_str(file.kind),
            file.mime,
            file.sealed.size as i64,
            is_preview,
            file.file_name,
            &file.key[..],
            now_ms,
        ],
    )?;
    Ok(inserted == 1)
}

fn stored(row: &Row<'_>) -> rusqlite::Result<StoredMedia> {
    let incident: String = row.get(0)?;
    let record: String = row.get(1)?;
    Ok(StoredMedia {
        incident: IncidentId::parse(&incident).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        record: RecordId::parse(&record).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?,
        sha256: row.get(2)?,
        kind: parse_kind(&row.get::<_, String>(3)?),
        mime: row.get(4)?,
        size: row.get::<_, i64>(5)? as u64,
        is_preview: row.get(6)?,
        acked_bytes: row.get::<_, i64>(7)? as u64,
        uploaded: row.get(8)?,
    })
}

const COLUMNS: &str =
    "incident_id, record_id, sha256, kind, mime, size, is_preview, acked_bytes, uploaded";

/// Every attachment file of `incident`, previews first, then in capture order.
pub fn for_incident(conn: &Connection, incident: &IncidentId) -> Result<Vec<StoredMedia>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE incident_id = ?1 ORDER BY is_preview DESC, created_at, sha256"
    ))?;
    let rows = stmt
        .query_map([incident.as_str()], stored)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Files not yet held by the hub, in the order they should go: previews before any
/// full file, then oldest first.
pub fn pending(conn: &Connection) -> Result<Vec<StoredMedia>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE uploaded = 0 ORDER BY is_preview DESC, created_at, incident_id, sha256"
    ))?;
    let rows = stmt
        .query_map([], stored)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn file_ref(conn: &Connection, incident: &IncidentId, sha256: &str) -> Result<FileRef> {
    conn.query_row(
        "SELECT file, file_key FROM attachments WHERE incident_id = ?1 AND sha256 = ?2",
        params![incident.as_str(), sha256],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
    )
    .optional()?
    .ok_or_else(|| Error::not_found(format!("attachment {sha256} of incident {incident}")))
    .and_then(|(file, key)| {
        Ok(FileRef {
            file,
            key: key
                .try_into()
                .map_err(|_| Error::Storage("an attachment key is not 32 bytes".into()))?,
        })
    })
}

/// Records how far the hub acknowledged; `uploaded` once it checked the whole file.
pub fn set_progress(
    conn: &Connection,
    incident: &IncidentId,
    sha256: &str,
    acked_bytes: u64,
    uploaded: bool,
) -> Result<()> {
    conn.execute(
        "UPDATE attachments SET acked_bytes = ?3, uploaded = ?4 WHERE incident_id = ?1 AND sha256 = ?2",
        params![incident.as_str(), sha256, acked_bytes as i64, uploaded],
    )?;
    Ok(())
}

/// The sealed files of `incident`, to delete once its rows are gone.
pub fn files_of(conn: &Connection, incident: &IncidentId) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT file FROM attachments WHERE incident_id = ?1")?;
    let files = stmt
        .query_map([incident.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(files)
}

/// Every sealed file some row names.
fn all_files(conn: &Connection) -> Result<std::collections::HashSet<String>> {
    let mut stmt = conn.prepare("SELECT file FROM attachments")?;
    let files = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(files)
}

/// Deletes `files` from the attachment area `dir`.
pub fn delete_files(dir: &Path, files: &[String]) {
    for file in files {
        match std::fs::remove_file(dir.join(file)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(target: "testigo_core", "could not delete attachment {file}: {e}")
            }
        }
    }
}

/// How long a file no row names is left alone: another open store on the same files
/// (the app and a background worker) may be sealing it right now. The sealed bytes are
/// unreadable without a key, and the key is only ever saved with the row.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Removes what a crash can leave in the attachment area: a file half sealed, or a
/// sealed file whose observation was never saved — once untouched for [`ORPHAN_AGE`].
pub fn sweep_orphans(conn: &Connection, dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let named = all_files(conn)?;
    let old = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= ORPHAN_AGE)
    };
    let orphans: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(old)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !named.contains(name))
        .collect();
    if !orphans.is_empty() {
        tracing::info!(target: "testigo_core", "removing {} unsaved attachment files", orphans.len());
    }
    delete_files(dir, &orphans);
    Ok(())
}
