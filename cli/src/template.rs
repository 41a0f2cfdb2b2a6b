//! `testigo template …`: a coordinator brings a coalition's checklist to every phone.
//! `import` sends an XLSForm (or template JSON) to the hub, which checks it and keeps it
//! as a draft, printing what it left out by sheet and row; `publish` sends that version
//! to every device with its next sync; `export` writes a checklist as an XLSForm to
//! start from.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use testigo_core::checklist::{default_template, xlsform, CheckedTemplate};
use testigo_core::incident::TemplateRef;

use crate::field::open_store;
use crate::hub_client::HubClient;
use crate::output::{bold, dim, Output};

#[derive(Args)]
pub struct TemplateArgs {
    /// The coordinator's enrolled store.
    #[arg(long, env = "TESTIGO_STORE", global = true)]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: TemplateCommand,
}

#[derive(Subcommand)]
enum TemplateCommand {
    /// Send an XLSForm (.xlsx or CSV) or template JSON to the hub, which checks it.
    Import { file: PathBuf },
    /// Publish an imported version: every device receives it with its next sync.
    Publish {
        id: String,
        #[arg(long)]
        version: u32,
    },
    /// The checklists the hub holds, published or not.
    List,
    /// Write a checklist as an XLSForm (.xlsx, or CSV for any other extension):
    /// the one that ships with Testigo, or a template JSON file given with --from.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        from: Option<PathBuf>,
    },
}

/// `field-verification@2` as a reference.
pub fn parse_ref(text: &str) -> Result<TemplateRef> {
    let (id, version) = text
        .rsplit_once('@')
        .ok_or_else(|| anyhow!("write the checklist as ID@VERSION, e.g. field-verification@1"))?;
    let version = version
        .parse()
        .map_err(|_| anyhow!("{version:?} is not a version number"))?;
    Ok(TemplateRef {
        id: id.to_owned(),
        version,
    })
}

pub fn run(args: TemplateArgs, out: Output) -> Result<()> {
    match args.command {
        TemplateCommand::Export { out: path, from } => export(&path, from, out),
        TemplateCommand::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let is_json = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let hub = HubClient::for_store(&open_store(args.store)?)?;
            let imported = hub.import_template(bytes, is_json)?;
            out.result(&imported, |i| {
                out.ok(format!(
                    "imported {}@{} “{}”: {} questions{}",
                    bold(i["id"].as_str().unwrap_or("")),
                    i["version"],
                    i["title"].as_str().unwrap_or(""),
                    i["questions"],
                    if i["new"] == false {
                        " (already imported)"
                    } else {
                        ""
                    }
                ));
                for warning in i["warnings"].as_array().into_iter().flatten() {
                    out.warn(format!(
                        "{} row {}{}: {}",
                        warning["sheet"].as_str().unwrap_or(""),
                        warning["row"],
                        warning["column"]
                            .as_str()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        warning["message"].as_str().unwrap_or("")
                    ));
                }
                for warning in i["translation_warnings"].as_array().into_iter().flatten() {
                    out.warn(warning.as_str().unwrap_or(""));
                }
                out.line(dim(format!(
                    "publish it with: testigo template publish {} --version {}",
                    i["id"].as_str().unwrap_or(""),
                    i["version"]
                )));
            })
        }
        TemplateCommand::Publish { id, version } => {
            let hub = HubClient::for_store(&open_store(args.store)?)?;
            let published = hub.publish_template(&id, version)?;
            out.result(&published, |_| {
                out.ok(format!(
                    "published {}@{version}: devices receive it with their next sync",
                    bold(&id)
                ))
            })
        }
        TemplateCommand::List => {
            let hub = HubClient::for_store(&open_store(args.store)?)?;
            let list = hub.templates()?;
            out.result(&list, |rows| {
                let rows = rows.as_array().cloned().unwrap_or_default();
                if rows.is_empty() {
                    out.line(dim(
                        "no checklist imported; devices run the one that ships with Testigo",
                    ));
                }
                for row in rows {
                    out.line(format!(
                        "{}@{}  {}  {} questions  {}",
                        bold(row["id"].as_str().unwrap_or("")),
                        row["version"],
                        row["title"].as_str().unwrap_or(""),
                        row["questions"],
                        if row["published_at_ms"].is_null() {
                            dim("draft")
                        } else {
                            "published".to_owned()
                        }
                    ));
                }
            })
        }
    }
}

fn export(path: &Path, from: Option<PathBuf>, out: Output) -> Result<()> {
    let template = match from {
        None => default_template()?,
        Some(file) => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            CheckedTemplate::from_json(&json)?
        }
    };
    let xlsx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let bytes = if xlsx {
        xlsform::export_xlsx(template.template())?
    } else {
        xlsform::export_csv(template.template())?.into_bytes()
    };
    if bytes.is_empty() {
        bail!("nothing to write");
    }
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    let reference = template.template_ref();
    out.result(
        &serde_json::json!({ "id": reference.id, "version": reference.version, "file": path }),
        |_| {
            out.ok(format!(
                "wrote {}@{} to {}",
                reference.id,
                reference.version,
                path.display()
            ))
        },
    )
}
