//! Helpers for the end-to-end tests: a real hub on 127.0.0.1 (its own tokio runtime
//! on a thread), people with real encrypted device stores in temporary directories,
//! the dispatcher API over real HTTP, a proxy that cuts connections at chosen bytes
//! and one that faults at random.

pub mod child_hub;
pub mod distributor;
pub mod faulty_proxy;
pub mod media;
pub mod proxy;
pub mod rng;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tempfile::TempDir;
use testigo_core::checklist::AnswerValue;
use testigo_core::ids::IncidentId;
use testigo_core::incident::{IncidentView, Role};
use testigo_core::store::Store;
use testigo_core::sync::{self, SyncReport};
use testigo_core::time::Clock;
use testigo_hub::media::test_backends::{self, Backend};
use testigo_hub::media::MediaStoreConfig;
use testigo_hub::{Hub, HubConfig, HubWatch};

/// Real time plus an offset the test can move forward (code expiry, retention).
#[derive(Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A hub serving on a random loopback port until dropped.
pub struct TestHub {
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// What the running hub holds in memory (open waits).
    pub watch: HubWatch,
    pub bootstrap_code: String,
    pub db_path: PathBuf,
    /// Where the hub keeps media (a second instance on the same database needs it).
    pub media: MediaStoreConfig,
    pub clock: Arc<TestClock>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl TestHub {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A hub with some settings changed (`configure` sees the defaults).
    pub fn start_with(configure: impl FnOnce(&mut HubConfig)) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let db_path = dir.path().join("hub.sqlite");
        let clock = Arc::new(TestClock::default());
        let mut config = HubConfig::with_db(&db_path);
        configure(&mut config);
        let db_path = config.db.clone();
        let media = config.media.clone();
        let hub = Hub::open_with_clock(config, clock.clone()).expect("hub opens");
        let watch = hub.watch();
        // Empty for a hub opened on an existing database (a restored backup).
        let bootstrap_code = hub.bootstrap_code().unwrap_or_default().to_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                hub.run(listener, async move {
                    let _ = stop.await;
                })
                .await
                .expect("hub serves");
            });
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            watch,
            bootstrap_code,
            db_path,
            media,
            clock,
            shutdown: Some(shutdown),
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// A hub with media in `backend`'s store (`None`: that backend cannot run here,
    /// and the test is skipped after a notice).
    pub fn start_over(backend: Backend, configure: impl FnOnce(&mut HubConfig)) -> Option<Self> {
        let media = backend.store()?;
        Some(Self::start_with(|config| {
            config.media = media;
            configure(config);
        }))
    }

    /// Another instance of this hub: its own process state, the same database and
    /// media store (as several instances behind one address share them).
    pub fn another_instance(&self) -> Self {
        let (db, media) = (self.db_path.clone(), self.media.clone());
        Self::start_with(|config| {
            config.db = db;
            config.media = media;
        })
    }

    /// Every object in the hub's media store, staging included.
    pub fn media_objects(&self) -> Vec<String> {
        block_on(test_backends::objects(&self.media, &self.db_path))
    }

    /// Reads the hub's database directly (counts the tests check).
    pub fn query_i64(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> i64 {
        let conn = rusqlite::Connection::open(&self.db_path).expect("hub db");
        conn.query_row(sql, params, |r| r.get(0)).expect("query")
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs async hub work (archiving, the media store) from a plain test thread.
pub fn block_on<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work)
}

/// Someone with a phone: an encrypted store in a temporary directory.
pub struct Person {
    pub name: &'static str,
    pub store: Store,
    pub key: [u8; 32],
    dir: TempDir,
}

impl Person {
    pub fn new(name: &'static str) -> Self {
        Self::with_clock(name, Arc::new(testigo_core::time::SystemClock))
    }

