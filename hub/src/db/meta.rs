//! The hub's own identity and its sequence counter.

use ed25519_dalek::SigningKey;
use rusqlite::{params, Connection, OptionalExtension};
use testigo_core::ids::DeviceId;

use crate::error::{HubError, HubResult};

/// The hub signs what it writes on dispatchers' behalf with its own key; its device
/// id (from that key) is the automerge actor of those changes.
#[derive(Clone)]
pub struct HubIdentity {
    pub device_id: DeviceId,
    pub signing_key: SigningKey,
}

/// Loads the hub's key, making one on first start.
pub fn identity(conn: &Connection) -> HubResult<HubIdentity> {
    let stored: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM hub_meta WHERE key = 'secret_key'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let secret: [u8; 32] = match stored {
        Some(bytes) => bytes
            .try_into()
            .map_err(|_| HubError::internal("the hub's stored key has the wrong length"))?,
        None => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| HubError::internal(format!("no randomness for the hub key: {e}")))?;
            conn.execute(
                "INSERT INTO hub_meta (key, value) VALUES ('secret_key', ?1)",
                params![&secret[..]],
            )?;
            secret
        }
    };
    let signing_key = SigningKey::from_bytes(&secret);
    let device_id = DeviceId::from_public_key(&signing_key.verifying_key().to_bytes());
    Ok(HubIdentity {
        device_id,
        signing_key,
    })
}
