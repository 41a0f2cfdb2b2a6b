//! UnifiedPush: `PUT /v1/push` registers the device's endpoint (a URL its distributor
//! gave it, e.g. a self-hosted ntfy), `DELETE /v1/push` forgets it. When there is work
//! for the device the hub POSTs an **empty** message to that URL: the distributor and
//! anyone it forwards to (Google's or Apple's push service, for some distributors)
//! learn that this phone was woken, and when, but nothing about any incident.
//!
//! A wake that fails (network error, 5xx, 429) is retried with exponential backoff; a
//! wake that still fails after every retry counts against the endpoint, which is
//! dropped after [`PushPolicy::max_failed_wakes`] such wakes in a row. A 404 or 410
//! (the distributor no longer knows the endpoint) drops it at once. Revoking the
//! device deletes its endpoint in the same transaction.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use testigo_core::ids::DeviceId;
use testigo_core::sync::wake::PushRegistration;
use tokio::sync::mpsc;

use crate::auth::Authed;
use crate::db::push;
use crate::error::{HubError, HubResult};
use crate::server::AppState;

/// Longest endpoint URL accepted.
const MAX_ENDPOINT_LEN: usize = 2048;
/// How long one POST to a distributor may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a distributor should keep a wake for a phone that is offline (RFC 8030
/// `TTL`): after that the phone's next sync makes it pointless.
const WAKE_TTL_SECS: u32 = 3600;

/// How hard the hub tries to reach an endpoint.
#[derive(Clone, Debug)]
pub struct PushPolicy {
    /// Attempts per wake (the first one included).
    pub attempts: u32,
    /// Delay before the first retry; each further retry waits twice as long.
    pub first_retry: Duration,
    /// Wakes in a row that failed after every attempt before the endpoint is dropped.
    pub max_failed_wakes: u32,
    /// Accept `http://` endpoints (a distributor on the same trusted network, tests).
    /// Otherwise only `https://`.
    pub allow_http: bool,
}

impl Default for PushPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_retry: Duration::from_secs(2),
            max_failed_wakes: 3,
            allow_http: false,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Registered {
    pub endpoint: String,
}

/// `PUT /v1/push`: this device's push endpoint, replacing any earlier one.
pub async fn register(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    body: Bytes,
) -> HubResult<Json<Registered>> {
    let request: PushRegistration = serde_json::from_slice(&body)
        .map_err(|e| HubError::bad_request(format!("invalid JSON body: {e}")))?;
    let endpoint = checked_endpoint(&request.endpoint, state.wake.policy.allow_http)?;
    let stored = endpoint.clone();
    state
        .write(move |state, conn| {
            push::register(conn, &me.device_id, &stored, state.now_ms())?;
            tracing::info!(device = %me.device_id, "push endpoint registered");
            Ok(())
        })
        .await?;
    Ok(Json(Registered { endpoint }))
}

/// `DELETE /v1/push`: no more push wakes for this device.
pub async fn unregister(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
) -> HubResult<StatusCode> {
    state
        .write(move |_, conn| push::forget(conn, &me.device_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint as it will be called: an absolute http(s) URL without credentials.
fn checked_endpoint(raw: &str, allow_http: bool) -> HubResult<String> {
    let raw = raw.trim();
    if raw.len() > MAX_ENDPOINT_LEN {
        return Err(HubError::bad_request(format!(
            "a push endpoint is at most {MAX_ENDPOINT_LEN} characters"
        )));
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| HubError::bad_request(format!("the push endpoint is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(HubError::bad_request(
                "the push endpoint must be https (this hub does not accept plain http endpoints)",
            ))
        }
        other => {
            return Err(HubError::bad_request(format!(
                "the push endpoint must be https, not {other}"
            )))
        }
    }
    if url.host_str().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(HubError::bad_request(
            "the push endpoint needs a host and no user name or password",
        ));
    }
    Ok(url.to_string())
}

/// Queue of devices to push a wake to; the sender runs in the background.
pub struct Pusher {
    queue: mpsc::UnboundedSender<DeviceId>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<DeviceId>>>,
}

impl Default for Pusher {
    fn default() -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        Self {
            queue,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }
}

impl Pusher {
    pub fn wake(&self, device: DeviceId) {
        // Fails only once the hub has stopped; then nothing needs waking.
        let _ = self.queue.send(device);
    }

    /// Starts sending queued wakes (once; later calls do nothing).
    pub fn spawn(&self, state: &Arc<AppState>) {
        let Some(mut receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        // reqwest uses rustls without a built-in provider: ring, like the rest.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot set up HTTPS for push wakes; none will be sent");
                return;
            }
        };
        let state = Arc::clone(state);
        tokio::spawn(async move {
            while let Some(device) = receiver.recv().await {
                tokio::spawn(deliver(Arc::clone(&state), client.clone(), device));
            }
        });
    }
}

