//! Enrolment and authentication. A device enrols once with a one-time code and its
//! public key and receives a bearer credential; every later request carries it.
//! Codes are single-use and expire; failed guesses are rate-limited per address and
//! for the hub as a whole, so a 60-bit code cannot be found by trying.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use testigo_core::ids::DeviceId;
use testigo_core::sync::protocol::{EnrolRequest, EnrolResponse};

use crate::db::devices::{self, CodeUse, Device};
use crate::error::{HubError, HubResult};
use crate::server::AppState;

/// Letters and digits that cannot be misread for each other when dictated by phone.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
const CODE_LEN: usize = 12;

const WINDOW: Duration = Duration::from_secs(60);
const FAILURES_PER_ADDRESS: usize = 5;
const FAILURES_GLOBAL: usize = 30;

/// A fresh one-time code, shown as `XXXX-XXXX-XXXX`.
pub fn new_code() -> HubResult<String> {
    let mut code = String::with_capacity(CODE_LEN + 2);
    while code.len() < CODE_LEN + 2 {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte)
            .map_err(|e| HubError::internal(format!("no randomness: {e}")))?;
        // Rejection sampling keeps every symbol equally likely.
        if usize::from(byte[0]) < CODE_ALPHABET.len() * (256 / CODE_ALPHABET.len()) {
            if code.len() == 4 || code.len() == 9 {
                code.push('-');
            }
            code.push(CODE_ALPHABET[usize::from(byte[0]) % CODE_ALPHABET.len()] as char);
        }
    }
    Ok(code)
}

/// The stored form of a code: hash of its normalised text (case, dashes and spaces
/// do not matter when typed).
pub fn hash_code(code: &str) -> [u8; 32] {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(normalised.as_bytes()).into()
}

pub(crate) fn hash_credential(credential: &[u8]) -> [u8; 32] {
    Sha256::digest(credential).into()
}

/// Failed enrolment attempts in the last minute.
#[derive(Default)]
pub struct RateLimiter {
    per_address: HashMap<IpAddr, VecDeque<Instant>>,
    global: VecDeque<Instant>,
}

impl RateLimiter {
    fn prune(&mut self, now: Instant) {
        let fresh = |t: &Instant| now.duration_since(*t) < WINDOW;
        self.global.retain(fresh);
        self.per_address.retain(|_, times| {
            times.retain(fresh);
            !times.is_empty()
        });
    }

    pub fn allows(&mut self, address: IpAddr, now: Instant) -> bool {
        self.prune(now);
        self.global.len() < FAILURES_GLOBAL
            && self
                .per_address
                .get(&address)
                .is_none_or(|t| t.len() < FAILURES_PER_ADDRESS)
    }

    pub fn record_failure(&mut self, address: IpAddr, now: Instant) {
        self.global.push_back(now);
        self.per_address.entry(address).or_default().push_back(now);
    }
}

/// `POST /v1/enrol`: a code and a public key in, a credential out.
pub async fn enrol(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> HubResult<Json<EnrolResponse>> {
    let address = peer.ip();
    if !state.limiter().allows(address, Instant::now()) {
        return Err(HubError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed enrolment attempts; wait a minute",
        ));
    }
    let request: EnrolRequest = serde_json::from_slice(&body)
        .map_err(|e| HubError::bad_request(format!("not an enrolment request: {e}")))?;
    let public_key: [u8; 32] = hex::decode(request.public_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| HubError::bad_request("public_key must be 64 hex digits"))?;
    VerifyingKey::from_bytes(&public_key)
        .map_err(|_| HubError::bad_request("public_key is not an ed25519 public key"))?;
    let mut credential = [0u8; 32];
    getrandom::fill(&mut credential)
        .map_err(|e| HubError::internal(format!("no randomness: {e}")))?;
    let credential_hash = hash_credential(&credential);
    let code_hash = hash_code(&request.code);
    let device_id = DeviceId::from_public_key(&public_key);
    let enrolled_id = device_id.clone();
    let outcome = state
        .blocking(move |state, conn| {
            let now = state.now_ms();
            let tx = conn.transaction()?;
            let used = devices::take_code(&tx, &code_hash, now)?;
            if let CodeUse::Taken { role, team } = &used {
                let device = Device {
                    device_id: enrolled_id,
                    public_key,
                    role: *role,
                    team: team.clone(),
                };
                devices::enrol(&tx, &device, &credential_hash, now)?;
            }
            tx.commit()?;
            Ok(used)
        })
        .await?;
    match outcome {
        CodeUse::Taken { role, team } => {
            tracing::info!(device = %device_id, role = role.as_str(), "device enrolled");
            Ok(Json(EnrolResponse {
                device_id: device_id.to_string(),
                role,
                team,
                credential: hex::encode(credential),
                hub_device_id: Some(state.hub.device_id.to_string()),
            }))
        }
        refused => {
            state.limiter().record_failure(address, Instant::now());
            Err(match refused {
                CodeUse::Expired => HubError::new(
                    StatusCode::GONE,
                    "code_expired",
                    "this enrolment code has expired; ask a coordinator for a new one",
                ),
                CodeUse::AlreadyUsed => HubError::new(
                    StatusCode::CONFLICT,
                    "code_used",
                    "this enrolment code was already used",
                ),
                _ => HubError::new(
                    StatusCode::UNAUTHORIZED,
                    "code_invalid",
                    "this enrolment code is not valid",
                ),
            })
        }
    }
}

/// An authenticated device: every route but health and enrolment takes one, so a
/// request without a valid credential never reaches a handler.
pub struct Authed(pub Device);

/// A device the console's session layer has already authenticated
/// (`console::session::require`). Only that layer puts one in a request's
/// extensions, and only on console routes, so the dispatcher handlers serve the
/// console with the same role checks as the API.
#[derive(Clone)]
pub struct SessionDevice(pub Device);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = HubError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(SessionDevice(device)) = parts.extensions.get::<SessionDevice>() {
            return Ok(Authed(device.clone()));
        }
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            HubError::unauthenticated("this request needs an Authorization: Bearer credential")
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                HubError::unauthenticated("the Authorization header must be a Bearer credential")
            })?;
        let credential = hex::decode(token)
            .ok()
            .filter(|c| c.len() == 32)
            .ok_or_else(|| HubError::unauthenticated("malformed credential"))?;
        let hash = hash_credential(&credential);
        let device = state
            .blocking(move |_, conn| devices::by_credential(conn, &hash))
            .await?;
        device
            .map(Authed)
            .ok_or_else(|| HubError::unauthenticated("unknown or revoked credential"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_normalised() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), 14);
        assert_eq!(
            hash_code(&code),
            hash_code(&code.to_lowercase().replace('-', " "))
        );
        assert_ne!(hash_code(&code), hash_code(&new_code().unwrap()));
    }

    #[test]
    fn failures_are_limited_per_address_and_globally() {
        let mut limiter = RateLimiter::default();
        let now = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..FAILURES_PER_ADDRESS {
            assert!(limiter.allows(a, now));
            limiter.record_failure(a, now);
        }
        assert!(!limiter.allows(a, now));
        assert!(limiter.allows([10, 0, 0, 2].into(), now));
        for i in 0..FAILURES_GLOBAL {
            limiter.record_failure([10, 1, 0, i as u8].into(), now);
        }
        assert!(!limiter.allows([10, 0, 0, 3].into(), now));
        assert!(limiter.allows(a, now + WINDOW));
    }
}
