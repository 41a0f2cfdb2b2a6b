//! Checklist versions this device received, kept in the encrypted store so that after
//! a restart new incidents still open with the checklist the hub published, and
//! incidents in progress still find the version they started with.

use rusqlite::{params, Connection, OptionalExtension};

use crate::checklist::{CheckedTemplate, Registry};
use crate::error::Result;
use crate::incident::TemplateRef;

/// Saves a version (already checked and accepted by the registry). Saving the same
/// version again keeps its first place in the order.
pub(super) fn save(conn: &Connection, template: &CheckedTemplate) -> Result<()> {
    let json = serde_json::to_string(template.template())
        .map_err(|e| crate::Error::Storage(format!("cannot write a checklist: {e}")))?;
    let reference = template.template_ref();
    conn.execute(
        "INSERT INTO templates (template_id, version, json, received_seq)
         VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(received_seq), 0) + 1 FROM templates))
         ON CONFLICT (template_id, version) DO NOTHING",
        params![reference.id, reference.version, json],
    )?;
    Ok(())
}

/// Loads every saved version into `registry`. Each is checked again, as on arrival: a
/// row that no longer passes (a newer rule in this app) is skipped and logged, and
/// incidents on it say their checklist is unknown rather than run it wrongly.
pub(super) fn load_into(conn: &Connection, registry: &mut Registry) -> Result<()> {
    let mut stmt =
        conn.prepare("SELECT template_id, version, json FROM templates ORDER BY received_seq")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (id, version, json) = row?;
        match CheckedTemplate::from_json(&json).and_then(|t| registry.publish(t)) {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(template = %id, version, error = %e, "stored checklist skipped")
            }
        }
    }
    Ok(())
}

/// The most recently received version: the checklist new incidents start with.
pub(super) fn newest(conn: &Connection) -> Result<Option<TemplateRef>> {
    Ok(conn
        .query_row(
            "SELECT template_id, version FROM templates ORDER BY received_seq DESC LIMIT 1",
            [],
            |r| {
                Ok(TemplateRef {
                    id: r.get(0)?,
                    version: r.get(1)?,
                })
            },
        )
        .optional()?)
}