    /// Someone whose phone keeps its own time (a wrong clock, or one a test moves).
    pub fn with_clock(name: &'static str, clock: Arc<dyn Clock>) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(name.len() as u8) | 1;
        }
        let store =
            Store::open_with_clock(dir.path().join("device.db"), &key, clock).expect("store opens");
        Self {
            name,
            store,
            key,
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn sync(&self, hub: &TestHub) -> SyncReport {
        sync::sync(&self.store, Some(&hub.url))
            .unwrap_or_else(|e| panic!("{} cannot sync: {e}", self.name))
    }

    pub fn api(&self, hub: &TestHub) -> Api {
        let credential = self
            .store
            .identity()
            .credential
            .unwrap_or_else(|| panic!("{} is not enrolled", self.name));
        Api {
            base: hub.url.clone(),
            credential: Some(credential),
            client: reqwest::blocking::Client::new(),
        }
    }

    pub fn view(&self, id: &IncidentId) -> IncidentView {
        self.store
            .view(id)
            .unwrap_or_else(|e| panic!("{} has no view of {id}: {e}", self.name))
    }

    pub fn holds(&self, id: &IncidentId) -> bool {
        self.store.incident_ids().expect("ids").contains(id)
    }

    /// Asserts that the device has nothing left to send and nothing quarantined.
    pub fn assert_everything_sent(&self) {
        assert!(
            sync::quarantined(&self.store)
                .expect("quarantine")
                .is_empty(),
            "{} holds quarantined changes",
            self.name
        );
        assert!(
            self.store
                .list(&Default::default())
                .expect("list")
                .iter()
                .all(|row| !row.has_unsynced),
            "{} still has changes to send",
            self.name
        );
    }

    /// Asserts that the device shows `id` exactly as `expected` (the hub's view).
    pub fn assert_same_view(&self, id: &IncidentId, expected: &IncidentView) {
        assert_eq!(
            serde_json::to_value(self.view(id)).expect("json"),
            serde_json::to_value(expected).expect("json"),
            "{} and the hub differ on {id}",
            self.name
        );
    }

    /// This person's answer to `question` on `id` as `view` holds it.
    pub fn answer_in(&self, view: &IncidentView, question: &str) -> Option<AnswerValue> {
        let device = self.store.device_id();
        view.answers_to(question)
            .and_then(|answers| answers.by(&device).map(|a| a.value.clone()))
    }
}

/// The dispatcher API as a client sees it: status and JSON body.
pub struct Api {
    pub base: String,
    pub credential: Option<String>,
    pub client: reqwest::blocking::Client,
}

impl Api {
    pub fn anonymous(hub: &TestHub) -> Self {
        Self {
            base: hub.url.clone(),
            credential: None,
            client: reqwest::blocking::Client::new(),
        }
    }

    /// The API of a hub at `url` (a child process, say) as the holder of `credential`.
    pub fn with_url(url: &str, credential: &str) -> Self {
        Self {
            base: url.to_owned(),
            credential: Some(credential.to_owned()),
            client: reqwest::blocking::Client::new(),
        }
    }

    pub fn with_credential(hub: &TestHub, credential: &str) -> Self {
        Self {
            base: hub.url.clone(),
            credential: Some(credential.to_owned()),
            client: reqwest::blocking::Client::new(),
        }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let request = match &self.credential {
            Some(c) => request.bearer_auth(c),
            None => request,
        };
        let response = request.send().expect("hub answers");
        let status = response.status().as_u16();
        let body = response.bytes().expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
    }

    pub fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
    }

    /// Posts a binary body and returns the raw response body.
    pub fn post_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        let request = match &self.credential {
            Some(c) => request.bearer_auth(c),
            None => request,
        };
        let response = request.send().expect("hub answers");
        (
            response.status().as_u16(),
            response.bytes().expect("body").to_vec(),
        )
    }

    /// Creates an enrolment code (as a coordinator).
    pub fn code(&self, role: Role, team: Option<&str>) -> String {
        let (status, body) = self.post("/v1/enrol-codes", json!({ "role": role, "team": team }));
        assert_eq!(status, 200, "code creation: {body}");
        body["code"].as_str().expect("code").to_owned()
    }

    /// Opens an incident from a call and returns its id.
    pub fn open_incident(
        &self,
        place: &str,
        caller_phone: Option<&str>,
        team: Option<&str>,
    ) -> IncidentId {
        let (status, body) = self.post(
            "/v1/incidents",
            json!({
                "place_text": place,
                "point": { "lat": 38.6270, "lon": -90.1994 },
                "description": "caller reports unmarked vans and agents in vests",
                "urgency": "high",
                "caller_name": caller_phone.map(|_| "R."),
                "caller_phone": caller_phone,
                "team": team,
            }),
        );
        assert_eq!(status, 200, "open incident: {body}");
        IncidentId::parse(body["id"].as_str().expect("id")).expect("incident id")
    }

    pub fn assign(&self, id: &IncidentId, person: &Person, active: bool) {
        let (status, body) = self.post(
            &format!("/v1/incidents/{id}/assign"),
            json!({ "device": person.store.device_id(), "active": active }),
        );
        assert_eq!(status, 200, "assign: {body}");
    }

    pub fn view(&self, id: &IncidentId) -> IncidentView {
        let (status, body) = self.get(&format!("/v1/incidents/{id}"));
        assert_eq!(status, 200, "view: {body}");
        serde_json::from_value(body).expect("a view")
    }
}

/// A hub with its coordinator enrolled (with the bootstrap code), and a way to
/// enrol everyone else.
pub struct World {
    pub hub: TestHub,
    pub coordinator: Person,
}

