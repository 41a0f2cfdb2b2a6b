//! The media files of an evidence bundle. The bundle itself carries each file's signed
//! record (inside its observation, in the document and its rendering); the files go
//! beside it in a folder, one per recorded hash, named by [`media_file_name`]. A third
//! party checks each file against the hash and size its signed record states.

use std::path::Path;

use base64::Engine;
use serde::Serialize;

use super::bundle::Bundle;
use super::verify::Finding;
use crate::incident::{read_view, AttachmentRecord};

/// One file an incident of the bundle records.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BundledMedia {
    pub incident: String,
    pub observation: String,
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    pub is_preview: bool,
    /// Its name in the media folder.
    pub file_name: String,
}

/// The name a file has in a bundle's media folder: its hash and its usual extension.
pub fn media_file_name(sha256: &str, mime: &str) -> String {
    match crate::media::extension_for(mime) {
        Some(ext) => format!("{sha256}.{ext}"),
        None => sha256.to_owned(),
    }
}

/// Every file (originals and previews) the bundle's documents record. A document that
/// does not load lists nothing here; `verify` reports it.
pub fn bundle_media(bytes: &[u8]) -> Vec<BundledMedia> {
    let Ok(bundle) = serde_json::from_slice::<Bundle>(bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for incident in &bundle.incidents {
        let Some(view) = base64::engine::general_purpose::STANDARD
            .decode(&incident.document)
            .ok()
            .and_then(|b| crate::incident::untrusted::load(&b).ok())
            .and_then(|doc| read_view(&doc).ok())
        else {
            continue;
        };
        for observation in &view.observations {
            for record in &observation.attachments {
                out.extend(entries(&incident.id, &observation.id.to_string(), record));
            }
        }
    }
    out
}

fn entries(incident: &str, observation: &str, record: &AttachmentRecord) -> Vec<BundledMedia> {
    let original = BundledMedia {
        incident: incident.to_owned(),
        observation: observation.to_owned(),
        sha256: record.sha256.clone(),
        mime: record.mime.clone(),
        size: record.size,
        is_preview: false,
        file_name: media_file_name(&record.sha256, &record.mime),
    };
    let preview = record.preview.as_ref().map(|p| BundledMedia {
        incident: incident.to_owned(),
        observation: observation.to_owned(),
        sha256: p.sha256.clone(),
        mime: p.mime.clone(),
        size: p.size,
        is_preview: true,
        file_name: media_file_name(&p.sha256, &p.mime),
    });
    std::iter::once(original).chain(preview).collect()
}

/// Checks every original file the bundle records against the folder `dir`: each must
/// be there, of the recorded size and hash. Previews are checked when present (they
/// are a convenience, not the evidence). Each problem names the file.
pub fn verify_media(bytes: &[u8], dir: &Path) -> (usize, Vec<Finding>) {
    let mut checked = 0;
    let mut findings = Vec::new();
    for media in bundle_media(bytes) {
        let path = dir.join(&media.file_name);
        let finding = |detail: String| Finding {
            incident: Some(media.incident.clone()),
            change: None,
            field: format!("media/{}", media.file_name),
            detail,
        };
        let measured = std::fs::File::open(&path).and_then(|mut f| {
            let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
            let size = std::io::copy(&mut f, &mut hasher)?;
            Ok((hex::encode(sha2::Digest::finalize(hasher)), size))
        });
        match measured {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !media.is_preview {
                    findings.push(finding(format!(
                        "missing: observation {} records this file",
                        media.observation
                    )));
                }
            }
            Err(e) => findings.push(finding(format!("unreadable: {e}"))),
            Ok((hash, size)) => {
                checked += 1;
                if hash != media.sha256 || size != media.size {
                    findings.push(finding(format!(
                        "altered: {size} bytes hashing to {hash}, but the signed record says {} bytes, {}",
                        media.size, media.sha256
                    )));
                }
            }
        }
    }
    (checked, findings)
}
