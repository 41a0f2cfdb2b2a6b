//! Signing in to the console, and the sessions that follow.
//!
//! A dispatcher or team lead signs in with one of:
//! - the **credential** their device received at enrolment (the bearer token of the
//!   API), pasted into the page; or
//! - a **one-time enrolment code** a coordinator made for role dispatcher or team
//!   lead. The hub enrols a *console device* for it: it makes an ed25519 key pair,
//!   keeps the public key (the device id comes from it, as for phones) and forgets the
//!   secret key at once. A console device never signs anything itself: whatever it
//!   does, the hub writes and signs on its behalf (`Author::via`), like every
//!   dispatcher action. The page receives the device's credential once, to sign in
//!   again later; it generates and stores nothing secret.
//!
//! Volunteers' devices cannot sign in: the console is a desk tool, and a volunteer's
//! phone has its own app.
//!
//! A session lives in the hub's memory only, keyed by a hash of its random id: a
//! restart signs everyone out, and no session secret is ever written to disk. It ends
//! after [`IDLE_TIMEOUT`] without the person doing anything (the page's own refreshes
//! do not count), after [`MAX_SESSION`] in any case, at sign-out, and as soon as its
//! device is revoked or re-enrolled into a role the console does not admit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use testigo_core::checklist::DEFAULT_TEMPLATE_ID;
use testigo_core::ids::DeviceId;
use testigo_core::incident::{Role, TemplateRef};

use super::csrf;
use super::incidents::registry;
use crate::auth::{hash_code, hash_credential, ClientAddress, SessionDevice};
use crate::db::devices::{self, CodeUse, Device};
use crate::error::{HubError, HubResult};
use crate::server::AppState;

pub const COOKIE_NAME: &str = "testigo_console";
/// A session ends after this long without the person doing anything.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);
/// And after this long in any case: one long shift.
pub const MAX_SESSION: Duration = Duration::from_secs(12 * 60 * 60);
/// Who may sign in. What each may do is decided by the dispatcher API's own checks.
pub const CONSOLE_ROLES: &[Role] = &[Role::Dispatcher, Role::TeamLead, Role::Coordinator];
/// Sessions the hub keeps at once, and per device (a person's browsers).
pub const MAX_SESSIONS: usize = 512;
pub const MAX_SESSIONS_PER_DEVICE: usize = 8;
/// Sent by the page on requests it makes by itself (refreshing after an event), so
/// that an unattended console still times out.
const BACKGROUND_HEADER: &str = "x-console-background";

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

#[derive(Clone)]
struct Session {
    device: DeviceId,
    csrf: String,
    created_ms: i64,
    active_ms: i64,
}

impl Session {
    fn alive(&self, now_ms: i64) -> bool {
        now_ms - self.active_ms < ms(IDLE_TIMEOUT) && now_ms - self.created_ms < ms(MAX_SESSION)
    }
}

/// The live sessions, by SHA-256 of their id.
#[derive(Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

fn session_hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.by_hash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session; returns its id (for the cookie) and its CSRF token. A device
    /// past [`MAX_SESSIONS_PER_DEVICE`] loses its oldest session; a hub past
    /// [`MAX_SESSIONS`] refuses new ones until some end.
    fn start(&self, device: DeviceId, now_ms: i64) -> HubResult<(String, String)> {
        let id = csrf::new_token()?;
        let csrf = csrf::new_token()?;
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.alive(now_ms));
        let mut mine: Vec<([u8; 32], i64)> = sessions
            .iter()
            .filter(|(_, s)| s.device == device)
            .map(|(hash, s)| (*hash, s.created_ms))
            .collect();
        mine.sort_by_key(|(_, created)| *created);
        let excess = (mine.len() + 1).saturating_sub(MAX_SESSIONS_PER_DEVICE);
        for (hash, _) in mine.into_iter().take(excess) {
            sessions.remove(&hash);
        }
        if sessions.len() >= MAX_SESSIONS {
            return Err(HubError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sessions",
                "the console has too many people signed in; try again later",
            ));
        }
        sessions.insert(
            session_hash(&id),
            Session {
                device,
                csrf: csrf.clone(),
                created_ms: now_ms,
                active_ms: now_ms,
            },
        );
        Ok((id, csrf))
    }

    /// The live session `hash` names; `touch` counts the request as activity.
    fn find(&self, hash: &[u8; 32], now_ms: i64, touch: bool) -> Option<Session> {
        let mut sessions = self.lock();
        let session = sessions.get_mut(hash)?;
        if !session.alive(now_ms) {
            sessions.remove(hash);
            return None;
        }
        if touch {
            session.active_ms = session.active_ms.max(now_ms);
        }
        Some(session.clone())
    }

    fn end(&self, hash: &[u8; 32]) {
        self.lock().remove(hash);
    }

    /// Whether the session is still live, without counting this as activity (the
    /// event stream asks this as it runs).
    pub(super) fn is_alive(&self, hash: &[u8; 32], now_ms: i64) -> bool {
        self.find(hash, now_ms, false).is_some()
    }
}

