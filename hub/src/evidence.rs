//! Evidence bundles and the audit log, as the hub serves them.
//!
//! `GET /v1/evidence?incidents=<id>,<id>` gives a self-checking bundle (see
//! `testigo_core::evidence`) of incidents the caller may see, built from the hub's
//! documents, the signature and receipt time it stored for every change, and the
//! enrolment record of every author. `GET /v1/audit` gives the log to coordinators.

use std::collections::HashMap;
use std::sync::Arc;

use automerge::ChangeHash;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use testigo_core::evidence::{export, DeviceRecord, HistoryEntry, IncidentEvidence, UploadPlace};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::Role;

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::incidents;
use crate::error::{HubError, HubResult};
use crate::permissions::{self, require};
use crate::server::AppState;
use testigo_core::rules::permissions::Act;

/// At most this many incidents in one bundle, so one request cannot tie the hub up.
const MAX_INCIDENTS: usize = 200;

#[derive(Deserialize)]
pub struct EvidenceQuery {
    incidents: String,
}

pub async fn bundle(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Query(query): Query<EvidenceQuery>,
) -> HubResult<Response> {
    require(&me, Act::ExportEvidence)?;
    let ids = query
        .incidents
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| IncidentId::parse(s).map_err(|_| HubError::not_found(format!("no incident {s}"))))
        .collect::<HubResult<Vec<_>>>()?;
    if ids.is_empty() || ids.len() > MAX_INCIDENTS {
        return Err(HubError::bad_request(format!(
            "give between 1 and {MAX_INCIDENTS} incident ids"
        )));
    }
    let bytes = state
        .write(move |state, tx| {
            let now_ms = state.now_ms();
            for id in &ids {
                if !permissions::can_see(tx, &me, id, now_ms, state.retention_ms)? {
                    return Err(HubError::not_found(format!("no incident {id}")));
                }
            }
            let bytes = build_bundle(tx, &state.hub_record(tx)?, &state.hub.signing_key, &ids)?;
            for id in &ids {
                audit::record(tx, &me, Some(id), "/v1/evidence", Action::Export, now_ms)?;
            }
            Ok(bytes)
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"testigo-evidence.json\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The bundle of `ids`, with `hub` as the author record of the hub's own changes.
/// The hub signs it with `hub_key`: its trust anchor (see
/// `testigo_core::evidence::attestation`).
pub fn build_bundle(
    conn: &Connection,
    hub: &DeviceRecord,
    hub_key: &SigningKey,
    ids: &[IncidentId],
) -> HubResult<Vec<u8>> {
    let mut documents = Vec::with_capacity(ids.len());
    let mut signatures = Vec::with_capacity(ids.len());
    let mut receipts = Vec::with_capacity(ids.len());
    let mut histories = Vec::with_capacity(ids.len());
    let mut authors = std::collections::BTreeSet::new();
    for id in ids {
        let doc = incidents::load(conn, id)?
            .ok_or_else(|| HubError::not_found(format!("no incident {id}")))?
            .doc;
        let (sigs, received) = change_records(conn, id)?;
        for change in doc.get_changes(&[]) {
            if let Some(device) = DeviceId::from_actor(change.actor_id()) {
                authors.insert(device);
            }
        }
        documents.push(doc);
        signatures.push(sigs);
        receipts.push(received);
        histories.push(history_entries(conn, id)?);
    }
    let mut devices = vec![hub.clone()];
    for device in authors.iter().filter(|d| **d != hub.device_id) {
        if let Some(record) = device_record(conn, device)? {
            devices.push(record);
        }
    }
    let evidence: Vec<IncidentEvidence<'_>> = documents
        .iter()
        .zip(&signatures)
        .zip(&receipts)
        .zip(&histories)
        .map(
            |(((document, signatures), received_at), history)| IncidentEvidence {
                document,
                signatures,
                received_at,
                history,
            },
        )
        .collect();
    Ok(export(&evidence, &devices, Some(hub_key))?)
}

/// The history signatures the hub kept for `id`, as a bundle carries them.
fn history_entries(conn: &Connection, id: &IncidentId) -> HubResult<Vec<HistoryEntry>> {
    Ok(crate::history::for_incident(conn, id)?
        .into_iter()
        .map(|stored| HistoryEntry {
            device_id: stored.device,
            seq: stored.seq,
            head: stored.head.to_string(),
            signature: hex::encode(stored.signature),
            head_change: stored
                .head_bytes
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            upload: stored.inclusion.as_ref().map(UploadPlace::from),
        })
        .collect())
}

type ChangeRecords = (
    HashMap<ChangeHash, [u8; 64]>,
    HashMap<ChangeHash, DateTime<Utc>>,
);

fn change_records(conn: &Connection, id: &IncidentId) -> HubResult<ChangeRecords> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, signature, received_at FROM changes WHERE incident_id = ?1",
    )?;
    let rows = stmt.query_map([id.as_str()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let (mut signatures, mut received) = (HashMap::new(), HashMap::new());
    for row in rows {
        let (hash, signature, at) = row?;
        let Ok(hash) = ChangeHash::try_from(hash.as_slice()) else {
            continue;
        };
        if let Some(signature) = signature.and_then(|s| <[u8; 64]>::try_from(s).ok()) {
            signatures.insert(hash, signature);
        }
        if let Some(at) = testigo_core::time::from_millis(at) {
            received.insert(hash, at);
        }
    }
    Ok((signatures, received))
}

pub(crate) fn device_record(
    conn: &Connection,
    device: &DeviceId,
) -> HubResult<Option<DeviceRecord>> {
    let row: Option<(Vec<u8>, String, i64)> = conn
        .query_row(
            "SELECT public_key, role, enrolled_at FROM devices WHERE device_id = ?1",
            [device.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.and_then(|(key, role, enrolled_at)| {
        Some(DeviceRecord {
            device_id: device.clone(),
            public_key: hex::encode(key),
            role: Role::parse(&role)?,
            enrolled_at: testigo_core::time::from_millis(enrolled_at)?,
            hub_signature: None,
        })
    }))
}

/// The hub as an author: its key, and as "enrolment" the first change it logged.
pub fn hub_record(
    conn: &Connection,
    device_id: &DeviceId,
    public_key: &[u8; 32],
) -> HubResult<DeviceRecord> {
    let first: Option<i64> = conn.query_row(
        "SELECT min(received_at) FROM changes WHERE from_device = ?1",
        params![device_id.as_str()],
        |r| r.get(0),
    )?;
    Ok(DeviceRecord {
        device_id: device_id.clone(),
        public_key: hex::encode(public_key),
        role: Role::Hub,
        enrolled_at: first
            .and_then(testigo_core::time::from_millis)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        hub_signature: None,
    })
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    incident: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /v1/audit` (coordinators): the newest entries, optionally for one incident.
pub async fn audit_log(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Query(query): Query<AuditQuery>,
) -> HubResult<Json<Vec<audit::Entry>>> {
    require(&me, Act::ReadAuditLog)?;
    let incident = query
        .incident
        .as_deref()
        .map(IncidentId::parse)
        .transpose()
        .map_err(|e| HubError::bad_request(e.to_string()))?;
    let limit = query.limit.unwrap_or(200).clamp(1, 5_000);
    let entries = state
        .write(move |_, tx| audit::entries(tx, incident.as_ref(), limit))
        .await?;
    Ok(Json(entries))
}
