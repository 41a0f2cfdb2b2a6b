//! The dispatcher console: a web page the hub serves at `/console/`, for dispatchers
//! at a desk and team leads at a laptop or tablet.
//!
//! - [`assets`]: the page itself (HTML, CSS, JS modules), embedded in the binary
//! - [`session`]: signing in (a device credential, or a one-time code redeemed in the
//!   browser), server-side sessions, the layer that authenticates console requests
//! - [`csrf`]: per-session tokens and origin checks for every state-changing request
//! - [`headers`]: Content-Security-Policy and the other response headers
//! - [`events`]: server-sent events telling open pages that something changed
//! - [`incidents`]: what only the console needs (checklists side by side, the map)
//! - [`map`]: the SVG picture of check-ins and observations around the reported place
//!
//! The console's JSON API under `/console/api/` is the dispatcher API's own router
//! ([`crate::dispatch::router`]) plus what only the console needs: the session layer
//! hands the handlers the signed-in device, so the console has exactly the roles and
//! permissions of the API.

mod assets;
mod csrf;
mod events;
mod headers;
mod incidents;
pub mod map;
mod session;

use std::sync::Arc;

use axum::middleware::{from_fn_with_state, map_response};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use testigo_core::ids::IncidentId;
use tokio::sync::{broadcast, watch};

use crate::dispatch;
use crate::server::AppState;

pub use headers::CONTENT_SECURITY_POLICY;
pub use session::{CONSOLE_ROLES, COOKIE_NAME, IDLE_TIMEOUT, MAX_SESSION};

/// What the console keeps in the hub's memory.
pub struct ConsoleState {
    sessions: session::Sessions,
    /// Bumped whenever an incident changes.
    revision: watch::Sender<u64>,
    /// Which incidents each change touched; each open page's event stream hears only
    /// of those its session may see.
    changes: broadcast::Sender<Arc<Vec<IncidentId>>>,
    /// The event streams open now, to keep them bounded.
    streams: events::OpenStreams,
    /// Set when the hub shuts down, to end the event streams.
    closing: watch::Sender<bool>,
}

impl Default for ConsoleState {
    fn default() -> Self {
        Self {
            sessions: session::Sessions::default(),
            revision: watch::Sender::default(),
            changes: broadcast::Sender::new(events::BACKLOG),
            streams: events::OpenStreams::default(),
            closing: watch::Sender::default(),
        }
    }
}

impl ConsoleState {
    /// Incidents `incidents` changed (a sync round or a dispatcher's action).
    pub(crate) fn changed(&self, incidents: Vec<IncidentId>) {
        if incidents.is_empty() {
            return;
        }
        self.revision.send_modify(|r| *r = r.wrapping_add(1));
        // No receiver (no page open) is not an error.
        let _ = self.changes.send(Arc::new(incidents));
    }

    pub(crate) fn shut_down(&self) {
        self.closing.send_replace(true);
    }
}

/// The console's routes: the page and its assets, and its API.
pub fn router(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let api = dispatch::router()
        .merge(crate::templates::router())
        .route("/session", get(session::current))
        .route("/sign-out", post(session::sign_out))
        .route("/events", get(events::stream))
        .route("/incidents/{id}/checklist", get(incidents::checklist))
        .route("/incidents/{id}/map", get(incidents::map_points))
        .route("/incidents/{id}/map.svg", get(incidents::map_svg))
        .route(
            "/incidents/{id}/media/{sha256}",
            get(crate::media::download),
        )
        // Every route above needs a live session (and a CSRF token to change anything).
        .route_layer(from_fn_with_state(Arc::clone(state), session::require))
        .route("/sign-in", post(session::sign_in))
        .fallback(|| async { crate::HubError::not_found("no such console route") })
        .layer(map_response(headers::no_store));
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(assets::index))
        .route("/console/{file}", get(assets::file))
        .nest("/console/api", api)
        .layer(map_response(headers::security))
}
