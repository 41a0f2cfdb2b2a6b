//! What sync needs from the store's internals: reading a document and the sync
//! tables under one lock, and swapping a document for a rebuilt one. Sync's own
//! tables and rules live in `crate::sync::bookkeeping`; this file only gives it
//! atomic access.

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use rusqlite::{Connection, Transaction};

use super::{documents, index, Store};
use crate::error::Result;
use crate::ids::IncidentId;

impl Store {
    /// Incidents with changes made here that the hub has not acknowledged. Reads only
    /// the index, so a device holding thousands of incidents opens no document.
    pub(crate) fn unsynced_incidents(&self) -> Result<Vec<IncidentId>> {
        self.with_connection(|conn| {
            let mut stmt = conn.prepare_cached("SELECT incident_id FROM incident_index WHERE has_unsynced = 1 ORDER BY incident_id")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids.iter().filter_map(|s| IncidentId::parse(s).ok()).collect())
        })
    }

    /// Runs `f` with the document and the connection under the same lock, so what it
    /// reads from both belongs together.
    pub(crate) fn with_document_and_connection<T>(
        &self,
        id: &IncidentId,
        f: impl FnOnce(&Automerge, &mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut inner = self.lock();
        if !inner.cache.contains_key(id) {
            let doc = self.load(&inner.conn, id)?;
            inner.remember(id.clone(), doc);
        }
        let super::Inner { conn, cache, .. } = &mut *inner;
        let doc = cache
            .get(id)
            .ok_or_else(|| crate::Error::not_found(format!("incident {id}")))?;
        f(doc, conn)
    }

    /// Rebuilds an incident's document in one critical section: `plan` reads the
    /// document as stored *now* and returns the rebuilt one (`None`: the incident
    /// leaves the device) with what to record, or nothing to do; `record` runs in the
    /// transaction that writes it. Planning and writing under one lock means an
    /// observation saved by another thread can never fall between them and be dropped
    /// with the old chunks. Used to take quarantined changes out of a document.
    pub(crate) fn rebuild_document<T>(
        &self,
        id: &IncidentId,
        plan: impl FnOnce(&Automerge) -> Option<(Option<Automerge>, T)>,
        record: impl FnOnce(&Transaction<'_>, &T) -> Result<()>,
    ) -> Result<Option<T>> {
        self.write(id, |write| {
            let current = write.document()?;
            let Some((rebuilt, planned)) = plan(&current) else {
                write.keep(current);
                return Ok(None);
            };
            let me = write.identity.device_id.clone();
            let view = rebuilt
                .as_ref()
                .map(crate::incident::read_view)
                .transpose()?;
            record(write.tx, &planned)?;
            match (&rebuilt, &view) {
                (Some(doc), Some(view)) => {
                    documents::put_snapshot(write.tx, id, doc)?;
                    index::upsert(write.tx, view, &me, false)?;
                }
                _ => documents::delete(write.tx, id)?,
            }
            if let Some(doc) = rebuilt {
                write.keep(doc);
            }
            write.changed();
            Ok(Some(planned))
        })
    }

    /// Sets the incident's unsynced flag from the truth: whether the document holds a
    /// change by this device that is not an ancestor of `hub_heads`. Checked and
    /// written under one lock, so a change saved concurrently is never marked synced.
    pub(crate) fn refresh_unsynced(
        &self,
        id: &IncidentId,
        hub_heads: &[ChangeHash],
    ) -> Result<bool> {
        let actor = self.device_id().actor_id();
        self.with_document_and_connection(id, |doc, conn| {
            let unsynced = has_unacknowledged(doc, &actor, hub_heads);
            if unsynced {
                conn.execute(
                    "UPDATE incident_index SET has_unsynced = 1 WHERE incident_id = ?1",
                    [id.as_str()],
                )?;
            } else {
                index::set_synced(conn, id)?;
            }
            Ok(unsynced)
        })
    }

    /// Whether the index says the incident has unacknowledged changes.
    pub(crate) fn has_unsynced(&self, id: &IncidentId) -> Result<bool> {
        use rusqlite::OptionalExtension;
        self.with_connection(|conn| {
            Ok(conn
                .query_row(
                    "SELECT has_unsynced FROM incident_index WHERE incident_id = ?1",
                    [id.as_str()],
                    |r| r.get::<_, bool>(0),
                )
                .optional()?
                .unwrap_or(false))
        })
    }
}

/// Whether `doc` holds a change by `actor` that the holder of `hub_heads` lacks.
/// Heads this document does not know are ignored (they are someone else's changes
/// not received yet), which can only make the answer "yes" more often, never less.
pub(crate) fn has_unacknowledged(
    doc: &Automerge,
    actor: &ActorId,
    hub_heads: &[ChangeHash],
) -> bool {
    let known: Vec<ChangeHash> = hub_heads
        .iter()
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .copied()
        .collect();
    doc.get_changes(&known)
        .iter()
        .any(|c| c.actor_id() == actor)
}
