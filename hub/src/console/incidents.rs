//! What the console shows of an incident beyond the dispatcher API's view: every
//! author's checklist side by side with the disagreements, and the map. Each reads
//! the incident through `dispatch::get`, so it sees exactly what the signed-in person
//! may see (and is audited like any read). Exports are the hub's evidence bundles
//! (`crate::evidence`).

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use testigo_core::checklist::{combine, CombinedView, Registry};
use testigo_core::incident::IncidentView;

use super::map::{self, MapData};
use crate::auth::Authed;
use crate::dispatch;
use crate::error::HubResult;
use crate::server::AppState;

/// The checklist that ships with Testigo; imported ones are in the hub's database.
pub(super) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::with_default().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the default checklist does not load");
            Registry::new()
        })
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Lang {
    #[serde(default)]
    lang: Option<String>,
}

impl Lang {
    fn code(&self) -> &'static str {
        if self.lang.as_deref() == Some("es") {
            "es"
        } else {
            "en"
        }
    }
}

async fn view(state: Arc<AppState>, me: Authed, raw: String) -> HubResult<IncidentView> {
    Ok(dispatch::get(State(state), me, Path(raw)).await?.0)
}

/// `GET /console/api/incidents/{id}/checklist?lang=`: every author's answers side by
/// side, run with the exact checklist version the incident started with (the shipped
/// one or one imported here); `null` when the incident has none or one this hub does
/// not hold.
pub async fn checklist(
    State(state): State<Arc<AppState>>,
    me: Authed,
    Path(raw): Path<String>,
    Query(lang): Query<Lang>,
) -> HubResult<Json<Option<CombinedView>>> {
    let view = view(Arc::clone(&state), me, raw).await?;
    let Some(reference) = view.template.clone() else {
        return Ok(Json(None));
    };
    let template = match registry().resolve(&reference) {
        Ok(shipped) => Some(shipped.clone()),
        Err(_) => {
            state
                .write(move |_, tx| crate::templates::resolve(tx, &reference))
                .await?
        }
    };
    Ok(Json(
        template.map(|t| combine(&t, &view.answers, lang.code())),
    ))
}

/// `GET /console/api/incidents/{id}/map`: the numbered points the picture draws.
pub async fn map_points(
    State(state): State<Arc<AppState>>,
    me: Authed,
    Path(raw): Path<String>,
) -> HubResult<Json<MapData>> {
    Ok(Json(map::points(&view(state, me, raw).await?)))
}

/// `GET /console/api/incidents/{id}/map.svg?lang=`.
pub async fn map_svg(
    State(state): State<Arc<AppState>>,
    me: Authed,
    Path(raw): Path<String>,
    Query(lang): Query<Lang>,
) -> HubResult<Response> {
    let svg = map::render_svg(&view(state, me, raw).await?, lang.code());
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}
