//! testigo-ffi: the surface the Android and iOS apps (and Python tools) use, generated
//! by uniffi from the proc macros in this crate.
//!
//! A thin layer over `testigo-core`, one file per domain. Conventions every export
//! follows:
//! - ids cross as strings and are parsed on the way in;
//! - times cross as `SystemTime` (Kotlin `Instant`, Swift `Date`);
//! - every call returns `Result<_, TestigoError>` and runs inside the panic barrier
//!   ([`errors::ffi_call`]), so no panic ever unwinds into the app;
//! - methods that touch the disk or the network block, and say so: the apps call
//!   them off the main thread (the Kotlin and Swift wrappers do).

#[cfg(target_os = "android")]
mod android;
mod checklist;
mod errors;
mod incidents;
mod location;
mod logging;
mod media;
mod observer;
mod store;
mod sync;
mod time;
mod wake;

pub use checklist::AnswerValue;
pub use errors::{debug_panic_probe, MediaProblem, TestigoError};
pub use incidents::{IncidentSummary, IncidentView, ListQuery, NewFieldIncident, TemplateRef};
pub use location::{assess_fix, distance_m, GeoPoint, LocationFix};
pub use logging::{set_logger, LogLevel, LogRecord, Logger};
pub use media::{
    default_upload_policy, MediaCapture, MediaUpload, MediaUploadReport, Network, UploadPolicy,
    UploadProgressListener,
};
pub use observer::{IncidentObserver, ObserverRegistration};
pub use store::{ClockStatus, DeviceInfo, FieldStore};
pub use sync::{QuarantinedChange, RejectedChange, SyncReport};
pub use wake::{DutyWake, WaitCanceller};

uniffi::setup_scaffolding!();
