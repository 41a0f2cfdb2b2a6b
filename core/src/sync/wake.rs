//! The wake channel: how a phone on duty learns within a second that the hub has
//! something for it, without anything about an incident travelling outside a sync.
//!
//! - [`wait_for_work`] holds one long-poll (`POST` [`WAKE_PATH`]) open until the hub
//!   says "sync now", the timeout passes, or the app cancels it. The app's "on duty"
//!   foreground service loops on it and syncs when told to.
//! - [`register_push`] gives the hub a UnifiedPush endpoint (a URL from a distributor
//!   such as ntfy); the hub then POSTs an *empty* message to it when there is work, so
//!   a sleeping phone wakes and syncs. The push provider learns only that the phone
//!   was woken, never what for.
//!
//! Either way the news itself arrives through the ordinary sync, and the app builds
//! its notification from its own encrypted store.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::bookkeeping;
use super::client::{http_client, read_body, read_body_of, tls_config};
use crate::error::{Error, Result};
use crate::store::Store;

/// The long-poll a phone on duty holds open.
pub const WAKE_PATH: &str = "/v1/wake";
/// `PUT` registers this device's push endpoint, `DELETE` forgets it.
pub const PUSH_PATH: &str = "/v1/push";
/// The hub answers a wait after at most this long, whatever the device asks.
pub const MAX_WAIT_SECS: u32 = 120;

/// Body of a wait (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WakeRequest {
    /// The cursor of the last sync response this device stored: anything newer than
    /// it is work, even if it happened before the wait began.
    pub cursor: u64,
    /// How long to hold the request open; the hub clamps it to 1..=[`MAX_WAIT_SECS`].
    pub timeout_secs: u32,
}

/// The hub's answer to a wait (JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WakeAnswer {
    /// Something is waiting for this device: sync now.
    Work,
    /// Nothing arrived before the timeout: wait again.
    Timeout,
}

/// Body of a push registration (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRegistration {
    /// The URL the distributor gave the app (UnifiedPush `onNewEndpoint`).
    pub endpoint: String,
}

/// How one call to [`wait_for_work`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The hub has something for this device: sync now.
    Work,
    /// Nothing came before the timeout.
    Timeout,
    /// [`WaitCancel::cancel`] was called.
    Cancelled,
}

/// Cancels a [`wait_for_work`] from another thread (the service stopping, the user
/// going off duty). Once cancelled it stays cancelled: every wait given it returns
/// [`WaitOutcome::Cancelled`] at once, so a cancel that races the start of a wait is
/// never lost.
#[derive(Debug)]
pub struct WaitCancel {
    cancelled: watch::Sender<bool>,
}

impl Default for WaitCancel {
    fn default() -> Self {
        Self {
            cancelled: watch::Sender::new(false),
        }
    }
}

impl WaitCancel {
    pub fn cancel(&self) {
        self.cancelled.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
}

/// Blocks until the hub has something for this device, `timeout` passes, or `cancel`
/// is cancelled. The request carries the device's sync cursor, so work that arrived
/// between the last sync and this call is reported at once. Cancelling closes the
/// connection, which also ends the wait on the hub.
///
/// Fails with `NotPermitted` when the device is not enrolled or was revoked (a
/// revocation ends a wait in progress), `Sync` when the hub cannot be reached.
pub fn wait_for_work(store: &Store, timeout: Duration, cancel: &WaitCancel) -> Result<WaitOutcome> {
    if cancel.is_cancelled() {
        return Ok(WaitOutcome::Cancelled);
    }
    PreparedWait::of(store)?.wait(timeout, cancel)
}

/// What a wait needs from the store, read up front so that the store is not held
/// (and a wipe not delayed) while the wait is open.
#[derive(Clone, Debug)]
pub struct PreparedWait {
    base: String,
    credential: String,
    cursor: u64,
}

impl PreparedWait {
    pub fn of(store: &Store) -> Result<Self> {
        let (base, credential) = hub_and_credential(store)?;
        Ok(Self {
            base,
            credential,
            cursor: bookkeeping::cursor(store)?,
        })
    }

