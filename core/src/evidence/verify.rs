//! Checking an evidence bundle, as a third party would with `testigo verify`.
//!
//! Every claim in the bundle is recomputed from the automerge document it carries:
//! the change list and each change's author, time and dependencies; every signature
//! against the author's enrolled key — a change's own signature, or a history
//! signature of its author whose signed change descends from it; each record's `by`
//! against the actor that wrote it; the JSON rendering and the GeoJSON against the
//! document. With a pinned hub key (the trust anchor) the hub's signatures over the
//! authors' records, each incident's heads and each receipt time are checked too.
//! Each discrepancy is reported with the incident, the change and the field it
//! concerns.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, ChangeHash, ObjId, ObjType, ReadDoc, Value as AmValue, ROOT};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;

use super::attestation;
use super::bundle::{Bundle, HistoryEntry, FORMAT, FORMAT_V1, FORMAT_V2};
use super::geojson::incident_features;
use super::history::HistoryStatement;
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

/// What the hub signatures were checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// No hub key was given: the hub signatures were checked against the key the bundle
    /// itself names, which proves nothing about who made it.
    #[default]
    NotGiven,
    /// The bundle is signed by the pinned hub key (hex).
    Pinned(String),
    /// A format 1 bundle: it carries no hub signatures at all.
    None,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VerificationReport {
    pub format: String,
    pub anchor: Anchor,
    pub incidents: usize,
    pub changes_checked: usize,
    pub signatures_checked: usize,
    /// Records the hub wrote on someone's behalf: (incident, record path, person).
    pub on_behalf: Vec<(String, String, String)>,
    pub findings: Vec<Finding>,
}

impl VerificationReport {
    pub fn is_valid(&self) -> bool {
        self.findings.is_empty() && self.incidents > 0
    }
}

/// Verifies a bundle without a trust anchor (see [`verify_with`]).
pub fn verify(bytes: &[u8]) -> VerificationReport {
    verify_with(bytes, None)
}

