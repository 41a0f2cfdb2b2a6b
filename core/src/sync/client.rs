//! The device side of sync and enrolment, over blocking reqwest with rustls.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use automerge::{ChangeHash, ReadDoc};
use rustls_platform_verifier::BuilderVerifierExt;

use super::bookkeeping;
use super::protocol::{self, *};
use super::quarantine::quarantine_rejected;
use super::report::{RejectedChange, SyncReport};
use crate::error::{Error, Result};
use crate::evidence::{HistoryStatement, UploadStatement};
use crate::ids::{DeviceId, IncidentId};
use crate::rules::limits::{MAX_CHANGES_PER_REQUEST, MAX_CHANGE_BYTES_PER_REQUEST};
use crate::store::{DeviceIdentity, Store};
use crate::time::{from_millis, ClockOffset};

/// Most change bytes and changes the client puts in one request: half of what the hub
/// takes, so an honest device never meets the hub's 413.
const MAX_UPLOAD_BYTES: usize = (MAX_CHANGE_BYTES_PER_REQUEST / 2) as usize;
const MAX_UPLOAD_CHANGES: usize = MAX_CHANGES_PER_REQUEST / 2;

/// Limits of one sync. The defaults suit a phone on a poor connection: a round is a
/// few MiB at most, so a cut connection costs little to redo.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Budget the hub is asked to keep each response under (before compression).
    pub max_response_bytes: u64,
    /// Uploads beyond this many change bytes wait for the next request of the same sync.
    pub max_request_bytes: usize,
    /// Rounds one sync may take before it stops (and the next sync goes on).
    pub max_requests: u32,
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            max_response_bytes: 4 << 20,
            max_request_bytes: 4 << 20,
            max_requests: 64,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Syncs with the hub at `hub_url`, or the one saved at enrolment.
pub fn sync(store: &Store, hub_url: Option<&str>) -> Result<SyncReport> {
    sync_with(store, hub_url, &SyncOptions::default())
}

/// One sync: rounds of request/response until the hub has everything of ours and we
/// have everything of the hub's that we may see. Each round is idempotent: if it
/// fails anywhere (request or response cut at any byte), the store holds what it held
/// before or a harmless part of the round's result, and the next sync redoes it.
pub fn sync_with(
    store: &Store,
    hub_url: Option<&str>,
    options: &SyncOptions,
) -> Result<SyncReport> {
    let identity = store.identity();
    let credential = identity
        .credential
        .clone()
        .ok_or_else(|| Error::not_permitted("this device is not enrolled with a hub"))?;
    let base = hub_url
        .map(str::to_owned)
        .or_else(|| identity.hub_url.clone())
        .ok_or_else(|| Error::invalid("hub url", "none given and none saved at enrolment"))?;
    let url = format!("{}{SYNC_PATH}", base.trim_end_matches('/'));
    let client = http_client(options.timeout)?;
    let hub = super::enrolment::hub_device_id(store, &client, &base)?;
    let mut report = SyncReport::default();
    // An incident is uploaded at most once per sync, so a hub that keeps refusing
    // something cannot keep this loop going.
    let mut attempted = HashSet::new();
    loop {
        let Outgoing {
            uploads,
            more: uploads_left,
            retried,
            signed_heads,
            statements,
        } = build_uploads(
            store,
            &identity,
            &hub,
            &mut attempted,
            options.max_request_bytes,
        )?;
        // One signature for the whole request (see `SyncRequest::signature`).
        let signature = UploadStatement::over(&hub, &statements)
            .map(|statement| statement.sign(&identity).to_vec())
            .unwrap_or_default();
        let request = SyncRequest {
            cursor: bookkeeping::cursor(store)?,
            uploads,
            max_response_bytes: options.max_response_bytes,
            signature,
        };
        let level = if request.uploads.is_empty() {
            DEFAULT_LEVEL
        } else {
            UPLOAD_LEVEL
        };
        let body = encode_at(&request, level)?;
        report.changes_up += request
            .uploads
            .iter()
            .map(|u| (u.changes.len() + u.retries.len()) as u32)
            .sum::<u32>();
        report.bytes_up += body.len() as u64;
        let sent = store.now();
        let response = client
            .post(&url)
            .bearer_auth(&credential)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body)
            .send()
            .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
        report.requests += 1;
        let bytes = read_body_of(response)?;
        let received = store.now();
        report.bytes_down += bytes.len() as u64;
        let response: SyncResponse = decode(&bytes)
            .map_err(|e| Error::Sync(format!("unreadable answer from the hub: {e}")))?;
        apply_response(
            store,
            &response,
            &signed_heads,
            &retried,
            &mut report,
            sent,
            received,
        )?;
        if !(response.more || uploads_left) || report.requests >= options.max_requests {
            return Ok(report);
        }
    }
}

