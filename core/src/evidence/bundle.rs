//! The evidence bundle: one self-checking JSON file per export.
//!
//! It holds, for each incident, the plain automerge document (base64), a readable JSON
//! rendering of it, its observations and checkpoints as GeoJSON, every change with its
//! author device, signature (where the change has one of its own) and hub receipt
//! time, and the devices' history signatures; plus the public key, role and enrolment
//! time of every device that wrote. A bundle the hub exports also carries the hub's
//! key and its signatures over each author record, each incident's heads and each
//! receipt time (see `attestation`). The same inputs always give the same bytes: no
//! export time, every list in a defined order.
//!
//! Format 1 (every change signed on its own, no hub signatures) is still read and
//! verified; format 2 adds history signatures and the hub's attestations.

use std::collections::{BTreeMap, HashMap};

use automerge::{Automerge, ChangeHash};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use ed25519_dalek::SigningKey;

use super::attestation;
use super::geojson::incident_features;
use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::incident::{read_view, render_json, Role};

/// Format 3: a history signature may be a request's, over a tree of statements
/// ([`HistoryEntry::upload`]).
pub const FORMAT: &str = "testigo-evidence/3";
/// Bundles written when every history signature covered one upload alone: still
/// verified, by the same rules.
pub const FORMAT_V2: &str = "testigo-evidence/2";
/// Bundles written before history signatures: still verified.
pub const FORMAT_V1: &str = "testigo-evidence/1";

/// A device as the hub enrolled it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: DeviceId,
    /// ed25519 public key, hex.
    pub public_key: String,
    pub role: Role,
    pub enrolled_at: DateTime<Utc>,
    /// The hub's signature over the four fields above, hex (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_signature: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEntry {
    pub hash: String,
    pub device_id: Option<DeviceId>,
    pub seq: u64,
    /// The author's device time, seconds since the epoch, as the change records it.
    pub time: i64,
    pub message: Option<String>,
    pub deps: Vec<String>,
    /// ed25519 signature over the change hash, hex: every change in format 1; in
    /// format 2 only the hub's own changes (device changes are covered by `history`).
    pub signature: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// The hub's signature over the incident, this hash and `received_at`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_signature: Option<String>,
}

/// A device's history signature (see `HistoryStatement`) as the hub received it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub device_id: DeviceId,
    pub seq: u64,
    pub head: String,
    pub signature: String,
    /// The signed change, base64, when the hub refused it and so the document lacks
    /// it: its dependencies still show which accepted changes it vouches for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_change: Option<String>,
    /// Set when `signature` is the device's one signature over a whole request: where
    /// this statement sits in that request's tree (format 3). Absent: the signature
    /// covers this statement alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadPlace>,
}

/// A history statement's place in the Merkle tree a request signature covers (see
/// `evidence::Inclusion`): the other leaves appear only as hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadPlace {
    pub index: u64,
    pub leaves: u64,
    /// The tree's root, hex.
    pub root: String,
    /// The RFC 6962 inclusion proof, hex: 32-byte sibling hashes from the leaf up.
    pub proof: String,
}

impl From<&super::Inclusion> for UploadPlace {
    fn from(inclusion: &super::Inclusion) -> Self {
        Self {
            index: inclusion.index,
            leaves: inclusion.leaves,
            root: hex::encode(inclusion.root),
            proof: hex::encode(&inclusion.proof),
        }
    }
}

impl UploadPlace {
    /// The inclusion it writes down; `None` when its hex is malformed.
    pub fn inclusion(&self) -> Option<super::Inclusion> {
        Some(super::Inclusion {
            index: self.index,
            leaves: self.leaves,
            root: hex::decode(&self.root).ok()?.try_into().ok()?,
            proof: hex::decode(&self.proof).ok()?,
        })
    }
}

/// The hub that signed a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubRecord {
    pub device_id: DeviceId,
    /// ed25519 public key, hex: what `testigo verify --hub-key` compares with.
    pub public_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentEntry {
    pub id: String,
    /// `Automerge::save()` bytes, base64: any automerge implementation loads them.
    pub document: String,
    pub rendering: serde_json::Value,
    pub geojson: serde_json::Value,
    /// The document's heads as the hub signed them (format 2).
    #[serde(default)]
    pub heads: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads_signature: Option<String>,
    pub changes: Vec<ChangeEntry>,
    /// Format 2: the history signatures of the incident's authors.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// Format 2: the hub whose signatures the bundle carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubRecord>,
    pub devices: Vec<DeviceRecord>,
    pub incidents: Vec<IncidentEntry>,
}

