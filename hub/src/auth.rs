//! Enrolment and authentication. A device enrols once with a one-time code, its
//! public key and a signature by that key proving it holds it
//! (`testigo_core::sync::enrolment`), and receives a bearer credential; every later
//! request carries it. An enrolment never replaces a device the hub knows (enrolled
//! or revoked): only a re-enrolment code a coordinator makes for that device does.
//! Codes are single-use and expire; failed attempts are rate-limited per address and
//! for the hub as a whole, so a 60-bit code cannot be found by trying.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};
use testigo_core::ids::DeviceId;
use testigo_core::sync::enrolment::{normalise_code, verify_proof};
use testigo_core::sync::protocol::{EnrolRequest, EnrolResponse, HubInfo};

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
    Sha256::digest(normalise_code(code).as_bytes()).into()
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

    /// Whether `address` may try now. An address that failed too often waits. When
    /// the whole hub has seen too many failures, only addresses that have not failed
    /// lately may try, so that one attacker (or a handful) cannot lock everyone else
    /// out of enrolment and sign-in, while a crowd still gets one guess a minute each.
    pub fn allows(&mut self, address: IpAddr, now: Instant) -> bool {
        self.prune(now);
        let failures = self.per_address.get(&address).map_or(0, VecDeque::len);
        failures < FAILURES_PER_ADDRESS && (self.global.len() < FAILURES_GLOBAL || failures == 0)
    }

    pub fn record_failure(&mut self, address: IpAddr, now: Instant) {
        self.global.push_back(now);
        self.per_address.entry(address).or_default().push_back(now);
    }
}

/// `GET /v1/hub`: who this hub is, for the device to bind its enrolment proof to.
pub async fn hub_info(State(state): State<Arc<AppState>>) -> Json<HubInfo> {
    Json(HubInfo {
        device_id: state.hub.device_id.to_string(),
        public_key: hex::encode(state.hub.signing_key.verifying_key().to_bytes()),
    })
}

/// Why an enrolment was refused after the code was looked up. The request's
/// transaction is rolled back with it, so a refused enrolment spends no code.
fn refusal(outcome: &CodeUse) -> HubError {
    match outcome {
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
    }
}

fn already_enrolled() -> HubError {
    HubError::new(
        StatusCode::CONFLICT,
        "device_enrolled",
        "this device is already known to the hub; a coordinator can make a re-enrolment code for it",
    )
}

/// Where a request comes from, as rate limits count it: the peer's address, or, when
/// the peer is one of the configured trusted proxies, the nearest address in
/// `X-Forwarded-For` that is not one of them. Anyone else's `X-Forwarded-For` is
/// ignored: a client could write anything there.
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientAddress {
    type Rejection = HubError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| HubError::internal("the connection has no peer address"))?;
        Ok(Self(client_address(
            peer.ip(),
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

/// See [`ClientAddress`]. IPv6 addresses count by their /64, which one subscriber
/// usually holds whole; IPv4-mapped IPv6 addresses count as the IPv4 address.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut address = normalise(peer);
    if trusted.iter().any(|t| normalise(*t) == address) {
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // The proxy appends the address it saw: read from the right, past proxies.
        for entry in forwarded.iter().rev() {
            match entry.parse::<IpAddr>().map(normalise) {
                Ok(ip) if trusted.iter().any(|t| normalise(*t) == ip) => continue,
                Ok(ip) => {
                    address = ip;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    limit_key(address)
}

fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// `POST /v1/enrol`: a code, a public key and proof of holding its secret key in, a
/// credential out.
pub async fn enrol(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> HubResult<Json<EnrolResponse>> {
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
    let proof: [u8; 64] = hex::decode(request.proof.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| HubError::bad_request("proof must be 128 hex digits"))?;
    // Before the code is even looked up: a proof that fails spends nothing and tells
    // nothing about the code.
    if verify_proof(&state.hub.device_id, &request.code, &public_key, &proof).is_err() {
        state.limiter().record_failure(address, Instant::now());
        return Err(HubError::new(
            StatusCode::UNAUTHORIZED,
            "proof_invalid",
            "the proof is not this key's signature over this code and this hub",
        ));
    }
    let mut credential = [0u8; 32];
    getrandom::fill(&mut credential)
        .map_err(|e| HubError::internal(format!("no randomness: {e}")))?;
    let credential_hash = hash_credential(&credential);
    let code_hash = hash_code(&request.code);
    let device_id = DeviceId::from_public_key(&public_key);
    let enrolled_id = device_id.clone();
    let outcome = state
        .write(move |state, tx| {
            let now = state.now_ms();
            let used = devices::take_code(tx, &code_hash, now)?;
            let CodeUse::Taken { role, team, device } = used else {
                return Err(refusal(&used));
            };
            let enrolling = Device {
                device_id: enrolled_id.clone(),
                public_key,
                role,
                team: team.clone(),
            };
            match device {
                // A re-enrolment code enrols its one device and no other.
                Some(meant) if meant != enrolled_id => return Err(refusal(&CodeUse::Unknown)),
                Some(_) => devices::re_enrol(tx, &enrolling, &credential_hash, now)?,
                None => {
                    if !devices::enrol_new(tx, &enrolling, &credential_hash, now)? {
                        return Err(already_enrolled());
                    }
                }
            }
            Ok((role, team))
        })
        .await;
    match outcome {
        Ok((role, team)) => {
            tracing::info!(device = %device_id, role = role.as_str(), "device enrolled");
            Ok(Json(EnrolResponse {
                device_id: device_id.to_string(),
                role,
                team,
                credential: hex::encode(credential),
            }))
        }
        Err(refused) => {
            if refused.status != StatusCode::INTERNAL_SERVER_ERROR {
                state.limiter().record_failure(address, Instant::now());
            }
            Err(refused)
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
            .read(move |_, conn| devices::by_credential(conn, &hash))
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
        let failed_once: IpAddr = [10, 0, 0, 4].into();
        limiter.record_failure(failed_once, now);
        assert!(
            !limiter.allows(failed_once, now),
            "past the global limit, an address that failed waits"
        );
        assert!(
            limiter.allows([10, 0, 0, 3].into(), now),
            "but one that has not may still try: nobody locks out everyone"
        );
        assert!(limiter.allows(a, now + WINDOW));
    }

    #[test]
    fn forwarded_addresses_are_read_only_from_trusted_proxies() {
        let proxy: IpAddr = [10, 9, 9, 9].into();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7".parse().unwrap(),
        );
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            IpAddr::from([203, 0, 113, 7]),
            "the address the proxy appended, not what the client wrote before it"
        );
        assert_eq!(
            client_address(proxy, &headers, &[]),
            proxy,
            "no trusted proxy: the header is ignored"
        );
        let stranger: IpAddr = [192, 0, 2, 1].into();
        assert_eq!(client_address(stranger, &headers, &[proxy]), stranger);
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(
            client_address(v6, &HeaderMap::new(), &[]),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }
}
