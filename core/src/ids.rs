//! Identifiers. They travel between devices and the hub, so every one is parsed and
//! checked when it comes from outside rather than trusted as a string.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{Error, Result};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered, globally unique id.
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "{}"), uuid::Uuid::now_v7().simple()))
            }

            /// Parses an id received from outside.
            pub fn parse(s: &str) -> Result<Self> {
                let body = s.strip_prefix($prefix).ok_or_else(|| {
                    Error::invalid(stringify!($name), format!("must start with {:?}", $prefix))
                })?;
                if body.len() != 32 || !body.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                    return Err(Error::invalid(stringify!($name), "must be 32 lowercase hex digits after the prefix"));
                }
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

text_id!(
    /// One incident, and so one automerge document.
    IncidentId, "inc_"
);
text_id!(
    /// One record inside an incident (observation, checkpoint, status event).
    RecordId, "rec_"
);
text_id!(
    /// An enrolled device. It is derived from the device's public key, so a change's
    /// automerge actor, its author field and its signature all point to one device.
    DeviceId, "dev_"
);

impl DeviceId {
    /// The device id that belongs to an ed25519 public key: the first 16 bytes of its
    /// SHA-256, in hex.
    pub fn from_public_key(public_key: &[u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(public_key);
        Self(format!("dev_{}", hex::encode(&digest[..16])))
    }

    /// The automerge actor a device writes with: the same 16 bytes as its id.
    pub fn actor_id(&self) -> automerge::ActorId {
        let bytes =
            hex::decode(&self.0[4..]).expect("DeviceId holds 32 hex digits by construction");
        automerge::ActorId::from(bytes)
    }

    /// The device an automerge actor belongs to, if it is a device actor at all.
    pub fn from_actor(actor: &automerge::ActorId) -> Option<Self> {
        let bytes = actor.to_bytes();
        (bytes.len() == 16).then(|| Self(format!("dev_{}", hex::encode(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = IncidentId::generate();
        assert_eq!(IncidentId::parse(id.as_str()).unwrap(), id);
        assert!(IncidentId::parse("inc_xyz").is_err());
        assert!(IncidentId::parse("rec_0123456789abcdef0123456789abcdef").is_err());
        assert!(IncidentId::parse("inc_0123456789ABCDEF0123456789abcdef").is_err());
    }

    #[test]
    fn device_actor_round_trip() {
        let id = DeviceId::from_public_key(&[7; 32]);
        assert_eq!(DeviceId::from_actor(&id.actor_id()), Some(id));
    }
}
