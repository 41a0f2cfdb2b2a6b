//! Checklist templates: a coordinator imports a version (an XLSForm spreadsheet, or
//! template JSON), checks what the import reports, then publishes it; every device
//! receives it with its next sync (`hub/src/sync.rs`), and dispatchers open incidents
//! with it.
//!
//! - `POST /v1/templates` (coordinator): body = an `.xlsx` or CSV XLSForm, or
//!   template JSON with `Content-Type: application/json`. Checked here; kept as a draft.
//! - `POST /v1/templates/publish` (coordinator): `{"id", "version"}`.
//! - `GET /v1/templates` (dispatchers, coordinators): every version, published or not.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::{Deserialize, Serialize};
use testigo_core::checklist::xlsform::{self, ImportError, Problem};
use testigo_core::checklist::{default_template, CheckedTemplate};
use testigo_core::incident::TemplateRef;
use testigo_core::rules::permissions::Act;

use crate::auth::Authed;
use crate::db::audit::{self, Action};
use crate::db::templates::{self, TemplateRow};
use crate::error::{HubError, HubResult};
use crate::permissions::require;
use crate::server::AppState;

/// The checklist routes, relative to `/v1` (and the console's `/console/api`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/templates", get(list).post(import))
        .route("/templates/publish", post(publish))
}

#[derive(Debug, Serialize)]
pub struct ImportedTemplate {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub questions: usize,
    /// False when exactly this version was imported before.
    pub new: bool,
    /// What the import left out on purpose, with sheet and row.
    pub warnings: Vec<Problem>,
    /// Missing translations the template check found.
    pub translation_warnings: Vec<String>,
}

/// `POST /v1/templates`.
pub async fn import(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    headers: HeaderMap,
    body: Bytes,
) -> HubResult<Json<ImportedTemplate>> {
    require(&me, Act::ManageChecklists)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Parsing and checking a spreadsheet is CPU work on data from outside: off the
    // async threads, like the database work.
    let (template, warnings) = tokio::task::spawn_blocking(move || checked(&body, is_json))
        .await
        .map_err(|e| HubError::internal(format!("the import stopped: {e}")))??;
    let imported = state
        .write(move |state, tx| {
            let now_ms = state.now_ms();
            let new = templates::put_draft(tx, &template, &me.device_id.to_string(), now_ms)?;
            audit::record(tx, &me, None, "/v1/templates", Action::Change, now_ms)?;
            let t = template.template();
            tracing::info!(template = %t.id, version = t.version, new, "checklist imported");
            Ok(ImportedTemplate {
                id: t.id.clone(),
                version: t.version,
                title: t.title.get("en").to_owned(),
                questions: t.questions().count(),
                new,
                warnings,
                translation_warnings: template.warnings().to_vec(),
            })
        })
        .await?;
    Ok(Json(imported))
}

/// The body as a checked template: whatever the coordinator's tool produced, it is
/// checked here as a whole before anything keeps it.
fn checked(body: &[u8], is_json: bool) -> HubResult<(CheckedTemplate, Vec<Problem>)> {
    if is_json {
        let json = std::str::from_utf8(body)
            .map_err(|_| HubError::bad_request("the template JSON is not UTF-8"))?;
        return Ok((CheckedTemplate::from_json(json)?, Vec::new()));
    }
    match xlsform::import_file(body) {
        Ok(imported) => Ok((imported.template, imported.warnings)),
        Err(
            error @ (ImportError::Form(_) | ImportError::Template(_) | ImportError::Unreadable(_)),
        ) => Err(HubError::bad_request(error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub struct PublishRequest {
    pub id: String,
    pub version: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Published {
    pub id: String,
    pub version: u32,
}

/// `POST /v1/templates/publish`.
pub async fn publish(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    body: Bytes,
) -> HubResult<Json<Published>> {
    require(&me, Act::ManageChecklists)?;
    let request: PublishRequest = serde_json::from_slice(&body)
        .map_err(|e| HubError::bad_request(format!("invalid JSON body: {e}")))?;
    let reference = TemplateRef {
        id: request.id,
        version: request.version,
    };
    let published = state
        .write(move |state, tx| {
            let now_ms = state.now_ms();
            templates::publish(tx, &reference, &me.device_id.to_string(), now_ms)?;
            audit::record(tx, &me, None, "/v1/templates/publish", Action::Change, now_ms)?;
            tracing::info!(template = %reference.id, version = reference.version, "checklist published");
            Ok(Published {
                id: reference.id,
                version: reference.version,
            })
        })
        .await?;
    Ok(Json(published))
}

/// `GET /v1/templates`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
) -> HubResult<Json<Vec<TemplateRow>>> {
    require(&me, Act::ListChecklists)?;
    let rows = state.write(move |_, conn| templates::list(conn)).await?;
    Ok(Json(rows))
}

/// The checklist a new incident opens with: the dispatcher's choice, which must be
/// published (or the one that ships with Testigo), else the newest publication, else
/// the shipped one.
pub fn for_new_incident(
    conn: &rusqlite::Connection,
    chosen: Option<TemplateRef>,
) -> HubResult<TemplateRef> {
    let shipped = default_template()?.template_ref();
    match chosen {
        Some(chosen) if chosen == shipped || templates::is_published(conn, &chosen)? => Ok(chosen),
        Some(chosen) => Err(HubError::bad_request(format!(
            "checklist {:?} version {} is not published",
            chosen.id, chosen.version
        ))),
        None => Ok(templates::newest_published(conn)?.unwrap_or(shipped)),
    }
}

/// An imported version, checked again as it leaves the database; `None` when the hub
/// holds no such version.
pub fn resolve(
    conn: &rusqlite::Connection,
    reference: &TemplateRef,
) -> HubResult<Option<CheckedTemplate>> {
    templates::json(conn, reference)?
        .map(|json| CheckedTemplate::from_json(&json).map_err(HubError::from))
        .transpose()
}
