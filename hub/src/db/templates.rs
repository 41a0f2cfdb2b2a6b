//! Checklist templates on the hub: every imported version (a draft until published)
//! and, for published ones, the counter stamp that sync delivers them by.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use testigo_core::checklist::CheckedTemplate;
use testigo_core::incident::TemplateRef;

use super::changes;
use crate::error::{HubError, HubResult};

/// One version as the API lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateRow {
    pub id: String,
    pub version: u32,
    /// The English title.
    pub title: String,
    pub questions: usize,
    pub imported_at_ms: i64,
    pub published_at_ms: Option<i64>,
}

/// Keeps an imported version as a draft. The same content again is harmless; other
/// content under a version already imported is refused: an incident may have started
/// on it, and a version never changes.
pub fn put_draft(
    conn: &Connection,
    template: &CheckedTemplate,
    by: &str,
    now_ms: i64,
) -> HubResult<bool> {
    let json = to_json(template)?;
    let reference = template.template_ref();
    let existing: Option<String> = conn
        .query_row(
            "SELECT json FROM templates WHERE template_id = ?1 AND version = ?2",
            params![reference.id, reference.version],
            |r| r.get(0),
        )
        .optional()?;
    match existing {
        Some(stored) if stored == json => Ok(false),
        Some(_) => Err(HubError::conflict(format!(
            "checklist {:?} version {} already exists with other content; import it as a new version",
            reference.id, reference.version
        ))),
        None => {
            conn.execute(
                "INSERT INTO templates (template_id, version, json, imported_at, imported_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![reference.id, reference.version, json, now_ms, by],
            )?;
            Ok(true)
        }
    }
}

/// Publishes a draft: stamps it with the next counter value, so every device receives
/// it with its next sync. Publishing again is harmless and keeps the first stamp.
pub fn publish(conn: &Connection, reference: &TemplateRef, by: &str, now_ms: i64) -> HubResult<()> {
    let published: Option<Option<i64>> = conn
        .query_row(
            "SELECT published_seq FROM templates WHERE template_id = ?1 AND version = ?2",
            params![reference.id, reference.version],
            |r| r.get(0),
        )
        .optional()?;
    match published {
        None => Err(HubError::not_found(format!(
            "checklist {:?} version {}",
            reference.id, reference.version
        ))),
        Some(Some(_)) => Ok(()),
        Some(None) => {
            let stamp = changes::next_seq(conn)?;
            conn.execute(
                "UPDATE templates SET published_seq = ?3, published_at = ?4, published_by = ?5 WHERE template_id = ?1 AND version = ?2",
                params![reference.id, reference.version, stamp as i64, now_ms, by],
            )?;
            Ok(())
        }
    }
}

/// Published versions stamped after `after` and up to `upto`, oldest first, as JSON.
pub fn published_between(conn: &Connection, after: u64, upto: u64) -> HubResult<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT json FROM templates WHERE published_seq > ?1 AND published_seq <= ?2 ORDER BY published_seq",
    )?;
    let rows = stmt
        .query_map(params![after as i64, upto as i64], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}

/// The newest publication: what an incident opens with when the dispatcher names none.
pub fn newest_published(conn: &Connection) -> HubResult<Option<TemplateRef>> {
    Ok(conn
        .query_row(
            "SELECT template_id, version FROM templates WHERE published_seq IS NOT NULL ORDER BY published_seq DESC LIMIT 1",
            [],
            |r| Ok(TemplateRef { id: r.get(0)?, version: r.get(1)? }),
        )
        .optional()?)
}

pub fn is_published(conn: &Connection, reference: &TemplateRef) -> HubResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM templates WHERE template_id = ?1 AND version = ?2 AND published_seq IS NOT NULL",
            params![reference.id, reference.version],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The stored JSON of a version, published or not.
pub fn json(conn: &Connection, reference: &TemplateRef) -> HubResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT json FROM templates WHERE template_id = ?1 AND version = ?2",
            params![reference.id, reference.version],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> HubResult<Vec<TemplateRow>> {
    let mut stmt = conn.prepare(
        "SELECT json, imported_at, published_at FROM templates ORDER BY template_id, version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (json, imported_at_ms, published_at_ms) = row?;
        // Stored only after the check; checked again on the way out all the same.
        let template =
            CheckedTemplate::from_json(&json).map_err(|e| HubError::internal(e.to_string()))?;
        let t = template.template();
        out.push(TemplateRow {
            id: t.id.clone(),
            version: t.version,
            title: t.title.get("en").to_owned(),
            questions: t.questions().count(),
            imported_at_ms,
            published_at_ms,
        });
    }
    Ok(out)
}

fn to_json(template: &CheckedTemplate) -> HubResult<String> {
    serde_json::to_string(template.template()).map_err(|e| HubError::internal(e.to_string()))
}
