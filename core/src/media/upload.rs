//! The device's media upload queue: every attachment file the hub does not hold yet,
//! previews first, sent in acknowledged chunks (protocol in [`super::protocol`]).
//!
//! The queue is the store's attachment rows, so it survives the app being killed: the
//! next run asks the hub where each file stands and goes on from the last byte the hub
//! acknowledged. Uploads never run inside the automerge sync; the platform calls
//! [`upload_media`] after a sync (WorkManager, BGTaskScheduler), with the network it
//! is on, and the policy decides what goes on it.

use std::io::Read;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::capture::StoredMedia;
use super::protocol::{media_path, upload_path, UploadStatus, MAX_CHUNK};
use crate::error::{Error, Result};
use crate::incident::MediaKind;
use crate::store::Store;
use crate::sync::protocol::ErrorBody;

/// The network the phone is on, as the platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Wi-Fi or another link the volunteer does not pay for by the byte.
    Unmetered,
    /// Mobile data.
    Metered,
}

/// When a kind of file may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    AnyNetwork,
    UnmeteredOnly,
}

/// What goes on which network. Previews always go: they are what lets a dispatcher
/// see the scene within seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadPolicy {
    pub photos: When,
    pub video: When,
    pub audio: When,
    /// "Urgent: now": everything goes on any network.
    pub urgent: bool,
}

impl Default for UploadPolicy {
    /// Photos and audio on any network, video on unmetered only.
    fn default() -> Self {
        Self {
            photos: When::AnyNetwork,
            video: When::UnmeteredOnly,
            audio: When::AnyNetwork,
            urgent: false,
        }
    }
}

impl UploadPolicy {
    pub fn allows(&self, file: &StoredMedia, network: Network) -> bool {
        if self.urgent || file.is_preview || network == Network::Unmetered {
            return true;
        }
        let when = match file.kind {
            MediaKind::Photo => self.photos,
            MediaKind::Video => self.video,
            MediaKind::Audio => self.audio,
        };
        when == When::AnyNetwork
    }
}

/// Told after every acknowledged chunk, for a progress bar.
pub trait UploadProgress: Send + Sync {
    fn progress(&self, file: &StoredMedia, acked_bytes: u64);
}

#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// Bytes per chunk (at most [`MAX_CHUNK`]).
    pub chunk_bytes: usize,
    pub timeout: Duration,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            chunk_bytes: MAX_CHUNK,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What one run of the queue did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Files the hub now holds whole.
    pub completed: u32,
    /// Bytes of file content sent (a resent chunk counts again).
    pub bytes_sent: u64,
    /// Files left for another network.
    pub waiting_for_network: u32,
    /// Files whose observation the hub does not have yet (the next sync sends it).
    pub waiting_for_sync: u32,
}

