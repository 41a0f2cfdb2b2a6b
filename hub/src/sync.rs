//! `POST /v1/sync`: one round of the protocol in `testigo_core::sync::protocol`.
//!
//! The whole round (uploads validated and stored, deliveries stamped) is one database
//! transaction, and every effect on the device's side is keyed to the cursor it sends
//! back next time. So a request cut on the way in changes nothing, a response cut on
//! the way out is sent again, and a request sent twice stores nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::{Change, ChangeHash};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use testigo_core::evidence::verify_change;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{read_view, untrusted};
use testigo_core::rules::limits::{
    MAX_CHANGES_PER_REQUEST, MAX_CHANGE_BYTES, MAX_CHANGE_BYTES_PER_REQUEST,
};
use testigo_core::sync::protocol::{
    self, Ack, DeliveredIncident, IncidentChanges, Rejection, SyncRequest, SyncResponse, Upload,
};

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::devices::Device;
use crate::db::{changes, delivered, incidents};
use crate::error::{HubError, HubResult};
use crate::permissions;
use crate::server::AppState;
use crate::validate::{apply_upload, Sender};

/// How sync reads and writes appear in the audit log.
const SYNC_ENDPOINT: &str = protocol::SYNC_PATH;

/// The hub keeps each response between these, whatever the device asks.
const MIN_RESPONSE_BYTES: u64 = 64 * 1024;
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// The same words whether the incident exists or not: a refusal must not tell a
/// device which ids are real.
const NOT_YOURS: &str = "no such incident for this device";

pub async fn sync(
    State(state): State<Arc<AppState>>,
    Authed(device): Authed,
    body: Bytes,
) -> HubResult<Response> {
    let request: SyncRequest =
        protocol::decode(&body).map_err(|e| HubError::bad_request(e.to_string()))?;
    check_request_size(&request)?;
    let response = state
        .blocking(move |state, conn| round(state, conn, &device, request))
        .await?;
    let bytes = protocol::encode(&response).map_err(|e| HubError::internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], bytes).into_response())
}

/// Refuses (413) a request with more changes, or changes inflating to more bytes, than
/// one request may carry. Measured by walking each change's framing and inflating into
/// a sink, never past the limit, before anything is decoded.
fn check_request_size(request: &SyncRequest) -> HubResult<()> {
    let count: usize = request.uploads.iter().map(|u| u.changes.len()).sum();
    if count > MAX_CHANGES_PER_REQUEST {
        return Err(HubError::too_large(format!(
            "{count} changes in one request; at most {MAX_CHANGES_PER_REQUEST}"
        )));
    }
    let mut total: u64 = 0;
    for bytes in request.uploads.iter().flat_map(|u| &u.changes) {
        // A change past the per-change limit, or bytes that are no change at all, are
        // refused on their own later; here they count for what was measured.
        let size =
            untrusted::change_size(bytes, MAX_CHANGE_BYTES as u64).unwrap_or(bytes.len() as u64);
        total = total.saturating_add(size);
        if total > MAX_CHANGE_BYTES_PER_REQUEST {
            return Err(HubError::too_large(format!(
                "the changes of one request inflate past {MAX_CHANGE_BYTES_PER_REQUEST} bytes"
            )));
        }
    }
    Ok(())
}

fn round(
    state: &AppState,
    conn: &mut Connection,
    device: &Device,
    request: SyncRequest,
) -> HubResult<SyncResponse> {
    let now_ms = state.now_ms();
    let tx = conn.transaction()?;
    let mut response = SyncResponse {
        hub_time_ms: now_ms,
        ..Default::default()
    };
    for upload in request.uploads {
        receive(state, &tx, device, upload, now_ms, &mut response)?;
    }
    delivered::reconcile(&tx, &device.device_id, request.cursor)?;
    send(
        state,
        &tx,
        device,
        request.cursor,
        request
            .max_response_bytes
            .clamp(MIN_RESPONSE_BYTES, MAX_RESPONSE_BYTES),
        now_ms,
        &mut response,
    )?;
    tx.commit()?;
    Ok(response)
}