/// Verifies a bundle; `hub_key` is the hub's public key as its organisation publishes
/// it. A bundle signed by any other key fails, naming both.
pub fn verify_with(bytes: &[u8], hub_key: Option<&[u8; 32]>) -> VerificationReport {
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
    report.format = bundle.format.clone();
    let v1 = bundle.format == FORMAT_V1;
    if bundle.format != FORMAT && bundle.format != FORMAT_V2 && !v1 {
        report.findings.push(Finding {
            incident: None,
            change: None,
            field: "format".into(),
            detail: format!(
                "{:?} is none of {FORMAT:?}, {FORMAT_V2:?} and {FORMAT_V1:?}",
                bundle.format
            ),
        });
    }
    let top = |field: &str, detail: String| Finding {
        incident: None,
        change: None,
        field: field.to_owned(),
        detail,
    };
    // The key the hub signatures are checked with: the pinned one, or failing that the
    // one the bundle names (which is then only checked for consistency).
    let named = bundle.hub.as_ref().and_then(|h| {
        hex::decode(&h.public_key)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .filter(|k| DeviceId::from_public_key(k) == h.device_id)
    });
    let hub_key: Option<VerifyingKey> = if v1 {
        report.anchor = Anchor::None;
        if let Some(pinned) = hub_key {
            report.findings.push(top(
                "hub",
                format!(
                    "a {FORMAT_V1:?} bundle carries no hub signature, so it cannot be checked against hub key {}",
                    hex::encode(pinned)
                ),
            ));
        }
        None
    } else {
        match (hub_key, named) {
            (Some(pinned), None) => {
                report.findings.push(top(
                    "hub",
                    format!(
                        "the bundle carries no valid hub signature, so it cannot be checked against hub key {}",
                        hex::encode(pinned)
                    ),
                ));
                None
            }
            (None, None) => {
                if bundle.hub.is_some() {
                    report.findings.push(top(
                        "hub",
                        "the hub key the bundle names is not a valid key for its device id".into(),
                    ));
                }
                // A bundle made on a device: only its authors' signatures vouch for it.
                report.anchor = Anchor::None;
                None
            }
            (Some(pinned), Some(named)) if pinned != &named => {
                report.findings.push(top(
                    "hub",
                    format!(
                        "the bundle is signed by hub key {}, not by the pinned hub key {}",
                        hex::encode(named),
                        hex::encode(pinned)
                    ),
                ));
                None
            }
            (pinned, Some(named)) => {
                report.anchor = match pinned {
                    Some(p) => Anchor::Pinned(hex::encode(p)),
                    None => Anchor::NotGiven,
                };
                VerifyingKey::from_bytes(&named).ok()
            }
        }
    };
    // Format 1 names the hub only as the author with the hub's role.
    let hub_actor = bundle
        .hub
        .as_ref()
        .map(|h| h.device_id.actor_id())
        .or_else(|| {
            bundle
                .devices
                .iter()
                .find(|d| d.role == crate::incident::Role::Hub)
                .map(|d| d.device_id.actor_id())
        });

    let mut keys: BTreeMap<DeviceId, [u8; 32]> = BTreeMap::new();
    for device in &bundle.devices {
        match hex::decode(&device.public_key)
            .ok()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        {
            Some(key) if DeviceId::from_public_key(&key) == device.device_id => {
                keys.insert(device.device_id.clone(), key);
                if let Some(hub) = &hub_key {
                    if !attestation::holds(
                        hub,
                        &attestation::device_message(device),
                        device.hub_signature.as_deref(),
                    ) {
                        report.findings.push(top(
                            &format!("devices/{}/hub_signature", device.device_id),
                            "this device's public key, role or enrolment time is not what the hub signed".into(),
                        ));
                    }
                }
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

        if let Some(hub) = &hub_key {
            if !attestation::holds(
                hub,
                &attestation::heads_message(&incident.id, &incident.heads),
                incident.heads_signature.as_deref(),
            ) {
                report.findings.push(finding(
                    None,
                    "heads_signature",
                    "the listed heads are not what the hub signed".into(),
                ));
            }
            let actual = attestation::hex_heads(&doc.get_heads());
            let mut listed = incident.heads.clone();
            listed.sort_unstable();
            if actual != listed {
                report.findings.push(finding(
                    None,
                    "heads",
                    format!(
                        "the document ends at {} but the hub signed {}: changes were dropped or added",
                        actual.join(","),
                        listed.join(",")
                    ),
                ));
            }
        }
        let covered = history_coverage(
            &doc,
            &incident.history,
            &keys,
            &incident.id,
            bundle.hub.as_ref().map(|h| &h.device_id),
            &mut report,
            &finding,
        );
        by_checks(
            &doc,
            hub_actor.as_ref(),
            &incident.id,
            &mut report,
            &finding,
        );

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
            if let Some(hub) = &hub_key {
                let message =
                    attestation::receipt_message(&incident.id, &entry.hash, entry.received_at);
                if !attestation::holds(hub, &message, entry.hub_signature.as_deref()) {
                    report.findings.push(finding(
                        Some(&entry.hash),
                        "received_at",
                        "is not the receipt time the hub signed".into(),
                    ));
                }
            }
            let Some(device) = author else {
                report.findings.push(finding(
                    Some(&entry.hash),
                    "device_id",
                    "the change was not made by an enrolled device actor".into(),
                ));
                continue;
            };
            if entry.signature.is_none() && !v1 {
                if !covered.contains(&(device.clone(), change.hash())) {
                    report.findings.push(finding(
                        Some(&entry.hash),
                        "signature",
                        format!("no signature of {device} covers this change: it has none of its own and is not in the history of one of its author's history signatures"),
                    ));
                }
                continue;
            }
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

/// The (author, change) pairs that a valid history signature covers: the signed
/// change, when its author made it, and every change of that author in its history.
fn history_coverage(
    doc: &Automerge,
    history: &[HistoryEntry],
    keys: &BTreeMap<DeviceId, [u8; 32]>,
    incident_id: &str,
    hub: Option<&DeviceId>,
    report: &mut VerificationReport,
    finding: &dyn Fn(Option<&str>, &str, String) -> Finding,
) -> BTreeSet<(DeviceId, ChangeHash)> {
    let mut covered = BTreeSet::new();
    for (i, entry) in history.iter().enumerate() {
        let field = format!("history/{i}");
        let fail = |detail: String| finding(Some(&entry.head), &field, detail);
        let (Ok(head), Some(signature), Ok(incident), Some(hub)) = (
            entry.head.parse::<ChangeHash>(),
            hex::decode(&entry.signature)
                .ok()
                .and_then(|s| <[u8; 64]>::try_from(s).ok()),
            crate::ids::IncidentId::parse(incident_id),
            hub,
        ) else {
            report
                .findings
                .push(fail("malformed history signature".into()));
            continue;
        };
        let Some(key) = keys.get(&entry.device_id) else {
            report.findings.push(fail(format!(
                "{} is not among the bundle's devices",
                entry.device_id
            )));
            continue;
        };
        let statement = HistoryStatement {
            incident,
            hub: hub.clone(),
            seq: entry.seq,
            head,
        };
        report.signatures_checked += 1;
        let checked = match &entry.upload {
            None => statement.verify(&entry.device_id, key, &signature),
            Some(place) => {
                let Some(inclusion) = place.inclusion() else {
                    report
                        .findings
                        .push(fail("malformed place in the signed upload".into()));
                    continue;
                };
                statement.verify_in_upload(&inclusion, &entry.device_id, key, &signature)
            }
        };
        if let Err(e) = checked {
            report.findings.push(fail(e.to_string()));
            continue;
        }
        // Where the walk starts: the signed change in the document, or, when the hub
        // refused it, the copy of it the bundle carries.
        let actor = entry.device_id.actor_id();
        let mut stack: Vec<ChangeHash> = Vec::new();
        if let Some(change) = doc.get_change_by_hash(&head) {
            if change.actor_id() != &actor || change.seq() != entry.seq {
                report.findings.push(fail(
                    "the signed change is not this device's change with this seq".into(),
                ));
                continue;
            }
            stack.push(head);
        } else {
            let carried = entry
                .head_change
                .as_deref()
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| crate::incident::untrusted::parse_change(b).ok());
            match carried {
                Some(change)
                    if change.hash() == head
                        && change.actor_id() == &actor
                        && change.seq() == entry.seq =>
                {
                    stack.extend(change.deps().iter().copied());
                }
                _ => {
                    report.findings.push(fail("the signed change is neither in the document nor carried with the signature".into()));
                    continue;
                }
            }
        }
        let mut seen = BTreeSet::new();
        while let Some(hash) = stack.pop() {
            if !seen.insert(hash) {
                continue;
            }
            if let Some(change) = doc.get_change_by_hash(&hash) {
                if change.actor_id() == &actor {
                    covered.insert((entry.device_id.clone(), hash));
                }
                stack.extend(change.deps().iter().copied());
            }
        }
    }
    covered
}

/// Every record's `by` must name the device whose actor wrote it, or be written by
/// the hub's actor on that person's behalf (listed in the report as such).
fn by_checks(
    doc: &Automerge,
    hub_actor: Option<&automerge::ActorId>,
    incident_id: &str,
    report: &mut VerificationReport,
    finding: &dyn Fn(Option<&str>, &str, String) -> Finding,
) {
    for collection in crate::incident::keys::COLLECTIONS {
        let Ok(Some((AmValue::Object(ObjType::Map), map))) = doc.get(ROOT, collection) else {
            continue;
        };
        for key in doc.keys(&map) {
            let Ok(Some((AmValue::Object(ObjType::Map), record))) = doc.get(&map, key.as_str())
            else {
                continue;
            };
            let Ok(Some((AmValue::Scalar(by), ObjId::Id(_, writer, _)))) = doc.get(&record, "by")
            else {
                continue;
            };
            let path = format!("{collection}/{key}/by");
            let named = by.as_str().and_then(|s| DeviceId::parse(s).ok());
            match named {
                Some(person) if person.actor_id() == writer => {}
                Some(person) if Some(&writer) == hub_actor => {
                    report
                        .on_behalf
                        .push((incident_id.to_owned(), path, person.to_string()));
                }
                _ => report.findings.push(finding(
                    None,
                    &format!("records/{path}"),
                    format!(
                        "names {} but was written by {}",
                        by.as_str().unwrap_or("nobody"),
                        DeviceId::from_actor(&writer)
                            .map_or_else(|| writer.to_string(), |d| d.to_string())
                    ),
                )),
            }
        }
    }
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
