//! Sync with the hub: one batched, resumable request per round (see [`protocol`]).
//!
//! [`sync`] sends the device's unacknowledged changes and receives what it lacks;
//! [`enroll`] turns a one-time code and proof of the device key into a credential.
//! Both block on the network: platforms call them off the main thread (WorkManager,
//! BGTaskScheduler).

mod bookkeeping;
mod client;
pub mod enrolment;
pub mod protocol;
mod quarantine;
mod report;
pub mod wake;

pub use bookkeeping::{quarantined, QuarantinedChange};
pub use client::{http_client, sync, sync_with, SyncOptions};
pub use enrolment::enroll;
pub use report::{RejectedChange, SyncReport};
pub use wake::{
    register_push, unregister_push, wait_for_work, PreparedWait, WaitCancel, WaitOutcome,
};
