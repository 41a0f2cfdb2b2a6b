//! Change signatures. A device signs the hash of every change it makes; because an
//! automerge change hash covers the change's bytes and the hashes of its
//! dependencies, a valid signature also pins the whole history the author saw.

use automerge::ChangeHash;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::ids::DeviceId;
use crate::store::DeviceIdentity;

/// Domain separation: a change signature can never be replayed as any other kind of
/// signature the project makes.
const CONTEXT: &[u8] = b"testigo-change-v1:";

fn message(hash: &ChangeHash) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(hash.as_ref());
    message
}

pub fn sign_change(identity: &DeviceIdentity, hash: &ChangeHash) -> [u8; 64] {
    identity.sign(&message(hash))
}

/// The same signature made with a bare key: the hub signs the changes it writes on
/// dispatchers' behalf with its own key, which lives in its database, not in a
/// device store.
pub fn sign_change_with_key(key: &ed25519_dalek::SigningKey, hash: &ChangeHash) -> [u8; 64] {
    use ed25519_dalek::Signer;
    key.sign(&message(hash)).to_bytes()
}

/// Why a signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the public key is not a valid ed25519 key")]
    BadKey,
    #[error("the public key belongs to {actual}, not to {claimed}")]
    KeyNotDevice { claimed: DeviceId, actual: DeviceId },
    #[error("the signature does not match what it signs and the key")]
    Mismatch,
    #[error("the statement is not in the signed upload: its inclusion proof does not lead to the signed root")]
    NotInUpload,
}

/// Checks that `signature` over `hash` was made by `device`, whose public key is
/// `public_key`.
pub fn verify_change(
    device: &DeviceId,
    public_key: &[u8; 32],
    hash: &ChangeHash,
    signature: &[u8; 64],
) -> Result<(), SignatureError> {
    verify_signed(device, public_key, &message(hash), signature)
}

/// Checks an ed25519 `signature` over `message` by `device`, whose key is
/// `public_key`: the key must be the one the device id is derived from. Every kind of
/// device signature the project checks goes through here.
pub(super) fn verify_signed(
    device: &DeviceId,
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), SignatureError> {
    let actual = DeviceId::from_public_key(public_key);
    if &actual != device {
        return Err(SignatureError::KeyNotDevice {
            claimed: device.clone(),
            actual,
        });
    }
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| SignatureError::BadKey)?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| SignatureError::Mismatch)
}