/// Validates and stores one incident's uploaded changes.
fn receive(
    state: &AppState,
    tx: &Connection,
    device: &Device,
    upload: Upload,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    let id = upload.incident;
    // Each change with the signature sent at its position (`None`: unsigned).
    let mut signatures = upload.signatures.into_iter();
    let mut parsed = Vec::new();
    for bytes in upload.changes {
        let signature = signatures.next();
        // Measured before it is parsed: automerge would inflate it whole.
        match untrusted::change_size(&bytes, MAX_CHANGE_BYTES as u64) {
            Ok(size) if size > MAX_CHANGE_BYTES as u64 => {
                response.rejected.push(Rejection {
                    incident: id.clone(),
                    change_hash: None,
                    reason: format!(
                        "inflates past {MAX_CHANGE_BYTES} bytes, the most one change may be"
                    ),
                });
                continue;
            }
            // Bytes that are no change chunk are named by the parser below.
            Ok(_) | Err(_) => {}
        }
        // Through the core's guard: automerge's parser can panic on crafted bytes.
        match untrusted::parse_change(bytes) {
            Ok(change) => parsed.push((change, signature)),
            Err(e) => response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: None,
                reason: format!("not an automerge change: {e}"),
            }),
        }
    }
    let refuse_all = |response: &mut SyncResponse, parsed: &[(Change, _)], reason: &str| {
        for (change, _) in parsed {
            response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: Some(change.hash().0),
                reason: reason.to_owned(),
            });
        }
    };

    let stored = incidents::load(tx, &id)?;
    let creating = stored.is_none();
    let base = match stored {
        Some(stored) if permissions::can_write(tx, device, &id, now_ms, state.retention_ms)? => {
            stored.doc
        }
        None if upload.new_incident => automerge::Automerge::new(),
        _ => {
            refuse_all(response, &parsed, NOT_YOURS);
            return Ok(());
        }
    };

    // Every change must carry a valid signature by the sending device's key over the
    // hash computed here from its bytes: the same signature the device stored with the
    // change, kept here for evidence.
    let mut signatures: BTreeMap<ChangeHash, [u8; 64]> = BTreeMap::new();
    let mut signed = Vec::new();
    for (change, signature) in parsed {
        let hash = change.hash();
        let verdict = match signature.map(|s| <[u8; 64]>::try_from(s.as_slice())) {
            None => {
                Err("unsigned: every change must be signed by the device that made it".to_owned())
            }
            Some(Err(_)) => Err("a signature must be 64 bytes".to_owned()),
            Some(Ok(sig)) => verify_change(&device.device_id, &device.public_key, &hash, &sig)
                .map(|()| sig)
                .map_err(|e| format!("bad signature: {e}")),
        };
        match verdict {
            Ok(sig) => {
                signatures.insert(hash, sig);
                signed.push(change);
            }
            Err(reason) => response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: Some(hash.0),
                reason,
            }),
        }
    }

    let sender = Sender {
        device: &device.device_id,
        role: device.role,
    };
    let hashes: Vec<ChangeHash> = signed.iter().map(Change::hash).collect();
    let outcome = match apply_upload(base, signed, &sender, &id) {
        Ok(outcome) => outcome,
        Err(reason) => {
            // Nothing of this upload is stored; the saved document is untouched.
            tracing::error!(incident = %id, device = %device.device_id, %reason, "checked changes did not merge");
            for hash in hashes {
                response.rejected.push(Rejection {
                    incident: id.clone(),
                    change_hash: Some(hash.0),
                    reason: format!("the hub could not merge it: {reason}"),
                });
            }
            return Ok(());
        }
    };
    for (hash, reason) in outcome.rejected {
        tracing::info!(incident = %id, device = %device.device_id, change = %hash, %reason, "change rejected");
        response.rejected.push(Rejection {
            incident: id.clone(),
            change_hash: Some(hash.0),
            reason,
        });
    }
    if creating && outcome.accepted.is_empty() {
        return Ok(());
    }
    if !outcome.accepted.is_empty() {
        let view = read_view(&outcome.doc)
            .map_err(|e| HubError::internal(format!("a validated document does not read: {e}")))?;
        incidents::save(tx, &id, &outcome.doc, &view, device.team.as_deref(), now_ms)?;
        for change in &outcome.accepted {
            let signature = signatures.get(&change.hash()).map(<[u8; 64]>::as_slice);
            changes::append(tx, &id, change, &device.device_id, signature, now_ms)?;
        }
        audit::record(tx, device, Some(&id), SYNC_ENDPOINT, Action::Change, now_ms)?;
    }
    response.acks.push(Ack {
        incident: id.clone(),
        heads: protocol::from_change_hashes(&outcome.doc.get_heads()),
    });
    if permissions::can_see(tx, device, &id, now_ms, state.retention_ms)? {
        delivered::note_held(tx, &device.device_id, &id)?;
    }
    Ok(())
}

