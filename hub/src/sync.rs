//! `POST /v1/sync`: one round of the protocol in `testigo_core::sync::protocol`.
//!
//! The whole round (uploads validated and stored, deliveries stamped) is one database
//! transaction, and every effect on the device's side is keyed to the cursor it sends
//! back next time. So a request cut on the way in changes nothing, a response cut on
//! the way out is sent again, and a request sent twice stores nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::{Change, ChangeHash, ReadDoc};
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
    self, Ack, Closed, DeliveredIncident, IncidentChanges, PublishedTemplate, Rejection,
    SyncRequest, SyncResponse, Upload,
};

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::devices::Device;
use crate::db::{changes, delivered, incidents, templates};
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
    let request = SyncRequest::decode(&body).map_err(|e| HubError::bad_request(e.to_string()))?;
    check_request_size(&request)?;
    let response = state
        .write(move |state, tx| round(state, tx, &device, request))
        .await?;
    let bytes = protocol::encode(&response).map_err(|e| HubError::internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], bytes).into_response())
}

/// Refuses (413) a request with more changes, or changes inflating to more bytes, than
/// one request may carry. Measured by walking each change's framing and inflating into
/// a sink, never past the limit, before anything is decoded.
fn check_request_size(request: &SyncRequest) -> HubResult<()> {
    let all_changes = || {
        request
            .uploads
            .iter()
            .flat_map(|u| u.changes.iter().chain(u.retries.iter().map(|r| &r.change)))
    };
    let count = all_changes().count();
    if count > MAX_CHANGES_PER_REQUEST {
        return Err(HubError::too_large(format!(
            "{count} changes in one request; at most {MAX_CHANGES_PER_REQUEST}"
        )));
    }
    let mut total: u64 = 0;
    for bytes in all_changes() {
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
    tx: &mut rusqlite::Transaction<'_>,
    device: &Device,
    request: SyncRequest,
) -> HubResult<SyncResponse> {
    let now_ms = state.now_ms();
    let mut response = SyncResponse {
        hub_time_ms: now_ms,
        ..Default::default()
    };
    // One signature for the request, checked once, before any upload is looked at.
    let vouches = history::check_request(
        &state.hub.device_id,
        device,
        &request.uploads,
        &request.signature,
    );
    for (upload, vouch) in request.uploads.into_iter().zip(vouches) {
        receive_isolated(state, tx, device, upload, vouch, now_ms, &mut response)?;
    }
    delivered::reconcile(tx, &device.device_id, request.cursor)?;
    send(
        state,
        tx,
        device,
        request.cursor,
        request
            .max_response_bytes
            .clamp(MIN_RESPONSE_BYTES, MAX_RESPONSE_BYTES),
        now_ms,
        &mut response,
    )?;
    crate::db::refusals::record(tx, &device.device_id, &response.rejected, now_ms)?;
    tell_closings(tx, &mut response)?;
    response.retention_hours =
        (state.retention_ms / 3_600_000).clamp(0, i64::from(u32::MAX)) as u32;
    // Checklists published after the device's cursor and covered by the new one: each
    // reaches each device once, in the round whose cursor first passes its stamp.
    response.templates = templates::published_between(tx, request.cursor, response.cursor)?
        .into_iter()
        .map(|json| PublishedTemplate { json })
        .collect();
    Ok(response)
}

/// Adds the hub's closing time of every closed incident the response names.
fn tell_closings(tx: &Connection, response: &mut SyncResponse) -> HubResult<()> {
    let named: std::collections::BTreeSet<&IncidentId> = response
        .acks
        .iter()
        .map(|a| &a.incident)
        .chain(response.changes.iter().map(|c| &c.incident))
        .chain(response.new_incidents.iter().map(|d| &d.incident))
        .collect();
    let mut closed = Vec::new();
    for id in named {
        if let Some(at_ms) = incidents::closed_at(tx, id)? {
            closed.push(Closed {
                incident: id.clone(),
                at_ms,
            });
        }
    }
    response.closed = closed;
    Ok(())
}

/// [`receive`] inside a savepoint: an incident the hub cannot take now (its stored
/// document does not load, a write fails) is undone alone and reported, and the rest
/// of the round goes through. Its changes stay unacknowledged on the device, which
/// sends them again next time.
fn receive_isolated(
    state: &AppState,
    tx: &mut rusqlite::Transaction<'_>,
    device: &Device,
    upload: Upload,
    vouch: history::Vouch,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    let id = upload.incident.clone();
    let (acks, rejected) = (response.acks.len(), response.rejected.len());
    let savepoint = tx.savepoint()?;
    match receive(state, &savepoint, device, upload, vouch, now_ms, response) {
        Ok(()) => savepoint.commit()?,
        Err(e) => {
            drop(savepoint);
            tracing::error!(incident = %id, device = %device.device_id, error = %e, "an upload could not be taken; the rest of the round goes on");
            response.acks.truncate(acks);
            response.rejected.truncate(rejected);
            response.rejected.push(Rejection {
                incident: id,
                change_hash: None,
                reason: format!("{UNAVAILABLE}: {}", e.reason),
            });
        }
    }
    Ok(())
}

/// How a round reports an incident it could not take: nothing of it was stored and
/// the device keeps its changes to send again.
pub const UNAVAILABLE: &str = "the hub could not take this incident's changes now; they stay on the device and are sent again";

/// Validates and stores one incident's uploaded changes.
fn receive(
    state: &AppState,
    tx: &Connection,
    device: &Device,
    upload: Upload,
    vouch: history::Vouch,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    let id = upload.incident;
    let parsed: Vec<Change> = upload
        .changes
        .into_iter()
        .filter_map(|bytes| parse_uploaded(bytes, &id, response))
        .collect();
    // Quarantined changes offered again carry a signature each (see `Upload::retries`).
    let mut retried: Vec<(Change, [u8; 64])> = Vec::new();
    for retry in upload.retries {
        let Some(change) = parse_uploaded(retry.change, &id, response) else {
            continue;
        };
        let hash = change.hash();
        match <[u8; 64]>::try_from(retry.signature.as_slice()) {
            Ok(sig)
                if verify_change(&device.device_id, &device.public_key, &hash, &sig).is_ok() =>
            {
                retried.push((change, sig));
            }
            _ => response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: Some(hash.0),
                reason: "a change offered again needs the sender's valid signature over its hash"
                    .to_owned(),
            }),
        }
    }

    // The upload's last change is the signed one (by the request's signature or its
    // own); its history must hold every other change of the sender sent with it.
    let checked = history::check_upload(&state.hub.device_id, device, &id, parsed, vouch);
    for (hash, reason) in checked.rejected {
        response.rejected.push(Rejection {
            incident: id.clone(),
            change_hash: Some(hash.0),
            reason,
        });
    }
    let retry_signatures: BTreeMap<ChangeHash, [u8; 64]> =
        retried.iter().map(|(c, sig)| (c.hash(), *sig)).collect();
    let mut signed = checked.covered;
    signed.extend(retried.into_iter().map(|(change, _)| change));

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
    let sees = permissions::can_see(tx, device, &id, now_ms, state.retention_ms)?;
    let base = match stored {
        Some(stored)
            if sees || permissions::can_write(tx, device, &id, now_ms, state.retention_ms)? =>
        {
            stored.doc
        }
        None if upload.new_incident => automerge::Automerge::new(),
        None => match &state.archive_dir {
            Some(dir)
                if delivered::ever_held(tx, &device.device_id, &id)?
                    && crate::retention::was_archived(tx, &id)? =>
            {
                let history = checked.signed.as_ref();
                return archive_late(
                    tx,
                    device,
                    &id,
                    dir,
                    signed,
                    history,
                    &retry_signatures,
                    now_ms,
                    response,
                );
            }
            _ => {
                refuse_all(response, &signed, NOT_YOURS);
                return Ok(());
            }
        },
        _ => {
            refuse_all(response, &signed, NOT_YOURS);
            return Ok(());
        }
    };

    let sender = Sender {
        device: &device.device_id,
        role: device.role,
    };
    let uploaded: Vec<ChangeHash> = signed.iter().map(Change::hash).collect();
    let outcome = match apply_upload(base, signed, &sender, &id) {
        Ok(outcome) => outcome,
        Err(reason) => {
            // Nothing of this upload is stored; the saved document is untouched.
            tracing::error!(incident = %id, device = %device.device_id, %reason, "checked changes did not merge");
            for hash in uploaded {
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
            // Covered by the history signature kept below, or (offered again) by its own.
            let signature = retry_signatures
                .get(&change.hash())
                .map(<[u8; 64]>::as_slice);
            changes::append(tx, &id, change, &device.device_id, signature, now_ms)?;
        }
        if let Some(history) = &checked.signed {
            let head_accepted = outcome
                .doc
                .get_change_by_hash(&history.statement.head)
                .is_some();
            history::record(tx, history, &device.device_id, head_accepted, now_ms)?;
        }
        // Work recorded while the device could see the incident and received after
        // it could not is said so in the audit log.
        let action = if sees || creating {
            Action::Change
        } else {
            Action::OfflineChange
        };
        audit::record(tx, device, Some(&id), SYNC_ENDPOINT, action, now_ms)?;
    }
    // A device that may no longer see the incident is not told its heads (they name
    // other people's changes it will never receive, so it could not tell its own
    // were taken): it is told which of its own changes the hub now holds. Heads that
    // are exactly the signed change go as none: the device knows which it signed.
    let heads = if sees || creating {
        outcome.doc.get_heads()
    } else {
        uploaded
            .into_iter()
            .filter(|h| outcome.doc.get_change_by_hash(h).is_some())
            .collect()
    };
    let signed_head = checked.signed.as_ref().map(|s| s.statement.head);
    response.acks.push(Ack {
        incident: id.clone(),
        heads: if heads.len() == 1 && Some(heads[0]) == signed_head {
            Vec::new()
        } else {
            protocol::from_change_hashes(&heads)
        },
    });
    if sees || (creating && permissions::can_see(tx, device, &id, now_ms, state.retention_ms)?) {
        delivered::note_held(tx, &device.device_id, &id)?;
    }
    Ok(())
}

