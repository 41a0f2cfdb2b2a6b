//! Telling screens that incidents changed. The platform registers an observer; the
//! store calls it after each committed write or merge, outside its lock, so an
//! observer may read the store straight away.

use crate::ids::IncidentId;

pub trait IncidentObserver: Send + Sync {
    fn incidents_changed(&self, ids: &[IncidentId]);
}