/// Quarantined changes offered to the hub again in one request, by incident.
type Retried = BTreeMap<IncidentId, Vec<(ChangeHash, Vec<u8>)>>;

/// What one request uploads, and what reading its answer needs.
#[derive(Default)]
struct Outgoing {
    uploads: Vec<Upload>,
    /// Some changes wait for the next request of this sync.
    more: bool,
    retried: Retried,
    /// The signed (last) change of each upload: an ack without heads means it.
    signed_heads: BTreeMap<IncidentId, Hash>,
    /// What the request signature covers: the history statement of each upload with
    /// changes, in upload order.
    statements: Vec<HistoryStatement>,
}

/// The changes of every incident flagged unsynced, and the quarantined changes that
/// may be taken now (`bookkeeping::may_succeed_later`), up to the request budget.
fn build_uploads(
    store: &Store,
    identity: &DeviceIdentity,
    hub: &DeviceId,
    attempted: &mut HashSet<IncidentId>,
    max_bytes: usize,
) -> Result<Outgoing> {
    let actor = identity.device_id.actor_id();
    // Inside what the hub takes in one request, whatever the options say.
    let max_bytes = max_bytes.min(MAX_UPLOAD_BYTES);
    let mut out = Outgoing::default();
    let mut size = 0;
    let mut count = 0;
    let mut candidates = store.unsynced_incidents()?;
    for id in bookkeeping::incidents_to_retry(store)? {
        if !candidates.contains(&id) {
            candidates.push(id);
        }
    }
    for id in candidates {
        if attempted.contains(&id) {
            continue;
        }
        if (size >= max_bytes || count >= MAX_UPLOAD_CHANGES) && !out.uploads.is_empty() {
            out.more = true;
            return Ok(out);
        }
        let (upload, hub_heads, retry, cut, statement) =
            store.with_document_and_connection(&id, |doc, conn| {
                let hub_heads = bookkeeping::hub_heads(conn, &id)?;
                let new_incident = hub_heads.is_none();
                let hub_heads = hub_heads.unwrap_or_default();
                let known: Vec<ChangeHash> = hub_heads
                    .iter()
                    .filter(|h| doc.get_change_by_hash(h).is_some())
                    .copied()
                    .collect();
                let mut mine: Vec<_> = doc
                    .get_changes(&known)
                    .into_iter()
                    .filter(|c| c.actor_id() == &actor)
                    .collect();
                // A long offline stretch goes up in causal prefixes, each within the
                // request limits; the rest follows in the next request of the same sync.
                let mut room_bytes = max_bytes.saturating_sub(size);
                let room_changes = MAX_UPLOAD_CHANGES.saturating_sub(count);
                let mut keep = 0;
                for change in &mine {
                    let len = change.raw_bytes().len();
                    if keep > 0 && (len > room_bytes || keep >= room_changes) {
                        break;
                    }
                    room_bytes = room_bytes.saturating_sub(len);
                    keep += 1;
                }
                let cut = keep < mine.len();
                mine.truncate(keep);
                // One statement for the whole history: `get_changes` lists in causal
                // order, so the last change of ours descends from every earlier one.
                let statement = mine.last().map(|head| HistoryStatement {
                    incident: id.clone(),
                    hub: hub.clone(),
                    seq: head.seq(),
                    head: head.hash(),
                });
                let changes: Vec<Vec<u8>> = mine.iter().map(|c| c.raw_bytes().to_vec()).collect();
                // Quarantined changes are no longer in the document, so no later change
                // of ours descends from them: each goes with its own signature. Sent
                // once all of the document's are up, since they build on it.
                let retry: Vec<(ChangeHash, Vec<u8>)> = if cut {
                    Vec::new()
                } else {
                    bookkeeping::retryable(conn, &id)?
                        .into_iter()
                        .filter(|(hash, _)| doc.get_change_by_hash(hash).is_none())
                        .collect()
                };
                let retries = retry
                    .iter()
                    .map(|(hash, bytes)| SignedChange {
                        change: bytes.clone(),
                        signature: crate::evidence::sign_change(identity, hash).to_vec(),
                    })
                    .collect();
                Ok((
                    Upload {
                        incident: id.clone(),
                        changes,
                        new_incident,
                        signature: Vec::new(),
                        retries,
                    },
                    hub_heads,
                    retry,
                    cut,
                    statement,
                ))
            })?;
        if let Some(statement) = statement {
            out.signed_heads.insert(id.clone(), statement.head.0);
            out.statements.push(statement);
        }
        if cut {
            // Not attempted yet as a whole: the next request sends the rest.
            out.uploads.push(upload);
            out.more = true;
            return Ok(out);
        }
        attempted.insert(id.clone());
        if !retry.is_empty() {
            out.retried.insert(id.clone(), retry);
        }
        if upload.changes.is_empty() && upload.retries.is_empty() {
            // Flagged, but the hub already has all of it (its ack was lost last time).
            store.refresh_unsynced(&id, &hub_heads)?;
            continue;
        }
        size += upload.changes.iter().map(Vec::len).sum::<usize>()
            + upload.retries.iter().map(|r| r.change.len()).sum::<usize>();
        count += upload.changes.len() + upload.retries.len();
        out.uploads.push(upload);
    }
    Ok(out)
}

