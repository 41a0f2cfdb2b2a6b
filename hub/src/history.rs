//! The hub's half of history signatures (see `testigo_core::evidence::HistoryStatement`):
//! one signature per request, over the Merkle tree of every upload's statement, checked
//! once ([`check_request`]); and every change of the sender in an upload must be the
//! upload's signed change or one of its ancestors ([`check_upload`]). Devices from
//! before request signatures sign each upload alone; that is still taken.
//!
//! The signed change is the upload's last; its hash and `seq` are computed here from
//! its bytes, never taken from the wire. Which changes are covered is decided by
//! walking dependencies from it through the upload itself: a change the walk does not
//! reach was not vouched for, whatever else is true of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::{Change, ChangeHash};
use rusqlite::{params, Connection};
use testigo_core::evidence::{HistoryStatement, Inclusion, UploadStatement};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::untrusted;
use testigo_core::sync::protocol::Upload;

use crate::db::devices::Device;
use crate::error::HubResult;

/// Signature verifications made by this process, for the benchmark's figures.
static CHECKS: AtomicU64 = AtomicU64::new(0);

/// How many history signatures this process has verified so far.
pub fn signature_checks() -> u64 {
    CHECKS.load(Ordering::Relaxed)
}

/// What the signature check leaves of an upload.
pub struct Checked {
    /// Changes covered by a valid signature, in upload order: for validation.
    pub covered: Vec<Change>,
    pub rejected: Vec<(ChangeHash, String)>,
    /// The statement and signature that cover them, to keep for evidence.
    pub signed: Option<Signed>,
}

pub struct Signed {
    pub statement: HistoryStatement,
    /// The upload's own signature over `statement`, or the request's over the tree
    /// `inclusion` places it in.
    pub signature: [u8; 64],
    pub inclusion: Option<Inclusion>,
    /// The signed change itself, kept in case validation refuses it while accepting
    /// its ancestors: a bundle then still shows the path from the signature to them.
    pub head: Change,
}

/// What vouches for one upload's history.
pub enum Vouch {
    /// The upload's own signature (devices from before request signatures).
    Own(Vec<u8>),
    /// The request's signature, already checked by [`check_request`]: the statement it
    /// covers for this upload and where it sits in the request's tree, or why the
    /// request signature does not hold.
    Request(Result<(HistoryStatement, Inclusion, [u8; 64]), String>),
}

/// Checks a request's one signature over its uploads (see `SyncRequest::signature`)
/// and says, upload by upload, what vouches for each. With no request signature, each
/// upload stands on its own.
pub fn check_request(
    hub: &DeviceId,
    sender: &Device,
    uploads: &[Upload],
    signature: &[u8],
) -> Vec<Vouch> {
    if signature.is_empty() {
        return uploads
            .iter()
            .map(|u| Vouch::Own(u.signature.clone()))
            .collect();
    }
    let refuse_all = |reason: String| -> Vec<Vouch> {
        uploads
            .iter()
            .map(|_| Vouch::Request(Err(reason.clone())))
            .collect()
    };
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return refuse_all("the request signature must be 64 bytes of ed25519".into());
    };
    let actor = sender.device_id.actor_id();
    let mut statements = Vec::new();
    for upload in uploads.iter().filter(|u| !u.changes.is_empty()) {
        let last = upload.changes.last().cloned().unwrap_or_default();
        let Ok(head) = untrusted::parse_change(last) else {
            return refuse_all(format!(
                "the request signature cannot be checked: the last change of incident {} is not a valid change",
                upload.incident
            ));
        };
        if head.actor_id() != &actor {
            return refuse_all(format!(
                "the last change of an upload is the signed one and must be the sender's own (incident {})",
                upload.incident
            ));
        }
        statements.push(HistoryStatement {
            incident: upload.incident.clone(),
            hub: hub.clone(),
            seq: head.seq(),
            head: head.hash(),
        });
    }
    let Some(tree) = UploadStatement::over(hub, &statements) else {
        return refuse_all("a request signature over no changes".into());
    };
    CHECKS.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = tree.verify(&sender.device_id, &sender.public_key, &signature) {
        return refuse_all(format!("bad request signature: {e}"));
    }
    let inclusions = Inclusion::all(&statements);
    let mut placed = statements.into_iter().zip(inclusions);
    uploads
        .iter()
        .map(|upload| match upload.changes.is_empty() {
            // Nothing of this upload is signed: its retries carry their own signatures.
            true => Vouch::Own(Vec::new()),
            false => match placed.next() {
                Some((statement, inclusion)) => {
                    Vouch::Request(Ok((statement, inclusion, signature)))
                }
                None => Vouch::Request(Err("not covered by the request signature".into())),
            },
        })
        .collect()
}

