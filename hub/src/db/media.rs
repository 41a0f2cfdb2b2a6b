//! Which incident holds which media file: a link is made when an upload for that
//! incident completed and its hash matched. Downloads follow links, never bare hashes.

use rusqlite::{params, Connection, OptionalExtension};
use testigo_core::ids::IncidentId;

use crate::error::HubResult;

pub fn link(
    conn: &Connection,
    incident: &IncidentId,
    sha256: &str,
    size: u64,
    mime: &str,
    now_ms: i64,
) -> HubResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO media_links (incident_id, sha256, size, mime, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![incident.as_str(), sha256, size as i64, mime, now_ms],
    )?;
    Ok(())
}

/// Undoes [`link`] when the file it pointed to turned out gone before it was kept.
pub fn unlink(conn: &Connection, incident: &IncidentId, sha256: &str) -> HubResult<()> {
    conn.execute(
        "DELETE FROM media_links WHERE incident_id = ?1 AND sha256 = ?2",
        params![incident.as_str(), sha256],
    )?;
    Ok(())
}

/// The type of a linked file, if `incident` holds it.
pub fn linked(conn: &Connection, incident: &IncidentId, sha256: &str) -> HubResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT mime FROM media_links WHERE incident_id = ?1 AND sha256 = ?2",
            params![incident.as_str(), sha256],
            |r| r.get(0),
        )
        .optional()?)
}

/// Every file an incident holds: hash and media type.
pub fn for_incident(conn: &Connection, incident: &IncidentId) -> HubResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT sha256, mime FROM media_links WHERE incident_id = ?1 ORDER BY received_at, sha256",
    )?;
    let rows = stmt
        .query_map([incident.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
    Ok(rows)
}

/// Whether any incident still holds the file.
pub fn linked_anywhere(conn: &Connection, sha256: &str) -> HubResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM media_links WHERE sha256 = ?1 LIMIT 1",
            [sha256],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
