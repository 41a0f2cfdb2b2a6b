//! The sync wire format, shared by the device and the hub so that both sides compile
//! against one definition.
//!
//! A body is a postcard-encoded struct, zstd-compressed, sent as
//! [`CONTENT_TYPE`]. One `POST` to [`SYNC_PATH`] carries every document the device
//! changed and the cursor of what it has already seen; the response carries what it
//! lacks. Nothing in a request or response is per incident unless that incident has
//! something to say, so a sync where nothing changed is a few dozen bytes whatever the
//! number of incidents held.
//!
//! Changes travel as individual automerge change chunks (`Change::raw_bytes`), so the
//! hub can validate, acknowledge, reject and sign-check each one; concatenated they
//! are exactly what `save_after` produces.

use std::io::Read;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::IncidentId;

pub const CONTENT_TYPE: &str = "application/x-testigo-sync";
pub const SYNC_PATH: &str = "/v1/sync";
pub const ENROL_PATH: &str = "/v1/enrol";
/// Who the hub is ([`HubInfo`]), asked before enrolling.
pub const HUB_PATH: &str = "/v1/hub";
pub const HEALTH_PATH: &str = "/health";

/// Largest body either side accepts once decompressed. It bounds what a hostile
/// peer can make us allocate with a tiny compressed body.
pub const MAX_DECODED_BODY: u64 = 64 * 1024 * 1024;

/// An automerge change hash.
pub type Hash = [u8; 32];

/// What the device sends each round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The `cursor` of the last response this device processed completely; 0 at first.
    pub cursor: u64,
    pub uploads: Vec<Upload>,
    /// The device's budget for the response (before compression); the hub clamps it.
    pub max_response_bytes: u64,
    /// The device's one signature (64 bytes of ed25519) over the whole request: an
    /// [`evidence::UploadStatement`](crate::evidence::UploadStatement) over the Merkle
    /// tree whose leaves are the [`evidence::HistoryStatement`](crate::evidence::HistoryStatement)
    /// of each upload with changes, in the order of `uploads` — binding its incident,
    /// the hub's id, and the `seq` and hash of its *last* change. Neither hash nor seq
    /// travels: the hub computes every leaf from the change bytes, so the signature
    /// can only be checked against the changes it arrived with, and every other change
    /// of the device in an upload must be in its last change's history. Empty when no
    /// upload has changes, or when each upload carries its own signature instead.
    pub signature: Vec<u8>,
}

impl SyncRequest {
    /// Decodes a request body, also from devices that predate the request-level
    /// signature: their bodies end before `signature`, and each of their uploads
    /// carries its own.
    pub fn decode(body: &[u8]) -> Result<Self> {
        decode(body).or_else(|newer| {
            decode::<RequestBeforeUploadSignatures>(body)
                .map(|old| SyncRequest {
                    cursor: old.cursor,
                    uploads: old.uploads,
                    max_response_bytes: old.max_response_bytes,
                    signature: Vec::new(),
                })
                .map_err(|_| newer)
        })
    }
}

/// [`SyncRequest`] as devices sent it before one signature covered the request.
#[derive(Deserialize)]
struct RequestBeforeUploadSignatures {
    cursor: u64,
    uploads: Vec<Upload>,
    max_response_bytes: u64,
}

/// The changes of one incident that the hub does not have yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub incident: IncidentId,
    /// One automerge change per entry, in causal order.
    pub changes: Vec<Vec<u8>>,
    /// The device created this incident in the field and the hub has never seen it.
    pub new_incident: bool,
    /// The device's history signature over the *last* entry of `changes` alone (64
    /// bytes of ed25519 over that upload's `HistoryStatement`), as devices sent it
    /// before [`SyncRequest::signature`] covered every upload at once; still taken.
    /// Empty when the request signature covers this upload, or `changes` is empty.
    pub signature: Vec<u8>,
    /// The device's own changes that the hub refused before for a reason that may
    /// pass now (a dependency it lacked), offered again. They left the document when
    /// they were quarantined, so no signed history covers them: each carries its own
    /// signature over its hash (`evidence::sign_change`).
    pub retries: Vec<SignedChange>,
}

