//! The evidence bundle: one self-checking JSON file per export.
//!
//! It holds, for each incident, the plain automerge document (base64), a readable JSON
//! rendering of it, its observations and checkpoints as GeoJSON, and every change
//! with its author device, signature and hub receipt time; plus the public key, role
//! and enrolment time of every device that wrote. The same inputs always give the same
//! bytes: no export time, every list in a defined order.

use std::collections::{BTreeMap, HashMap};

use automerge::{Automerge, ChangeHash};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::geojson::incident_features;
use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::incident::{read_view, render_json, Role};

pub const FORMAT: &str = "testigo-evidence/1";

/// A device as the hub enrolled it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub device_id: DeviceId,
    /// ed25519 public key, hex.
    pub public_key: String,
    pub role: Role,
    pub enrolled_at: DateTime<Utc>,
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
    /// ed25519 signature over the change hash, hex.
    pub signature: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentEntry {
    pub id: String,
    /// `Automerge::save()` bytes, base64: any automerge implementation loads them.
    pub document: String,
    pub rendering: serde_json::Value,
    pub geojson: serde_json::Value,
    pub changes: Vec<ChangeEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    pub devices: Vec<DeviceRecord>,
    pub incidents: Vec<IncidentEntry>,
}

/// One incident to export, with what the hub knows about its changes.
pub struct IncidentEvidence<'a> {
    pub document: &'a Automerge,
    pub signatures: &'a HashMap<ChangeHash, [u8; 64]>,
    pub received_at: &'a HashMap<ChangeHash, DateTime<Utc>>,
}

pub fn export(incidents: &[IncidentEvidence<'_>], devices: &[DeviceRecord]) -> Result<Vec<u8>> {
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
                }
            })
            .collect();
        changes.sort_by(|a, b| (a.time, &a.hash).cmp(&(b.time, &b.hash)));
        entries.push(IncidentEntry {
            id: view.id.to_string(),
            document: base64::engine::general_purpose::STANDARD.encode(doc.save()),
            rendering: render_json(doc),
            geojson: incident_features(&view),
            changes,
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

    let bundle = Bundle {
        format: FORMAT.to_owned(),
        devices,
        incidents: entries,
    };
    // serde_json writes struct fields in declaration order and our maps are sorted
    // (serde_json's default Map is a BTreeMap), so the output is canonical.
    let mut bytes = serde_json::to_vec_pretty(&bundle)
        .map_err(|e| Error::Storage(format!("cannot encode the bundle: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}
