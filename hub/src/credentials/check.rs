//! Reading a file's content credentials as a third party would: with the C2PA
//! library's own validator, against the organisation's trust anchor when one is
//! given, and then Testigo's assertion inside.
//!
//! Three verdicts, the three states of the C2PA specification:
//!
//! - **trusted**: the file is unchanged since it was signed, and the signing
//!   certificate chains to the anchor the reader gave;
//! - **valid but untrusted**: unchanged since signed, but nothing ties the signer to
//!   the organisation — no anchor was given, or the certificate chains to another
//!   one. Validators report this as `signingCredential.untrusted`, which does *not*
//!   mean forged; anyone can make a certificate with any name, which is why only the
//!   anchor from the organisation itself decides;
//! - **invalid**: the file or its manifest was changed after signing, or the
//!   signature does not hold.
//!
//! Nothing is fetched: no remote manifest, no revocation check (the library is built
//! without an HTTP client).

use std::io::Cursor;
use std::panic::AssertUnwindSafe;

use c2pa::{Context, Reader, ValidationState};
use serde::Serialize;
use sha2::{Digest, Sha256};
use testigo_core::ids::DeviceId;

use super::assertion::{Copy, TestigoAssertion, LABEL};
use super::error::CredentialError;
use super::manifest::METADATA_LABEL;

/// The C2PA status code for a signer that chains to no anchor the reader trusts.
pub const UNTRUSTED: &str = "signingCredential.untrusted";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Trusted,
    ValidUntrusted,
    Invalid,
}

/// What the author's own signature inside the manifest showed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthorCheck {
    /// The device the record names signed the change that recorded the file.
    Verified { device: DeviceId },
    /// There is an attestation and it does not hold; why.
    Failed { reason: String },
    /// None travels with this copy (sharing copies never carry one).
    Absent,
}

/// One status code the validator reported, with its meaning in plain words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub code: String,
    pub meaning: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CredentialReport {
    pub verdict: Verdict,
    /// The signing certificate's subject common name and issuer, as the file states.
    pub signer: Option<String>,
    pub issuer: Option<String>,
    /// When the claim was signed, by the signer's clock (no trusted time-stamp).
    pub signed_at: Option<String>,
    /// Every failure code the validator reported (`signingCredential.untrusted` too).
    pub failures: Vec<Status>,
    /// Testigo's assertion, when the manifest holds one that reads.
    pub testigo: Option<TestigoAssertion>,
    pub author: AuthorCheck,
    /// Whether the manifest states a location (a `c2pa.metadata` assertion with GPS
    /// fields, or a record with a fix).
    pub states_location: bool,
    /// For an evidence copy: whether the file without its manifest is exactly the
    /// original its assertion names (hash and size), so the device's record and
    /// signature are of this very picture. `None` for sharing copies (altered on
    /// purpose) and for types the manifest cannot be taken out of here.
    pub shows_original: Option<bool>,
}

impl CredentialReport {
    /// Whether `code` is among the failures.
    pub fn failed_with(&self, code: &str) -> bool {
        self.failures.iter().any(|s| s.code == code)
    }
}

