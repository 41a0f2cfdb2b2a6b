//! Media uploads and downloads (protocol in `testigo_core::media::protocol`).
//!
//! A device may upload a file for an incident it may write to, only a file whose hash
//! an attachment record of that incident carries, of the recorded size. Devices and
//! console users who may see the incident may download what it holds. Both ask
//! [`crate::permissions`], the hub's one rule for who sees what.
//!
//! - [`backend`]: where media are kept (a folder, or an S3-compatible bucket), chosen
//!   by flags
//! - [`storage`]: the rules of keeping them, the same over both: staging, the hash
//!   check, store-once
//!
//! A handler asks the database what it needs in one short transaction, then works
//! with the store with no database lock held, then records the result in another.

pub mod backend;
pub mod storage;
#[cfg(any(test, feature = "test-support"))]
pub mod test_backends;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use testigo_core::ids::IncidentId;
use testigo_core::incident::read_view;
use testigo_core::media::protocol::{UploadStatus, MAX_CHUNK};

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::devices::Device;
use crate::db::{incidents, media as links};
use crate::error::{HubError, HubResult};
use crate::permissions;
use crate::server::AppState;

pub use backend::{MediaLocation, MediaStoreConfig, S3Credentials};
pub use storage::{Checked, MediaStorage, StorageError, Upload};

/// The media routes devices use, relative to `/v1`.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/incidents/{id}/media/{sha256}",
            get(download).put(put_chunk),
        )
        .route("/incidents/{id}/media/{sha256}/upload", get(upload_status))
}

/// The same words whether the incident exists or not (see `sync`).
const NOT_YOURS: &str = "no such incident for this device";
/// How media reads and writes appear in the audit log.
const MEDIA_ENDPOINT: &str = "/v1/incidents/{id}/media";

#[derive(Deserialize)]
pub struct ChunkAt {
    offset: u64,
}

/// What an incident's records say a file is.
struct Recorded {
    size: u64,
    mime: String,
}

fn parse(id: &str, sha256: &str) -> HubResult<IncidentId> {
    let id = IncidentId::parse(id).map_err(|_| HubError::not_found(NOT_YOURS))?;
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(HubError::bad_request(
            "the file is named by its lower-case hex SHA-256",
        ));
    }
    Ok(id)
}

/// The attachment (or preview) with this hash in the incident's records.
fn recorded(conn: &rusqlite::Connection, id: &IncidentId, sha256: &str) -> HubResult<Recorded> {
    let stored = incidents::load(conn, id)?.ok_or_else(|| HubError::not_found(NOT_YOURS))?;
    let view = read_view(&stored.doc)?;
    view.observations
        .iter()
        .flat_map(|o| &o.attachments)
        .find_map(|a| {
            if a.sha256 == sha256 {
                Some(Recorded {
                    size: a.size,
                    mime: a.mime.clone(),
                })
            } else {
                a.preview
                    .as_ref()
                    .filter(|p| p.sha256 == sha256)
                    .map(|p| Recorded {
                        size: p.size,
                        mime: p.mime.clone(),
                    })
            }
        })
        .ok_or_else(|| {
            HubError::not_found(
                "the incident records no file with this hash; sync the observation first",
            )
        })
}

impl From<StorageError> for HubError {
    fn from(e: StorageError) -> Self {
        tracing::error!(error = %e, "media storage");
        HubError::internal("the hub could not store the file; nothing of this chunk was kept")
    }
}

/// What the database says of a file for this device and incident.
struct Known {
    recorded: Recorded,
    /// The incident holds the file already.
    linked: bool,
}

/// May `device` send this file for this incident, and does the incident hold it?
fn known(
    state: &AppState,
    conn: &rusqlite::Connection,
    device: &Device,
    id: &IncidentId,
    sha256: &str,
) -> HubResult<Known> {
    if !permissions::can_write(conn, device, id, state.now_ms(), state.retention_ms)? {
        return Err(HubError::not_found(NOT_YOURS));
    }
    let recorded = recorded(conn, id, sha256)?;
    if recorded.size > state.media_max_bytes {
        return Err(HubError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the file is {} bytes; this hub takes at most {}",
                recorded.size, state.media_max_bytes
            ),
        ));
    }
    let linked = links::linked(conn, id, sha256)?.is_some();
    Ok(Known { recorded, linked })
}

/// Asks the database (off the async threads, its lock released before the store is
/// touched) what it knows of the file.
async fn ask(
    state: &Arc<AppState>,
    device: &Device,
    id: &IncidentId,
    sha256: &str,
) -> HubResult<Known> {
    let (device, id, sha256) = (device.clone(), id.clone(), sha256.to_owned());
    state
        .write(move |state, conn| known(state, conn, &device, &id, &sha256))
        .await
}

