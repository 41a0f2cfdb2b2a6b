//! The hub's JSON API, as the dispatcher and coordinator commands (and the demo) use
//! it: a field store's enrolled identity is the credential.

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::{IncidentView, Role};
use testigo_core::store::Store;

pub struct HubClient {
    base: String,
    credential: String,
    http: reqwest::blocking::Client,
}

impl HubClient {
    /// The hub and credential this store was enrolled with.
    pub fn for_store(store: &Store) -> Result<Self> {
        let identity = store.identity();
        let credential = identity.credential.clone().ok_or_else(|| {
            anyhow!("this device is not enrolled; run `testigo field enroll` first")
        })?;
        let base = identity
            .hub_url
            .clone()
            .ok_or_else(|| anyhow!("this device has no hub"))?;
        let http = testigo_core::sync::http_client(std::time::Duration::from_secs(30))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            credential,
            http,
        })
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.credential);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .with_context(|| format!("cannot reach the hub at {}", self.base))?;
        let status = response.status();
        let text = response.text().context("reading the hub's answer")?;
        if !status.is_success() {
            let reason = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    let error = v["error"].as_str()?;
                    Some(match v["reason"].as_str() {
                        Some(reason) => format!("{error}: {reason}"),
                        None => error.to_owned(),
                    })
                })
                .unwrap_or(text);
            bail!("the hub refused ({status}): {reason}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("unreadable answer from the hub to {path}"))
    }

    /// Sends a checklist file (XLSForm `.xlsx` / CSV, or template JSON) for import.
    pub fn import_template(&self, bytes: Vec<u8>, is_json: bool) -> Result<Value> {
        let content_type = if is_json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let response = self
            .http
            .post(format!("{}/v1/templates", self.base))
            .bearer_auth(&self.credential)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .with_context(|| format!("cannot reach the hub at {}", self.base))?;
        let status = response.status();
        let text = response.text().context("reading the hub's answer")?;
        if !status.is_success() {
            let reason = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["reason"].as_str().map(str::to_owned))
                .unwrap_or(text);
            bail!("the hub refused the checklist ({status}): {reason}");
        }
        serde_json::from_str(&text).context("unreadable answer from the hub to /v1/templates")
    }

    pub fn publish_template(&self, id: &str, version: u32) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/v1/templates/publish",
            Some(json!({ "id": id, "version": version })),
        )
    }

    pub fn templates(&self) -> Result<Value> {
        self.call(reqwest::Method::GET, "/v1/templates", None)
    }

    /// A media file of an incident, if the hub holds it (`None`: not yet).
    pub fn media(&self, incident: &IncidentId, sha256: &str) -> Result<Option<Vec<u8>>> {
        let path = testigo_core::media::protocol::media_path(incident.as_str(), sha256);
        self.file(&path, "the download")
    }

    /// `copy` of a media file, with content credentials signed by the organisation
    /// (`None`: the hub does not hold the file yet).
    pub fn credentialed(
        &self,
        incident: &IncidentId,
        sha256: &str,
        copy: testigo_hub::credentials::Copy,
    ) -> Result<Option<Vec<u8>>> {
        let path = testigo_hub::credentials::export::path(incident.as_str(), sha256, copy);
        self.file(&path, "the credentialed copy")
    }

    /// The bytes the hub serves at `path` (`None`: it does not hold them yet); a refusal
    /// names `what` was refused and the hub's reason.
    fn file(&self, path: &str, what: &str) -> Result<Option<Vec<u8>>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.credential)
            .send()
            .with_context(|| format!("cannot reach the hub at {}", self.base))?;
        match response.status().as_u16() {
            200 => Ok(Some(response.bytes().context("reading the file")?.to_vec())),
            404 => Ok(None),
            status => {
                let reason = response
                    .json::<Value>()
                    .ok()
                    .and_then(|v| v["reason"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                bail!("the hub refused {what} ({status}): {reason}")
            }
        }
    }

    /// A one-time enrolment code; with `device`, a code that re-enrols that one
    /// device (new credential, this role and team, revocation lifted).
    pub fn create_code(
        &self,
        role: Role,
        team: Option<&str>,
        expires_in_minutes: Option<i64>,
        device: Option<&DeviceId>,
    ) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/v1/enrol-codes",
            Some(
                json!({ "role": role, "team": team, "expires_in_minutes": expires_in_minutes, "device": device }),
            ),
        )
    }

    pub fn revoke_device(&self, device: &DeviceId) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/devices/{device}/revoke"),
            Some(json!({})),
        )
    }

    pub fn open_incident(&self, request: Value) -> Result<IncidentId> {
        let opened: Value = self.call(reqwest::Method::POST, "/v1/incidents", Some(request))?;
        serde_json::from_value(opened["id"].clone())
            .context("the hub did not return an incident id")
    }

    pub fn assign(
        &self,
        id: &IncidentId,
        device: Option<&DeviceId>,
        team: Option<&str>,
        active: bool,
    ) -> Result<IncidentView> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/incidents/{id}/assign"),
            Some(json!({ "device": device, "team": team, "active": active })),
        )
    }

    pub fn edit_report(&self, id: &IncidentId, changes: Value) -> Result<IncidentView> {
        self.call(
            reqwest::Method::PUT,
            &format!("/v1/incidents/{id}/report"),
            Some(changes),
        )
    }

    pub fn list(&self) -> Result<Vec<Value>> {
        self.call(reqwest::Method::GET, "/v1/incidents", None)
    }

    pub fn incident(&self, id: &IncidentId) -> Result<IncidentView> {
        self.call(reqwest::Method::GET, &format!("/v1/incidents/{id}"), None)
    }

    pub fn caller(&self, id: &IncidentId) -> Result<Value> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/incidents/{id}/caller"),
            None,
        )
    }

    pub fn caller_notified(&self, id: &IncidentId, note: Option<&str>) -> Result<IncidentView> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/incidents/{id}/caller-notified"),
            Some(json!({ "note": note })),
        )
    }

    pub fn close(&self, id: &IncidentId, note: Option<&str>) -> Result<IncidentView> {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/incidents/{id}/close"),
            Some(json!({ "note": note })),
        )
    }

    /// The evidence bundle for `ids`, exactly as the hub wrote it.
    pub fn evidence(&self, ids: &[IncidentId]) -> Result<Vec<u8>> {
        let list = ids
            .iter()
            .map(IncidentId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let response = self
            .http
            .get(format!("{}/v1/evidence?incidents={list}", self.base))
            .bearer_auth(&self.credential)
            .send()
            .with_context(|| format!("cannot reach the hub at {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().context("reading the bundle")?.to_vec();
        if !status.is_success() {
            bail!(
                "the hub refused ({status}): {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(bytes)
    }
}
