//! The one way the store writes an incident: lock → transaction → commit → cache →
//! fold request → notify, in that order, written once ([`Store::write`]).
//!
//! Every action, merge and removal goes through it, so none can forget a step: the
//! document cached is always the one committed (on any failure nothing is committed
//! and the cached copy is dropped, so the next read comes from disk, which is the
//! truth); a fold is asked for only after the commit that made it due; and observers
//! hear of a change only after the store's lock is released, so an observer that reads
//! the store back cannot deadlock.

use automerge::Automerge;
use rusqlite::Transaction;

use super::{documents, DeviceIdentity, Store};
use crate::error::{Error, Result};
use crate::ids::IncidentId;

/// One write in progress on one incident, handed to the closure given to
/// [`Store::write`].
pub(super) struct Write<'a> {
    /// The write's transaction: committed when the closure returns `Ok`.
    pub tx: &'a Transaction<'a>,
    pub identity: &'a DeviceIdentity,
    id: &'a IncidentId,
    store: &'a Store,
    cached: Option<Automerge>,
    keep: Option<Automerge>,
    fold_due: bool,
    changed: bool,
}

impl Write<'_> {
    /// The incident's current document: the cached copy, or read from disk. Taken out
    /// of the cache: what [`Write::keep`] is given goes back once the write commits.
    pub fn document(&mut self) -> Result<Automerge> {
        match self.cached.take() {
            Some(doc) => Ok(doc),
            None => self.store.load(self.tx, self.id),
        }
    }

    /// Whether the incident is stored at all.
    pub fn exists(&self) -> Result<bool> {
        Ok(self.cached.is_some() || documents::exists(self.tx, self.id)?)
    }

    /// The document as the write leaves it, cached once the write commits.
    pub fn keep(&mut self, doc: Automerge) {
        self.keep = Some(doc);
    }

    /// The write changed the incident: observers hear of it after the commit.
    pub fn changed(&mut self) {
        self.changed = true;
    }

    /// Saved chunks now outgrow the snapshot: a fold is asked for after the commit.
    pub fn fold_due(&mut self, due: bool) {
        self.fold_due |= due;
    }
}

impl Store {
    /// Runs `change` on incident `id` in one transaction under the store's lock, then
    /// finishes the write (see the module). `change` returning an error, or the commit
    /// failing, leaves nothing written and nothing cached.
    pub(super) fn write<T>(
        &self,
        id: &IncidentId,
        change: impl FnOnce(&mut Write<'_>) -> Result<T>,
    ) -> Result<T> {
        let (value, changed) = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let cached = inner.cache.remove(id);
            let tx = inner.conn.transaction()?;
            let mut write = Write {
                tx: &tx,
                identity: &inner.identity,
                id,
                store: self,
                cached,
                keep: None,
                fold_due: false,
                changed: false,
            };
            let value = change(&mut write)?;
            let Write {
                keep,
                fold_due,
                changed,
                ..
            } = write;
            tx.commit().map_err(Error::from)?;
            if let Some(doc) = keep {
                guard.remember(id.clone(), doc);
            }
            if fold_due {
                self.compactor.request(id.clone());
            }
            (value, changed)
        };
        if changed {
            self.notify(std::slice::from_ref(id));
        }
        Ok(value)
    }
}
