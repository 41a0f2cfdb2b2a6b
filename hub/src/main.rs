//! `testigo-hub`: runs the hub. The `testigo` CLI embeds the same flags as `testigo hub`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Testigo dispatcher hub")]
struct Cli {
    #[command(flatten)]
    config: testigo_hub::HubConfig,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    testigo_hub::serve(Cli::parse().config).await
}