/// Sends what the policy allows on `network`, previews first. A network failure stops
/// the run with [`Error::Sync`]; everything acknowledged so far is recorded.
pub fn upload_media(
    store: &Store,
    hub_url: Option<&str>,
    network: Network,
    policy: &UploadPolicy,
    options: &UploadOptions,
    progress: Option<&dyn UploadProgress>,
) -> Result<UploadReport> {
    let identity = store.identity();
    let credential = identity
        .credential
        .clone()
        .ok_or_else(|| Error::not_permitted("this device is not enrolled with a hub"))?;
    let base = hub_url
        .map(str::to_owned)
        .or_else(|| identity.hub_url.clone())
        .ok_or_else(|| Error::invalid("hub url", "none given and none saved at enrolment"))?;
    let base = base.trim_end_matches('/');
    let client = crate::sync::http_client(options.timeout)?;
    let hub = Hub {
        client: &client,
        base,
        credential: &credential,
    };
    let chunk_bytes = options.chunk_bytes.clamp(1, MAX_CHUNK);
    let mut report = UploadReport::default();
    for file in store.pending_uploads()? {
        if !policy.allows(&file, network) {
            report.waiting_for_network += 1;
            continue;
        }
        let Some(mut status) = hub.status(&file)? else {
            report.waiting_for_sync += 1;
            continue;
        };
        let mut reader = store.open_attachment(&file.incident, &file.sha256)?;
        let mut chunk = vec![0u8; chunk_bytes];
        let mut restarts = 0;
        while !status.complete {
            reader.seek_to(status.received);
            let n = fill(&mut reader, &mut chunk).map_err(|e| {
                Error::from(super::MediaError::Damaged {
                    sha256: file.sha256.clone(),
                    reason: e.to_string(),
                })
            })?;
            report.bytes_sent += n as u64;
            status = match hub.put(&file, status.received, &chunk[..n])? {
                Put::Acked(next) => next,
                Put::HashMismatch if restarts == 0 => {
                    restarts += 1;
                    UploadStatus {
                        received: 0,
                        complete: false,
                    }
                }
                Put::HashMismatch => {
                    return Err(Error::from(super::MediaError::Damaged {
                        sha256: file.sha256.clone(),
                        reason: "the hub hashed it wrong twice".into(),
                    }))
                }
                // The hub holds a different amount (another run got further, or a
                // stored part was refused): ask where to go on.
                Put::Conflict => hub
                    .status(&file)?
                    .ok_or_else(|| Error::Sync("the hub no longer takes this file".into()))?,
            };
            store.set_upload_progress(
                &file.incident,
                &file.sha256,
                status.received,
                status.complete,
            )?;
            if let Some(progress) = progress {
                progress.progress(&file, status.received);
            }
            if n == 0 && !status.complete {
                return Err(Error::Sync(
                    "the hub did not take the file's last bytes".into(),
                ));
            }
        }
        store.set_upload_progress(&file.incident, &file.sha256, file.size, true)?;
        report.completed += 1;
    }
    Ok(report)
}

fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

struct Hub<'a> {
    client: &'a reqwest::blocking::Client,
    base: &'a str,
    credential: &'a str,
}

enum Put {
    Acked(UploadStatus),
    Conflict,
    /// The whole file hashed wrong at the hub (a bit flipped on the way): it discarded
    /// the upload, which starts again from byte 0, once.
    HashMismatch,
}

impl Hub<'_> {
    /// Where the hub stands on a file; `None` while it has no record of it.
    fn status(&self, file: &StoredMedia) -> Result<Option<UploadStatus>> {
        let url = format!(
            "{}{}",
            self.base,
            upload_path(file.incident.as_str(), &file.sha256)
        );
        let response = self
            .client
            .get(url)
            .bearer_auth(self.credential)
            .send()
            .map_err(unreachable)?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        json(response).map(Some)
    }

    fn put(&self, file: &StoredMedia, offset: u64, bytes: &[u8]) -> Result<Put> {
        let url = format!(
            "{}{}?offset={offset}",
            self.base,
            media_path(file.incident.as_str(), &file.sha256)
        );
        let response = self
            .client
            .put(url)
            .bearer_auth(self.credential)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .map_err(unreachable)?;
        match response.status().as_u16() {
            409 => Ok(Put::Conflict),
            422 => Ok(Put::HashMismatch),
            _ => json(response).map(Put::Acked),
        }
    }
}

fn unreachable(e: reqwest::Error) -> Error {
    Error::Sync(format!("cannot reach the hub: {e}"))
}

fn json<T: serde::de::DeserializeOwned>(response: reqwest::blocking::Response) -> Result<T> {
    let status = response.status();
    let body = response
        .bytes()
        .map_err(|e| Error::Sync(format!("the hub's answer was cut: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| Error::Sync(format!("unreadable answer from the hub: {e}")));
    }
    let reason = serde_json::from_slice::<ErrorBody>(&body)
        .map(|e| e.reason)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
    Err(match status.as_u16() {
        401 | 403 => Error::not_permitted(reason),
        400..=499 => Error::invalid(
            "media upload",
            format!("the hub refused it ({status}): {reason}"),
        ),
        _ => Error::Sync(format!("the hub failed ({status}): {reason}")),
    })
}