/// What the session layer hands the console's own handlers.
#[derive(Clone)]
pub(super) struct CurrentSession {
    pub hash: [u8; 32],
    csrf: String,
    pub device: Device,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// `Secure` when the page was reached over TLS: served by the hub itself, or by the
/// TLS proxy in front of it (trusting that header can only make the cookie stricter).
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.tls
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn set_cookie(value: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE_NAME}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("testigo_console=; Path=/console; Max-Age=0"))
}

fn signed_out() -> HubError {
    HubError::unauthenticated("not signed in, or the session has ended; sign in again")
}

fn admitted(device: &Device) -> HubResult<()> {
    if CONSOLE_ROLES.contains(&device.role) {
        Ok(())
    } else {
        Err(HubError::forbidden(format!(
            "a {} device cannot sign in to the console; use the Testigo app",
            device.role.as_str()
        )))
    }
}

/// The layer in front of every console API route but sign-in: a live session, a
/// device still enrolled in a console role, and for anything but reading, the
/// session's CSRF token from the console's own origin.
pub async fn require(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

async fn authenticate(state: &Arc<AppState>, request: &mut Request) -> HubResult<()> {
    let headers = request.headers();
    let hash = session_hash(&cookie_value(headers).ok_or_else(signed_out)?);
    let touch = !headers.contains_key(BACKGROUND_HEADER);
    let session = state
        .console
        .sessions
        .find(&hash, state.now_ms(), touch)
        .ok_or_else(signed_out)?;
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        csrf::same_origin(headers)?;
        if !csrf::has_token(headers, &session.csrf) {
            return Err(HubError::forbidden(
                "missing or wrong CSRF token; reload the page",
            ));
        }
    }
    let id = session.device.clone();
    let device = state.write(move |_, tx| devices::by_id(tx, &id)).await?;
    let Some(device) = device.filter(|d| admitted(d).is_ok()) else {
        state.console.sessions.end(&hash);
        return Err(signed_out());
    };
    let extensions = request.extensions_mut();
    extensions.insert(SessionDevice(device.clone()));
    extensions.insert(CurrentSession {
        hash,
        csrf: session.csrf,
        device,
    });
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[serde(default)]
    pub credential: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// What the page knows about who is signed in.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionInfo {
    pub device_id: DeviceId,
    pub role: Role,
    pub team: Option<String>,
    /// To send back in the `X-CSRF-Token` header of every change.
    pub csrf: String,
    pub idle_timeout_ms: i64,
    /// The checklist that ships with Testigo. The page names no checklist when it
    /// opens an incident, so the hub uses the newest published one, else this one.
    pub checklist: Option<TemplateRef>,
    /// Only right after redeeming a code: the new console device's credential, shown
    /// once so that the person can sign in with it later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl SessionInfo {
    fn new(device: &Device, csrf: String, credential: Option<String>) -> Self {
        Self {
            device_id: device.device_id.clone(),
            role: device.role,
            team: device.team.clone(),
            csrf,
            idle_timeout_ms: ms(IDLE_TIMEOUT),
            checklist: registry()
                .latest(DEFAULT_TEMPLATE_ID)
                .ok()
                .map(|t| t.template_ref()),
            credential,
        }
    }
}