/// One change with the device's ed25519 signature (64 bytes) over its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedChange {
    pub change: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The hub's clock when it answered, for the device's clock offset.
    pub hub_time_ms: i64,
    /// Send this back as the next request's `cursor` once everything here is stored.
    pub cursor: u64,
    pub acks: Vec<Ack>,
    pub rejected: Vec<Rejection>,
    pub changes: Vec<IncidentChanges>,
    pub new_incidents: Vec<DeliveredIncident>,
    /// Incidents the device should no longer hold (unassigned, closed past retention).
    pub removed: Vec<IncidentId>,
    /// The response was cut to its budget: ask again straight away.
    pub more: bool,
    /// How long a closed incident stays on a device, in hours from the hub's closing
    /// time: the hub decides retention for every device.
    pub retention_hours: u32,
    /// When the hub saw each closed incident of this response closed (hub time), so
    /// that retention on the phone never counts from a closer's device clock.
    pub closed: Vec<Closed>,
    /// Checklist versions published since the device's cursor, oldest first. Empty
    /// (one byte) unless something was published; the device checks each again.
    pub templates: Vec<PublishedTemplate>,
}

/// The hub's closing time of an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub incident: IncidentId,
    pub at_ms: i64,
}

/// A checklist version a coordinator published: the template as JSON, exactly as the
/// hub checked it. The device parses and checks it again before it keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedTemplate {
    pub json: String,
}

/// The hub holds the incident at `heads`, which include every accepted upload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub incident: IncidentId,
    /// Empty when the hub's heads are exactly the change the upload signed (its last
    /// one), which the device knows: 32 random bytes per incident it need not be sent.
    pub heads: Vec<Hash>,
}

/// A change the hub refused, and why. `change_hash` is `None` only for bytes that
/// were not a change at all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub incident: IncidentId,
    pub change_hash: Option<Hash>,
    pub reason: String,
}

/// Changes other people made to an incident the device holds, in causal order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentChanges {
    pub incident: IncidentId,
    pub changes: Vec<Vec<u8>>,
    /// The hub's heads for the incident when it answered.
    pub heads: Vec<Hash>,
}

/// A whole incident the device is now allowed to see (automerge `save()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveredIncident {
    pub incident: IncidentId,
    pub document: Vec<u8>,
    pub heads: Vec<Hash>,
}

/// The hub's identity, public: its device id names the actor of every change it
/// writes, and enrolment proofs and history signatures are bound to it; evidence
/// bundles are pinned to its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubInfo {
    pub device_id: String,
    /// Hex of the hub's 32-byte ed25519 public key.
    pub public_key: String,
}

/// Enrolment: a one-time code, the device's public key and proof that the device
/// holds the matching secret key, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// Hex of the 32-byte ed25519 public key.
    pub public_key: String,
    /// Hex of the 64-byte ed25519 signature, by that key, over
    /// `sync::enrolment::proof_message(hub, code, public_key)`.
    pub proof: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub device_id: String,
    pub role: crate::incident::Role,
    pub team: Option<String>,
    /// Bearer credential: 32 random bytes in hex. The hub keeps only its hash.
    pub credential: String,
}

/// The JSON body of every error the hub returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable: `unauthenticated`, `forbidden`, `not_found`,
    /// `bad_request`, `code_expired`, `code_used`, `rate_limited`…
    pub error: String,
    pub reason: String,
}

/// zstd level of most bodies: fast, and responses are mostly small.
pub const DEFAULT_LEVEL: i32 = 3;

/// zstd level of a request that carries uploads. Changes are made once and sent once
/// over what is often a poor link, so the device spends more time compressing them;
/// the level is the benchmark's pick (`enc:` rows of S1 in BENCHMARKS.md), and
/// decompressing on the hub costs the same at any level.
pub const UPLOAD_LEVEL: i32 = 19;

/// postcard, then zstd at [`DEFAULT_LEVEL`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    encode_at(value, DEFAULT_LEVEL)
}

