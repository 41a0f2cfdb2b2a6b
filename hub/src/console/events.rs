//! `GET /console/api/events`: server-sent events that tell an open page to refresh.
//! An event carries no incident data, only that something changed, so the page
//! fetches what it shows through the same permission checks as any other request.
//!
//! A stream hears only of changes to incidents its session may see, so a team lead's
//! page does not tick when another team's incidents are busy; and its number counts
//! only those (the hub-wide revision would say how busy the whole hub is). Open
//! streams are bounded, in all and per session.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::Extension;
use futures_util::stream::{self, Stream};
use testigo_core::ids::IncidentId;
use tokio::sync::{broadcast, watch};

use super::session::CurrentSession;
use crate::db::devices::Device;
use crate::error::{HubError, HubResult};
use crate::permissions;
use crate::server::AppState;

/// How often an idle stream sends a comment (so proxies keep it open) and checks that
/// its session is still live.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Changes that come in a burst (one sync round writes several rows) are sent as one.
const SETTLE: Duration = Duration::from_millis(150);
/// Changes kept for streams that fall behind.
pub(super) const BACKLOG: usize = 256;
/// Event streams open at once on the hub, and per session (a page holds one; a
/// reconnect may briefly hold two).
pub const MAX_STREAMS: usize = 64;
pub const MAX_STREAMS_PER_SESSION: usize = 3;

/// The streams open now, by session.
#[derive(Default)]
pub(super) struct OpenStreams {
    by_session: Mutex<HashMap<[u8; 32], usize>>,
}

/// Held by a running stream; dropping it (the page went away) frees its place.
struct StreamSlot {
    state: Arc<AppState>,
    session: [u8; 32],
}

impl OpenStreams {
    fn open(state: &Arc<AppState>, session: [u8; 32]) -> HubResult<StreamSlot> {
        let mut open = state
            .console
            .streams
            .by_session
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let total: usize = open.values().sum();
        let mine = open.get(&session).copied().unwrap_or(0);
        if total >= MAX_STREAMS || mine >= MAX_STREAMS_PER_SESSION {
            return Err(HubError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "too many live connections are open; close other console tabs",
            ));
        }
        *open.entry(session).or_default() += 1;
        Ok(StreamSlot {
            state: Arc::clone(state),
            session,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .state
            .console
            .streams
            .by_session
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.session) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.session);
            }
        }
    }
}

struct Watcher {
    state: Arc<AppState>,
    session: [u8; 32],
    device: Device,
    revision: watch::Receiver<u64>,
    changes: broadcast::Receiver<Arc<Vec<IncidentId>>>,
    closing: watch::Receiver<bool>,
    /// Changes this stream has told of: its event number, unless the session sees
    /// every incident anyway (then the hub's revision).
    told: u64,
    greeted: bool,
    done: bool,
    _slot: StreamSlot,
}

impl Watcher {
    fn number(&self) -> u64 {
        if permissions::sees_all(self.device.role) {
            *self.revision.borrow()
        } else {
            self.told
        }
    }

    /// Whether the session may see one of `incidents` now.
    async fn sees_any(&self, incidents: Arc<Vec<IncidentId>>) -> bool {
        if permissions::sees_all(self.device.role) {
            return true;
        }
        let device = self.device.clone();
        self.state
            .write(move |state, tx| {
                for id in incidents.iter() {
                    if permissions::can_see(tx, &device, id, state.now_ms(), state.retention_ms)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .await
            .unwrap_or(false)
    }

    async fn next(&mut self) -> Option<Event> {
        if self.done || *self.closing.borrow() {
            return None;
        }
        if !self.greeted {
            self.greeted = true;
            return Some(
                Event::default()
                    .event("ready")
                    .data(self.number().to_string()),
            );
        }
        loop {
            tokio::select! {
                received = self.changes.recv() => {
                    let relevant = match received {
                        Ok(incidents) => self.sees_any(incidents).await,
                        // Fell behind: whoever sees everything refreshes; anyone else
                        // would learn only that the hub is busy.
                        Err(broadcast::error::RecvError::Lagged(_)) => permissions::sees_all(self.device.role),
                        Err(broadcast::error::RecvError::Closed) => return None,
                    };
                    if !relevant {
                        continue;
                    }
                    tokio::time::sleep(SETTLE).await;
                    // The rest of the burst is covered by this one event; what the
                    // session may not see is dropped with it.
                    while self.changes.try_recv().is_ok() {}
                    self.told += 1;
                    return Some(Event::default().event("changed").data(self.number().to_string()));
                }
                _ = self.closing.changed() => return None,
                () = tokio::time::sleep(HEARTBEAT) => {
                    return if self.state.console.sessions.is_alive(&self.session, self.state.now_ms()) {
                        Some(Event::default().comment("heartbeat"))
                    } else {
                        self.done = true;
                        Some(Event::default().event("signed-out").data(""))
                    };
                }
            }
        }
    }
}

pub async fn stream(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<CurrentSession>,
) -> HubResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let slot = OpenStreams::open(&state, session.hash)?;
    let watcher = Watcher {
        revision: state.console.revision.subscribe(),
        changes: state.console.changes.subscribe(),
        closing: state.console.closing.subscribe(),
        session: session.hash,
        device: session.device,
        state,
        told: 0,
        greeted: false,
        done: false,
        _slot: slot,
    };
    Ok(Sse::new(stream::unfold(watcher, |mut w| async move {
        w.next().await.map(|event| (Ok(event), w))
    })))
}
