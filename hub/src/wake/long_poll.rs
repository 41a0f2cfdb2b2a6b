//! `POST /v1/wake`: the long-poll a phone on duty holds open. It answers `work` as
//! soon as the device's next sync would bring it something (at once, if that is
//! already so), `timeout` after the time the device asked for, and 401 when the
//! device is revoked meanwhile.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use testigo_core::sync::wake::{WakeAnswer, WakeRequest, MAX_WAIT_SECS};

use super::audience;
use super::waiters::Wake;
use crate::auth::Authed;
use crate::error::{HubError, HubResult};
use crate::server::AppState;

pub async fn wait(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    body: Bytes,
) -> HubResult<Json<WakeAnswer>> {
    let request: WakeRequest = serde_json::from_slice(&body)
        .map_err(|e| HubError::bad_request(format!("invalid JSON body: {e}")))?;
    let timeout = Duration::from_secs(u64::from(request.timeout_secs.clamp(1, MAX_WAIT_SECS)));
    // Listen first, then look: a commit between the two still wakes this wait.
    let mut waiting = state.wake.waiters.listen(&me.device_id);
    let cursor = request.cursor;
    let device = me.clone();
    let pending = state
        .write(move |state, conn| {
            audience::has_work(conn, &device, cursor, state.now_ms(), state.retention_ms)
        })
        .await?;
    if pending {
        return Ok(Json(WakeAnswer::Work));
    }
    tokio::select! {
        why = waiting.woken() => match why {
            Wake::Work => Ok(Json(WakeAnswer::Work)),
            Wake::Revoked => Err(HubError::unauthenticated("this device was revoked")),
            Wake::Closing => Ok(Json(WakeAnswer::Timeout)),
        },
        () = tokio::time::sleep(timeout) => Ok(Json(WakeAnswer::Timeout)),
    }
}
