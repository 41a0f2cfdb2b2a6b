//! `testigo verify`: checks an evidence bundle as a third party would, with nothing
//! but the file.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::output::{dim, Output};

pub fn verify(path: PathBuf, media: Option<PathBuf>, out: Output) -> Result<bool> {
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut report = testigo_core::evidence::verify(&bytes);
    let recorded = testigo_core::evidence::bundle_media(&bytes).len();
    if let Some(dir) = &media {
        let (_, findings) = testigo_core::evidence::verify_media(&bytes, dir);
        report.findings.extend(findings);
    } else if recorded > 0 && !out.json {
        out.line(format!(
            "{recorded} media file(s) recorded; pass --media DIR to check them against their records"
        ));
    }
    out.result(&report, |r| {
        if r.is_valid() {
            out.ok(format!(
                "{}: {} incident(s), {} changes, {} signatures — all verified",
                path.display(),
                r.incidents,
                r.changes_checked,
                r.signatures_checked
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