/// Stores one response. Order matters: refused changes leave the documents first, so
/// that acknowledged heads are compared with what really remains.
fn apply_response(
    store: &Store,
    response: &SyncResponse,
    signed_heads: &BTreeMap<IncidentId, Hash>,
    retried: &Retried,
    report: &mut SyncReport,
    sent: chrono::DateTime<chrono::Utc>,
    received: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if let Some(hub_time) = from_millis(response.hub_time_ms) {
        let offset = ClockOffset::measure(sent, received, hub_time);
        store.set_clock_offset(offset)?;
        report.clock_offset_ms = offset.millis;
        report.skewed = offset.is_skewed();
    }
    let now_ms = received.timestamp_millis();

    let mut rejected: BTreeMap<IncidentId, BTreeMap<ChangeHash, String>> = BTreeMap::new();
    for r in &response.rejected {
        match r.change_hash {
            Some(hash) => {
                rejected
                    .entry(r.incident.clone())
                    .or_default()
                    .insert(ChangeHash(hash), r.reason.clone());
            }
            None => report.rejected.push(RejectedChange {
                incident: r.incident.clone(),
                change_hash: None,
                reason: r.reason.clone(),
            }),
        }
    }
    for (id, hashes) in &rejected {
        if holds(store, id)? {
            report
                .rejected
                .extend(quarantine_rejected(store, id, hashes, now_ms)?);
        }
    }
    // Quarantined changes offered again: refused again, they stay with the new
    // reason; taken (acknowledged, not refused), they rejoin the document.
    for (id, changes) in retried {
        let acknowledged = response.acks.iter().any(|a| a.incident == *id);
        for (hash, bytes) in changes {
            match rejected.get(id).and_then(|r| r.get(hash)) {
                Some(reason) => {
                    store.with_connection(|conn| {
                        bookkeeping::quarantine(conn, id, hash, bytes, reason, now_ms)
                    })?;
                    report.rejected.push(RejectedChange {
                        incident: id.clone(),
                        change_hash: Some(hash.to_string()),
                        reason: reason.clone(),
                    });
                }
                None if acknowledged && holds(store, id)? => {
                    store.merge_remote(id, bytes)?;
                    store.with_connection(|conn| bookkeeping::release(conn, hash))?;
                }
                None => {}
            }
        }
    }

    // Checklists before incidents, so an incident opened with a new checklist
    // arrives to a device that can already run it.
    for published in &response.templates {
        let kept = crate::checklist::CheckedTemplate::from_json(&published.json)
            .and_then(|template| store.publish_template(template));
        match kept {
            Ok(reference) => {
                tracing::info!(template = %reference.id, version = reference.version, "checklist received");
                report.templates_received += 1;
            }
            Err(error) => {
                tracing::warn!(%error, "checklist from the hub refused");
                report.templates_refused.push(error.to_string());
            }
        }
    }
    for delivered in &response.new_incidents {
        let held = holds(store, &delivered.incident)?;
        let received = store.merge_received(&delivered.incident, &delivered.document)?;
        note_refused(report, &delivered.incident, received.refused);
        record_hub_heads(store, &delivered.incident, &delivered.heads)?;
        if !held {
            report.incidents_added += 1;
            report.new_incidents.push(delivered.incident.clone());
        }
    }
    for incoming in &response.changes {
        if !holds(store, &incoming.incident)? {
            // Changes alone cannot make a document; the hub re-sends the whole
            // incident once it sees this device lacks it.
            tracing::warn!(incident = %incoming.incident, "changes for an incident this device does not hold");
            continue;
        }
        let bytes: Vec<u8> = incoming.changes.concat();
        let received = store.merge_received(&incoming.incident, &bytes)?;
        note_refused(report, &incoming.incident, received.refused);
        report.changes_down += incoming.changes.len() as u32;
        record_hub_heads(store, &incoming.incident, &incoming.heads)?;
    }
    for ack in &response.acks {
        if !ack.heads.is_empty() {
            record_hub_heads(store, &ack.incident, &ack.heads)?;
        } else if let Some(head) = signed_heads.get(&ack.incident) {
            record_hub_heads(store, &ack.incident, std::slice::from_ref(head))?;
        }
    }
    for closed in &response.closed {
        store.note_hub_closing(&closed.incident, closed.at_ms)?;
    }
    if response.retention_hours > 0 {
        store.set_setting(
            crate::store::RETENTION_HOURS,
            &response.retention_hours.to_string(),
        )?;
    }

    for id in &response.removed {
        if !holds(store, id)? {
            continue;
        }
        if store.has_unsynced(id)? {
            bookkeeping::add_pending_removal(store, id, now_ms)?;
        } else {
            store.remove_incident(id)?;
            report.incidents_removed += 1;
        }
    }
    for id in bookkeeping::pending_removals(store)? {
        if !holds(store, &id)? {
            bookkeeping::clear_pending_removal(store, &id)?;
        } else if !store.has_unsynced(&id)? {
            store.remove_incident(&id)?;
            bookkeeping::clear_pending_removal(store, &id)?;
            report.incidents_removed += 1;
        }
    }
    // Last: only now is everything the cursor stands for on disk.
    bookkeeping::set_cursor(store, response.cursor)
}

