//! Photos, video and audio: attaching what the camera captured to an observation, and
//! the upload queue that sends it to the hub over links that keep dropping.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use testigo_core::incident::{MediaKind, ObservationKind};
use testigo_core::media::{self as core, StoredMedia, When};

use crate::errors::{panic_message, Result};
use crate::incidents::parse_incident_id;
use crate::location::LocationFix;
use crate::store::FieldStore;

#[uniffi::remote(Enum)]
pub enum MediaKind {
    Photo,
    Video,
    Audio,
}

/// When a kind of file may be sent.
#[uniffi::remote(Enum)]
pub enum When {
    AnyNetwork,
    UnmeteredOnly,
}

/// The network the phone is on (Android `NET_CAPABILITY_NOT_METERED`, iOS
/// `NWPath.isExpensive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Network {
    Unmetered,
    Metered,
}

/// What goes on which network. Previews always go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct UploadPolicy {
    pub photos: When,
    pub video: When,
    pub audio: When,
    /// "Urgent: now": everything, on any network.
    pub urgent: bool,
}

/// A file the camera or recorder wrote, as the app hands it over. The library only
/// reads it; the app deletes it once `add_observation_with_media` returned.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MediaCapture {
    pub path: String,
    /// `image/jpeg`, `video/mp4`, `audio/mp4`…
    pub mime: String,
    pub captured_at: SystemTime,
    pub fix: Option<LocationFix>,
    /// A small JPEG or PNG the platform made of it, sent to the hub first.
    pub preview_path: Option<String>,
}

/// One attachment file this device holds, and how far its upload got.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MediaUpload {
    pub incident_id: String,
    pub observation_id: String,
    pub sha256: String,
    pub kind: MediaKind,
    pub mime: String,
    pub size: u64,
    pub is_preview: bool,
    /// Bytes the hub acknowledged: the upload resumes here.
    pub acked_bytes: u64,
    /// The hub holds the whole file and checked its hash.
    pub uploaded: bool,
}

/// What one run of the upload queue did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MediaUploadReport {
    pub completed: u32,
    pub bytes_sent: u64,
    pub waiting_for_network: u32,
    pub waiting_for_sync: u32,
}

/// Implemented by the app for a progress bar. Called on the uploading thread after
/// every acknowledged chunk; an exception it throws is logged and the upload goes on.
#[uniffi::export(foreign)]
pub trait UploadProgressListener: Send + Sync {
    fn on_progress(&self, upload: MediaUpload, acked_bytes: u64);
}

impl From<StoredMedia> for MediaUpload {
    fn from(m: StoredMedia) -> Self {
        MediaUpload {
            incident_id: m.incident.to_string(),
            observation_id: m.record.to_string(),
            sha256: m.sha256,
            kind: m.kind,
            mime: m.mime,
            size: m.size,
            is_preview: m.is_preview,
            acked_bytes: m.acked_bytes,
            uploaded: m.uploaded,
        }
    }
}

struct Listener(Arc<dyn UploadProgressListener>);

impl core::UploadProgress for Listener {
    fn progress(&self, file: &StoredMedia, acked_bytes: u64) {
        let upload = MediaUpload::from(file.clone());
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.0.on_progress(upload, acked_bytes)
        })) {
            tracing::warn!(target: "testigo_ffi", "an upload progress listener failed: {}", panic_message(payload.as_ref()));
        }
    }
}

/// The default policy: photos and audio on any network, video on unmetered only.
#[uniffi::export]
pub fn default_upload_policy() -> UploadPolicy {
    let p = core::UploadPolicy::default();
    UploadPolicy {
        photos: p.photos,
        video: p.video,
        audio: p.audio,
        urgent: p.urgent,
    }
}

#[uniffi::export]
impl FieldStore {
    /// Records an observation with photos, video or audio in one durable, signed
    /// action. Each file is encrypted into the store while its SHA-256 is computed;
    /// a file that is gone, empty, of an unknown type or too large fails with `Media`
    /// and nothing is saved. Returns the observation's id.
    ///
    /// Blocking (disk; a long video takes a while): call off the main thread.
    pub fn add_observation_with_media(
        &self,
        incident_id: String,
        kind: ObservationKind,
        text: String,
        count: Option<i64>,
        fix: Option<LocationFix>,
        media: Vec<MediaCapture>,
    ) -> Result<String> {
        self.call("FieldStore.add_observation_with_media", |store| {
            let fix = fix.map(LocationFix::into_core).transpose()?;
            let inputs = media
                .into_iter()
                .map(|m| {
                    Ok(core::MediaInput {
                        path: PathBuf::from(m.path),
                        mime: m.mime,
                        captured_at: crate::time::from_system(m.captured_at, "captured_at")?,
                        fix: m.fix.map(LocationFix::into_core).transpose()?,
                        preview: m.preview_path.map(PathBuf::from),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(store
                .add_observation_with_media(
                    &parse_incident_id(&incident_id)?,
                    kind,
                    &text,
                    count,
                    fix,
                    &inputs,
                )?
                .to_string())
        })
    }

    /// Every attachment file of an incident on this device, with its upload state.
    ///
    /// Blocking: call off the main thread.
    pub fn media(&self, incident_id: String) -> Result<Vec<MediaUpload>> {
        self.call("FieldStore.media", |store| {
            Ok(store
                .attachments(&parse_incident_id(&incident_id)?)?
                .into_iter()
                .map(MediaUpload::from)
                .collect())
        })
    }

    /// Files the hub does not hold yet, previews first.
    ///
    /// Blocking: call off the main thread.
    pub fn pending_uploads(&self) -> Result<Vec<MediaUpload>> {
        self.call("FieldStore.pending_uploads", |store| {
            Ok(store
                .pending_uploads()?
                .into_iter()
                .map(MediaUpload::from)
                .collect())
        })
    }

    /// Sends what `policy` allows on `network`, previews first, resuming each file from
    /// the last byte the hub acknowledged (also after the app was killed). Call it
    /// after `sync` (the hub takes a file only once it has its observation). Fails with
    /// `Sync` when the network drops; what was acknowledged stays acknowledged.
    ///
    /// Blocking (network): call off the main thread (WorkManager, BGTaskScheduler).
    pub fn upload_media(
        &self,
        hub_url: Option<String>,
        network: Network,
        policy: UploadPolicy,
        progress: Option<Arc<dyn UploadProgressListener>>,
    ) -> Result<MediaUploadReport> {
        self.call("FieldStore.upload_media", |store| {
            let network = match network {
                Network::Unmetered => core::Network::Unmetered,
                Network::Metered => core::Network::Metered,
            };
            let policy = core::UploadPolicy {
                photos: policy.photos,
                video: policy.video,
                audio: policy.audio,
                urgent: policy.urgent,
            };
            let listener = progress.map(Listener);
            let report = core::upload_media(
                store,
                hub_url.as_deref(),
                network,
                &policy,
                &Default::default(),
                listener.as_ref().map(|l| l as &dyn core::UploadProgress),
            )?;
            Ok(MediaUploadReport {
                completed: report.completed,
                bytes_sent: report.bytes_sent,
                waiting_for_network: report.waiting_for_network,
                waiting_for_sync: report.waiting_for_sync,
            })
        })
    }
}
