//! The capturing device's own attestation, carried inside an evidence copy's manifest
//! so that a file checked on its own still says who recorded it, in that person's
//! signature and not only the organisation's.
//!
//! A device does not sign its attachment record directly: the record is written inside
//! an observation, in an automerge change, and the device signs a history statement
//! over its newest change (see `testigo_core::evidence::history`), whose hash covers
//! every earlier change through the dependency hashes. So the attestation is that
//! signature plus the chain of changes from the signed one down to the change that
//! recorded the file, each a dependency of the one before. A reader recomputes every
//! hash from the bytes, checks the chain and the signature, and checks that the last
//! change creates the observation and writes the file's hash.

use std::collections::{HashMap, VecDeque};

use automerge::legacy::{Key, OpType};
use automerge::{Automerge, Change, ChangeHash, ObjType, ScalarValue};
use base64::Engine;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use testigo_core::evidence::{verify_change, HistoryStatement, SignatureError, UploadPlace};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::untrusted;

use crate::error::HubResult;

/// Longest chain of changes carried: the recording change is normally the signed one
/// or a few before it; a longer walk means a history the file does not need to carry.
pub const MAX_CHAIN: usize = 64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorAttestation {
    pub device_id: DeviceId,
    /// The device's ed25519 public key, hex (its device id is derived from it).
    pub public_key: String,
    pub proof: AuthorProof,
    /// automerge change bytes, base64: the signed change first, then each a dependency
    /// of the one before, the last the change that recorded the file.
    pub changes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthorProof {
    /// A history signature over (incident, hub, `seq`, the first change's hash),
    /// alone or as one leaf of a signed upload's Merkle tree.
    History {
        hub: DeviceId,
        seq: u64,
        /// ed25519, hex.
        signature: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upload: Option<UploadPlace>,
    },
    /// A signature over the recording change's hash alone (changes from devices
    /// before history signatures, and changes offered again from quarantine).
    Change { signature: String },
}

/// Why an author attestation does not hold. Each says what a reader can rely on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthorError {
    #[error("it is damaged ({0})")]
    Malformed(String),
    #[error(
        "it is signed by device {signer}, but the record says device {recorded} captured the file"
    )]
    NotTheRecordedAuthor {
        signer: DeviceId,
        recorded: DeviceId,
    },
    #[error("its chain of changes is broken at change {0}: that change is not a dependency of the one before")]
    BrokenChain(usize),
    #[error("the signed change is not the device's own")]
    NotTheDevicesChange,
    #[error("its signed change is number {actual} of the device, not {signed} as signed")]
    WrongSeq { signed: u64, actual: u64 },
    #[error("its last change does not record this observation with this file's hash")]
    NotRecorded,
    #[error("the device's signature does not hold: {0}")]
    Signature(#[from] SignatureError),
}

