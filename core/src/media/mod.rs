//! Photos, video and audio as evidence.
//!
//! The app hands the core a file the camera or recorder wrote (a path) and its media
//! type. The core streams it, [`SEGMENT`] bytes at a time, into the store's encrypted
//! attachment area ([`sealed`]), computing its SHA-256 on the way; the file's own key
//! is kept in the SQLCipher database, so the attachment area is unreadable without the
//! store's key. The hash, size, type, capture time, fix and author go into the
//! observation record (`incident::AttachmentRecord`) in the same signed change.
//!
//! The core only ever *reads* the camera's file: the platform owns its camera folder
//! and deletes the temporary file once the store call returned `Ok`.

pub(crate) mod capture;
mod error;
mod kind;
pub mod protocol;
mod record;
pub mod sealed;
mod share;
mod upload;

pub use capture::{CapturedFile, MediaInput, StoredMedia};
pub use error::MediaError;
pub use kind::{check_type, extension_for, mime_for_extension, sniff_matches, ALLOWED_TYPES};
pub use record::validate_record;
pub use sealed::SEGMENT;
pub use share::{can_strip, check_strippable, strip_metadata};
pub use upload::{
    upload_media, Network, UploadOptions, UploadPolicy, UploadProgress, UploadReport, When,
};
