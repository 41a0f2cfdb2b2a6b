//! `GET /v1/incidents/{id}/media/{sha256}/credentials?copy=evidence|sharing`: an
//! incident's file with a manifest signed by the organisation, to whoever may export
//! evidence of that incident (dispatchers, team leads, coordinators), audited as an
//! export.
//!
//! The file is read from the media store into an unnamed temporary file, hashed on the
//! way (a store altered since the upload is refused, never signed), signed into a
//! second temporary file and streamed back, so memory does not grow with a video.

use std::io::{Seek, SeekFrom, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use testigo_core::ids::IncidentId;
use testigo_core::incident::{read_view, AttachmentRecord};
use testigo_core::rules::permissions::Act;

use super::assertion::Copy;
use super::author::AuthorAttestation;
use super::manifest::{credential, Subject};
use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::{incidents, media as links};
use crate::error::{HubError, HubResult};
use crate::permissions::{self, require};
use crate::server::AppState;

/// The path, relative to `/v1`.
pub const ROUTE: &str = "/incidents/{id}/media/{sha256}/credentials";
/// The full path of `copy` of file `sha256` of `incident`, as a client asks for it.
pub fn path(incident: &str, sha256: &str, copy: Copy) -> String {
    format!(
        "{}/credentials?copy={}",
        testigo_core::media::protocol::media_path(incident, sha256),
        copy.as_str()
    )
}

/// How these exports appear in the audit log.
const AUDITED_AS: &str = "/v1/incidents/{id}/media/{sha256}/credentials";

#[derive(Deserialize)]
pub struct CopyQuery {
    copy: Option<String>,
}

/// What the database says about the file, gathered in one transaction.
struct Found {
    observation: String,
    record: AttachmentRecord,
    author: Option<AuthorAttestation>,
}

pub async fn credentialed(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path((id, sha256)): Path<(String, String)>,
    Query(query): Query<CopyQuery>,
) -> HubResult<Response> {
    require(&me, Act::ExportEvidence)?;
    let copy = match query.copy.as_deref() {
        None => Copy::Evidence,
        Some(text) => Copy::parse(text).ok_or_else(|| {
            HubError::bad_request(
                "copy is `evidence` (the original) or `sharing` (metadata removed)",
            )
        })?,
    };
    let id = IncidentId::parse(&id).map_err(|_| HubError::not_found("no such incident"))?;
    let incident = id.clone();
    let hash = sha256.clone();
    let asking = me.clone();
    // The look-up decodes the incident's changes: on a reader connection, so that it
    // never holds up a sync round; only the audit row takes the writer.
    let found = state
        .read(move |state, conn| {
            let now_ms = state.now_ms();
            if !permissions::can_see(conn, &asking, &incident, now_ms, state.retention_ms)? {
                return Err(HubError::not_found(format!("no incident {incident}")));
            }
            links::linked(conn, &incident, &hash)?
                .ok_or_else(|| HubError::not_found("the hub does not hold this file (yet)"))?;
            let doc = incidents::load(conn, &incident)?
                .ok_or_else(|| HubError::not_found(format!("no incident {incident}")))?
                .doc;
            let view = read_view(&doc)?;
            let (observation, record) = view
                .observations
                .iter()
                .find_map(|o| {
                    o.attachments
                        .iter()
                        .find(|r| r.sha256 == hash)
                        .map(|r| (o.id.to_string(), r.clone()))
                })
                .ok_or_else(|| {
                    HubError::not_found(
                        "no observation records this file as an original (previews carry no credentials)",
                    )
                })?;
            let author = match copy {
                Copy::Evidence => AuthorAttestation::from_hub(
                    conn,
                    &doc,
                    &incident,
                    &observation,
                    &hash,
                    &record.by,
                    &state.hub.device_id,
                )?,
                Copy::Sharing => None,
            };
            Ok(Found {
                observation,
                record,
                author,
            })
        })
        .await?;
    let audited = id.clone();
    state
        .write(move |state, tx| {
            audit::record(
                tx,
                &me,
                Some(&audited),
                AUDITED_AS,
                Action::Export,
                state.now_ms(),
            )
        })
        .await?;
    if !super::manifest::supported(&found.record.mime) {
        return Err(super::CredentialError::Unsupported {
            mime: found.record.mime.clone(),
        }
        .into());
    }

    let original = copy_out_checked(&state, &found.record).await?;
    let identity = Arc::clone(&state.credentials);
    let mime = found.record.mime.clone();
    let signed = tokio::task::spawn_blocking(move || -> HubResult<std::fs::File> {
        let mut original = original;
        let mut signed = tempfile::tempfile()
            .map_err(|e| HubError::internal(format!("no temporary file: {e}")))?;
        let subject = Subject {
            incident: id.as_str(),
            observation: &found.observation,
            record: &found.record,
            author: found.author,
        };
        credential(&identity, &mut original, &mut signed, subject, copy)?;
        signed
            .seek(SeekFrom::Start(0))
            .map_err(|e| HubError::internal(e.to_string()))?;
        Ok(signed)
    })
    .await
    .map_err(|e| HubError::internal(format!("signing failed: {e}")))??;
    let len = signed
        .metadata()
        .map_err(|e| HubError::internal(e.to_string()))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(signed),
    ));
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The stored original in a temporary file, rewound; refused if its bytes no longer
/// hash to what the record says.
async fn copy_out_checked(state: &AppState, record: &AttachmentRecord) -> HubResult<std::fs::File> {
    let internal = |e: std::io::Error| HubError::internal(format!("temporary file: {e}"));
    let (_, mut stream) = state.media.read(&record.sha256).await?;
    let mut file = tempfile::tempfile().map_err(internal)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| HubError::internal(format!("reading the media store: {e}")))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).map_err(internal)?;
    }
    if hex::encode(hasher.finalize()) != record.sha256 || size != record.size {
        tracing::error!(sha256 = %record.sha256, "a stored file no longer matches its record");
        return Err(HubError::new(
            StatusCode::CONFLICT,
            "altered",
            "the hub's stored copy of this file no longer matches its signed record; it is not signed",
        ));
    }
    file.seek(SeekFrom::Start(0)).map_err(internal)?;
    Ok(file)
}
