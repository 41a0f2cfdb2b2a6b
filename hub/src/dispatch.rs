//! The dispatcher API: JSON over HTTP, for the console and the `testigo` CLI. Every
//! route is authenticated and role-checked; an incident the caller may not see is a
//! 404, exactly like one that does not exist.
//!
//! The hub writes documents itself here, with its own actor and key, on the
//! dispatcher's behalf (`Author::via`), and logs and signs those changes like any
//! device's so that they reach devices through sync.
//!
//! Every request is one database transaction ([`AppState::write`]): the helpers that
//! change an incident take a `Transaction`, never a bare connection, so a handler
//! cannot write the audit row, the document and the change log as separate commits.
//! [`router`] is the one list of these routes, served under `/v1` and, behind the
//! console's session layer, under `/console/api`.

use std::sync::Arc;

use automerge::{Automerge, ChangeHash};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{self, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use testigo_core::evidence::sign_change_with_key;
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::{
    read_view, Author, Confidence, Determination, EventKind, GeoPoint, IncidentDoc, IncidentView,
    NewIncident, Report, ReportSource, Role, TemplateRef, Urgency,
};

use crate::auth::{hash_code, new_code, Authed};
use crate::db::audit::{self, Action};
use crate::db::callers::{self, CallerContact};
use crate::db::devices::{self, Device};
use crate::db::{changes, incidents};
use crate::error::{HubError, HubResult};
use crate::permissions::{self, require};
use crate::server::AppState;
use testigo_core::rules::permissions::Act;

/// The dispatcher API's routes, relative to where they are served: `/v1` for
/// devices and the CLI, `/console/api` for the console (behind its session layer).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/enrol-codes", post(create_code))
        .route("/incidents", routing::get(list).post(open))
        .route("/incidents/{id}", routing::get(get))
        .route("/incidents/{id}/report", put(edit_report))
        .route("/incidents/{id}/assign", post(assign))
        .route("/incidents/{id}/caller", routing::get(caller))
        .route("/incidents/{id}/caller-notified", post(caller_notified))
        .route("/incidents/{id}/close", post(close))
        .route("/incidents/{id}/confirm", post(confirm))
        .route("/evidence", routing::get(crate::evidence::bundle))
        .route("/audit", routing::get(crate::evidence::audit_log))
        .route("/devices", routing::get(devices))
        .route("/devices/{device}/revoke", post(revoke_device))
        .route("/devices/{device}/refusals", routing::get(refusals))
}
/// Longest an enrolment code may stay valid.
const MAX_CODE_MINUTES: i64 = 30 * 24 * 60;

fn json<T: DeserializeOwned>(body: &Bytes) -> HubResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| HubError::bad_request(format!("invalid JSON body: {e}")))
}

fn incident_id(raw: &str) -> HubResult<IncidentId> {
    IncidentId::parse(raw).map_err(|_| HubError::not_found(format!("no incident {raw}")))
}

