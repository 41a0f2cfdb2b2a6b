//! Enrolment: a one-time code and proof that the device holds its key, in exchange
//! for a bearer credential.
//!
//! Public keys are not secret (evidence bundles list them), so a code and a key
//! alone would let anyone holding a code enrol *as someone else's device*. The device
//! therefore signs, with the key it enrols, a message binding the code, the key and
//! the hub it is talking to ([`proof_message`]); the hub checks the signature before
//! it spends the code. A proof made for one hub or one code is worth nothing anywhere
//! else.

use ed25519_dalek::{Signature, VerifyingKey};

use super::client::{http_client, read_body_of, SyncOptions};
use super::protocol::{EnrolRequest, EnrolResponse, HubInfo, ENROL_PATH, HUB_PATH};
use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::store::{DeviceIdentity, Store};

/// Domain separation: an enrolment proof can never be replayed as a change signature
/// or any other signature the project makes, nor the reverse.
const CONTEXT: &[u8] = b"testigo-enrol-v1:";

/// A code as it is compared: letters and digits only, upper case, so that case,
/// dashes and spaces typed by a person do not matter.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What the device signs: the context, the hub's device id, the normalised code and
/// the public key, each part ending in a zero byte so no two inputs give one message.
pub fn proof_message(hub: &DeviceId, code: &str, public_key: &[u8; 32]) -> Vec<u8> {
    let mut message = CONTEXT.to_vec();
    message.extend_from_slice(hub.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(normalise_code(code).as_bytes());
    message.push(0);
    message.extend_from_slice(public_key);
    message
}

/// The device's proof for enrolling with `code` at the hub `hub`.
pub fn sign_proof(identity: &DeviceIdentity, hub: &DeviceId, code: &str) -> [u8; 64] {
    identity.sign(&proof_message(hub, code, &identity.public_key()))
}

/// Why an enrolment proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the public key is not a valid ed25519 key")]
    BadKey,
    #[error("the proof is not a signature by this key over this code and hub")]
    Mismatch,
}

/// Checks that whoever sent `public_key` holds its secret key and meant this code at
/// this hub.
pub fn verify_proof(
    hub: &DeviceId,
    code: &str,
    public_key: &[u8; 32],
    proof: &[u8; 64],
) -> std::result::Result<(), ProofError> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| ProofError::BadKey)?;
    key.verify_strict(
        &proof_message(hub, code, public_key),
        &Signature::from_bytes(proof),
    )
    .map_err(|_| ProofError::Mismatch)
}

/// Enrols this device with the hub using a one-time code from a coordinator, and
/// saves the role, team and credential the hub gives it. Asks the hub who it is
/// first, so that the proof is bound to that hub.
pub fn enroll(store: &Store, hub_url: &str, code: &str) -> Result<()> {
    let identity = store.identity();
    let client = http_client(SyncOptions::default().timeout)?;
    let base = hub_url.trim_end_matches('/');
    let info = client
        .get(format!("{base}{HUB_PATH}"))
        .send()
        .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
    let hub = checked_identity(&read_body_of(info)?)?;
    let request = EnrolRequest {
        code: code.trim().to_owned(),
        public_key: hex::encode(identity.public_key()),
        proof: hex::encode(sign_proof(&identity, &hub, code)),
    };
    let response = client
        .post(format!("{base}{ENROL_PATH}"))
        .json(&request)
        .send()
        .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
    let body = read_body_of(response)?;
    let enrolled: EnrolResponse = serde_json::from_slice(&body)
        .map_err(|e| Error::Sync(format!("unreadable enrolment answer: {e}")))?;
    if enrolled.device_id != identity.device_id.as_str() {
        return Err(Error::Sync(
            "the hub enrolled another device id than this device's key gives".into(),
        ));
    }
    store.save_enrolment(
        enrolled.role,
        enrolled.team.as_deref(),
        hub_url,
        &enrolled.credential,
    )?;
    store.set_setting(HUB_DEVICE_SETTING, hub.as_str())
}

/// Setting under which the hub's device id is kept from enrolment on.
const HUB_DEVICE_SETTING: &str = "hub_device_id";

/// The id of the hub this device syncs with, which every history signature binds:
/// kept at enrolment, or (a device enrolled before it was kept) asked for once with
/// `GET /v1/hub` and kept.
pub(super) fn hub_device_id(
    store: &Store,
    client: &reqwest::blocking::Client,
    base: &str,
) -> Result<DeviceId> {
    if let Some(saved) = store.setting(HUB_DEVICE_SETTING)? {
        if let Ok(id) = DeviceId::parse(&saved) {
            return Ok(id);
        }
    }
    let response = client
        .get(format!("{}{HUB_PATH}", base.trim_end_matches('/')))
        .send()
        .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
    let id = checked_identity(&read_body_of(response)?)?;
    store.set_setting(HUB_DEVICE_SETTING, id.as_str())?;
    Ok(id)
}

/// The hub's device id from its `GET /v1/hub` answer, which must derive from the
/// public key it gives alongside.
fn checked_identity(body: &[u8]) -> Result<DeviceId> {
    let info: HubInfo = serde_json::from_slice(body)
        .map_err(|e| Error::Sync(format!("unreadable hub identity: {e}")))?;
    let key: [u8; 32] = hex::decode(&info.public_key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| Error::Sync("the hub's public key is not 32 bytes of hex".into()))?;
    let id = DeviceId::from_public_key(&key);
    if id.as_str() != info.device_id {
        return Err(Error::Sync(
            "the hub's device id does not derive from its public key".into(),
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn a_proof_holds_only_for_its_code_key_and_hub() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let public = key.verifying_key().to_bytes();
        let hub = DeviceId::from_public_key(&[9; 32]);
        let proof = key
            .sign(&proof_message(&hub, "abcd-efgh-jkmn", &public))
            .to_bytes();
        assert_eq!(verify_proof(&hub, "ABCDEFGHJKMN", &public, &proof), Ok(()));
        assert_eq!(
            verify_proof(&hub, "ABCDEFGHJKMP", &public, &proof),
            Err(ProofError::Mismatch),
            "another code"
        );
        let other_hub = DeviceId::from_public_key(&[8; 32]);
        assert_eq!(
            verify_proof(&other_hub, "ABCDEFGHJKMN", &public, &proof),
            Err(ProofError::Mismatch),
            "another hub"
        );
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key().to_bytes();
        assert_eq!(
            verify_proof(&hub, "ABCDEFGHJKMN", &other, &proof),
            Err(ProofError::Mismatch),
            "another key"
        );
    }
}
