//! Signatures over the changes this device makes, saved in the same transaction as the
//! change itself so that no change exists on disk unsigned.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};
use rusqlite::{params, Connection};

use super::identity::DeviceIdentity;
use crate::error::Result;
use crate::evidence::sign_change;
use crate::ids::IncidentId;

/// Signs and records every change in `doc` after `before` that this device made.
pub fn sign_new_changes(
    conn: &Connection,
    identity: &DeviceIdentity,
    id: &IncidentId,
    doc: &Automerge,
    before: &[ChangeHash],
) -> Result<()> {
    let actor = identity.device_id.actor_id();
    let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO change_signatures (change_hash, incident_id, signature) VALUES (?1, ?2, ?3)")?;
    for change in doc
        .get_changes(before)
        .iter()
        .filter(|c| c.actor_id() == &actor)
    {
        let hash = change.hash();
        insert.execute(params![
            hash.to_string(),
            id.as_str(),
            &sign_change(identity, &hash)[..]
        ])?;
    }
    Ok(())
}

/// This device's signatures for one incident's changes.
pub fn for_incident(conn: &Connection, id: &IncidentId) -> Result<HashMap<ChangeHash, [u8; 64]>> {
    let mut stmt = conn.prepare_cached(
        "SELECT change_hash, signature FROM change_signatures WHERE incident_id = ?1",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (hash, signature) = row?;
        if let (Ok(hash), Ok(signature)) =
            (hash.parse::<ChangeHash>(), <[u8; 64]>::try_from(signature))
        {
            out.insert(hash, signature);
        }
    }
    Ok(out)
}
