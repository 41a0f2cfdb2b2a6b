//! The hub as a running service: its state, its routes, and serving them over HTTP
//! or HTTPS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use testigo_core::ids::DeviceId;
use testigo_core::incident::{Author, Role};
use testigo_core::sync::protocol::{ENROL_PATH, HEALTH_PATH, HUB_PATH, SYNC_PATH};
use testigo_core::sync::wake::{PUSH_PATH, WAKE_PATH};
use testigo_core::time::{Clock, SystemClock};

use crate::auth::{self, RateLimiter};
use crate::config::HubConfig;
use crate::console::{self, ConsoleState};
use crate::db::{self, changes, devices, meta::HubIdentity};
use crate::dispatch;
use crate::error::{HubError, HubResult};
use crate::wake::{self, InProcessBus, WakeState};

/// Largest request body accepted (compressed sync bodies; JSON).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// How long the code printed at first start stays valid.
const BOOTSTRAP_CODE_MINUTES: i64 = 24 * 60;

pub struct AppState {
    db: Mutex<Connection>,
    readers: db::readers::Readers,
    pub(crate) hub: HubIdentity,
    clock: Arc<dyn Clock>,
    pub(crate) retention_ms: i64,
    limiter: Mutex<RateLimiter>,
    /// Whether the hub itself serves HTTPS (console cookies are then `Secure`).
    pub(crate) tls: bool,
    /// Proxies whose `X-Forwarded-For` is believed (`auth::ClientAddress`).
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// Where archived incidents went; late work on them follows them there.
    pub(crate) archive_dir: Option<std::path::PathBuf>,
    pub(crate) console: ConsoleState,
    /// Where media files are kept, and the largest taken.
    pub(crate) media: crate::media::MediaStorage,
    pub(crate) media_max_bytes: u64,
    pub(crate) wake: WakeState,
    /// The organisation's C2PA signing identity.
    pub(crate) credentials: Arc<crate::credentials::OrgIdentity>,
}

impl AppState {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The hub's own entry among the authors of an evidence bundle.
    pub(crate) fn hub_record(
        &self,
        conn: &Connection,
    ) -> HubResult<testigo_core::evidence::DeviceRecord> {
        crate::evidence::hub_record(
            conn,
            &self.hub.device_id,
            &self.hub.signing_key.verifying_key().to_bytes(),
        )
    }

    /// The hub writing what `device` asked for.
    pub(crate) fn author_for(&self, device: &devices::Device) -> Author {
        Author::via(
            device.device_id.clone(),
            device.role,
            self.hub.device_id.clone(),
        )
    }

