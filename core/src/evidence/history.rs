//! History signatures: one signature per upload instead of one per change.
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
//!
//! A device signs a request's statements together: they are the leaves, in upload
//! order, of an RFC 6962 Merkle tree, and one [`UploadStatement`] over its root is
//! signed. The hub recomputes every leaf from the change bytes it received, so one
//! check covers every incident of the request. For evidence, each incident keeps its
//! own statement, its place in the tree and the sibling hashes up to the root
//! ([`Inclusion`]): a bundle proves its incident was signed without naming the other
//! incidents of the upload (a sibling is a hash of random incident ids and change
//! hashes, which tells nothing).

use automerge::ChangeHash;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{InclusionProof, RootHash};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::signing::{verify_signed, SignatureError};
use crate::ids::{DeviceId, IncidentId};
use crate::store::DeviceIdentity;

/// Domain separation from change signatures and the hub's attestations.
const CONTEXT: &[u8] = b"testigo-history-v1:";
/// Domain separation of the statement over a whole upload's tree.
const UPLOAD_CONTEXT: &[u8] = b"testigo-upload-v1:";

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
        verify_signed(device, public_key, &self.message(), signature)
    }

    /// Checks that this statement is leaf `inclusion.index` of an upload whose
    /// [`UploadStatement`] `device` signed with `signature`.
    pub fn verify_in_upload(
        &self,
        inclusion: &Inclusion,
        device: &DeviceId,
        public_key: &[u8; 32],
        signature: &[u8; 64],
    ) -> Result<(), SignatureError> {
        if !inclusion.holds(self) {
            return Err(SignatureError::NotInUpload);
        }
        UploadStatement {
            hub: self.hub.clone(),
            leaves: inclusion.leaves,
            root: inclusion.root,
        }
        .verify(device, public_key, signature)
    }
}

/// What one signature over a request says: "the statements of this tree, `leaves` of
/// them, are mine". The hub is bound again here so that a tree of statements for one
/// hub can never pass as signed for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadStatement {
    pub hub: DeviceId,
    pub leaves: u64,
    /// The RFC 6962 Merkle tree hash (SHA-256) over the statements' messages.
    pub root: [u8; 32],
}

impl UploadStatement {
    /// The statement over `statements`, in the order the upload lists them. `None`
    /// for no statements: an upload without changes signs nothing.
    pub fn over(hub: &DeviceId, statements: &[HistoryStatement]) -> Option<Self> {
        let tree = tree_of(statements);
        let root = tree.root();
        (root.num_leaves() > 0).then(|| Self {
            hub: hub.clone(),
            leaves: root.num_leaves(),
            root: (*root.as_bytes()).into(),
        })
    }

    pub fn message(&self) -> Vec<u8> {
        let mut message = UPLOAD_CONTEXT.to_vec();
        message.extend_from_slice(&(self.hub.as_str().len() as u32).to_be_bytes());
        message.extend_from_slice(self.hub.as_str().as_bytes());
        message.extend_from_slice(&self.leaves.to_be_bytes());
        message.extend_from_slice(&self.root);
        message
    }

    pub fn sign(&self, identity: &DeviceIdentity) -> [u8; 64] {
        identity.sign(&self.message())
    }

    /// The same signature made with a bare key (tests craft uploads with it).
    pub fn sign_with_key(&self, key: &SigningKey) -> [u8; 64] {
        key.sign(&self.message()).to_bytes()
    }

    pub fn verify(
        &self,
        device: &DeviceId,
        public_key: &[u8; 32],
        signature: &[u8; 64],
    ) -> Result<(), SignatureError> {
        verify_signed(device, public_key, &self.message(), signature)
    }
}

/// Where one statement sits in its upload's tree: with the statement itself, enough to
/// check that the upload signature covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    pub index: u64,
    pub leaves: u64,
    /// The tree's root, which the upload signature covers.
    pub root: [u8; 32],
    /// The RFC 6962 inclusion proof: sibling hashes from the leaf up, 32 bytes each.
    pub proof: Vec<u8>,
}

impl Inclusion {
    /// Every statement's place in the tree over `statements`, in their order.
    pub fn all(statements: &[HistoryStatement]) -> Vec<Inclusion> {
        let tree = tree_of(statements);
        let root = tree.root();
        (0..statements.len())
            .map(|index| Inclusion {
                index: index as u64,
                leaves: root.num_leaves(),
                root: (*root.as_bytes()).into(),
                proof: tree.prove_inclusion(index).as_bytes().to_vec(),
            })
            .collect()
    }

    /// Whether `statement` is leaf `index` of the tree of `leaves` leaves whose root is
    /// `root`, by the sibling hashes of `proof`.
    fn holds(&self, statement: &HistoryStatement) -> bool {
        let Ok(proof) = InclusionProof::<Sha256>::try_from_bytes(self.proof.clone()) else {
            return false;
        };
        RootHash::<Sha256>::new(self.root.into(), self.leaves)
            .verify_inclusion(&statement.message(), self.index, &proof)
            .is_ok()
    }
}

fn tree_of(statements: &[HistoryStatement]) -> MemoryBackedTree<Sha256, Vec<u8>> {
    let mut tree = MemoryBackedTree::new();
    for statement in statements {
        tree.push(statement.message());
    }
    tree
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

    #[test]
    fn one_upload_signature_covers_each_of_its_statements_and_nothing_else() {
        let key = SigningKey::from_bytes(&[2; 32]);
        let public = key.verifying_key().to_bytes();
        let device = DeviceId::from_public_key(&public);
        let hub = DeviceId::from_public_key(&[7; 32]);
        let statements: Vec<HistoryStatement> = (0..5)
            .map(|i| HistoryStatement {
                seq: i + 1,
                ..statement()
            })
            .collect();
        let signed = UploadStatement::over(&hub, &statements).expect("five leaves");
        assert_eq!(signed.leaves, 5);
        let signature = signed.sign_with_key(&key);
        let inclusions = Inclusion::all(&statements);
        for (statement, inclusion) in statements.iter().zip(&inclusions) {
            assert_eq!(
                statement.verify_in_upload(inclusion, &device, &public, &signature),
                Ok(())
            );
        }

        // A statement the device never signed, given a real statement's place.
        let outsider = statement();
        assert_eq!(
            outsider.verify_in_upload(&inclusions[2], &device, &public, &signature),
            Err(SignatureError::NotInUpload)
        );
        // A real statement moved to another leaf of the tree.
        let moved = Inclusion {
            index: 3,
            ..inclusions[2].clone()
        };
        assert_eq!(
            statements[2].verify_in_upload(&moved, &device, &public, &signature),
            Err(SignatureError::NotInUpload)
        );
        // A tree rebuilt around the outsider: the proof holds, the signature does not.
        let mut forged = statements.clone();
        forged[2] = outsider.clone();
        let forged_inclusion = &Inclusion::all(&forged)[2];
        assert_eq!(
            outsider.verify_in_upload(forged_inclusion, &device, &public, &signature),
            Err(SignatureError::Mismatch)
        );
        // The same leaves for another hub.
        let elsewhere = UploadStatement {
            hub: DeviceId::from_public_key(&[8; 32]),
            ..signed.clone()
        };
        assert_eq!(
            elsewhere.verify(&device, &public, &signature),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(UploadStatement::over(&hub, &[]), None);
    }
}