/// `GET …/media/{sha256}/upload`: where an upload resumes.
pub async fn upload_status(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path((id, sha256)): Path<(String, String)>,
) -> HubResult<Json<UploadStatus>> {
    let id = parse(&id, &sha256)?;
    let known = ask(&state, &device, &id, &sha256).await?;
    if known.linked {
        return Ok(Json(UploadStatus {
            received: known.recorded.size,
            complete: true,
        }));
    }
    let upload = Upload {
        incident: id.as_str(),
        sha256: &sha256,
    };
    Ok(Json(UploadStatus {
        received: state.media.received(upload).await?,
        complete: false,
    }))
}

/// `PUT …/media/{sha256}?offset=N`: one chunk.
pub async fn put_chunk(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path((id, sha256)): Path<(String, String)>,
    Query(at): Query<ChunkAt>,
    body: Bytes,
) -> HubResult<Json<UploadStatus>> {
    let id = parse(&id, &sha256)?;
    if body.len() > MAX_CHUNK {
        return Err(HubError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunk_too_large",
            format!("a chunk is at most {MAX_CHUNK} bytes"),
        ));
    }
    let Known { recorded, linked } = ask(&state, &device, &id, &sha256).await?;
    if linked {
        return Ok(Json(UploadStatus {
            received: recorded.size,
            complete: true,
        }));
    }
    let end = at.offset.saturating_add(body.len() as u64);
    if end > recorded.size {
        return Err(HubError::bad_request(format!(
            "the chunk ends at byte {end}, past the recorded size {}",
            recorded.size
        )));
    }
    let upload = Upload {
        incident: id.as_str(),
        sha256: &sha256,
    };
    let held = state.media.received(upload).await?;
    if at.offset > held {
        return Err(HubError::new(
            StatusCode::CONFLICT,
            "out_of_order",
            format!("the hub holds {held} bytes; the next chunk starts there"),
        ));
    }
    // A resent chunk overlaps what is held: only its new tail is kept.
    let fresh = body.slice((held - at.offset).min(body.len() as u64) as usize..);
    let received = if fresh.is_empty() {
        held
    } else {
        state.media.stage(upload, held, fresh).await?
    };
    if received < recorded.size {
        return Ok(Json(UploadStatus {
            received,
            complete: false,
        }));
    }
    if let Checked::HashMismatch { actual } = state.media.check(upload).await? {
        return Err(HubError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            format!("the bytes received hash to {actual}, not {sha256}; send the file again from the start"),
        ));
    }
    let (link_id, link_sha, link_device) = (id.clone(), sha256.clone(), device.clone());
    state
        .write(move |state, conn| {
            links::link(
                conn,
                &link_id,
                &link_sha,
                recorded.size,
                &recorded.mime,
                state.now_ms(),
            )?;
            audit::record(
                conn,
                &link_device,
                Some(&link_id),
                MEDIA_ENDPOINT,
                Action::Change,
                state.now_ms(),
            )
        })
        .await?;
    if !state.media.settle(upload).await? {
        let (id, sha256) = (id.clone(), sha256.clone());
        state
            .write(move |_, conn| links::unlink(conn, &id, &sha256))
            .await?;
        return Err(HubError::new(
            StatusCode::CONFLICT,
            "lost",
            "the file left the hub's store while it was being kept; send it again",
        ));
    }
    Ok(Json(UploadStatus {
        received,
        complete: true,
    }))
}

/// `GET …/media/{sha256}`: the file, to a device or console user who may see the
/// incident, once the incident holds it.
pub async fn download(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    Path((id, sha256)): Path<(String, String)>,
) -> HubResult<Response> {
    let id = parse(&id, &sha256)?;
    let (mime, sha256) = state
        .write(move |state, conn| {
            if !permissions::can_see(conn, &device, &id, state.now_ms(), state.retention_ms)? {
                return Err(HubError::not_found(NOT_YOURS));
            }
            let mime = links::linked(conn, &id, &sha256)?
                .ok_or_else(|| HubError::not_found("the hub does not hold this file (yet)"))?;
            audit::record(
                conn,
                &device,
                Some(&id),
                MEDIA_ENDPOINT,
                Action::Read,
                state.now_ms(),
            )?;
            Ok((mime, sha256))
        })
        .await?;
    let (len, stream) = state.media.read(&sha256).await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