/// Reads the credentials of `bytes`, a file of type `mime` (or its extension).
/// `anchor_pem` is the organisation's trust anchor; without it no signer is trusted.
/// A file with no manifest at all is [`CredentialError::Absent`]; one whose manifest
/// cannot be parsed is reported [`Verdict::Invalid`].
pub fn check(
    bytes: &[u8],
    mime: &str,
    anchor_pem: Option<&str>,
) -> Result<CredentialReport, CredentialError> {
    let mut settings = serde_json::json!({
        "verify": { "verify_after_reading": true, "ocsp_fetch": false },
    });
    if let Some(anchor) = anchor_pem {
        if !anchor.contains("-----BEGIN CERTIFICATE-----") {
            return Err(CredentialError::Anchor(
                "no PEM certificate in it (it should begin with -----BEGIN CERTIFICATE-----)"
                    .into(),
            ));
        }
        settings["trust"] = serde_json::json!({ "trust_anchors": anchor });
    }
    let context = Context::new()
        .with_settings(settings.to_string().as_str())
        .map_err(|e| CredentialError::Anchor(e.to_string()))?;
    // The file comes from outside: a parser panic is a damaged file, never a crash.
    let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
        Reader::from_context(context).with_stream(mime, Cursor::new(bytes))
    }));
    let Ok(read) = read else {
        return Ok(unreadable("its structure makes the reader fail".into()));
    };
    let reader = match read {
        Ok(reader) => reader,
        Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => {
            return Err(CredentialError::Absent)
        }
        Err(c2pa::Error::UnsupportedType) => {
            return Err(CredentialError::Unsupported {
                mime: mime.to_owned(),
            })
        }
        Err(e) => return Ok(unreadable(e.to_string())),
    };

    let failures: Vec<Status> = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
        .map(|codes| {
            codes
                .failure()
                .iter()
                .map(|s| Status {
                    code: s.code().to_owned(),
                    meaning: meaning(s.code(), s.explanation()),
                })
                .collect()
        })
        .unwrap_or_default();
    let verdict = match reader.validation_state() {
        // Trusted can only mean "chains to the anchor given": no other anchor is loaded.
        ValidationState::Trusted if anchor_pem.is_some() => Verdict::Trusted,
        ValidationState::Trusted | ValidationState::Valid => Verdict::ValidUntrusted,
        ValidationState::Invalid => Verdict::Invalid,
    };
    let manifest = reader.active_manifest();
    let signature = manifest.and_then(|m| m.signature_info());
    let testigo = manifest.and_then(|m| m.find_assertion::<TestigoAssertion>(LABEL).ok());
    let gps_metadata = manifest.is_some_and(|m| {
        m.assertions().iter().any(|a| {
            a.label() == METADATA_LABEL
                && a.value()
                    .ok()
                    .and_then(|v| v.as_object().cloned())
                    .is_some_and(|fields| fields.keys().any(|k| k.starts_with("exif:GPS")))
        })
    });
    let record_fix = testigo
        .as_ref()
        .and_then(|t| t.record.as_ref())
        .is_some_and(|r| r.fix.is_some());
    let shows_original = testigo
        .as_ref()
        .filter(|t| t.copy == Copy::Evidence)
        .and_then(|t| {
            let original = super::original::without_manifest(bytes, &t.original.mime)?;
            Some(
                original.len() as u64 == t.original.size
                    && hex::encode(Sha256::digest(&original)) == t.original.sha256,
            )
        });
    Ok(CredentialReport {
        shows_original,
        verdict,
        signer: signature.and_then(|s| s.common_name.clone()),
        issuer: signature.and_then(|s| s.issuer.clone()),
        signed_at: signature.and_then(|s| s.time.clone()),
        failures,
        author: testigo
            .as_ref()
            .map(author_check)
            .unwrap_or(AuthorCheck::Absent),
        testigo,
        states_location: gps_metadata || record_fix,
    })
}

/// The author's signature inside Testigo's assertion, checked against the record
/// the same assertion carries.
fn author_check(assertion: &TestigoAssertion) -> AuthorCheck {
    let (Some(author), Some(record)) = (&assertion.author, &assertion.record) else {
        return AuthorCheck::Absent;
    };
    if assertion.copy != Copy::Evidence || record.sha256 != assertion.original.sha256 {
        return AuthorCheck::Failed {
            reason: "the record and the file it describes disagree".into(),
        };
    }
    match author.check(
        &assertion.incident,
        &assertion.observation,
        &record.sha256,
        &record.by,
    ) {
        Ok(()) => AuthorCheck::Verified {
            device: author.device_id.clone(),
        },
        Err(e) => AuthorCheck::Failed {
            reason: e.to_string(),
        },
    }
}

/// A manifest that is there but cannot even be parsed: altered or damaged.
fn unreadable(error: String) -> CredentialReport {
    CredentialReport {
        verdict: Verdict::Invalid,
        signer: None,
        issuer: None,
        signed_at: None,
        failures: vec![Status {
            code: "manifest.unreadable".into(),
            meaning: format!("the content credentials are damaged and cannot be read ({error})"),
        }],
        testigo: None,
        author: AuthorCheck::Absent,
        states_location: false,
        shows_original: None,
    }
}

/// A status code in words a non-engineer reads.
fn meaning(code: &str, explanation: Option<&str>) -> String {
    let plain = match code {
        UNTRUSTED => "the signer's certificate does not chain to a trust anchor you gave; this is not a sign of forgery, only that nothing ties the signer to the organisation",
        "assertion.dataHash.mismatch" | "assertion.bmffHash.mismatch" | "assertion.boxesHash.mismatch" => {
            "the file's content was changed after it was signed"
        }
        "claimSignature.mismatch" => "the signature does not match what it signs: the credentials were altered",
        "assertion.hashedURI.mismatch" => "a statement inside the credentials was changed after signing",
        "signingCredential.expired" => "the signing certificate had expired",
        "signingCredential.revoked" => "the signing certificate was revoked",
        "signingCredential.invalid" => "the signing certificate is not one C2PA accepts",
        _ => "",
    };
    match (plain, explanation) {
        ("", Some(explanation)) => explanation.to_owned(),
        ("", None) => "see the C2PA specification for this code".to_owned(),
        (plain, _) => plain.to_owned(),
    }
}