    /// [`wait_for_work`] without the store.
    pub fn wait(self, timeout: Duration, cancel: &WaitCancel) -> Result<WaitOutcome> {
        if cancel.is_cancelled() {
            return Ok(WaitOutcome::Cancelled);
        }
        let timeout_secs = timeout.as_secs().clamp(1, u64::from(MAX_WAIT_SECS)) as u32;
        let request = WakeRequest {
            cursor: self.cursor,
            timeout_secs,
        };
        // The HTTP timeout leaves the hub time to answer "timeout" itself.
        let client = async_client(Duration::from_secs(u64::from(timeout_secs) + 15))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Sync(format!("cannot start waiting: {e}")))?;
        let mut cancelled = cancel.cancelled.subscribe();
        let url = format!("{}{WAKE_PATH}", self.base);
        let credential = self.credential;
        runtime.block_on(async move {
            let call = async {
                let response = client
                    .post(url)
                    .bearer_auth(&credential)
                    .json(&request)
                    .send()
                    .await
                    .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
                let status = response.status();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Error::Sync(format!("the hub's answer was cut: {e}")))?;
                let body = read_body(status, body.to_vec())?;
                let answer: WakeAnswer = serde_json::from_slice(&body)
                    .map_err(|e| Error::Sync(format!("unreadable answer from the hub: {e}")))?;
                Ok(match answer {
                    WakeAnswer::Work => WaitOutcome::Work,
                    WakeAnswer::Timeout => WaitOutcome::Timeout,
                })
            };
            tokio::select! {
                outcome = call => outcome,
                // Dropping `call` closes the connection: the hub's wait ends with it.
                _ = cancelled.wait_for(|c| *c) => Ok(WaitOutcome::Cancelled),
            }
        })
    }
}

/// Gives the hub this device's UnifiedPush endpoint, replacing any earlier one. The
/// hub sends it only empty wakes; the registration ends when the device is revoked.
pub fn register_push(store: &Store, endpoint: &str) -> Result<()> {
    let (base, credential) = hub_and_credential(store)?;
    let client = http_client(Duration::from_secs(30))?;
    let response = client
        .put(format!("{base}{PUSH_PATH}"))
        .bearer_auth(&credential)
        .json(&PushRegistration {
            endpoint: endpoint.to_owned(),
        })
        .send()
        .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
    read_body_of(response).map(drop)
}

/// Tells the hub to stop pushing to this device (the user went off duty, or the
/// distributor was uninstalled).
pub fn unregister_push(store: &Store) -> Result<()> {
    let (base, credential) = hub_and_credential(store)?;
    let client = http_client(Duration::from_secs(30))?;
    let response = client
        .delete(format!("{base}{PUSH_PATH}"))
        .bearer_auth(&credential)
        .send()
        .map_err(|e| Error::Sync(format!("cannot reach the hub: {e}")))?;
    read_body_of(response).map(drop)
}

fn hub_and_credential(store: &Store) -> Result<(String, String)> {
    let identity = store.identity();
    let credential = identity
        .credential
        .clone()
        .ok_or_else(|| Error::not_permitted("this device is not enrolled with a hub"))?;
    let base = identity
        .hub_url
        .clone()
        .ok_or_else(|| Error::invalid("hub url", "none saved at enrolment"))?;
    Ok((base.trim_end_matches('/').to_owned(), credential))
}

/// The async twin of [`http_client`] (same TLS setup), for a request that must be
/// dropped mid-flight when the wait is cancelled.
fn async_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Sync(format!("cannot set up HTTPS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_before_the_wait_is_not_lost() {
        let cancel = WaitCancel::default();
        cancel.cancel();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db"), &[7; 32]).unwrap();
        // Not enrolled: were the cancel ignored, this would be an error.
        assert_eq!(
            wait_for_work(&store, Duration::from_secs(5), &cancel).unwrap(),
            WaitOutcome::Cancelled
        );
    }

    #[test]
    fn answers_are_plain_words() {
        assert_eq!(
            serde_json::to_string(&WakeAnswer::Work).unwrap(),
            "\"work\""
        );
        assert_eq!(
            serde_json::from_str::<WakeAnswer>("\"timeout\"").unwrap(),
            WakeAnswer::Timeout
        );
    }
}