/// Fills the response with what the device lacks, within `budget` bytes: first other
/// people's changes to incidents it holds, in log order; then, once those are all
/// sent, incidents it may now see (whole) and incidents it may no longer see.
fn send(
    state: &AppState,
    tx: &Connection,
    device: &Device,
    cursor: u64,
    budget: u64,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    let mut used: u64 = 0;
    let mut last_seq = cursor;
    let mut cut = false;
    let mut by_incident: Vec<(IncidentId, Vec<Vec<u8>>)> = Vec::new();
    changes::for_device(tx, &device.device_id, cursor, |change| {
        let size = change.bytes.len() as u64;
        if used > 0 && used + size > budget {
            cut = true;
            return false;
        }
        used += size;
        last_seq = change.seq;
        match by_incident
            .iter_mut()
            .find(|(id, _)| *id == change.incident)
        {
            Some((_, list)) => list.push(change.bytes),
            None => by_incident.push((change.incident, vec![change.bytes])),
        }
        true
    })?;
    for (incident, list) in by_incident {
        audit::record(
            tx,
            device,
            Some(&incident),
            SYNC_ENDPOINT,
            Action::Read,
            now_ms,
        )?;
        let heads = incidents::heads(tx, &incident)?;
        response.changes.push(IncidentChanges {
            incident,
            changes: list,
            heads,
        });
    }
    if cut {
        // The next round goes on from the last change sent; deliveries wait until the
        // backlog of changes is through, so their stamp never skips a change.
        response.cursor = last_seq;
        response.more = true;
        return Ok(());
    }

    let visible = permissions::visible(tx, device, now_ms, state.retention_ms)?;
    let held = delivered::held(tx, &device.device_id)?;
    let to_add: Vec<&IncidentId> = visible.difference(&held).collect();
    let to_remove: Vec<&IncidentId> = held.difference(&visible).collect();
    if to_add.is_empty() && to_remove.is_empty() {
        response.cursor = changes::current_seq(tx)?;
        return Ok(());
    }
    let stamp = changes::next_seq(tx)?;
    for id in to_add {
        let Some((document, heads)) = incidents::saved(tx, id)? else {
            continue;
        };
        if used > 0 && used + document.len() as u64 > budget {
            response.more = true;
            break;
        }
        used += document.len() as u64;
        delivered::deliver(tx, &device.device_id, id, stamp)?;
        audit::record(tx, device, Some(id), SYNC_ENDPOINT, Action::Read, now_ms)?;
        response.new_incidents.push(DeliveredIncident {
            incident: id.clone(),
            document,
            heads,
        });
    }
    for id in to_remove {
        delivered::remove(tx, &device.device_id, id, stamp)?;
        response.removed.push(id.clone());
    }
    response.cursor = stamp;
    Ok(())
}
