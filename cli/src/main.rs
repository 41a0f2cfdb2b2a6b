//! `testigo`: one command for the whole system.
//!
//! - `testigo demo`: the whole story in one process tree over real HTTP on loopback.
//! - `testigo hub`: the dispatcher hub with an embedded SQLite store.
//! - `testigo enroll` / `testigo dispatch …`: coordinator and dispatcher tools.
//! - `testigo field …`: a field device in the terminal.
//! - `testigo template …`: import, publish and export checklists (coordinators).
//! - `testigo export` / `testigo verify`: evidence bundles, CSV and GeoJSON; photos
//!   and videos with content credentials (C2PA) signed by the organisation.
//!
//! Errors are one clear line on stderr and a non-zero exit code, never a backtrace.

mod credentials;
mod demo;
mod demo_media;
mod dispatch;
mod evidence;
mod export;
mod field;
mod hub;
mod hub_client;
mod keyfile;
mod output;
mod progress;
mod report;
mod template;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use output::Output;

#[derive(Parser)]
#[command(
    name = "testigo",
    version,
    about = "Testigo: verify, document and sync rapid-response incidents."
)]
struct Cli {
    /// Print one JSON document instead of human output.
    #[arg(long, global = true)]
    json: bool,
    /// Language of checklists and messages (en, es).
    #[arg(long, global = true, default_value = "en", env = "TESTIGO_LANG")]
    lang: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole story in one command: hub, dispatcher, two volunteers, a team lead.
    Demo,
    /// Run the dispatcher hub.
    Hub(hub::HubArgs),
    /// Create a one-time enrolment code (coordinators).
    Enroll(dispatch::EnrollArgs),
    /// Revoke a lost or seized device's access (coordinators).
    Revoke(dispatch::RevokeArgs),
    /// Open, assign, follow and close incidents (dispatchers).
    Dispatch(dispatch::DispatchArgs),
    /// A field device in the terminal: enrol, sync, check in, answer, observe.
    Field(field::FieldArgs),
    /// Import an XLSForm, publish it to every device, or export a checklist (coordinators).
    Template(template::TemplateArgs),
    /// Evidence bundles from the hub; CSV and GeoJSON of this device's incidents.
    Export(export::ExportArgs),
    /// Check an evidence bundle: every hash, signature and rendering, and, against a
    /// pinned hub key, what the hub signed (heads, authors, receipt times); or check
    /// photos and videos by their content credentials (C2PA), against the
    /// organisation's trust anchor.
    Verify(evidence::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    let result = match cli.command {
        Command::Demo => demo::run(out).map(|()| true),
        Command::Hub(args) => hub::run(args, out).map(|()| true),
        Command::Enroll(args) => dispatch::enroll(args, out).map(|()| true),
        Command::Revoke(args) => dispatch::revoke(args, out).map(|()| true),
        Command::Dispatch(args) => dispatch::run(args, out).map(|()| true),
        Command::Field(args) => field::run(args, out, &cli.lang).map(|()| true),
        Command::Template(args) => template::run(args, out).map(|()| true),
        Command::Export(args) => export::run(args, out).map(|()| true),
        Command::Verify(args) => evidence::verify(args, out),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{} {e:#}", console::style("error:").red().bold());
            ExitCode::from(1)
        }
    }
}
