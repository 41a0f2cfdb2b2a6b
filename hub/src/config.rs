//! How the hub is run: flags, each also readable from the environment, so the same
//! binary runs from a terminal, a systemd unit or a container.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use std::sync::Arc;

use crate::media::MediaStoreConfig;
use crate::wake::{PushPolicy, WakeBus};

#[derive(Clone, Debug, clap::Args)]
pub struct HubConfig {
    /// Address to listen on.
    #[arg(long, env = "TESTIGO_HUB_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// The hub's SQLite database file (created on first start).
    #[arg(long, env = "TESTIGO_HUB_DB", default_value = "testigo-hub.sqlite")]
    pub db: PathBuf,
    /// PEM certificate chain; with --tls-key the hub serves HTTPS itself. Without
    /// both it serves plain HTTP, for a TLS-terminating reverse proxy in front.
    #[arg(long, env = "TESTIGO_HUB_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "TESTIGO_HUB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Days a closed incident stays on the devices that hold it.
    #[arg(long, env = "TESTIGO_HUB_RETENTION_DAYS", default_value_t = 7)]
    pub retention_days: u32,
    /// Where closed incidents are archived (as evidence bundles) before the hub
    /// deletes them. Without it the hub keeps every incident.
    #[arg(long, env = "TESTIGO_HUB_ARCHIVE_DIR", requires = "archive_after_days")]
    pub archive_dir: Option<PathBuf>,
    /// Days after closing at which an incident is archived and deleted from the hub.
    #[arg(long, env = "TESTIGO_HUB_ARCHIVE_AFTER_DAYS", requires = "archive_dir")]
    pub archive_after_days: Option<u32>,
    /// Where media files are kept: a folder or an S3-compatible bucket.
    #[command(flatten)]
    pub media: MediaStoreConfig,
    /// Largest media file (photo, video, audio) the hub takes, in MiB.
    #[arg(long, env = "TESTIGO_HUB_MAX_MEDIA_MB", default_value_t = 2048)]
    pub max_media_mb: u64,
    /// Accept plain-http UnifiedPush endpoints (a distributor on the hub's own trusted
    /// network). Without it devices may register only https endpoints.
    #[arg(long, env = "TESTIGO_HUB_PUSH_ALLOW_HTTP")]
    pub push_allow_http: bool,
    /// Retries and limits of push wakes; `None`: [`PushPolicy::default`].
    #[arg(skip)]
    pub push_policy: Option<PushPolicy>,
    /// What carries wake signals between hub instances; `None`: this process only
    /// ([`crate::wake::InProcessBus`]).
    #[arg(skip)]
    pub wake_bus: Option<Arc<dyn WakeBus>>,
    /// Addresses of the TLS proxies in front of the hub. Only a request from one of
    /// them has its `X-Forwarded-For` read, for the client's address that rate limits
    /// are kept by; from anyone else that header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "TESTIGO_HUB_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// The organisation whose name the hub's content-credential certificates carry,
    /// used once, when the hub makes them at first start.
    #[arg(
        long,
        env = "TESTIGO_HUB_ORGANISATION",
        default_value = DEFAULT_ORGANISATION
    )]
    pub organisation: String,
}

/// The name in generated certificates when none is given.
pub const DEFAULT_ORGANISATION: &str = "Rapid Response Hotline";

impl HubConfig {
    /// A hub on a database file, other settings at their defaults.
    pub fn with_db(db: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: db.into(),
            tls_cert: None,
            tls_key: None,
            retention_days: 7,
            archive_dir: None,
            archive_after_days: None,
            media: MediaStoreConfig::default(),
            max_media_mb: 2048,
            push_allow_http: false,
            push_policy: None,
            wake_bus: None,
            trusted_proxies: Vec::new(),
            organisation: DEFAULT_ORGANISATION.to_owned(),
        }
    }

    /// How push wakes are sent, with `--push-allow-http` applied.
    pub fn push(&self) -> PushPolicy {
        let mut policy = self.push_policy.clone().unwrap_or_default();
        policy.allow_http |= self.push_allow_http;
        policy
    }

    pub fn max_media_bytes(&self) -> u64 {
        self.max_media_mb.saturating_mul(1024 * 1024)
    }

    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.retention_days))
    }
}
