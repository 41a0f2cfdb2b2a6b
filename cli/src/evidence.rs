//! `testigo verify`: checks an evidence bundle as a third party would, with nothing
//! but the file and, to anchor it, the hub key the organisation publishes; and checks
//! photos and videos by their content credentials (`crate::credentials`), against the
//! trust anchor the organisation publishes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use testigo_core::evidence::{verify_with, Anchor, Finding};
use testigo_hub::credentials::Verdict;

use crate::credentials::{read_anchor, verify_file, FileResult, Outcome};
use crate::export::CREDENTIALS_DIR;
use crate::output::{dim, Output};

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// An evidence bundle (JSON), or photos and videos to check by their content
    /// credentials.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The organisation's content-credentials trust anchor (PEM), as
    /// `testigo hub trust-anchor` prints it. Without it a file's credentials can be
    /// valid, never trusted.
    #[arg(long, value_name = "PEM")]
    pub anchor: Option<PathBuf>,
    /// The hub's public key (64 hex digits), as the organisation publishes it
    /// (`GET /v1/hub` shows it). Without it the bundle's own claim is all there is.
    #[arg(long, conflicts_with = "hub_key_file")]
    pub hub_key: Option<String>,
    /// A file holding the hub's public key in hex.
    #[arg(long)]
    pub hub_key_file: Option<PathBuf>,
    /// The folder `testigo export bundle --with-media` wrote the files to: every
    /// photo, video and audio file is checked against its signed record, and the
    /// copies in its `credentials/` folder by their content credentials.
    #[arg(long, value_name = "DIR")]
    pub media: Option<PathBuf>,
}

fn pinned_key(args: &VerifyArgs) -> Result<Option<[u8; 32]>> {
    let text = match (&args.hub_key, &args.hub_key_file) {
        (Some(key), _) => key.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the hub key file {}", path.display()))?,
        (None, None) => return Ok(None),
    };
    match hex::decode(text.trim())
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
    {
        Some(key) => Ok(Some(key)),
        None => bail!("the hub key must be 64 hex digits (32 bytes)"),
    }
}

/// Checks each file given: bundles as bundles, anything else by its credentials.
pub fn verify(args: VerifyArgs, out: Output) -> Result<bool> {
    let anchor = args.anchor.as_deref().map(read_anchor).transpose()?;
    let mut passed = true;
    let mut media_results = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if looks_like_bundle(&bytes) {
            passed &= verify_bundle(path, &bytes, &args, anchor.as_deref(), out)?;
        } else {
            let (ok, result) = verify_file(path, &bytes, anchor.as_deref(), out)?;
            passed &= ok;
            media_results.push(result);
        }
    }
    if out.json && !media_results.is_empty() {
        println!("{}", serde_json::to_string_pretty(&media_results)?);
    }
    Ok(passed)
}

/// A bundle is a JSON object; no photo or video starts with `{`.
fn looks_like_bundle(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// The credentialed copies in `dir/credentials/`, each as a finding when it fails: it
/// is invalid, fails the anchor given, or describes another file than its name says.
fn verify_credentials(dir: &Path, anchor: Option<&str>, out: Output) -> Result<Vec<Finding>> {
    let folder = dir.join(CREDENTIALS_DIR);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut findings = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let (ok, FileResult { outcome, .. }) = verify_file(&path, &bytes, anchor, out)?;
        let finding = |detail: String| Finding {
            incident: None,
            change: None,
            field: format!("{CREDENTIALS_DIR}/{name}"),
            detail,
        };
        match outcome {
            Outcome::None => findings.push(finding("carries no content credentials".into())),
            Outcome::Read(report) => {
                if !ok {
                    findings.push(finding(match report.verdict {
                        Verdict::Invalid => format!(
                            "content credentials invalid: {}",
                            report
                                .failures
                                .iter()
                                .map(|s| s.code.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => "content credentials do not chain to the trust anchor given".into(),
                    }));
                }
                match &report.testigo {
                    Some(t) if name.starts_with(&t.original.sha256) => {}
                    _ => findings.push(finding(
                        "its credentials do not describe the original file its name gives".into(),
                    )),
                }
            }
        }
    }
    Ok(findings)
}

fn verify_bundle(
    path: &Path,
    bytes: &[u8],
    args: &VerifyArgs,
    anchor: Option<&str>,
    out: Output,
) -> Result<bool> {
    let pinned = pinned_key(args)?;
    let mut report = verify_with(bytes, pinned.as_ref());
    let recorded = testigo_core::evidence::bundle_media(bytes).len();
    if let Some(dir) = &args.media {
        let (_, findings) = testigo_core::evidence::verify_media(bytes, dir);
        report.findings.extend(findings);
        report
            .findings
            .extend(verify_credentials(dir, anchor, out)?);
    } else if recorded > 0 && !out.json {
        out.line(format!(
            "{recorded} media file(s) recorded; pass --media DIR to check them against their records"
        ));
    }
    out.result(&report, |r| {
        match &r.anchor {
            Anchor::Pinned(key) => out.ok(format!("anchored: signed by the pinned hub key {key}")),
            Anchor::NotGiven => out.warn(
                "NOT ANCHORED: no --hub-key given, so the hub signatures were checked only against the key the bundle itself names; anyone can make such a bundle",
            ),
            Anchor::None => out.warn(
                "NOT ANCHORED: this bundle carries no hub signature; only its authors' signatures vouch for it",
            ),
        }
        for (incident, path, person) in &r.on_behalf {
            out.line(format!("{path}: written by the hub on behalf of {person} {}", dim(incident)));
        }
        if r.is_valid() {
            out.ok(format!(
                "{}: {} incident(s), {} changes, {} signatures — all verified ({})",
                path.display(),
                r.incidents,
                r.changes_checked,
                r.signatures_checked,
                r.format
            ));
        } else {
            out.warn(format!(
                "{}: verification FAILED ({} finding(s))",
                path.display(),
                r.findings.len()
            ));
            for f in &r.findings {
                let place = [
                    f.incident.as_deref(),
                    f.change.as_deref().map(|c| &c[..c.len().min(12)]),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / ");
                out.line(format!(
                    "{} {}: {} {}",
                    console::style("✗").red(),
                    f.field,
                    f.detail,
                    dim(place)
                ));
            }
        }
    })?;
    Ok(report.is_valid())
}
