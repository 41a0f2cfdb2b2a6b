//! Proving a signing identity before it is used: sign a tiny picture and read it back
//! with the identity's own anchor. A chain C2PA would not accept (a wrong key usage,
//! a CA certificate as signer, a key that does not match) is refused when it is made
//! or imported, not discovered by an attorney months later.

use chrono::Utc;
use testigo_core::ids::DeviceId;
use testigo_core::incident::AttachmentRecord;
use testigo_core::incident::MediaKind;

use super::assertion::Copy;
use super::check::{check, Verdict};
use super::error::CredentialError;
use super::identity::OrgIdentity;
use super::manifest::{credential_bytes, Subject};

/// A 1×1 transparent PNG: signature, IHDR, one IDAT, IEND, with their real CRCs.
const PROBE_PNG: [u8; 68] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// Signs the probe with `identity` and requires it to read back trusted under the
/// identity's own anchor.
pub fn prove(identity: &OrgIdentity) -> Result<(), CredentialError> {
    let record = AttachmentRecord {
        kind: MediaKind::Photo,
        mime: "image/png".into(),
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PROBE_PNG)),
        size: PROBE_PNG.len() as u64,
        captured_at: Utc::now(),
        fix: None,
        preview: None,
        by: DeviceId::from_public_key(&[0; 32]),
    };
    let subject = Subject {
        incident: "probe",
        observation: "probe",
        record: &record,
        author: None,
    };
    let signed = credential_bytes(identity, &PROBE_PNG, subject, Copy::Evidence)?;
    let report = check(&signed, "image/png", Some(identity.trust_anchor_pem()))?;
    if report.verdict == Verdict::Trusted {
        Ok(())
    } else {
        let codes: Vec<String> = report
            .failures
            .iter()
            .map(|s| format!("{} ({})", s.code, s.meaning))
            .collect();
        Err(CredentialError::Identity(format!(
            "a probe it signed does not read back as trusted under its own anchor: {}",
            codes.join("; ")
        )))
    }
}
