//! The demo's photo: a real JPEG made on the spot, and an upload that shows the
//! dispatcher getting the preview before the full file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use jpeg_encoder::{ColorType, Encoder};
use testigo_core::ids::IncidentId;
use testigo_core::media::{self, Network, StoredMedia, UploadPolicy, UploadProgress};
use testigo_core::store::Store;

use crate::hub_client::HubClient;
use crate::output::Output;

/// Writes a `width`×`height` JPEG (a grey street scene in gradients) to `dir/name`.
pub fn photo(dir: &Path, name: &str, width: u16, height: u16) -> Result<PathBuf> {
    let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
        .flat_map(|i| {
            let (x, y) = (i % u32::from(width), i / u32::from(width));
            let sky = y < u32::from(height) / 3;
            let shade = ((x ^ y) % 64) as u8;
            if sky {
                [150 + shade / 2, 170 + shade / 2, 200]
            } else {
                [90 + shade, 90 + shade, 95 + shade]
            }
        })
        .collect();
    let path = dir.join(name);
    Encoder::new_file(&path, 85)
        .and_then(|e| e.encode(&pixels, width, height, ColorType::Rgb))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// After each acknowledged chunk: when the preview is complete, asks the hub as the
/// dispatcher what it can show.
struct Watch<'a> {
    desk: &'a HubClient,
    incident: &'a IncidentId,
    started: Instant,
    seen: Mutex<Vec<String>>,
    /// The SHA-256 of the full photo, and whether the hub showed the preview while it
    /// did not yet hold the photo.
    full: String,
    preview_first: Mutex<bool>,
}

impl UploadProgress for Watch<'_> {
    fn progress(&self, file: &StoredMedia, acked_bytes: u64) {
        if acked_bytes < file.size {
            return;
        }
        let on_hub = self.desk.media(self.incident, &file.sha256).ok().flatten();
        if file.is_preview && on_hub.is_some() {
            let full_there = self
                .desk
                .media(self.incident, &self.full)
                .ok()
                .flatten()
                .is_some();
            *self.preview_first.lock().unwrap_or_else(|p| p.into_inner()) = !full_there;
        }
        let what = if file.is_preview {
            "preview"
        } else {
            "full photo"
        };
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!(
                "{what} ({} bytes) on the dispatcher's screen {} ms after Ana's upload began{}",
                file.size,
                self.started.elapsed().as_millis(),
                if on_hub.is_some() {
                    ""
                } else {
                    " (NOT on the hub!)"
                }
            ));
    }
}

/// Uploads Ana's media on mobile data and reports what the dispatcher could see when.
/// Returns whether the preview was on the dispatcher's screen before the full photo.
pub fn upload_showing_preview_first(
    out: Output,
    store: &Store,
    desk: &HubClient,
    incident: &IncidentId,
) -> Result<bool> {
    let full = store
        .attachments(incident)?
        .into_iter()
        .find(|m| !m.is_preview)
        .context("the photo is stored")?;
    let watch = Watch {
        desk,
        incident,
        started: Instant::now(),
        seen: Mutex::new(Vec::new()),
        full: full.sha256.clone(),
        preview_first: Mutex::new(false),
    };
    // Small chunks, as on a 2G link: the preview is through in one, the photo in many.
    let options = media::UploadOptions {
        chunk_bytes: 16 * 1024,
        ..Default::default()
    };
    let report = media::upload_media(
        store,
        None,
        Network::Metered,
        &UploadPolicy::default(),
        &options,
        Some(&watch),
    )?;
    for line in std::mem::take(&mut *watch.seen.lock().unwrap_or_else(|p| p.into_inner())) {
        out.ok(line);
    }
    let copy = desk
        .media(incident, &full.sha256)?
        .context("the hub should hold the photo")?;
    anyhow::ensure!(
        report.completed == 2 && testigo_core::media::sealed::sha256_hex(&copy) == full.sha256,
        "the hub's photo should match the recorded hash"
    );
    out.ok("the hub's copy of the photo matches the hash in Ana's signed record");
    Ok(watch
        .preview_first
        .into_inner()
        .unwrap_or_else(|p| p.into_inner()))
}
