//! `testigo hub`: the dispatcher hub on an embedded SQLite file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use testigo_hub::{Hub, HubConfig};

use crate::output::{bold, Output};

#[derive(Args)]
pub struct HubArgs {
    /// Address to listen on.
    #[arg(long, env = "TESTIGO_HUB_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The hub database (default: the user's data dir, testigo/hub.sqlite).
    #[arg(long, env = "TESTIGO_HUB_DB")]
    db: Option<PathBuf>,
    /// PEM certificate chain; with --tls-key the hub serves HTTPS itself.
    #[arg(long, env = "TESTIGO_HUB_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, env = "TESTIGO_HUB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Days a closed incident stays on the devices that hold it.
    #[arg(long, env = "TESTIGO_HUB_RETENTION_DAYS", default_value_t = 3)]
    retention_days: u32,
    /// Archive closed incidents here (as evidence bundles), then delete them from the hub.
    #[arg(long, env = "TESTIGO_HUB_ARCHIVE_DIR", requires = "archive_after_days")]
    archive_dir: Option<PathBuf>,
    /// Days after closing at which an incident is archived.
    #[arg(long, env = "TESTIGO_HUB_ARCHIVE_AFTER_DAYS", requires = "archive_dir")]
    archive_after_days: Option<u32>,
    /// Where media files are kept: a folder or an S3-compatible bucket.
    #[command(flatten)]
    media: testigo_hub::media::MediaStoreConfig,
    /// Accept plain-http UnifiedPush endpoints (a distributor on this trusted network).
    #[arg(long, env = "TESTIGO_HUB_PUSH_ALLOW_HTTP")]
    push_allow_http: bool,
    /// Address of a TLS proxy in front of the hub (repeatable): only its
    /// `X-Forwarded-For` is believed, for rate limits per client.
    #[arg(
        long = "trusted-proxy",
        env = "TESTIGO_HUB_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The organisation named in the content-credential certificates the hub makes
    /// at first start.
    #[arg(
        long,
        env = "TESTIGO_HUB_ORGANISATION",
        default_value = testigo_hub::config::DEFAULT_ORGANISATION
    )]
    organisation: String,
    #[command(subcommand)]
    command: Option<HubCommand>,
}

/// What else can be done with a hub's database, instead of serving it.
#[derive(Subcommand)]
enum HubCommand {
    /// Print the organisation's content-credentials trust anchor (PEM), for the
    /// attorneys, courts and newsrooms who check exported files:
    /// `testigo hub trust-anchor > org.pem`.
    TrustAnchor,
    /// Sign content credentials with the organisation's own certificates instead of
    /// the ones the hub made: the signing certificate (then any intermediates), its
    /// PKCS#8 private key, and the root people will be given. Refused unless they
    /// sign a file that reads back as trusted under that root.
    ImportCredentials {
        #[arg(long, value_name = "PEM")]
        chain: PathBuf,
        #[arg(long, value_name = "PEM")]
        key: PathBuf,
        #[arg(long, value_name = "PEM")]
        anchor: PathBuf,
    },
}

pub fn run(args: HubArgs, out: Output) -> Result<()> {
    let db = args.db.unwrap_or_else(|| {
        dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("testigo")
            .join("hub.sqlite")
    });
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    match args.command {
        Some(HubCommand::TrustAnchor) => {
            let identity = testigo_hub::credentials::identity_of(&db, &args.organisation)
                .with_context(|| format!("opening the hub database {}", db.display()))?;
            print!("{}", identity.trust_anchor_pem());
            return Ok(());
        }
        Some(HubCommand::ImportCredentials { chain, key, anchor }) => {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            };
            testigo_hub::credentials::import_into(
                &db,
                &read(&chain)?,
                &read(&key)?,
                &read(&anchor)?,
            )
            .with_context(|| format!("importing into {}", db.display()))?;
            out.ok("content credentials are now signed with the organisation's certificates");
            return Ok(());
        }
        None => {}
    }
    let tls = args.tls_cert.is_some();
    let media = args.media.location(&db);
    let config = HubConfig {
        listen: args.listen,
        db: db.clone(),
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        retention_days: args.retention_days,
        archive_dir: args.archive_dir,
        archive_after_days: args.archive_after_days,
        media: args.media,
        max_media_mb: 2048,
        push_allow_http: args.push_allow_http,
        push_policy: None,
        wake_bus: None,
        trusted_proxies: args.trusted_proxies,
        organisation: args.organisation,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let hub = Hub::open(config)
            .with_context(|| format!("opening the hub database {}", db.display()))?;
        let scheme = if tls { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let url = format!("{scheme}://{}", listener.local_addr()?);
        let code = hub.bootstrap_code().map(str::to_owned);
        out.result(
            &serde_json::json!({ "url": url, "db": db, "media": media.to_string(), "coordinator_code": code }),
            |_| {
                out.ok(format!("hub listening on {}", bold(&url)));
                out.line(format!("database {}", db.display()));
                out.line(format!("media {media}"));
                if let Some(code) = &code {
                    out.line(format!(
                        "first start: enrol the coordinator's device with code {} (valid 24 h):",
                        bold(code)
                    ));
                    out.line(format!("  testigo field enroll --hub {url} --code {code}"));
                }
                out.line("Ctrl-C stops it cleanly.");
            },
        )?;
        if tls {
            drop(listener);
            tokio::select! {
                served = hub.serve() => served.context("serving")?,
                _ = tokio::signal::ctrl_c() => {}
            }
        } else {
            hub.run(listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")?;
        }
        out.ok("hub stopped");
        Ok(())
    })
}
