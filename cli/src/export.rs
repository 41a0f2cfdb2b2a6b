//! `testigo export`: evidence bundles from the hub, and CSV / GeoJSON of what a team
//! lead's device holds, for spreadsheets and map tools.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use testigo_core::ids::IncidentId;
use testigo_core::store::{ListQuery, Store};
use testigo_hub::credentials::Copy;

use crate::field::open_store;
use crate::hub_client::HubClient;
use crate::output::Output;

/// The folder, inside a bundle's media folder, of the copies with content credentials.
pub const CREDENTIALS_DIR: &str = "credentials";

#[derive(Args)]
pub struct ExportArgs {
    /// An enrolled store (team lead or dispatcher).
    #[arg(long, env = "TESTIGO_STORE", global = true)]
    store: Option<PathBuf>,
    /// Write here instead of standard output.
    #[arg(long, short, global = true)]
    output: Option<PathBuf>,
    #[command(subcommand)]
    command: ExportCommand,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// A self-checking evidence bundle of incidents, made by the hub.
    Bundle {
        #[arg(required = true)]
        incidents: Vec<String>,
        /// Also write every photo, video and audio file the incidents record (the
        /// originals, from the hub) into this folder, named by their hash, and into
        /// its `credentials/` folder a copy of each carrying content credentials
        /// (C2PA) signed by the organisation.
        #[arg(long, value_name = "DIR")]
        with_media: Option<PathBuf>,
    },
    /// A copy of one photo for the press or the public: its location, device and
    /// time metadata removed, with content credentials signed by the organisation
    /// that state no location either.
    Share {
        incident: String,
        /// The photo's SHA-256, as the observation records it.
        sha256: String,
    },
    /// Every observation on this device, one row each.
    Csv,
    /// Reported places, check-ins and observations as a GeoJSON FeatureCollection.
    Geojson,
}

pub fn run(args: ExportArgs, out: Output) -> Result<()> {
    let store = open_store(args.store)?;
    let bytes = match args.command {
        ExportCommand::Bundle {
            incidents,
            with_media,
        } => {
            let ids = incidents
                .iter()
                .map(|s| IncidentId::parse(s).map_err(|e| anyhow!("{e}")))
                .collect::<Result<Vec<_>>>()?;
            let hub = HubClient::for_store(&store)?;
            let bundle = crate::progress::spinner(out, "exporting", || hub.evidence(&ids))?;
            if let Some(dir) = with_media {
                write_media(&hub, &bundle, &dir, out)?;
            }
            bundle
        }
        ExportCommand::Share { incident, sha256 } => {
            let id = IncidentId::parse(&incident).map_err(|e| anyhow!("{e}"))?;
            let hub = HubClient::for_store(&store)?;
            hub.credentialed(&id, &sha256, Copy::Sharing)?
                .ok_or_else(|| anyhow!("the hub does not hold {sha256} of incident {id}"))?
        }
        ExportCommand::Csv => csv(&store)?.into_bytes(),
        ExportCommand::Geojson => serde_json::to_vec_pretty(&geojson(&store)?)?,
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            if !out.json {
                eprintln!("wrote {} bytes to {}", bytes.len(), path.display());
            }
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

/// Downloads every file the bundle records into `dir`, and a credentialed copy of each
/// original C2PA can carry into `dir/credentials/`. A file the hub does not hold
/// yet is named, and the export goes on (verify will name it as missing).
fn write_media(hub: &HubClient, bundle: &[u8], dir: &std::path::Path, out: Output) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let credentials = dir.join(CREDENTIALS_DIR);
    for media in testigo_core::evidence::bundle_media(bundle) {
        let id = IncidentId::parse(&media.incident).map_err(|e| anyhow!("{e}"))?;
        match hub.media(&id, &media.sha256)? {
            Some(bytes) => {
                let path = dir.join(&media.file_name);
                std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                if !media.is_preview && testigo_hub::credentials::manifest::supported(&media.mime) {
                    // The original is the evidence; a file the library cannot carry a
                    // manifest in (a damaged picture) is named and the export goes on.
                    match hub.credentialed(&id, &media.sha256, Copy::Evidence) {
                        Ok(Some(signed)) => {
                            std::fs::create_dir_all(&credentials)
                                .with_context(|| format!("creating {}", credentials.display()))?;
                            let path = credentials.join(&media.file_name);
                            std::fs::write(&path, &signed)
                                .with_context(|| format!("writing {}", path.display()))?;
                        }
                        Ok(None) => {}
                        Err(e) => out.warn(format!(
                            "no content credentials for {}: {e:#}",
                            media.file_name
                        )),
                    }
                }
            }
            None if !media.is_preview => out.warn(format!(
                "the hub does not hold {} yet ({} of incident {})",
                media.file_name, media.mime, media.incident
            )),
            None => {}
        }
    }
    Ok(())
}

fn all_views(store: &Store) -> Result<Vec<testigo_core::incident::IncidentView>> {
    let mut views = Vec::new();
    let mut offset = 0;
    loop {
        let page = store.list(&ListQuery {
            limit: 500,
            offset,
            ..ListQuery::default()
        })?;
        if page.is_empty() {
            return Ok(views);
        }
        offset += page.len() as u32;
        for row in page {
            views.push(store.view(&row.summary.id)?);
        }
    }
}

/// RFC 4180 field quoting.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn csv(store: &Store) -> Result<String> {
    let mut text = String::from("incident,place,status,observation,kind,text,count,amends,by,at_utc,lat,lon,accuracy_m,mock\n");
    for view in all_views(store)? {
        for o in &view.observations {
            let (lat, lon, accuracy, mock) = match &o.fix {
                Some(f) => (
                    f.lat.to_string(),
                    f.lon.to_string(),
                    f.accuracy_m.to_string(),
                    f.mock.to_string(),
                ),
                None => Default::default(),
            };
            let row = [
                view.id.to_string(),
                view.report.place_text.clone(),
                view.status.status.as_str().to_owned(),
                o.id.to_string(),
                format!("{:?}", o.kind).to_lowercase(),
                o.text.clone(),
                o.count.map(|c| c.to_string()).unwrap_or_default(),
                o.amends
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                o.by.to_string(),
                o.at.to_rfc3339(),
                lat,
                lon,
                accuracy,
                mock,
            ];
            text.push_str(&row.iter().map(|v| field(v)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
    }
    Ok(text)
}

fn geojson(store: &Store) -> Result<serde_json::Value> {
    let mut features = Vec::new();
    for view in all_views(store)? {
        if let serde_json::Value::Array(items) =
            testigo_core::evidence::incident_features(&view)["features"].take()
        {
            features.extend(items);
        }
    }
    Ok(serde_json::json!({ "type": "FeatureCollection", "features": features }))
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
    }
}