enum Attempt {
    Delivered,
    /// The distributor does not know the endpoint any more.
    Gone,
    Failed(String),
}

/// Sends one wake to the device's endpoint, retrying with backoff.
async fn deliver(state: Arc<AppState>, client: reqwest::Client, device: DeviceId) {
    let policy = state.wake.policy.clone();
    let mut delay = policy.first_retry;
    let lookup = device.clone();
    // Looked up now, not when queued: a registration revoked or replaced meanwhile wins.
    let endpoint = match state
        .write(move |_, conn| push::endpoint(conn, &lookup))
        .await
    {
        Ok(Some(endpoint)) => endpoint,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot read a push endpoint");
            return;
        }
    };
    for attempt in 1..=policy.attempts.max(1) {
        match post(&client, &endpoint).await {
            Attempt::Delivered => {
                let device = device.clone();
                let _ = state
                    .write(move |_, conn| push::delivered(conn, &device))
                    .await;
                return;
            }
            Attempt::Gone => {
                tracing::info!(%device, "push endpoint gone; dropped");
                let device = device.clone();
                let _ = state
                    .write(move |_, conn| push::gone(conn, &device, &endpoint))
                    .await;
                return;
            }
            Attempt::Failed(reason) => {
                tracing::warn!(%device, attempt, %reason, "push wake failed");
                if attempt < policy.attempts {
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }
    let limit = policy.max_failed_wakes;
    let dropped = {
        let device = device.clone();
        state
            .write(move |_, conn| push::failed(conn, &device, &endpoint, limit))
            .await
    };
    if let Ok(true) = dropped {
        tracing::warn!(%device, "push endpoint dropped after repeated failures");
    }
}

/// One POST of an empty wake. `TTL` and `Urgency` are RFC 8030's: keep it an hour for
/// a phone that is offline, and deliver it even to a phone saving its battery.
async fn post(client: &reqwest::Client, endpoint: &str) -> Attempt {
    let sent = client
        .post(endpoint)
        .header("TTL", WAKE_TTL_SECS.to_string())
        .header("Urgency", "high")
        .body(Vec::<u8>::new())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Attempt::Delivered,
        Ok(response)
            if matches!(
                response.status(),
                reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE
            ) =>
        {
            Attempt::Gone
        }
        Ok(response) => Attempt::Failed(format!("the distributor answered {}", response.status())),
        Err(e) => Attempt::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_urls_without_credentials() {
        assert!(checked_endpoint("https://ntfy.example.org/upAbC?up=1", false).is_ok());
        assert!(checked_endpoint("http://10.0.0.2/up", false).is_err());
        assert!(checked_endpoint("http://10.0.0.2/up", true).is_ok());
        assert!(checked_endpoint("file:///etc/passwd", true).is_err());
        assert!(checked_endpoint("https://user:pw@ntfy.example.org/up", false).is_err());
        assert!(checked_endpoint("not a url", false).is_err());
        let long = format!("https://ntfy.example.org/{}", "a".repeat(MAX_ENDPOINT_LEN));
        assert!(checked_endpoint(&long, false).is_err());
    }
}
