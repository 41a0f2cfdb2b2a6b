//! `testigo verify`: checks an evidence bundle as a third party would, with nothing
//! but the file and, to anchor it, the hub key the organisation publishes.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use testigo_core::evidence::{verify_with, Anchor};

use crate::output::{dim, Output};

#[derive(clap::Args)]
pub struct VerifyArgs {
    pub bundle: PathBuf,
    /// The hub's public key (64 hex digits), as the organisation publishes it
    /// (`GET /v1/hub` shows it). Without it the bundle's own claim is all there is.
    #[arg(long, conflicts_with = "hub_key_file")]
    pub hub_key: Option<String>,
    /// A file holding the hub's public key in hex.
    #[arg(long)]
    pub hub_key_file: Option<PathBuf>,
    /// The folder `testigo export bundle --with-media` wrote the files to: every
    /// photo, video and audio file is checked against its signed record.
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

pub fn verify(args: VerifyArgs, out: Output) -> Result<bool> {
    let path = &args.bundle;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let pinned = pinned_key(&args)?;
    let mut report = verify_with(&bytes, pinned.as_ref());
    let recorded = testigo_core::evidence::bundle_media(&bytes).len();
    if let Some(dir) = &args.media {
        let (_, findings) = testigo_core::evidence::verify_media(&bytes, dir);
        report.findings.extend(findings);
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
