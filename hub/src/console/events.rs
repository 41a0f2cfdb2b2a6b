//! `GET /console/api/events`: server-sent events that tell an open page to refresh.
//! An event carries no incident data, only that something changed, so the page
//! fetches what it shows through the same permission checks as any other request.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::Extension;
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use super::session::CurrentSession;
use crate::server::AppState;

/// How often an idle stream sends a comment (so proxies keep it open) and checks that
/// its session is still live.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Changes that come in a burst (one sync round writes several rows) are sent as one.
const SETTLE: Duration = Duration::from_millis(150);

struct Watcher {
    state: Arc<AppState>,
    session: [u8; 32],
    revision: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    greeted: bool,
    done: bool,
}

impl Watcher {
    async fn next(&mut self) -> Option<Event> {
        if self.done || *self.closing.borrow() {
            return None;
        }
        if !self.greeted {
            self.greeted = true;
            return Some(
                Event::default()
                    .event("ready")
                    .data(self.revision.borrow_and_update().to_string()),
            );
        }
        tokio::select! {
            changed = self.revision.changed() => {
                changed.ok()?;
                tokio::time::sleep(SETTLE).await;
                let revision = *self.revision.borrow_and_update();
                Some(Event::default().event("changed").data(revision.to_string()))
            }
            _ = self.closing.changed() => None,
            () = tokio::time::sleep(HEARTBEAT) => {
                if self.state.console.sessions.is_alive(&self.session, self.state.now_ms()) {
                    Some(Event::default().comment("heartbeat"))
                } else {
                    self.done = true;
                    Some(Event::default().event("signed-out").data(""))
                }
            }
        }
    }
}

pub async fn stream(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<CurrentSession>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watcher = Watcher {
        revision: state.console.revision.subscribe(),
        closing: state.console.closing.subscribe(),
        session: session.hash,
        state,
        greeted: false,
        done: false,
    };
    Sse::new(stream::unfold(watcher, |mut w| async move {
        w.next().await.map(|event| (Ok(event), w))
    }))
}