/// One incident to export, with what the hub knows about its changes.
pub struct IncidentEvidence<'a> {
    pub document: &'a Automerge,
    pub signatures: &'a HashMap<ChangeHash, [u8; 64]>,
    pub received_at: &'a HashMap<ChangeHash, DateTime<Utc>>,
    pub history: &'a [HistoryEntry],
}

/// Writes a bundle. `hub_key`: the hub's signing key, which makes it the bundle's
/// trust anchor (see `attestation`); `None` for a bundle made on a device, which only
/// its authors' signatures vouch for.
pub fn export(
    incidents: &[IncidentEvidence<'_>],
    devices: &[DeviceRecord],
    hub_key: Option<&SigningKey>,
) -> Result<Vec<u8>> {
    let mut entries = Vec::with_capacity(incidents.len());
    for evidence in incidents {
        let doc = evidence.document;
        let view = read_view(doc)?;
        let mut changes: Vec<ChangeEntry> = doc
            .get_changes(&[])
            .iter()
            .map(|change| {
                let hash = change.hash();
                ChangeEntry {
                    hash: hash.to_string(),
                    device_id: DeviceId::from_actor(change.actor_id()),
                    seq: change.seq(),
                    time: change.timestamp(),
                    message: change.message().map(str::to_owned),
                    deps: change.deps().iter().map(ChangeHash::to_string).collect(),
                    signature: evidence.signatures.get(&hash).map(hex::encode),
                    received_at: evidence.received_at.get(&hash).copied(),
                    hub_signature: None,
                }
            })
            .collect();
        changes.sort_by(|a, b| (a.time, &a.hash).cmp(&(b.time, &b.hash)));
        let id = view.id.to_string();
        let heads = attestation::hex_heads(&doc.get_heads());
        let mut history = evidence.history.to_vec();
        history.sort_by(|a, b| (&a.device_id, a.seq, &a.head).cmp(&(&b.device_id, b.seq, &b.head)));
        let mut heads_signature = None;
        if let Some(key) = hub_key {
            heads_signature = Some(attestation::sign(
                key,
                &attestation::heads_message(&id, &heads),
            ));
            for change in &mut changes {
                let message = attestation::receipt_message(&id, &change.hash, change.received_at);
                change.hub_signature = Some(attestation::sign(key, &message));
            }
        }
        entries.push(IncidentEntry {
            document: base64::engine::general_purpose::STANDARD.encode(doc.save()),
            rendering: render_json(doc),
            geojson: crate::incident::json_bridge::canonical(incident_features(&view)),
            heads,
            heads_signature,
            changes,
            history,
            id,
        });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));

    // Only the devices that wrote something in the bundle, in id order.
    let writers: BTreeMap<&DeviceId, ()> = entries
        .iter()
        .flat_map(|i| i.changes.iter().filter_map(|c| c.device_id.as_ref()))
        .map(|d| (d, ()))
        .collect();
    let mut devices: Vec<DeviceRecord> = devices
        .iter()
        .filter(|d| writers.contains_key(&d.device_id))
        .cloned()
        .collect();
    devices.sort_by(|a, b| a.device_id.cmp(&b.device_id));
    devices.dedup_by(|a, b| a.device_id == b.device_id);
    if let Some(key) = hub_key {
        for device in &mut devices {
            device.hub_signature =
                Some(attestation::sign(key, &attestation::device_message(device)));
        }
    }

    let bundle = Bundle {
        format: FORMAT.to_owned(),
        hub: hub_key.map(|key| {
            let public = key.verifying_key().to_bytes();
            HubRecord {
                device_id: DeviceId::from_public_key(&public),
                public_key: hex::encode(public),
            }
        }),
        devices,
        incidents: entries,
    };
    // serde_json writes struct fields in declaration order and every map in a bundle
    // is in sorted key order (the renderings and GeoJSON are sorted explicitly, since
    // serde_json keeps insertion order in builds with `preserve_order`), so the output
    // is canonical.
    let mut bytes = serde_json::to_vec_pretty(&bundle)
        .map_err(|e| Error::Storage(format!("cannot encode the bundle: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}
