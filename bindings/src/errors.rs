//! The one error type the apps see, and the barrier that keeps panics on this side.
//!
//! Every exported call runs inside [`ffi_call`]: core errors become [`TestigoError`]
//! through the single `From<testigo_core::Error>` below, and a panic becomes
//! [`TestigoError::Internal`] instead of unwinding into Kotlin or Swift.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use testigo_core::Error as CoreError;

pub type Result<T, E = TestigoError> = std::result::Result<T, E>;

/// What went wrong, as a UI switches on it: the variant is the code, `reason` is an
/// English explanation for logs and support (screens show their own localized text).
///
/// Kotlin sees `TestigoException.InvalidInput`, `TestigoException.WrongKey`, …;
/// Swift `TestigoError.invalidInput(field:reason:)`, …
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TestigoError {
    /// Input from the user or the platform breaks a rule (a fix out of range, an
    /// empty description, a malformed id). Nothing was written.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// The incident, observation or question does not exist on this device.
    #[error("not found: {reason}")]
    NotFound { reason: String },

    /// The database key does not open this store: ask the keystore again, never retry
    /// with another key.
    #[error("{reason}")]
    WrongKey { reason: String },

    /// No key, or a key that is not 32 bytes, was given.
    #[error("{reason}")]
    MissingKey { reason: String },

    /// A document (this device's or a peer's) does not follow the schema at `path`.
    #[error("document does not follow the schema at {path}: {reason}")]
    CorruptDocument { path: String, reason: String },

    /// Not allowed for this device's role or in the incident's current state.
    #[error("not permitted: {reason}")]
    NotPermitted { reason: String },

    /// The device could not save (full, read-only, damaged); earlier data is intact.
    #[error("storage: {reason}")]
    Storage { reason: String },

    /// A checklist template is malformed; each problem names its place.
    #[error("invalid checklist template: {}", .problems.join("; "))]
    InvalidTemplate { problems: Vec<String> },

    /// The network or the hub failed during sync; nothing local was lost, retry later.
    #[error("sync failed: {reason}")]
    Sync { reason: String },

    /// A photo, video or audio file that cannot be taken as evidence; nothing of the
    /// observation was saved. `problem` says which rule it broke.
    #[error("media: {reason}")]
    Media {
        problem: MediaProblem,
        reason: String,
    },

    /// The store was wiped; open a new one to go on.
    #[error("{reason}")]
    Closed { reason: String },

    /// A bug inside the library (a caught panic). The call did not complete; the app
    /// can go on, and should report it.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

/// Why a captured file was refused, for the app to say so on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MediaProblem {
    /// The file the app named is not there.
    Vanished,
    /// The file holds nothing.
    Empty,
    /// A type Testigo does not keep, or bytes that are not of that type.
    UnknownType,
    /// Larger than the hub's maximum.
    TooLarge,
    /// A stored file that does not decrypt or match its hash.
    Damaged,
}

impl TestigoError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        TestigoError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The one place where core errors turn into what the apps see.
impl From<CoreError> for TestigoError {
    fn from(error: CoreError) -> Self {
        let reason = error.to_string();
        match error {
            CoreError::InvalidInput { field, reason } => {
                TestigoError::InvalidInput { field, reason }
            }
            CoreError::NotFound { .. } => TestigoError::NotFound { reason },
            CoreError::WrongKey => TestigoError::WrongKey { reason },
            CoreError::MissingKey => TestigoError::MissingKey { reason },
            CoreError::CorruptDocument { path, reason } => {
                TestigoError::CorruptDocument { path, reason }
            }
            CoreError::NotPermitted { reason } => TestigoError::NotPermitted { reason },
            CoreError::Storage(reason) => TestigoError::Storage { reason },
            CoreError::InvalidTemplate(problems) => TestigoError::InvalidTemplate { problems },
            CoreError::Sync(reason) => TestigoError::Sync { reason },
            CoreError::Media(media) => {
                use testigo_core::media::MediaError;
                let problem = match media {
                    MediaError::Vanished { .. } => MediaProblem::Vanished,
                    MediaError::Empty { .. } => MediaProblem::Empty,
                    MediaError::UnknownType { .. } => MediaProblem::UnknownType,
                    MediaError::TooLarge { .. } => MediaProblem::TooLarge,
                    MediaError::Damaged { .. } => MediaProblem::Damaged,
                };
                TestigoError::Media { problem, reason }
            }
        }
    }
}

/// Runs the body of an exported call. A panic inside is caught here, logged, and
/// returned as [`TestigoError::Internal`], so it never unwinds across the FFI.
pub(crate) fn ffi_call<T>(call: &'static str, body: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            let reason = format!("{call} panicked: {}", panic_message(payload.as_ref()));
            tracing::error!(target: "testigo_ffi", "{reason}");
            Err(TestigoError::Internal { reason })
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Panics inside the library on purpose and returns what the barrier made of it:
/// always `Err(TestigoError::Internal)`. It exists so the apps' test suites (and a
/// diagnostics screen) can prove that a bug in Rust surfaces as a typed error rather
/// than a crash. It touches no data.
#[uniffi::export]
pub fn debug_panic_probe() -> Result<()> {
    ffi_call("debug_panic_probe", || {
        panic!("debug_panic_probe: deliberate panic to test the FFI barrier")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal() {
        match debug_panic_probe() {
            Err(TestigoError::Internal { reason }) => {
                assert!(reason.contains("deliberate panic"), "{reason}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn core_errors_keep_their_kind_and_fields() {
        match TestigoError::from(CoreError::invalid(
            "latitude",
            "91 is not between -90 and 90",
        )) {
            TestigoError::InvalidInput { field, reason } => {
                assert_eq!(field, "latitude");
                assert!(reason.contains("91"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            TestigoError::from(CoreError::WrongKey),
            TestigoError::WrongKey { .. }
        ));
    }
}