/// postcard, then zstd at `level`.
pub fn encode_at<T: Serialize>(value: &T, level: i32) -> Result<Vec<u8>> {
    let plain =
        postcard::to_stdvec(value).map_err(|e| Error::Sync(format!("cannot encode: {e}")))?;
    // In one piece, so zstd knows the size and scales its tables (and memory) to it.
    zstd::bulk::compress(&plain, level).map_err(|e| Error::Sync(format!("cannot compress: {e}")))
}

/// The reverse of [`encode`], for bodies from anywhere: refuses anything that
/// decompresses past [`MAX_DECODED_BODY`] or does not decode exactly.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let plain = decompress(body)?;
    postcard::from_bytes(&plain)
        .map_err(|e| Error::invalid("body", format!("not a valid sync message: {e}")))
}

/// Decompresses a body with the size limit (also used by tests that inspect bodies).
pub fn decompress(body: &[u8]) -> Result<Vec<u8>> {
    let decoder = zstd::stream::read::Decoder::new(body)
        .map_err(|e| Error::invalid("body", format!("not zstd: {e}")))?;
    let mut plain = Vec::new();
    decoder
        .take(MAX_DECODED_BODY + 1)
        .read_to_end(&mut plain)
        .map_err(|e| Error::invalid("body", format!("not zstd: {e}")))?;
    if plain.len() as u64 > MAX_DECODED_BODY {
        return Err(Error::invalid(
            "body",
            format!("decompresses past {MAX_DECODED_BODY} bytes"),
        ));
    }
    Ok(plain)
}

/// Hashes from the wire, as automerge's type.
pub fn to_change_hashes(hashes: &[Hash]) -> Vec<automerge::ChangeHash> {
    hashes.iter().map(|h| automerge::ChangeHash(*h)).collect()
}

/// Automerge hashes for the wire.
pub fn from_change_hashes(hashes: &[automerge::ChangeHash]) -> Vec<Hash> {
    hashes.iter().map(|h| h.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_from_a_device_before_request_signatures_still_decodes() {
        #[derive(Serialize)]
        struct Before {
            cursor: u64,
            uploads: Vec<Upload>,
            max_response_bytes: u64,
        }
        let upload = Upload {
            incident: IncidentId::generate(),
            changes: vec![vec![1, 2, 3]],
            new_incident: true,
            signature: vec![9; 64],
            retries: vec![],
        };
        let body = encode(&Before {
            cursor: 7,
            uploads: vec![upload.clone()],
            max_response_bytes: 1 << 20,
        })
        .unwrap();
        assert!(
            decode::<SyncRequest>(&body).is_err(),
            "the newer shape needs its signature"
        );
        let request = SyncRequest::decode(&body).unwrap();
        assert_eq!(
            request,
            SyncRequest {
                cursor: 7,
                uploads: vec![upload],
                max_response_bytes: 1 << 20,
                signature: vec![],
            }
        );
        let current = SyncRequest {
            signature: vec![5; 64],
            ..request
        };
        assert_eq!(
            SyncRequest::decode(&encode(&current).unwrap()).unwrap(),
            current
        );
    }

    #[test]
    fn an_empty_round_is_tiny_and_round_trips() {
        let request = SyncRequest {
            cursor: 123_456,
            uploads: vec![],
            max_response_bytes: 4 << 20,
            signature: vec![],
        };
        let bytes = encode(&request).unwrap();
        assert!(bytes.len() < 40, "{} bytes", bytes.len());
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), request);
        let response = SyncResponse {
            hub_time_ms: 1_700_000_000_000,
            cursor: 99,
            ..Default::default()
        };
        assert_eq!(
            decode::<SyncResponse>(&encode(&response).unwrap()).unwrap(),
            response
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<SyncRequest>(b"").is_err());
        assert!(decode::<SyncRequest>(b"\x28\xb5\x2f\xfd garbage").is_err());
        let not_a_request = zstd::encode_all(&[0xff_u8; 64][..], 1).unwrap();
        assert!(decode::<SyncRequest>(&not_a_request).is_err());
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let zeros = vec![0u8; (MAX_DECODED_BODY + 10) as usize];
        let bomb = zstd::encode_all(zeros.as_slice(), 1).unwrap();
        assert!(bomb.len() < 10 << 20);
        assert!(decompress(&bomb).is_err());
    }
}
