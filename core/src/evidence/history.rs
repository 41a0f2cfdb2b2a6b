//! History signatures: one signature per incident per upload instead of one per change.
//!
//! automerge changes form a hash DAG — a change's hash covers its bytes and the hashes
//! of its dependencies — so a device's signature over the newest change it made on an
//! incident vouches for every earlier change of its own in that change's history. Two
//! rules make that sound, and both are enforced elsewhere:
//!
//! - a device never merges a change bearing its own actor that it did not make
//!   (`store::own_changes`), so the history it signs holds no forgery in its name;
//! - the hub refuses any uploaded change of the sender's actor that is not the signed
//!   change or one of its ancestors (`hub::history`), so nothing rides along unsigned.
//!
//! The signed statement binds, besides the change hash, the incident (a signature
//! cannot be moved to another document), the hub the device uploads to (nor to another
//! hub's record) and the counter `seq`: how many changes of this device the history
//! holds, so a reader learns from the statement alone how much it covers.

use automerge::ChangeHash;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::signing::SignatureError;
use crate::ids::{DeviceId, IncidentId};
use crate::store::DeviceIdentity;

/// Domain separation from change signatures and the hub's attestations.
const CONTEXT: &[u8] = b"testigo-history-v1:";

/// What a history signature says: "up to and including `head`, my `seq` changes to
/// `incident`, sent to `hub`, are mine".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryStatement {
    pub incident: IncidentId,
    /// The hub's device id (the one derived from its key).
    pub hub: DeviceId,
    /// The automerge `seq` of `head`: the number of changes the signer made to the
    /// incident up to it.
    pub seq: u64,
    pub head: ChangeHash,
}

impl HistoryStatement {
    /// The exact bytes signed. Each variable-length part is length-prefixed so no two
    /// statements share an encoding.
    pub fn message(&self) -> Vec<u8> {
        let mut message = CONTEXT.to_vec();
        for part in [self.incident.as_str(), self.hub.as_str()] {
            message.extend_from_slice(&(part.len() as u32).to_be_bytes());
            message.extend_from_slice(part.as_bytes());
        }
        message.extend_from_slice(&self.seq.to_be_bytes());
        message.extend_from_slice(self.head.as_ref());
        message
    }

    pub fn sign(&self, identity: &DeviceIdentity) -> [u8; 64] {
        identity.sign(&self.message())
    }

    /// The same signature made with a bare key (tests craft uploads with it).
    pub fn sign_with_key(&self, key: &SigningKey) -> [u8; 64] {
        key.sign(&self.message()).to_bytes()
    }

    /// Checks that `signature` over this statement was made by `device`, whose public
    /// key is `public_key`.
    pub fn verify(
        &self,
        device: &DeviceId,
        public_key: &[u8; 32],
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
        key.verify_strict(&self.message(), &Signature::from_bytes(signature))
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> HistoryStatement {
        HistoryStatement {
            incident: IncidentId::generate(),
            hub: DeviceId::from_public_key(&[7; 32]),
            seq: 3,
            head: ChangeHash([9; 32]),
        }
    }

    #[test]
    fn a_signature_holds_only_for_the_statement_it_was_made_for() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let public = key.verifying_key().to_bytes();
        let device = DeviceId::from_public_key(&public);
        let original = statement();
        let signature = original.sign_with_key(&key);
        assert_eq!(original.verify(&device, &public, &signature), Ok(()));

        let mut other_incident = original.clone();
        other_incident.incident = IncidentId::generate();
        let mut other_hub = original.clone();
        other_hub.hub = DeviceId::from_public_key(&[8; 32]);
        let mut other_seq = original.clone();
        other_seq.seq = 4;
        let mut other_head = original.clone();
        other_head.head = ChangeHash([10; 32]);
        for moved in [other_incident, other_hub, other_seq, other_head] {
            assert_eq!(
                moved.verify(&device, &public, &signature),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
