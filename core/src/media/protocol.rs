//! The media upload protocol, shared by device and hub. Media travel beside the
//! automerge sync, never inside it, so a long video never holds up a status change.
//!
//! ```text
//! GET /v1/incidents/{incident}/media/{sha256}/upload     -> UploadStatus
//! PUT /v1/incidents/{incident}/media/{sha256}?offset=N   body: bytes N.. of the file
//!                                                         -> UploadStatus
//! GET /v1/incidents/{incident}/media/{sha256}            -> the file's bytes
//! ```
//!
//! Files are addressed by the SHA-256 their attachment record carries; the hub takes
//! a file only for a hash recorded in that incident (so the sync that carries the
//! observation goes first), of the recorded size. Each chunk is acknowledged with the
//! bytes the hub holds; a chunk that starts before that is harmless (the known part is
//! skipped), one that starts after it is refused, so nothing is ever stored with a
//! hole. When the last byte arrives the hub hashes the whole file: a mismatch discards
//! it, a match makes it count. A file is stored once, whichever incidents record it.

use serde::{Deserialize, Serialize};

/// Largest chunk the hub takes in one request. Small enough that a cut on a 2G link
/// loses little, large enough that request overhead stays a few percent.
pub const MAX_CHUNK: usize = 256 * 1024;

/// The path of an incident's file.
pub fn media_path(incident: &str, sha256: &str) -> String {
    format!("/v1/incidents/{incident}/media/{sha256}")
}

/// The path where an upload's progress is read.
pub fn upload_path(incident: &str, sha256: &str) -> String {
    format!("{}/upload", media_path(incident, sha256))
}

/// What the hub holds of a file: every answer to a chunk, and the resume point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatus {
    /// Bytes received in order from the start; the next chunk starts here.
    pub received: u64,
    /// The whole file arrived and its hash matched.
    pub complete: bool,
}
