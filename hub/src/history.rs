//! The hub's half of history signatures (see `testigo_core::evidence::HistoryStatement`):
//! one signature per uploaded incident, checked once, and every change of the sender
//! in the upload must be the signed change or one of its ancestors.
//!
//! The signed change is the upload's last; its hash and `seq` are computed here from
//! its bytes, never taken from the wire. Which changes are covered is decided by
//! walking dependencies from it through the upload itself: a change the walk does not
//! reach was not vouched for, whatever else is true of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::{Change, ChangeHash};
use rusqlite::{params, Connection};
use testigo_core::evidence::HistoryStatement;
use testigo_core::ids::{DeviceId, IncidentId};

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
    pub signature: [u8; 64],
    /// The signed change itself, kept in case validation refuses it while accepting
    /// its ancestors: a bundle then still shows the path from the signature to them.
    pub head: Change,
}

/// Checks the history signature of `changes` sent by `sender` for `incident`.
pub fn check_upload(
    hub: &DeviceId,
    sender: &Device,
    incident: &IncidentId,
    changes: Vec<Change>,
    signature: &[u8],
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
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return refuse_all(
            &changes,
            "unsigned: an upload needs the sender's 64-byte history signature over its last change",
        );
    };
    let statement = HistoryStatement {
        incident: incident.clone(),
        hub: hub.clone(),
        seq: head.seq(),
        head: head.hash(),
    };
    CHECKS.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = statement.verify(&sender.device_id, &sender.public_key, &signature) {
        return refuse_all(&changes, &format!("bad history signature: {e}"));
    }

    let covered = history_of(&changes, head.hash());
    let head = head.clone();
    let mut checked = Checked {
        covered: Vec::new(),
        rejected: Vec::new(),
        signed: Some(Signed {
            statement,
            signature,
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
    tx.execute(
        "INSERT INTO history_signatures (incident_id, device_id, seq, head, signature, head_bytes, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        params![
            signed.statement.incident.as_str(),
            device.as_str(),
            signed.statement.seq as i64,
            &signed.statement.head.0[..],
            &signed.signature[..],
            head_bytes,
            at_ms
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
}

/// Every history signature kept for `incident`, in the order received.
pub fn for_incident(conn: &Connection, incident: &IncidentId) -> HubResult<Vec<Stored>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_id, seq, head, signature, head_bytes FROM history_signatures
         WHERE incident_id = ?1 ORDER BY received_at, device_id, seq",
    )?;
    let rows = stmt.query_map([incident.as_str()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, Option<Vec<u8>>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (device, seq, head, signature, head_bytes) = row?;
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
            });
        }
    }
    Ok(out)
}