#[derive(Debug, Deserialize)]
pub struct NewCode {
    pub role: Role,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub expires_in_minutes: Option<i64>,
    /// Makes a re-enrolment code: it enrols this one device again (new credential,
    /// this role and team, revocation lifted) and no other. Without it the code
    /// enrols only a device the hub has never seen.
    #[serde(default)]
    pub device: Option<DeviceId>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedCode {
    pub code: String,
    pub role: Role,
    pub team: Option<String>,
    pub expires_at_ms: i64,
    /// The one device a re-enrolment code enrols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceId>,
}

/// `POST /v1/enrol-codes` (coordinator): a code for a new device, or with `device`
/// a re-enrolment code for one the hub knows.
pub async fn create_code(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    body: Bytes,
) -> HubResult<Json<CreatedCode>> {
    require(&me, Act::EnrolDevices)?;
    let request: NewCode = json(&body)?;
    if request.role == Role::Hub {
        return Err(HubError::bad_request(
            "no device can be enrolled as the hub",
        ));
    }
    let minutes = request.expires_in_minutes.unwrap_or(24 * 60);
    if !(1..=MAX_CODE_MINUTES).contains(&minutes) {
        return Err(HubError::bad_request(format!(
            "expires_in_minutes must be between 1 and {MAX_CODE_MINUTES}"
        )));
    }
    let code = new_code()?;
    let hash = hash_code(&code);
    let created = state
        .write(move |state, tx| {
            let expires_at_ms = state.now_ms() + minutes * 60_000;
            devices::create_code(
                tx,
                &hash,
                request.role,
                request.team.as_deref(),
                expires_at_ms,
                Some(&me.device_id),
                request.device.as_ref(),
            )?;
            Ok(CreatedCode {
                code,
                role: request.role,
                team: request.team,
                expires_at_ms,
                device: request.device,
            })
        })
        .await?;
    Ok(Json(created))
}

#[derive(Debug, Deserialize)]
pub struct OpenIncident {
    pub place_text: String,
    #[serde(default)]
    pub point: Option<GeoPoint>,
    #[serde(default)]
    pub description: String,
    pub urgency: Urgency,
    #[serde(default)]
    pub reported_at_ms: Option<i64>,
    #[serde(default)]
    pub template: Option<TemplateRef>,
    /// Assign the incident to a team straight away (its devices will receive it).
    #[serde(default)]
    pub team: Option<String>,
    /// Kept only in the hub's private caller table.
    #[serde(default)]
    pub caller_name: Option<String>,
    #[serde(default)]
    pub caller_phone: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OpenedIncident {
    pub id: IncidentId,
    pub view: IncidentView,
}

/// `POST /v1/incidents` (dispatcher): a call comes in.
pub async fn open(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    body: Bytes,
) -> HubResult<Json<OpenedIncident>> {
    require(&me, Act::OpenIncident)?;
    let request: OpenIncident = json(&body)?;
    let opened = state
        .write(move |state, tx| {
            let now = state.now();
            let reported_at = match request.reported_at_ms {
                Some(ms) => testigo_core::time::from_millis(ms)
                    .ok_or_else(|| HubError::bad_request("reported_at_ms is out of range"))?,
                None => now,
            };
            let report = Report {
                place_text: request.place_text,
                point: request.point,
                reported_at,
                description: request.description,
                urgency: request.urgency,
                source: ReportSource::Call,
            };
            let id = IncidentId::generate();
            let template = crate::templates::for_new_incident(tx, request.template)?;
            let doc = IncidentDoc::create(
                &id,
                &state.author_for(&me),
                NewIncident {
                    report,
                    template: Some(template),
                },
                now,
            )?;
            let view = commit(state, tx, &id, doc.automerge(), &[], now)?;
            callers::put(
                tx,
                &id,
                request.caller_name.as_deref(),
                request.caller_phone.as_deref(),
            )?;
            audit::record(
                tx,
                &me,
                Some(&id),
                "/v1/incidents",
                Action::Change,
                now.timestamp_millis(),
            )?;
            if let Some(team) = request.team.as_deref().filter(|t| !t.trim().is_empty()) {
                incidents::set_team(tx, &id, Some(team))?;
            }
            tracing::info!(incident = %id, dispatcher = %me.device_id, "incident opened");
            Ok(OpenedIncident { id, view })
        })
        .await?;
    Ok(Json(opened))
}

/// `GET /v1/incidents`: what the caller may see, with derived status.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
) -> HubResult<Json<Vec<incidents::IncidentRow>>> {
    let rows = state
        .write(move |state, tx| {
            let rows = incidents::list(tx)?;
            if permissions::sees_all(me.role) {
                return Ok(rows);
            }
            let visible = permissions::visible(tx, &me, state.now_ms(), state.retention_ms)?;
            Ok(rows
                .into_iter()
                .filter(|r| visible.contains(&r.id))
                .collect())
        })
        .await?;
    Ok(Json(rows))
}

/// `GET /v1/incidents/{id}`: the incident's view.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> HubResult<Json<IncidentView>> {
    let id = incident_id(&raw)?;
    let view = state
        .write(move |state, tx| {
            let stored = visible_incident(state, tx, &me, &id)?;
            audit::record(
                tx,
                &me,
                Some(&id),
                "/v1/incidents/{id}",
                Action::Read,
                state.now_ms(),
            )?;
            Ok(read_view(&stored)?)
        })
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
pub struct EditReport {
    pub place_text: String,
    #[serde(default)]
    pub point: Option<GeoPoint>,
    #[serde(default)]
    pub description: String,
    pub urgency: Urgency,
}

/// `PUT /v1/incidents/{id}/report` (dispatcher): correct what the caller said.
pub async fn edit_report(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    body: Bytes,
) -> HubResult<Json<IncidentView>> {
    require(&me, Act::EditReport)?;
    let id = incident_id(&raw)?;
    let request: EditReport = json(&body)?;
    let view = state
        .write(move |state, tx| {
            write(state, tx, &me, &id, |doc, author, now| {
                let current = doc.view()?.report;
                let report = Report {
                    place_text: request.place_text,
                    point: request.point,
                    description: request.description,
                    urgency: request.urgency,
                    ..current
                };
                doc.edit_report(author, report, now)
            })
        })
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
pub struct Assign {
    #[serde(default)]
    pub device: Option<DeviceId>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/incidents/{id}/assign` (dispatcher): assign or unassign a volunteer
/// (in the document) or a team (hub policy: the team's devices see it).
pub async fn assign(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    body: Bytes,
) -> HubResult<Json<IncidentView>> {
    require(&me, Act::Assign)?;
    let id = incident_id(&raw)?;
    let request: Assign = json(&body)?;
    if request.device.is_none() == request.team.is_none() {
        return Err(HubError::bad_request("give either a device or a team"));
    }
    let view = state
        .write(move |state, tx| {
            let view = if let Some(device) = &request.device {
                if !devices::is_enrolled(tx, device)? {
                    return Err(HubError::bad_request(format!(
                        "{device} is not an enrolled device"
                    )));
                }
                write(state, tx, &me, &id, |doc, author, now| {
                    doc.assign(author, device, request.active, now)
                })?
            } else {
                let team = request
                    .team
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| HubError::bad_request("team cannot be empty"))?;
                visible_incident(state, tx, &me, &id)?;
                // Unassigning names the team it takes the incident from; any other
                // team's would leave the incident with nobody.
                let current = incidents::team(tx, &id)?;
                if !request.active && current.as_deref() != Some(team) {
                    return Err(HubError::new(
                        StatusCode::CONFLICT,
                        "team_not_assigned",
                        match current {
                            Some(current) => format!(
                                "the incident is with team {current}, not {team}; nothing was changed"
                            ),
                            None => format!(
                                "the incident is with no team, not {team}; nothing was changed"
                            ),
                        },
                    ));
                }
                let view = write(state, tx, &me, &id, |doc, author, now| {
                    let note = format!(
                        "team {team} {}",
                        if request.active {
                            "assigned"
                        } else {
                            "unassigned"
                        }
                    );
                    doc.add_event(author, EventKind::Dispatched, None, None, Some(note), now)
                        .map(|_| ())
                })?;
                incidents::set_team(tx, &id, request.active.then_some(team))?;
                view
            };
            Ok(view)
        })
        .await?;
    Ok(Json(view))
}

/// `GET /v1/incidents/{id}/caller` (dispatcher only).
pub async fn caller(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> HubResult<Json<CallerContact>> {
    require(&me, Act::SeeCallerContact)?;
    let id = incident_id(&raw)?;
    let contact = state
        .write(move |state, tx| {
            visible_incident(state, tx, &me, &id)?;
            audit::record(
                tx,
                &me,
                Some(&id),
                "/v1/incidents/{id}/caller",
                Action::ReadCaller,
                state.now_ms(),
            )?;
            tracing::info!(incident = %id, dispatcher = %me.device_id, "caller contact read");
            callers::get(tx, &id)?
                .ok_or_else(|| HubError::not_found("no caller contact was recorded"))
        })
        .await?;
    Ok(Json(contact))
}

#[derive(Debug, Default, Deserialize)]
pub struct Note {
    #[serde(default)]
    pub note: Option<String>,
}

fn note(body: &Bytes) -> HubResult<Note> {
    if body.is_empty() {
        Ok(Note::default())
    } else {
        json(body)
    }
}

/// `POST /v1/incidents/{id}/caller-notified` (dispatcher): the caller was told.
pub async fn caller_notified(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    body: Bytes,
) -> HubResult<Json<IncidentView>> {
    require(&me, Act::NotifyCaller)?;
    let id = incident_id(&raw)?;
    let Note { note } = note(&body)?;
    let view = state
        .write(move |state, tx| {
            let view = write(state, tx, &me, &id, |doc, author, now| {
                doc.add_event(author, EventKind::CallerNotified, None, None, note, now)
                    .map(|_| ())
            })?;
            callers::mark_notified(tx, &id, state.now_ms())?;
            Ok(view)
        })
        .await?;
    Ok(Json(view))
}

/// `POST /v1/incidents/{id}/close`.
pub async fn close(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    body: Bytes,
) -> HubResult<Json<IncidentView>> {
    require(&me, Act::Close)?;
    let id = incident_id(&raw)?;
    let Note { note } = note(&body)?;
    let view = state
        .write(move |state, tx| {
            write(state, tx, &me, &id, |doc, author, now| {
                doc.add_event(author, EventKind::Closed, None, None, note, now)
                    .map(|_| ())
            })
        })
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
pub struct Confirm {
    pub determination: Determination,
    #[serde(default)]
    pub confidence: Option<Confidence>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /v1/incidents/{id}/confirm` (team lead): settles the incident's
/// determination. The hub writes the confirmation on the lead's behalf, exactly as the
/// lead's own device would, so it merges with whatever the field sends later.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
    body: Bytes,
) -> HubResult<Json<IncidentView>> {
    require(&me, Act::ConfirmDetermination)?;
    let id = incident_id(&raw)?;
    let request: Confirm = json(&body)?;
    let view = state
        .write(move |state, tx| {
            write(state, tx, &me, &id, |doc, author, now| {
                doc.add_event(
                    author,
                    EventKind::DeterminationConfirmed,
                    Some(request.determination),
                    request.confidence,
                    request.note,
                    now,
                )
                .map(|_| ())
            })
        })
        .await?;
    Ok(Json(view))
}

/// `GET /v1/devices` (dispatcher, coordinator): who can be assigned.
pub async fn devices(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
) -> HubResult<Json<Vec<devices::DeviceRow>>> {
    require(&me, Act::ListDevices)?;
    Ok(Json(state.write(|_, tx| devices::list(tx)).await?))
}

/// `POST /v1/devices/{device}/revoke` (coordinator): a lost or seized phone loses
/// access at once. What it synced before stays, signed, in the record.
pub async fn revoke_device(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> HubResult<Json<RevokedDevice>> {
    require(&me, Act::RevokeDevices)?;
    let device = DeviceId::parse(&raw).map_err(|e| HubError::bad_request(e.to_string()))?;
    if device == me.device_id {
        return Err(HubError::bad_request(
            "a coordinator cannot revoke the device they are using; ask another coordinator",
        ));
    }
    let revoked = device.clone();
    let answer = state
        .write(move |state, tx| {
            let target = devices::by_id(tx, &device)?
                .ok_or_else(|| HubError::not_found(format!("no enrolled device {device}")))?;
            if target.role == Role::Hub {
                return Err(HubError::bad_request(
                    "the hub's own device cannot be revoked",
                ));
            }
            devices::revoke(tx, &device)?;
            crate::db::push::forget(tx, &device)?;
            audit::record(
                tx,
                &me,
                None,
                &format!("/v1/devices/{device}/revoke"),
                Action::Revoke,
                state.now_ms(),
            )?;
            Ok(RevokedDevice {
                device_id: device,
                role: target.role,
                team: target.team,
            })
        })
        .await?;
    // Only once the revocation is committed: its wait ends and it cannot start another.
    state.wake.revoked(&revoked);
    Ok(Json(answer))
}

/// `GET /v1/devices/{device}/refusals` (coordinator): what the hub refused that
/// device and why, newest first (the device keeps those changes in quarantine).
pub async fn refusals(
    State(state): State<Arc<AppState>>,
    Authed(me): Authed,
    Path(raw): Path<String>,
) -> HubResult<Json<Vec<crate::db::refusals::Refusal>>> {
    require(&me, Act::ReadRefusals)?;
    let device = DeviceId::parse(&raw).map_err(|e| HubError::bad_request(e.to_string()))?;
    let rows = state
        .write(move |_, tx| crate::db::refusals::for_device(tx, &device, 1000))
        .await?;
    Ok(Json(rows))
}

/// The answer to a revocation: which device lost access.
#[derive(Debug, Serialize, Deserialize)]
pub struct RevokedDevice {
    pub device_id: DeviceId,
    pub role: Role,
    pub team: Option<String>,
}

/// The document of an incident `me` may see; 404 otherwise.
fn visible_incident(
    state: &AppState,
    tx: &Transaction<'_>,
    me: &Device,
    id: &IncidentId,
) -> HubResult<Automerge> {
    let not_found = || HubError::not_found(format!("no incident {id}"));
    if !permissions::can_see(tx, me, id, state.now_ms(), state.retention_ms)? {
        return Err(not_found());
    }
    Ok(incidents::load(tx, id)?.ok_or_else(not_found)?.doc)
}

/// Runs one hub-side action on an incident `me` may see, in the request's
/// transaction: the document, its change log and the audit row are written together
/// or not at all.
fn write(
    state: &AppState,
    tx: &Transaction<'_>,
    me: &Device,
    id: &IncidentId,
    action: impl FnOnce(&mut IncidentDoc, &Author, DateTime<Utc>) -> testigo_core::Result<()>,
) -> HubResult<IncidentView> {
    let mut doc = IncidentDoc::from_automerge(visible_incident(state, tx, me, id)?);
    let before = doc.automerge().get_heads();
    let now = state.now();
    action(&mut doc, &state.author_for(me), now)?;
    audit::record(
        tx,
        me,
        Some(id),
        "/v1/incidents/{id}/*",
        Action::Change,
        now.timestamp_millis(),
    )?;
    commit(state, tx, id, doc.automerge(), &before, now)
}

/// Logs and signs the hub's new changes since `before` and saves the document, in
/// the request's transaction (taking one is what makes it impossible to call with a
/// connection that would commit each statement on its own).
fn commit(
    state: &AppState,
    tx: &Transaction<'_>,
    id: &IncidentId,
    doc: &Automerge,
    before: &[ChangeHash],
    now: DateTime<Utc>,
) -> HubResult<IncidentView> {
    let view = read_view(doc)?;
    let now_ms = now.timestamp_millis();
    incidents::save(tx, id, doc, &view, None, now_ms)?;
    for change in doc.get_changes(before) {
        let signature = sign_change_with_key(&state.hub.signing_key, &change.hash());
        changes::append(
            tx,
            id,
            &change,
            &state.hub.device_id,
            Some(&signature),
            now_ms,
        )?;
    }
    Ok(view)
}
