//! What can go wrong with a captured file. Each is a clear refusal: nothing of the
//! observation or its files is saved.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// The file the platform named is not there (deleted, moved, never written).
    #[error("the file {path} is gone")]
    Vanished { path: String },

    /// The file is there but holds nothing (a capture that failed).
    #[error("the file {path} is empty")]
    Empty { path: String },

    /// A media type Testigo does not keep, or bytes that are not what the type says.
    #[error("unknown media type {mime}: {reason}")]
    UnknownType { mime: String, reason: String },

    /// The file is larger than the configured maximum.
    #[error("the file is {size} bytes, more than the maximum of {max}")]
    TooLarge { size: u64, max: u64 },

    /// A stored file does not decrypt or does not match its recorded hash.
    #[error("the stored file {sha256} is damaged: {reason}")]
    Damaged { sha256: String, reason: String },
}
