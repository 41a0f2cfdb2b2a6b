//! `testigo verify PHOTO --anchor org.pem`: a file's content credentials (C2PA), in
//! words for the attorney, journalist or clerk who checks it.
//!
//! The verdict is the C2PA library's own; this file only says what it means. Above
//! all it keeps "valid but untrusted" apart from "invalid": validators report a
//! signer no anchor vouches for as `signingCredential.untrusted`, and people have
//! read that as "forged" when it means "not checked against the organisation".

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use testigo_hub::credentials::{
    check, AuthorCheck, Copy, CredentialError, CredentialReport, Verdict,
};

use crate::output::{bold, dim, Output};

/// One file's result, for `--json`.
#[derive(Serialize)]
pub struct FileResult {
    pub file: PathBuf,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Serialize)]
#[serde(tag = "credentials", rename_all = "snake_case")]
pub enum Outcome {
    Read(Box<CredentialReport>),
    /// The file carries no content credentials at all.
    None,
}

/// The organisation's trust anchor, read from `path` (PEM).
pub fn read_anchor(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading the trust anchor {}", path.display()))
}

/// Checks one file, `bytes` read from `path`. `Ok(false)` when it fails what was
/// asked: it is invalid, carries no credentials, or an anchor was given and it does
/// not chain to it.
pub fn verify_file(
    path: &Path,
    bytes: &[u8],
    anchor: Option<&str>,
    out: Output,
) -> Result<(bool, FileResult)> {
    let mime = mime_of(path, bytes);
    let outcome = match check(bytes, &mime, anchor) {
        Ok(report) => Outcome::Read(Box::new(report)),
        Err(CredentialError::Absent) => Outcome::None,
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    };
    let passed = match &outcome {
        Outcome::Read(report) => match report.verdict {
            Verdict::Trusted => true,
            Verdict::ValidUntrusted => anchor.is_none(),
            Verdict::Invalid => false,
        },
        Outcome::None => false,
    };
    if !out.json {
        say(path, &outcome, anchor.is_some(), out);
    }
    Ok((
        passed,
        FileResult {
            file: path.to_owned(),
            outcome,
        },
    ))
}

fn say(path: &Path, outcome: &Outcome, anchored: bool, out: Output) {
    let name = bold(path.display());
    let report = match outcome {
        Outcome::None => {
            out.warn(format!(
                "{name}: NO CONTENT CREDENTIALS. This file carries no C2PA manifest: nothing in it says who made it or whether it changed."
            ));
            return;
        }
        Outcome::Read(report) => report,
    };
    let signer = report
        .signer
        .as_deref()
        .unwrap_or("a signer that gives no name");
    match report.verdict {
        Verdict::Trusted => out.ok(format!(
            "{name}: TRUSTED. Unchanged since it was signed by {signer}, whose certificate chains to the organisation's trust anchor you gave."
        )),
        Verdict::ValidUntrusted if anchored => out.warn(format!(
            "{name}: VALID BUT NOT THE ORGANISATION'S. The file is unchanged since it was signed, but by {signer}, whose certificate does not chain to the trust anchor you gave. Anyone can make a certificate bearing any name: do not treat this file as the organisation's."
        )),
        Verdict::ValidUntrusted => out.warn(format!(
            "{name}: VALID, NOT YET CHECKED AGAINST THE ORGANISATION. The file is unchanged since it was signed by a certificate naming {signer}. Without the organisation's trust anchor (--anchor org.pem) nothing shows that certificate is really the organisation's. Other tools call this `signingCredential.untrusted`; it does not mean forged."
        )),
        Verdict::Invalid => out.warn(format!(
            "{name}: INVALID. The file or its content credentials were changed after signing, or the signature does not hold. Do not rely on it."
        )),
    }
    for status in &report.failures {
        if status.code == testigo_hub::credentials::check::UNTRUSTED
            && report.verdict == Verdict::ValidUntrusted
            && !anchored
        {
            continue;
        }
        out.line(format!(
            "{} {} {}",
            console::style("✗").red(),
            status.meaning,
            dim(&status.code)
        ));
    }
    if let Some(time) = &report.signed_at {
        out.line(format!(
            "signed {time} (by the hub's clock; there is no independent time-stamp)"
        ));
    }
    if let Some(testigo) = &report.testigo {
        let captured = chrono::DateTime::from_timestamp_millis(testigo.original.captured_at_ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        out.line(format!(
            "{} of incident {}, observation {}; captured {captured} (device clock)",
            match testigo.copy {
                Copy::Evidence => "evidence copy",
                Copy::Sharing => "sharing copy (metadata removed)",
            },
            testigo.incident,
            testigo.observation,
        ));
        out.line(format!(
            "the original file has SHA-256 {} ({} bytes): the file of that name in an evidence bundle's media folder",
            testigo.original.sha256, testigo.original.size
        ));
    }
    match (&report.author, report.shows_original) {
        (AuthorCheck::Verified { device }, Some(true)) => out.ok(format!(
            "the capturing device {device} signed the record of this very picture: without its credentials the file is the original, byte for byte"
        )),
        (AuthorCheck::Verified { device }, _) => out.warn(format!(
            "the capturing device {device} signed the record of the original, but this file is not shown to be that original: only the signer says it is"
        )),
        (AuthorCheck::Failed { reason }, _) => out.warn(format!(
            "the capturing device's own signature inside does NOT hold: {reason}"
        )),
        (AuthorCheck::Absent, _) => out.line("no signature of the capturing device travels with this copy"),
    }
    if report.shows_original == Some(false) {
        out.warn("without its credentials this file is NOT the original it names: its picture is not the one recorded");
    }
    out.line(if report.states_location {
        "the credentials state where it was captured"
    } else {
        "the credentials state no location"
    });
}

/// The media type to read the file as: from its name, else its first bytes. (C2PA
/// looks at the bytes itself first; this is only its fallback.)
fn mime_of(path: &Path, bytes: &[u8]) -> String {
    testigo_core::media::mime_for_extension(path)
        .or_else(|| {
            testigo_core::media::ALLOWED_TYPES
                .iter()
                .map(|(mime, _)| *mime)
                .find(|mime| testigo_core::media::sniff_matches(mime, bytes))
        })
        .unwrap_or("application/octet-stream")
        .to_owned()
}