/// `POST /console/api/sign-in`: a credential or a one-time code in, a session cookie
/// out.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> HubResult<Response> {
    csrf::json_from_same_origin(&headers)?;
    if !state.limiter().allows(address, Instant::now()) {
        return Err(HubError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many failed sign-in attempts; wait a minute",
        ));
    }
    let request: SignIn = serde_json::from_slice(&body)
        .map_err(|_| HubError::bad_request("send a credential or a code"))?;
    let attempt = match (
        request.credential.filter(|c| !c.trim().is_empty()),
        request.code.filter(|c| !c.trim().is_empty()),
    ) {
        (Some(credential), None) => by_credential(&state, &credential).await,
        (None, Some(code)) => redeem(&state, &code).await,
        _ => return Err(HubError::bad_request("send either a credential or a code")),
    };
    let (device, credential) = match attempt {
        Ok(found) => found,
        Err(e) => {
            if e.status == StatusCode::UNAUTHORIZED
                || e.status == StatusCode::GONE
                || e.status == StatusCode::CONFLICT
            {
                state.limiter().record_failure(address, Instant::now());
            }
            return Err(e);
        }
    };
    // Signing in again from the same browser ends the session it had.
    if let Some(previous) = cookie_value(&headers) {
        state.console.sessions.end(&session_hash(&previous));
    }
    let (id, csrf) = state
        .console
        .sessions
        .start(device.device_id.clone(), state.now_ms())?;
    tracing::info!(device = %device.device_id, role = device.role.as_str(), "console sign-in");
    let cookie = set_cookie(&id, MAX_SESSION.as_secs(), secure(&state, &headers));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SessionInfo::new(&device, csrf, credential)),
    )
        .into_response())
}

async fn by_credential(
    state: &Arc<AppState>,
    credential: &str,
) -> HubResult<(Device, Option<String>)> {
    let unknown = || HubError::unauthenticated("this credential is not valid");
    let credential = hex::decode(credential.trim())
        .ok()
        .filter(|c| c.len() == 32)
        .ok_or_else(unknown)?;
    let hash = hash_credential(&credential);
    let device = state
        .write(move |_, tx| devices::by_credential(tx, &hash))
        .await?
        .ok_or_else(unknown)?;
    admitted(&device)?;
    Ok((device, None))
}

/// Enrols a console device with a one-time code. A code for a role the console does
/// not admit is refused *without* being spent, so the phone it was meant for can
/// still use it.
async fn redeem(state: &Arc<AppState>, code: &str) -> HubResult<(Device, Option<String>)> {
    let mut secret = [0u8; 32];
    let mut credential = [0u8; 32];
    getrandom::fill(&mut secret)
        .and_then(|()| getrandom::fill(&mut credential))
        .map_err(|e| HubError::internal(format!("no randomness: {e}")))?;
    let public_key = SigningKey::from_bytes(&secret).verifying_key().to_bytes();
    // The secret key is not needed again: the hub signs what this device does.
    secret.fill(0);
    let code_hash = hash_code(code);
    let credential_hash = hash_credential(&credential);
    let device_id = DeviceId::from_public_key(&public_key);
    let device = state
        .write(move |state, tx| {
            let now = state.now_ms();
            match devices::take_code(tx, &code_hash, now)? {
                CodeUse::Taken {
                    role,
                    team,
                    device: None,
                } => {
                    let device = Device {
                        device_id,
                        public_key,
                        role,
                        team,
                    };
                    admitted(&device)?;
                    // A key made a moment ago: no device can have its id already.
                    if !devices::enrol_new(tx, &device, &credential_hash, now)? {
                        return Err(HubError::internal("a fresh console key collided"));
                    }
                    Ok(device)
                }
                // A re-enrolment code belongs to the one device it names; refused
                // (and not spent) here.
                CodeUse::Taken {
                    device: Some(_), ..
                } => Err(HubError::unauthenticated(
                    "this code re-enrols one device and cannot sign in to the console",
                )),
                CodeUse::Expired => Err(HubError::new(
                    StatusCode::GONE,
                    "code_expired",
                    "this enrolment code has expired; ask a coordinator for a new one",
                )),
                CodeUse::AlreadyUsed => Err(HubError::new(
                    StatusCode::CONFLICT,
                    "code_used",
                    "this enrolment code was already used",
                )),
                CodeUse::Unknown => Err(HubError::unauthenticated(
                    "this enrolment code is not valid",
                )),
            }
        })
        .await?;
    tracing::info!(device = %device.device_id, role = device.role.as_str(), "console device enrolled");
    Ok((device, Some(hex::encode(credential))))
}

