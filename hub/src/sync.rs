//! `POST /v1/sync`: one round of the protocol in `testigo_core::sync::protocol`.
//!
//! The whole round (uploads validated and stored, deliveries stamped) is one database
//! transaction, and every effect on the device's side is keyed to the cursor it sends
//! back next time. So a request cut on the way in changes nothing, a response cut on
//! the way out is sent again, and a request sent twice stores nothing twice.

use std::sync::Arc;

use automerge::{Change, ReadDoc};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use testigo_core::ids::IncidentId;
use testigo_core::incident::read_view;
use testigo_core::sync::protocol::{
    self, Ack, DeliveredIncident, IncidentChanges, Rejection, SyncRequest, SyncResponse, Upload,
};

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::devices::Device;
use crate::db::{changes, delivered, incidents};
use crate::error::{HubError, HubResult};
use crate::history;
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
    let response = state
        .blocking(move |state, conn| round(state, conn, &device, request))
        .await?;
    let bytes = protocol::encode(&response).map_err(|e| HubError::internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], bytes).into_response())
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
    let mut parsed = Vec::new();
    for bytes in upload.changes {
        // Through the core's guard: automerge's parser can panic on crafted bytes.
        match testigo_core::incident::untrusted::parse_change(bytes) {
            Ok(change) => parsed.push(change),
            Err(e) => response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: None,
                reason: format!("not an automerge change: {e}"),
            }),
        }
    }
    let refuse_all = |response: &mut SyncResponse, parsed: &[Change], reason: &str| {
        for change in parsed {
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

    // One signature for the upload: the sender's, over its last change, whose
    // history must hold every other change of the sender sent with it.
    let checked =
        history::check_upload(&state.hub.device_id, device, &id, parsed, &upload.signature);
    for (hash, reason) in checked.rejected {
        response.rejected.push(Rejection {
            incident: id.clone(),
            change_hash: Some(hash.0),
            reason,
        });
    }
    let signed = checked.covered;

    let sender = Sender {
        device: &device.device_id,
        role: device.role,
    };
    let outcome = apply_upload(base, signed, &sender, &id);
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
            changes::append(tx, &id, change, &device.device_id, None, now_ms)?;
        }
        if let Some(history) = &checked.signed {
            let head_accepted = outcome
                .doc
                .get_change_by_hash(&history.statement.head)
                .is_some();
            history::record(tx, history, &device.device_id, head_accepted, now_ms)?;
        }
        audit::record(tx, device, Some(&id), SYNC_ENDPOINT, Action::Change, now_ms)?;
    }
    let heads = outcome.doc.get_heads();
    let signed_head = checked.signed.as_ref().map(|s| s.statement.head);
    response.acks.push(Ack {
        incident: id.clone(),
        heads: if heads.len() == 1 && Some(heads[0]) == signed_head {
            Vec::new()
        } else {
            protocol::from_change_hashes(&heads)
        },
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
