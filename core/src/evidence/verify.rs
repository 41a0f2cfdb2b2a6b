//! Checking an evidence bundle, as a third party would with `testigo verify`.
//!
//! Every claim in the bundle is recomputed from the automerge document it carries:
//! the change list and each change's author, time and dependencies; every signature
//! against the author's enrolled key; the JSON rendering and the GeoJSON against the
//! document. Each discrepancy is reported with the incident, the change and the
//! field it concerns.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ChangeHash;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use super::bundle::{Bundle, FORMAT};
use super::geojson::incident_features;
use super::signing::verify_change;
use crate::ids::DeviceId;
use crate::incident::{read_view, render_json};

/// One thing that does not hold, located as precisely as the bundle allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub incident: Option<String>,
    pub change: Option<String>,
    /// What is wrong, e.g. `signature`, `rendering/report/place_text`, `document`.
    pub field: String,
    pub detail: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VerificationReport {
    pub incidents: usize,
    pub changes_checked: usize,
    pub signatures_checked: usize,
    pub findings: Vec<Finding>,
}

impl VerificationReport {
    pub fn is_valid(&self) -> bool {
        self.findings.is_empty() && self.incidents > 0
    }
}

pub fn verify(bytes: &[u8]) -> VerificationReport {
    let mut report = VerificationReport::default();
    let bundle: Bundle = match serde_json::from_slice(bytes) {
        Ok(bundle) => bundle,
        Err(e) => {
            report.findings.push(Finding {
                incident: None,
                change: None,
                field: "bundle".into(),
                detail: format!("not a Testigo evidence bundle: {e}"),
            });
            return report;
        }
    };
    if bundle.format != FORMAT {
        report.findings.push(Finding {
            incident: None,
            change: None,
            field: "format".into(),
            detail: format!("{:?} is not {FORMAT:?}", bundle.format),
        });
    }

    let mut keys: BTreeMap<DeviceId, [u8; 32]> = BTreeMap::new();
    for device in &bundle.devices {
        match hex::decode(&device.public_key)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        {
            Some(key) if DeviceId::from_public_key(&key) == device.device_id => {
                keys.insert(device.device_id.clone(), key);
            }
            _ => report.findings.push(Finding {
                incident: None,
                change: None,
                field: format!("devices/{}/public_key", device.device_id),
                detail: "is not the ed25519 key this device id was derived from".into(),
            }),
        }
    }

    for incident in &bundle.incidents {
        report.incidents += 1;
        let finding = |change: Option<&str>, field: &str, detail: String| Finding {
            incident: Some(incident.id.clone()),
            change: change.map(str::to_owned),
            field: field.to_owned(),
            detail,
        };
        let doc = match base64::engine::general_purpose::STANDARD
            .decode(&incident.document)
            .ok()
            .map(|b| crate::incident::untrusted::load(&b))
        {
            Some(Ok(doc)) => doc,
            Some(Err(e)) => {
                report.findings.push(finding(
                    None,
                    "document",
                    format!("the automerge bytes were altered or damaged: {e}"),
                ));
                continue;
            }
            None => {
                report
                    .findings
                    .push(finding(None, "document", "is not base64".into()));
                continue;
            }
        };

        // Changes: the list must be exactly the document's, with true metadata.
        let actual: BTreeMap<String, automerge::Change> = doc
            .get_changes(&[])
            .into_iter()
            .map(|c| (c.hash().to_string(), c))
            .collect();
        let listed: BTreeSet<&str> = incident.changes.iter().map(|c| c.hash.as_str()).collect();
        for hash in actual.keys().filter(|h| !listed.contains(h.as_str())) {
            report.findings.push(finding(
                Some(hash),
                "changes",
                "the document holds this change but the bundle does not list it".into(),
            ));
        }
        for entry in &incident.changes {
            report.changes_checked += 1;
            let Some(change) = actual.get(&entry.hash) else {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "hash",
                    "no change with this hash is in the document".into(),
                ));
                continue;
            };
            let author = DeviceId::from_actor(change.actor_id());
            let checks: [(&str, bool); 4] = [
                ("device_id", entry.device_id == author),
                ("seq", entry.seq == change.seq()),
                ("time", entry.time == change.timestamp()),
                (
                    "deps",
                    entry.deps
                        == change
                            .deps()
                            .iter()
                            .map(ChangeHash::to_string)
                            .collect::<Vec<_>>(),
                ),
            ];
            for (field, ok) in checks {
                if !ok {
                    report.findings.push(finding(
                        Some(&entry.hash),
                        field,
                        "differs from the change in the document".into(),
                    ));
                }
            }
            if entry.message.as_deref() != change.message() {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "message",
                    "differs from the change in the document".into(),
                ));
            }
            let Some(device) = author else {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "device_id",
                    "the change was not made by an enrolled device actor".into(),
                ));
                continue;
            };
            let Some(signature) = entry
                .signature
                .as_deref()
                .and_then(|s| hex::decode(s).ok())
                .and_then(|s| <[u8; 64]>::try_from(s).ok())
            else {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "signature",
                    "missing or malformed".into(),
                ));
                continue;
            };
            let Some(key) = keys.get(&device) else {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "device_id",
                    format!("{device} is not among the bundle's devices"),
                ));
                continue;
            };
            report.signatures_checked += 1;
            if let Err(e) = verify_change(&device, key, &change.hash(), &signature) {
                report
                    .findings
                    .push(finding(Some(&entry.hash), "signature", e.to_string()));
            }
        }

        // The readable parts must say what the document says.
        let rendering = render_json(&doc);
        for path in differing_paths(&incident.rendering, &rendering, String::new()) {
            report.findings.push(finding(
                None,
                &format!("rendering{path}"),
                "differs from the document".into(),
            ));
        }
        match read_view(&doc) {
            Ok(view) => {
                if view.id.as_str() != incident.id {
                    report.findings.push(finding(
                        None,
                        "id",
                        format!("the document is incident {}", view.id),
                    ));
                }
                for path in
                    differing_paths(&incident.geojson, &incident_features(&view), String::new())
                {
                    report.findings.push(finding(
                        None,
                        &format!("geojson{path}"),
                        "differs from the document".into(),
                    ));
                }
            }
            Err(e) => report
                .findings
                .push(finding(None, "document", e.to_string())),
        }
    }
    if bundle.incidents.is_empty() {
        report.findings.push(Finding {
            incident: None,
            change: None,
            field: "incidents".into(),
            detail: "the bundle holds no incident".into(),
        });
    }
    report
}

/// JSON-pointer-like paths where two values differ (at most a few dozen).
fn differing_paths(claimed: &Value, actual: &Value, at: String) -> Vec<String> {
    const LIMIT: usize = 32;
    match (claimed, actual) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .flat_map(|k| match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differing_paths(x, y, format!("{at}/{k}")),
                    _ => vec![format!("{at}/{k}")],
                })
                .take(LIMIT)
                .collect()
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .flat_map(|(i, (x, y))| differing_paths(x, y, format!("{at}/{i}")))
            .take(LIMIT)
            .collect(),
        _ if claimed == actual => vec![],
        _ => vec![if at.is_empty() { "/".into() } else { at }],
    }
}