impl AuthorAttestation {
    /// The attestation for the file `sha256` of `observation`, recorded by `author`, from
    /// what the hub (`hub`, its device id) holds; `None` when the hub holds no signature that covers it.
    pub fn from_hub(
        conn: &Connection,
        doc: &Automerge,
        incident: &IncidentId,
        observation: &str,
        sha256: &str,
        author: &DeviceId,
        hub: &DeviceId,
    ) -> HubResult<Option<Self>> {
        let Some(public_key) =
            crate::evidence::device_record(conn, author)?.map(|record| record.public_key)
        else {
            return Ok(None);
        };
        let actor = author.actor_id();
        let changes: HashMap<ChangeHash, Change> = doc
            .get_changes(&[])
            .into_iter()
            .map(|c| (c.hash(), c))
            .collect();
        let Some(recording) = changes
            .values()
            .find(|c| c.actor_id() == &actor && records(c, observation, sha256))
            .map(|c| c.hash())
        else {
            return Ok(None);
        };
        let attestation = |proof, chain: Vec<Change>| Self {
            device_id: author.clone(),
            public_key: public_key.clone(),
            proof,
            changes: chain.into_iter().map(|c| encode(c.raw_bytes())).collect(),
        };
        let mut best: Option<Self> = None;
        for stored in crate::history::for_incident(conn, incident)?
            .into_iter()
            .filter(|s| &s.device == author)
        {
            let head = match changes.get(&stored.head) {
                Some(change) => change.clone(),
                // A signed change the hub refused is kept beside its signature.
                None => match stored
                    .head_bytes
                    .and_then(|b| untrusted::parse_change(b).ok())
                {
                    Some(change) if change.hash() == stored.head => change,
                    _ => continue,
                },
            };
            let Some(chain) = chain_down(&changes, head, &recording) else {
                continue;
            };
            if best
                .as_ref()
                .is_some_and(|b| b.changes.len() <= chain.len())
            {
                continue;
            }
            best = Some(attestation(
                AuthorProof::History {
                    hub: hub.clone(),
                    seq: stored.seq,
                    signature: hex::encode(stored.signature),
                    upload: stored.inclusion.as_ref().map(UploadPlace::from),
                },
                chain,
            ));
        }
        if best.is_some() {
            return Ok(best);
        }
        let own: Option<Vec<u8>> = conn
            .query_row(
                "SELECT signature FROM changes WHERE incident_id = ?1 AND hash = ?2",
                rusqlite::params![incident.as_str(), &recording.0[..]],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(own
            .filter(|s| s.len() == 64)
            .zip(changes.get(&recording).cloned())
            .map(|(signature, change)| {
                attestation(
                    AuthorProof::Change {
                        signature: hex::encode(signature),
                    },
                    vec![change],
                )
            }))
    }

    /// Checks that the device the record names signed a history of `incident` that
    /// includes a change creating `observation` with the file `sha256`.
    pub fn check(
        &self,
        incident: &str,
        observation: &str,
        sha256: &str,
        recorded_by: &DeviceId,
    ) -> Result<(), AuthorError> {
        let malformed = |what: &str| AuthorError::Malformed(what.to_owned());
        if &self.device_id != recorded_by {
            return Err(AuthorError::NotTheRecordedAuthor {
                signer: self.device_id.clone(),
                recorded: recorded_by.clone(),
            });
        }
        let public_key: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| malformed("the public key is not 32 bytes of hex"))?;
        if self.changes.is_empty() || self.changes.len() > MAX_CHAIN {
            return Err(malformed("its chain of changes is empty or too long"));
        }
        let chain = self
            .changes
            .iter()
            .map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .and_then(|bytes| untrusted::parse_change(bytes).ok())
                    .ok_or_else(|| malformed("a change in its chain does not decode"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (index, pair) in chain.windows(2).enumerate() {
            if !pair[0].deps().contains(&pair[1].hash()) {
                return Err(AuthorError::BrokenChain(index + 1));
            }
        }
        let (signed, recording) = (&chain[0], &chain[chain.len() - 1]);
        let actor = self.device_id.actor_id();
        if recording.actor_id() != &actor || !records(recording, observation, sha256) {
            return Err(AuthorError::NotRecorded);
        }
        let signature = |hex_text: &str| -> Result<[u8; 64], AuthorError> {
            hex::decode(hex_text)
                .ok()
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| malformed("the signature is not 64 bytes of hex"))
        };
        match &self.proof {
            AuthorProof::Change { signature: text } => {
                if chain.len() != 1 {
                    return Err(malformed("a change signature covers one change"));
                }
                verify_change(
                    &self.device_id,
                    &public_key,
                    &recording.hash(),
                    &signature(text)?,
                )?;
            }
            AuthorProof::History {
                hub,
                seq,
                signature: text,
                upload,
            } => {
                if signed.actor_id() != &actor {
                    return Err(AuthorError::NotTheDevicesChange);
                }
                if signed.seq() != *seq {
                    return Err(AuthorError::WrongSeq {
                        signed: *seq,
                        actual: signed.seq(),
                    });
                }
                let statement = HistoryStatement {
                    incident: IncidentId::parse(incident)
                        .map_err(|_| malformed("the incident id is not one"))?,
                    hub: hub.clone(),
                    seq: *seq,
                    head: signed.hash(),
                };
                let signature = signature(text)?;
                match upload {
                    None => statement.verify(&self.device_id, &public_key, &signature)?,
                    Some(place) => statement.verify_in_upload(
                        &place
                            .inclusion()
                            .ok_or_else(|| malformed("its place in the upload is not hex"))?,
                        &self.device_id,
                        &public_key,
                        &signature,
                    )?,
                }
            }
        }
        Ok(())
    }
}

/// Whether `change` creates the observation `observation` (a new map under that key)
/// and writes `sha256` as a file's hash. Record ids are random and hashes are of the
/// file, so no other change of an incident does both.
fn records(change: &Change, observation: &str, sha256: &str) -> bool {
    let ops = change.decode().operations;
    let creates = ops.iter().any(|op| {
        matches!(op.action, OpType::Make(ObjType::Map))
            && matches!(&op.key, Key::Map(key) if key.as_str() == observation)
    });
    let hashes = ops.iter().any(|op| {
        matches!(&op.key, Key::Map(key) if key.as_str() == "sha256")
            && matches!(&op.action, OpType::Put(ScalarValue::Str(value)) if value.as_str() == sha256)
    });
    creates && hashes
}

/// The shortest chain of changes from `head` down its dependencies to `target`, if
/// `target` is in `head`'s history (breadth first, at most [`MAX_CHAIN`] long).
fn chain_down(
    changes: &HashMap<ChangeHash, Change>,
    head: Change,
    target: &ChangeHash,
) -> Option<Vec<Change>> {
    let mut came_from: HashMap<ChangeHash, Option<ChangeHash>> = HashMap::new();
    let mut found: HashMap<ChangeHash, Change> = HashMap::new();
    let mut queue = VecDeque::new();
    came_from.insert(head.hash(), None);
    queue.push_back((head.hash(), 1usize));
    found.insert(head.hash(), head);
    while let Some((hash, depth)) = queue.pop_front() {
        if &hash == target {
            let mut chain = Vec::new();
            let mut at = Some(hash);
            while let Some(h) = at {
                chain.push(found.remove(&h)?);
                at = came_from[&h];
            }
            chain.reverse();
            return Some(chain);
        }
        if depth >= MAX_CHAIN {
            continue;
        }
        let deps = found.get(&hash)?.deps().to_vec();
        for dep in deps {
            if came_from.contains_key(&dep) {
                continue;
            }
            let Some(change) = changes.get(&dep) else {
                continue;
            };
            came_from.insert(dep, Some(hash));
            found.insert(dep, change.clone());
            queue.push_back((dep, depth + 1));
        }
    }
    None
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