impl World {
    pub fn new() -> Self {
        Self::on(TestHub::start())
    }

    /// A world around a hub started some other way.
    pub fn on(hub: TestHub) -> Self {
        let coordinator = Person::new("coordinator");
        sync::enroll(&coordinator.store, &hub.url, &hub.bootstrap_code)
            .expect("coordinator enrols");
        Self { hub, coordinator }
    }

    pub fn enrol(&self, name: &'static str, role: Role, team: Option<&str>) -> Person {
        self.enrol_person(Person::new(name), role, team)
    }

    /// Enrols someone already made (with their own clock, say).
    pub fn enrol_person(&self, person: Person, role: Role, team: Option<&str>) -> Person {
        let name = person.name;
        let code = self.coordinator.api(&self.hub).code(role, team);
        sync::enroll(&person.store, &self.hub.url, &code)
            .unwrap_or_else(|e| panic!("{name} cannot enrol: {e}"));
        assert_eq!(person.store.identity().role, role);
        person
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The hub's device id, as `GET /v1/hub` gives it to any device about to enrol.
pub fn hub_device_id(hub: &TestHub) -> testigo_core::ids::DeviceId {
    let (status, body) = Api::anonymous(hub).get(testigo_core::sync::protocol::HUB_PATH);
    assert_eq!(status, 200, "hub identity: {body}");
    testigo_core::ids::DeviceId::parse(body["device_id"].as_str().expect("device id"))
        .expect("a device id")
}

/// An enrolment body exactly as the device sends it: the code, `public_key`, and a
/// proof signed by `signer` (the holder of `public_key`, unless a test forges it).
pub fn enrol_body(
    hub: &TestHub,
    code: &str,
    public_key: &[u8; 32],
    signer: &testigo_core::store::DeviceIdentity,
) -> Value {
    let message =
        testigo_core::sync::enrolment::proof_message(&hub_device_id(hub), code, public_key);
    json!({
        "code": code,
        "public_key": hex::encode(public_key),
        "proof": hex::encode(signer.sign(&message)),
    })
}

/// `POST /v1/enrol` over raw HTTP with a correctly signed body for `person`.
pub fn enrol_raw(hub: &TestHub, code: &str, person: &Person) -> (u16, Value) {
    let identity = person.store.identity();
    Api::anonymous(hub).post(
        testigo_core::sync::protocol::ENROL_PATH,
        enrol_body(hub, code, &identity.public_key(), &identity),
    )
}

/// Sends one sync round straight to the hub at `url` as `person`'s device: the change
/// chunks in `changes` for `incident`, under the request signature by the device's
/// real enrolled key over the history statement of the last of them (its hash as
/// given, its seq as the bytes say), exactly as the wire carries them. Returns the HTTP
/// status and body. This is how a tampered app talks to the hub: nothing goes through
/// the store.
pub fn post_signed_changes(
    url: &str,
    person: &Person,
    incident: &IncidentId,
    new_incident: bool,
    changes: Vec<(Vec<u8>, automerge::ChangeHash)>,
) -> (u16, Vec<u8>) {
    use testigo_core::sync::protocol::{self, SyncRequest, Upload, CONTENT_TYPE, SYNC_PATH};
    let identity = person.store.identity();
    let api = Api::with_url(url, identity.credential.as_deref().expect("enrolled"));
    let (status, hub) = api.get(protocol::HUB_PATH);
    assert_eq!(status, 200, "hub identity: {hub}");
    let hub = testigo_core::ids::DeviceId::parse(hub["device_id"].as_str().expect("device id"))
        .expect("a device id");
    let statements: Vec<testigo_core::evidence::HistoryStatement> = changes
        .last()
        .map(|(bytes, hash)| {
            let seq = testigo_core::incident::untrusted::parse_change(bytes.clone())
                .map(|c| c.seq())
                .unwrap_or(0);
            testigo_core::evidence::HistoryStatement {
                incident: incident.clone(),
                hub: hub.clone(),
                seq,
                head: *hash,
            }
        })
        .into_iter()
        .collect();
    let signature = testigo_core::evidence::UploadStatement::over(&hub, &statements)
        .map(|tree| tree.sign(&identity).to_vec())
        .unwrap_or_default();
    let request = SyncRequest {
        cursor: 0,
        uploads: vec![Upload {
            incident: incident.clone(),
            changes: changes.into_iter().map(|(bytes, _)| bytes).collect(),
            new_incident,
            signature: Vec::new(),
            retries: Vec::new(),
        }],
        max_response_bytes: 1 << 20,
        signature,
    };
    api.post_bytes(
        SYNC_PATH,
        CONTENT_TYPE,
        protocol::encode(&request).expect("encode"),
    )
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