/// `GET /console/api/session`: who is signed in, and the CSRF token.
pub async fn current(Extension(session): Extension<CurrentSession>) -> Json<SessionInfo> {
    Json(SessionInfo::new(&session.device, session.csrf, None))
}

/// `POST /console/api/sign-out`.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<CurrentSession>,
    headers: HeaderMap,
) -> Response {
    state.console.sessions.end(&session.hash);
    let cookie = set_cookie("", 0, secure(&state, &headers));
    (
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "ok": true })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> DeviceId {
        DeviceId::from_public_key(&[7; 32])
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let sessions = Sessions::default();
        let (id, _) = sessions.start(device(), 0).unwrap();
        let hash = session_hash(&id);
        let idle = ms(IDLE_TIMEOUT);
        let hour = 3_600_000;
        assert!(
            sessions.find(&hash, hour, true).is_some(),
            "activity an hour in"
        );
        assert!(
            sessions.find(&hash, hour + idle - 1, false).is_some(),
            "idle almost the whole timeout"
        );
        assert!(
            sessions.is_alive(&hash, hour + idle - 1),
            "background checks do not extend it"
        );
        assert!(
            sessions.find(&hash, hour + idle, true).is_none(),
            "idle for the whole timeout"
        );
        assert!(
            sessions.find(&hash, 0, true).is_none(),
            "an ended session stays ended"
        );

        let (id, _) = sessions.start(device(), 0).unwrap();
        let hash = session_hash(&id);
        let mut now = 0;
        while now + idle / 2 < ms(MAX_SESSION) {
            now += idle / 2;
            assert!(sessions.find(&hash, now, true).is_some());
        }
        assert!(
            sessions.find(&hash, ms(MAX_SESSION), true).is_none(),
            "however active, a session ends after the maximum"
        );
    }

    #[test]
    fn sessions_are_capped_per_device_and_in_all() {
        let sessions = Sessions::default();
        let first = session_hash(&sessions.start(device(), 0).unwrap().0);
        for i in 1..MAX_SESSIONS_PER_DEVICE as i64 + 1 {
            sessions.start(device(), i).unwrap();
        }
        assert!(
            !sessions.is_alive(&first, 10),
            "the device's oldest session ended"
        );
        assert_eq!(sessions.lock().len(), MAX_SESSIONS_PER_DEVICE);
        let mut n = 0u8;
        while sessions.lock().len() < MAX_SESSIONS {
            n = n.wrapping_add(1);
            let other = DeviceId::from_public_key(&[n; 32]);
            sessions.start(other, 20).unwrap();
        }
        let err = sessions
            .start(DeviceId::from_public_key(&[200; 32]), 30)
            .unwrap_err();
        assert_eq!(err.code, "too_many_sessions");
    }

    #[test]
    fn cookie_is_strict_and_only_for_the_console() {
        let cookie = set_cookie("abc", 60, true);
        let text = cookie.to_str().unwrap();
        for part in [
            "testigo_console=abc",
            "Path=/console",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
            "Secure",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!set_cookie("abc", 60, false)
            .to_str()
            .unwrap()
            .contains("Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; testigo_console=xyz; more=2"),
        );
        assert_eq!(cookie_value(&headers).as_deref(), Some("xyz"));
    }
}
