//! Testigo's own assertion inside each manifest: which incident and observation the
//! file belongs to, the record its author signed, and (on evidence copies) that
//! author's signature over it. It is written here and read back by `check`.

use serde::{Deserialize, Serialize};
use testigo_core::incident::AttachmentRecord;

use super::author::AuthorAttestation;

/// The assertion's label. C2PA reserves `c2pa.*`; others use a reverse domain name.
pub const LABEL: &str = "org.testigo.attachment";

/// Which copy a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Copy {
    /// The original bytes as captured, location and all, for attorneys and courts.
    Evidence,
    /// Metadata removed (no location, device or time in the file), for the press and
    /// the public. Its manifest carries no location and names no device either: a
    /// device id would let anyone link every photo one volunteer shares.
    Sharing,
}

impl Copy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "evidence" => Some(Self::Evidence),
            "sharing" => Some(Self::Sharing),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Evidence => "evidence",
            Self::Sharing => "sharing",
        }
    }
}

/// The original file as captured, in words that say nothing of where or by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalFile {
    pub mime: String,
    /// SHA-256 of the original bytes, lower-case hex: the hash the signed record holds
    /// and an evidence bundle's media folder names the file by.
    pub sha256: String,
    pub size: u64,
    /// Capture time, milliseconds since 1970 UTC, by the capturing device's clock.
    pub captured_at_ms: i64,
}

/// What [`LABEL`] holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestigoAssertion {
    pub copy: Copy,
    pub incident: String,
    pub observation: String,
    pub original: OriginalFile,
    /// The attachment record exactly as the incident holds it (evidence copies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<AttachmentRecord>,
    /// The capturing device's own signature over the change that recorded the file
    /// (evidence copies only, when the hub holds one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<AuthorAttestation>,
}

impl TestigoAssertion {
    pub fn new(
        copy: Copy,
        incident: &str,
        observation: &str,
        record: &AttachmentRecord,
        author: Option<AuthorAttestation>,
    ) -> Self {
        let evidence = copy == Copy::Evidence;
        Self {
            copy,
            incident: incident.to_owned(),
            observation: observation.to_owned(),
            original: OriginalFile {
                mime: record.mime.clone(),
                sha256: record.sha256.clone(),
                size: record.size,
                captured_at_ms: record.captured_at.timestamp_millis(),
            },
            record: evidence.then(|| record.clone()),
            author: author.filter(|_| evidence),
        }
    }
}