/// Changes the hub sent that break the incident's rules were left out of the document
/// (the hub is not trusted blindly either); the report says which and why.
fn note_refused(report: &mut SyncReport, id: &IncidentId, refused: Vec<(ChangeHash, String)>) {
    report
        .rejected
        .extend(refused.into_iter().map(|(hash, reason)| RejectedChange {
            incident: id.clone(),
            change_hash: Some(hash.to_string()),
            reason: format!("received from the hub and refused: {reason}"),
        }));
}

/// Remembers what the hub holds and clears the unsynced flag if that covers all of
/// this device's changes to the incident.
fn record_hub_heads(store: &Store, id: &IncidentId, heads: &[Hash]) -> Result<()> {
    if !holds(store, id)? {
        return Ok(());
    }
    let heads = protocol::to_change_hashes(heads);
    store.with_connection(|conn| bookkeeping::set_hub_heads(conn, id, &heads))?;
    store.refresh_unsynced(id, &heads)?;
    Ok(())
}

fn holds(store: &Store, id: &IncidentId) -> Result<bool> {
    store.with_connection(|conn| {
        Ok(conn.query_row(
            "SELECT count(*) FROM documents WHERE incident_id = ?1",
            [id.as_str()],
            |r| r.get::<_, i64>(0),
        )? > 0)
    })
}