/// Checks what vouches for `changes`, sent by `sender` for `incident`.
pub fn check_upload(
    hub: &DeviceId,
    sender: &Device,
    incident: &IncidentId,
    changes: Vec<Change>,
    vouch: Vouch,
) -> Checked {
    let refuse_all = |changes: &[Change], reason: &str| Checked {
        covered: Vec::new(),
        rejected: changes
            .iter()
            .map(|c| (c.hash(), reason.to_owned()))
            .collect(),
        signed: None,
    };
    let Some(head) = changes.last() else {
        return refuse_all(&changes, "");
    };
    let actor = sender.device_id.actor_id();
    if head.actor_id() != &actor {
        return refuse_all(
            &changes,
            "the last change of an upload is the signed one and must be the sender's own",
        );
    }
    let statement = HistoryStatement {
        incident: incident.clone(),
        hub: hub.clone(),
        seq: head.seq(),
        head: head.hash(),
    };
    let (signature, inclusion) = match vouch {
        Vouch::Own(signature) => {
            let Ok(signature) = <[u8; 64]>::try_from(signature.as_slice()) else {
                return refuse_all(
                    &changes,
                    "unsigned: an upload needs the sender's 64-byte history signature over its last change",
                );
            };
            CHECKS.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = statement.verify(&sender.device_id, &sender.public_key, &signature) {
                return refuse_all(&changes, &format!("bad history signature: {e}"));
            }
            (signature, None)
        }
        Vouch::Request(Err(reason)) => return refuse_all(&changes, &reason),
        // The request check computed this leaf from the same last change; should the
        // changes reaching here end elsewhere, the signature says nothing of them.
        Vouch::Request(Ok((signed, inclusion, signature))) => {
            if signed != statement {
                return refuse_all(&changes, "not covered by the request signature");
            }
            (signature, Some(inclusion))
        }
    };

    let covered = history_of(&changes, head.hash());
    let head = head.clone();
    let mut checked = Checked {
        covered: Vec::new(),
        rejected: Vec::new(),
        signed: Some(Signed {
            statement,
            signature,
            inclusion,
            head,
        }),
    };
    for change in changes {
        let hash = change.hash();
        if change.actor_id() != &actor {
            checked.rejected.push((
                hash,
                format!(
                    "made by actor {} which is not the sending device",
                    change.actor_id()
                ),
            ));
        } else if !covered.contains(&hash) {
            checked.rejected.push((
                hash,
                "not covered by the history signature: neither the signed change nor one of its ancestors".into(),
            ));
        } else {
            checked.covered.push(change);
        }
    }
    checked
}

/// `head` and every change of `changes` it depends on, directly or not.
fn history_of(changes: &[Change], head: ChangeHash) -> BTreeSet<ChangeHash> {
    let by_hash: BTreeMap<ChangeHash, &Change> = changes.iter().map(|c| (c.hash(), c)).collect();
    let mut reached = BTreeSet::new();
    let mut stack = vec![head];
    while let Some(hash) = stack.pop() {
        if !reached.insert(hash) {
            continue;
        }
        if let Some(change) = by_hash.get(&hash) {
            stack.extend(change.deps().iter().copied());
        }
    }
    reached
}

/// Keeps a verified signature for evidence bundles. `head_accepted`: whether the signed
/// change itself is in the hub's document (otherwise its bytes are kept beside).
pub fn record(
    tx: &Connection,
    signed: &Signed,
    device: &DeviceId,
    head_accepted: bool,
    at_ms: i64,
) -> HubResult<()> {
    let head_bytes = (!head_accepted).then(|| signed.head.raw_bytes().to_vec());
    let inclusion = signed.inclusion.as_ref();
    tx.execute(
        "INSERT INTO history_signatures (incident_id, device_id, seq, head, signature, head_bytes, received_at,
                                         upload_index, upload_leaves, upload_root, upload_proof)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
        params![
            signed.statement.incident.as_str(),
            device.as_str(),
            signed.statement.seq as i64,
            &signed.statement.head.0[..],
            &signed.signature[..],
            head_bytes,
            at_ms,
            inclusion.map(|i| i.index as i64),
            inclusion.map(|i| i.leaves as i64),
            inclusion.map(|i| i.root.to_vec()),
            inclusion.map(|i| i.proof.clone()),
        ],
    )?;
    Ok(())
}

/// A stored history signature, as evidence bundles carry it.
pub struct Stored {
    pub device: DeviceId,
    pub seq: u64,
    pub head: ChangeHash,
    pub signature: [u8; 64],
    pub head_bytes: Option<Vec<u8>>,
    /// Where the statement sits in its request's tree, when the request signature
    /// (and not one of the upload's own) covers it.
    pub inclusion: Option<Inclusion>,
}

/// Every history signature kept for `incident`, in the order received.
pub fn for_incident(conn: &Connection, incident: &IncidentId) -> HubResult<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_id, seq, head, signature, head_bytes,
                upload_index, upload_leaves, upload_root, upload_proof
         FROM history_signatures
         WHERE incident_id = ?1 ORDER BY received_at, device_id, seq",
    )?;
    let rows = stmt.query_map([incident.as_str()], |r| {
        let inclusion = match (
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, Option<Vec<u8>>>(7)?,
            r.get::<_, Option<Vec<u8>>>(8)?,
        ) {
            (Some(index), Some(leaves), Some(root), Some(proof)) => {
                Some(<[u8; 32]>::try_from(root).map(|root| Inclusion {
                    index: index.max(0) as u64,
                    leaves: leaves.max(0) as u64,
                    root,
                    proof,
                }))
            }
            _ => None,
        };
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Option<Vec<u8>>>(4)?,
            inclusion,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (device, seq, head, signature, head_bytes, inclusion) = row?;
        // A damaged row is left out: the bundle then lacks its signature, and
        // verification names the changes nothing covers.
        let inclusion = match inclusion {
            None => None,
            Some(Ok(inclusion)) => Some(inclusion),
            Some(Err(_)) => continue,
        };
        if let (Ok(device), Ok(head), Ok(signature)) = (
            DeviceId::parse(&device),
            ChangeHash::try_from(head.as_slice()),
            <[u8; 64]>::try_from(signature),
        ) {
            out.push(Stored {
                device,
                seq: seq.max(0) as u64,
                head,
                signature,
                head_bytes,
                inclusion,
            });
        }
    }
    Ok(out)
}