    /// The one way a request reaches the database: `f` runs off the async threads in
    /// a transaction of its own, committed when it returns `Ok` and rolled back
    /// otherwise. Handlers never hold a bare connection, so none can forget to make
    /// its writes (audit row, document, change log) one unit.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, f: F) -> HubResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState, &mut Transaction<'_>) -> HubResult<T> + Send + 'static,
    {
        self.blocking(move |state, conn| {
            let mut tx = conn.transaction()?;
            let value = f(state, &mut tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` off the async threads on a reader connection, in a read transaction
    /// of its own: for what only looks, so that it never waits behind a write.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> HubResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState, &Connection) -> HubResult<T> + Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || state.readers.read(|conn| f(&state, conn)))
            .await
            .map_err(|e| HubError::internal(format!("the request failed: {e}")))?
    }

    /// Runs database work off the async threads, on the one writer connection.
    async fn blocking<T, F>(self: &Arc<Self>, f: F) -> HubResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState, &mut Connection) -> HubResult<T> + Send + 'static,
    {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // A panic inside a transaction rolls it back, so a poisoned lock still
            // guards a consistent database.
            let mut conn = state.db.lock().unwrap_or_else(|p| p.into_inner());
            // Every change to an incident (a sync round, a dispatcher's action) takes a
            // number of the change-log counter; when it moved, open consoles refresh.
            // Other writes (the audit of their own reads) must not, or every refresh
            // would cause the next.
            let before = changes::current_seq(&conn).ok();
            let result = f(&state, &mut conn);
            if let Some(before) = before {
                if changes::current_seq(&conn).ok() != Some(before) {
                    match changes::incidents_since(&conn, before) {
                        Ok(incidents) => state.console.changed(incidents),
                        Err(e) => tracing::warn!(error = %e, "cannot tell consoles what changed"),
                    }
                    // And phones on duty hear of it (only if the log grew, not for a
                    // delivery stamp).
                    state
                        .wake
                        .committed(&conn, before, state.now_ms(), state.retention_ms);
                }
            }
            result
        })
        .await
        .map_err(|e| HubError::internal(format!("the request failed: {e}")))?
    }
}

/// A look at a running hub's memory, for tests and figures.
#[derive(Clone)]
pub struct HubWatch(Arc<AppState>);

impl HubWatch {
    /// Phones holding a wake long-poll open on this instance.
    pub fn waiting_phones(&self) -> usize {
        self.0.wake.waiting()
    }
}

/// An opened hub, ready to serve.
pub struct Hub {
    state: Arc<AppState>,
    bootstrap_code: Option<String>,
    config: HubConfig,
}

impl Hub {
    pub fn open(config: HubConfig) -> HubResult<Self> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// Opens (creating if needed) the hub database. On the very first start, with no
    /// device and no code yet, it makes one coordinator enrolment code.
    pub fn open_with_clock(config: HubConfig, clock: Arc<dyn Clock>) -> HubResult<Self> {
        let conn = db::open(&config.db)?;
        let hub = db::meta::identity(&conn)?;
        let credentials =
            crate::credentials::OrgIdentity::load_or_create(&conn, &config.organisation)?;
        let readers = db::readers::Readers::open(&config.db)?;
        let bootstrap_code = if devices::count(&conn)? == 0 && devices::code_count(&conn)? == 0 {
            let code = auth::new_code()?;
            let expires = clock.now().timestamp_millis() + BOOTSTRAP_CODE_MINUTES * 60_000;
            devices::create_code(
                &conn,
                &auth::hash_code(&code),
                Role::Coordinator,
                None,
                expires,
                None,
                None,
            )?;
            Some(code)
        } else {
            None
        };
        let tls = config.tls_cert.is_some() && config.tls_key.is_some();
        let state = AppState {
            db: Mutex::new(conn),
            readers,
            hub,
            clock,
            retention_ms: config.retention().num_milliseconds(),
            limiter: Mutex::default(),
            tls,
            trusted_proxies: config.trusted_proxies.clone(),
            archive_dir: config.archive_dir.clone(),
            console: ConsoleState::default(),
            media: crate::media::MediaStorage::new(config.media.open(&config.db)?),
            media_max_bytes: config.max_media_bytes(),
            wake: WakeState::new(
                config
                    .wake_bus
                    .clone()
                    .unwrap_or_else(|| Arc::new(InProcessBus::default())),
                config.push(),
            ),
            credentials: Arc::new(credentials),
        };
        Ok(Self {
            state: Arc::new(state),
            bootstrap_code,
            config,
        })
    }

    /// The coordinator code made at first start, if this was it.
    pub fn bootstrap_code(&self) -> Option<&str> {
        self.bootstrap_code.as_deref()
    }

    /// A handle on what the hub holds in memory, usable while it serves.
    pub fn watch(&self) -> HubWatch {
        HubWatch(Arc::clone(&self.state))
    }

    /// The hub's own device id: the actor of every change it writes.
    pub fn device_id(&self) -> &DeviceId {
        &self.state.hub.device_id
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                HEALTH_PATH,
                get(|| async { Json(serde_json::json!({ "ok": true })) }),
            )
            .route(HUB_PATH, get(auth::hub_info))
            .route(ENROL_PATH, post(auth::enrol))
            .route(SYNC_PATH, post(crate::sync::sync))
            .nest(
                "/v1",
                dispatch::router()
                    .merge(crate::media::router())
                    .route(
                        crate::credentials::export::ROUTE,
                        get(crate::credentials::export::credentialed),
                    )
                    .merge(crate::templates::router()),
            )
            .route(WAKE_PATH, post(wake::long_poll::wait))
            .route(
                PUSH_PATH,
                put(wake::push::register).delete(wake::push::unregister),
            )
            .merge(console::router(&self.state))
            .fallback(|| async { HubError::not_found("no such route") })
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(Arc::clone(&self.state))
    }

    /// Archives and deletes incidents closed longer ago than the configured age;
    /// nothing when no archive is configured. Returns what left the hub.
    pub async fn archive_now(&self) -> HubResult<Vec<testigo_core::ids::IncidentId>> {
        let (Some(dir), Some(days)) = (&self.config.archive_dir, self.config.archive_after_days)
        else {
            return Ok(Vec::new());
        };
        let cutoff = self.state.now_ms() - i64::from(days) * 86_400_000;
        crate::retention::archive_closed(&self.state, dir, cutoff).await
    }

    /// Runs the archive policy now and then every hour, in the background.
    fn spawn_archiver(&self) {
        if self.config.archive_dir.is_none() {
            return;
        }
        let hub = Hub {
            state: Arc::clone(&self.state),
            bootstrap_code: None,
            config: self.config.clone(),
        };
        tokio::spawn(async move {
            let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every_hour.tick().await;
                match hub.archive_now().await {
                    Ok(archived) if !archived.is_empty() => {
                        tracing::info!(count = archived.len(), "closed incidents archived")
                    }
                    Err(e) => tracing::error!(error = %e, "archiving failed; will retry"),
                    _ => {}
                }
            }
        });
    }

    /// Serves plain HTTP on `listener` until `shutdown` completes.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.spawn_archiver();
        wake::spawn(&self.state);
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let state = Arc::clone(&self.state);
        // Consoles' event streams never end by themselves; a shutdown ends them so
        // that the graceful shutdown does not wait on them forever.
        let shutdown = async move {
            shutdown.await;
            state.console.shut_down();
            state.wake.shut_down();
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves on the configured address, with TLS when a certificate and key are
    /// configured, until the process is stopped.
    pub async fn serve(self) -> std::io::Result<()> {
        let addr = self.config.listen;
        match (self.config.tls_cert.clone(), self.config.tls_key.clone()) {
            (Some(cert), Some(key)) => {
                // ring, like the devices: one crypto provider in the whole project.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
                self.spawn_archiver();
                wake::spawn(&self.state);
                tracing::info!(%addr, "hub listening (HTTPS)");
                axum_server::bind_rustls(addr, tls)
                    .serve(
                        self.router()
                            .into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .await
            }
            _ => {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                tracing::info!(addr = %listener.local_addr()?, "hub listening (HTTP; put a TLS proxy in front)");
                self.run(listener, std::future::pending()).await
            }
        }
    }
}

/// Opens the hub from `config` and serves it; prints the bootstrap code on first start.
pub async fn serve(config: HubConfig) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let hub = Hub::open(config)?;
    if let Some(code) = hub.bootstrap_code() {
        println!("First start: enrol the coordinator's device with code {code} (valid 24 hours).");
    }
    hub.serve().await?;
    Ok(())
}
