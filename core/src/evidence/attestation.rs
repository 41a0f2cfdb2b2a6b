//! What the hub vouches for inside a bundle, signed with its key: the trust anchor.
//!
//! Device signatures prove who wrote each change, but not what the hub knew around
//! them: which devices existed with which key and role, when each change arrived, and
//! where each incident's history ended. Those the hub signs, one statement per item,
//! so `verify` can name the item that no longer holds:
//!
//! - each author: device id, public key, role at export, enrolment time;
//! - each incident: its heads (a bundle with its newest changes dropped no longer
//!   ends where the hub said it did);
//! - each change: its hub receipt time.
//!
//! A reader pins the hub's key (`testigo verify --hub-key`); without a pin the bundle's
//! own claim of a hub key is all there is, and anyone can make such a bundle.

use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::bundle::DeviceRecord;

/// Domain separation from every device signature.
const CONTEXT: &[u8] = b"testigo-hub-attests-v1:";

fn message(kind: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    for part in std::iter::once(kind.as_bytes()).chain(parts.iter().copied()) {
        message.extend_from_slice(&(part.len() as u32).to_be_bytes());
        message.extend_from_slice(part);
    }
    message
}

pub(crate) fn device_message(device: &DeviceRecord) -> Vec<u8> {
    message(
        "device",
        &[
            device.device_id.as_str().as_bytes(),
            device.public_key.as_bytes(),
            device.role.as_str().as_bytes(),
            &device.enrolled_at.timestamp_millis().to_be_bytes(),
        ],
    )
}

/// `heads` in any order: they are sorted here.
pub(crate) fn heads_message(incident: &str, heads: &[String]) -> Vec<u8> {
    let mut sorted: Vec<&str> = heads.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let joined = sorted.join(",");
    message("heads", &[incident.as_bytes(), joined.as_bytes()])
}

pub(crate) fn receipt_message(
    incident: &str,
    change: &str,
    received_at: Option<DateTime<Utc>>,
) -> Vec<u8> {
    let at = received_at.map_or_else(
        || b"none".to_vec(),
        |t| t.timestamp_millis().to_be_bytes().to_vec(),
    );
    message("receipt", &[incident.as_bytes(), change.as_bytes(), &at])
}

pub(crate) fn sign(key: &SigningKey, message: &[u8]) -> String {
    hex::encode(key.sign(message).to_bytes())
}

/// Whether `signature` (hex) is `key`'s over `message`.
pub(crate) fn holds(key: &VerifyingKey, message: &[u8], signature: Option<&str>) -> bool {
    signature
        .and_then(|s| hex::decode(s).ok())
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .is_some_and(|s| {
            key.verify_strict(message, &Signature::from_bytes(&s))
                .is_ok()
        })
}

/// Hashes as the bundle writes them.
pub(crate) fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    let mut out: Vec<String> = heads.iter().map(ChangeHash::to_string).collect();
    out.sort_unstable();
    out
}
