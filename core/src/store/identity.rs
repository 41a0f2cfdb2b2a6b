//! This device's identity: an ed25519 key pair made on first open, kept only inside
//! the encrypted database. Its public key names the device (`DeviceId`) and its
//! automerge actor, so every change can be traced to it.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::incident::{Author, Role};

#[derive(Clone)]
pub struct DeviceIdentity {
    pub device_id: DeviceId,
    signing_key: SigningKey,
    pub role: Role,
    pub team: Option<String>,
    pub hub_url: Option<String>,
    /// Bearer credential given by the hub at enrolment.
    pub credential: Option<String>,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material or credentials, even in debug logs.
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .field("role", &self.role)
            .field("hub_url", &self.hub_url)
            .finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    pub fn public_key(&self) -> [u8; 32] {
        self.signing_key.verifying_key().to_bytes()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing_key.sign(message).to_bytes()
    }

    pub fn author(&self) -> Author {
        Author::new(self.device_id.clone(), self.role)
    }

    pub fn is_enrolled(&self) -> bool {
        self.credential.is_some()
    }
}

/// Loads the identity, creating a fresh key pair the first time.
pub fn load_or_create(conn: &Connection) -> Result<DeviceIdentity> {
    if let Some(identity) = load(conn)? {
        return Ok(identity);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| Error::Storage(format!("no randomness for a device key: {e}")))?;
    let signing_key = SigningKey::from_bytes(&secret);
    let device_id = DeviceId::from_public_key(&signing_key.verifying_key().to_bytes());
    conn.execute(
        "INSERT INTO identity (singleton, device_id, secret_key, role) VALUES (1, ?1, ?2, ?3)",
        params![device_id.as_str(), &secret[..], Role::Volunteer.as_str()],
    )?;
    load(conn)?.ok_or_else(|| Error::Storage("identity was not saved".into()))
}

fn load(conn: &Connection) -> Result<Option<DeviceIdentity>> {
    let row = conn
        .query_row("SELECT device_id, secret_key, role, team, hub_url, credential FROM identity WHERE singleton = 1", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    let Some((device_id, secret, role, team, hub_url, credential)) = row else {
        return Ok(None);
    };
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|_| Error::Storage("stored device key has the wrong length".into()))?;
    let signing_key = SigningKey::from_bytes(&secret);
    let device_id = DeviceId::parse(&device_id)?;
    if device_id != DeviceId::from_public_key(&signing_key.verifying_key().to_bytes()) {
        return Err(Error::Storage(
            "stored device id does not match its key".into(),
        ));
    }
    let role = Role::parse(&role)
        .ok_or_else(|| Error::Storage(format!("unknown stored role {role:?}")))?;
    Ok(Some(DeviceIdentity {
        device_id,
        signing_key,
        role,
        team,
        hub_url,
        credential,
    }))
}

/// Records what the hub said at enrolment.
pub fn save_enrolment(
    conn: &Connection,
    role: Role,
    team: Option<&str>,
    hub_url: &str,
    credential: &str,
    at_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE identity SET role = ?1, team = ?2, hub_url = ?3, credential = ?4, enrolled_at = ?5 WHERE singleton = 1",
        params![role.as_str(), team, hub_url, credential, at_ms],
    )?;
    Ok(())
}
