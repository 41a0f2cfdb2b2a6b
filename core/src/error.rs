//! The one error type of the core. Every variant is something a caller can act on:
//! show the user what to fix, ask for the right key, report a corrupt record.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// Input from the user or the platform that breaks a rule (a fix out of range, an
    /// empty description…). Nothing was written.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },

    /// The incident, observation or question does not exist on this device.
    #[error("not found: {what}")]
    NotFound { what: String },

    /// The database key does not open this store.
    #[error("the key does not open this store")]
    WrongKey,

    /// No key, or a key of the wrong length, was supplied.
    #[error("a 32-byte database key is required")]
    MissingKey,

    /// A document (ours or a peer's) does not hold what the schema says at `path`.
    #[error("document does not follow the schema at {path}: {reason}")]
    CorruptDocument { path: String, reason: String },

    /// The operation is not allowed for this device's role or in the incident's state.
    #[error("not permitted: {reason}")]
    NotPermitted { reason: String },

    /// The device is full, read-only or otherwise unable to save; what was saved before
    /// is intact.
    #[error("storage: {0}")]
    Storage(String),

    /// A checklist template is malformed; each problem names its place.
    #[error("invalid checklist template: {}", .0.join("; "))]
    InvalidTemplate(Vec<String>),

    /// Network or hub failure during sync; nothing local was lost.
    #[error("sync failed: {0}")]
    Sync(String),

    /// A photo, video or audio file that cannot be taken as evidence (gone, empty, of
    /// an unknown type, too large, damaged). Nothing of the action was saved.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    pub fn corrupt(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::CorruptDocument {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub fn not_permitted(reason: impl Into<String>) -> Self {
        Error::NotPermitted {
            reason: reason.into(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            // SQLCipher reports a wrong key as "file is not a database" on first read.
            Some(ErrorCode::NotADatabase) => Error::WrongKey,
            Some(ErrorCode::DiskFull) => Error::Storage("the device storage is full".into()),
            Some(ErrorCode::ReadOnly) => Error::Storage("the database is read-only".into()),
            _ => Error::Storage(e.to_string()),
        }
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::corrupt("/", e.to_string())
    }
}