/// One uploaded change's bytes, parsed, or a rejection in `response`: a change that
/// would inflate past the limit is measured and refused before automerge sees it.
fn parse_uploaded(bytes: Vec<u8>, id: &IncidentId, response: &mut SyncResponse) -> Option<Change> {
    // Measured before it is parsed: automerge would inflate it whole.
    if let Ok(size) = untrusted::change_size(&bytes, MAX_CHANGE_BYTES as u64) {
        if size > MAX_CHANGE_BYTES as u64 {
            response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: None,
                reason: format!(
                    "inflates past {MAX_CHANGE_BYTES} bytes, the most one change may be"
                ),
            });
            return None;
        }
    }
    // Through the core's guard: automerge's parser can panic on crafted bytes. Bytes
    // that are no change chunk at all are named by it.
    match untrusted::parse_change(bytes) {
        Ok(change) => Some(change),
        Err(e) => {
            response.rejected.push(Rejection {
                incident: id.clone(),
                change_hash: None,
                reason: format!("not an automerge change: {e}"),
            });
            None
        }
    }
}

/// Work a device recorded while it held an incident that has since been archived
/// and deleted from the hub: the changes its signatures cover (the upload's history
/// signature, or each offered-again change's own) go to the archive beside the
/// incident's bundle with those signatures, the audit log says so, and the device is
/// told they were taken.
#[allow(clippy::too_many_arguments)]
fn archive_late(
    tx: &Connection,
    device: &Device,
    id: &IncidentId,
    archive_dir: &std::path::Path,
    signed: Vec<Change>,
    history: Option<&history::Signed>,
    retry_signatures: &BTreeMap<ChangeHash, [u8; 64]>,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    if signed.is_empty() {
        return Ok(());
    }
    let taken: Vec<ChangeHash> = signed.iter().map(Change::hash).collect();
    let late: Vec<crate::retention::LateChange> = signed
        .iter()
        .map(|change| crate::retention::LateChange {
            hash: change.hash().to_string(),
            bytes: hex::encode(change.raw_bytes()),
            signature: retry_signatures.get(&change.hash()).map(hex::encode),
        })
        .collect();
    let record = crate::evidence::device_record(tx, &device.device_id)?
        .ok_or_else(|| HubError::internal("an authenticated device has no record"))?;
    crate::retention::add_to_archive(archive_dir, id, &record, now_ms, &late, history)?;
    audit::record(
        tx,
        device,
        Some(id),
        SYNC_ENDPOINT,
        Action::OfflineChange,
        now_ms,
    )?;
    response.acks.push(Ack {
        incident: id.clone(),
        heads: protocol::from_change_hashes(&taken),
    });
    Ok(())
}

/// Fills the response with what the device lacks, within `budget` bytes: first other
/// people's changes to incidents it holds *and may still see*, in log order; then,
/// once those are all sent, incidents it may now see (whole) and incidents it may no
/// longer see.
///
/// What the device may see is decided here, for this response, never taken from
/// what it was given before: a device that lost sight of an incident gets none of
/// its changes, not even in the response that removes it, and a device that claims
/// not to have received that removal (an old cursor) is told again, and gets nothing.
fn send(
    state: &AppState,
    tx: &Connection,
    device: &Device,
    cursor: u64,
    budget: u64,
    now_ms: i64,
    response: &mut SyncResponse,
) -> HubResult<()> {
    let visible = permissions::visible(tx, device, now_ms, state.retention_ms)?;
    let mut used: u64 = 0;
    let mut last_seq = cursor;
    let mut cut = false;
    let mut by_incident: Vec<(IncidentId, Vec<Vec<u8>>)> = Vec::new();
    changes::for_device(tx, &device.device_id, cursor, |change| {
        if !visible.contains(&change.incident) {
            return true;
        }
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