/// The body of a successful response, or the hub's reason as an error a UI can act on.
pub(super) fn read_body_of(response: reqwest::blocking::Response) -> Result<Vec<u8>> {
    let status = response.status();
    let body = response
        .bytes()
        .map_err(|e| Error::Sync(format!("the hub's answer was cut: {e}")))?
        .to_vec();
    read_body(status, body)
}

/// `body` when `status` is a success, or the hub's reason as an error a UI can act on.
pub(super) fn read_body(status: reqwest::StatusCode, body: Vec<u8>) -> Result<Vec<u8>> {
    if status.is_success() {
        return Ok(body);
    }
    let reason = serde_json::from_slice::<ErrorBody>(&body)
        .map(|e| e.reason)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
    Err(match status.as_u16() {
        401 => Error::not_permitted(format!("the hub does not recognise this device: {reason}")),
        403 => Error::not_permitted(reason),
        400..=499 => Error::invalid(
            "request",
            format!("the hub refused it ({status}): {reason}"),
        ),
        _ => Error::Sync(format!("the hub failed ({status}): {reason}")),
    })
}

/// A client with rustls on the ring provider (aws-lc does not cross-build for
/// Android). Servers are verified by rustls-platform-verifier: the OS trust store on
/// iOS and desktop; on Android it must first be initialised with the app's JNI
/// context by the platform layer. Also used by callers of the hub's JSON API, so the
/// whole project has one TLS setup ([`tls_config`]).
pub fn http_client(timeout: Duration) -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Sync(format!("cannot set up HTTPS: {e}")))
}

/// The TLS setup every client of the process shares, made on first use. Making it
/// reads and parses every root certificate the system trusts — on desktop Linux most
/// of a sync round's CPU time when each sync made its own, and on a phone woken to
/// sync, battery for nothing. Only a success is kept: on Android, a sync tried before
/// the platform layer initialised the verifier fails, and the next one after succeeds.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig> {
    static SHARED: Mutex<Option<rustls::ClientConfig>> = Mutex::new(None);
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(config) = shared.as_ref() {
        return Ok(config.clone());
    }
    install_crypto_provider();
    let cannot = |e: rustls::Error| Error::Sync(format!("cannot set up HTTPS: {e}"));
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(cannot)?
    .with_platform_verifier()
    .map_err(cannot)?
    .with_no_client_auth();
    // The clients speak HTTP/1.1 only (reqwest without its http2 feature).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    #[cfg(test)]
    tests::TLS_SETUPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    *shared = Some(config.clone());
    Ok(config)
}

/// Installs rustls' ring provider for the process, once (see [`http_client`]).
pub(super) fn install_crypto_provider() {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Err means another part of the process installed one first; that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    pub(super) static TLS_SETUPS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn every_client_of_the_process_shares_one_tls_setup() {
        for timeout in [5, 30, 5] {
            http_client(Duration::from_secs(timeout)).unwrap();
        }
        let config = tls_config().unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert_eq!(TLS_SETUPS.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
