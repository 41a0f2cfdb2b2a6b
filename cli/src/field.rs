//! `testigo field`: a field device in the terminal. It is the same core a phone runs,
//! with the key in a file instead of a keystore; useful to try the flow, to train
//! volunteers, and for scripts.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use testigo_core::checklist::{evaluate, AnswerValue, Number, QuestionState, QuestionType, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{
    Confidence, Determination, EventKind, GeoPoint, NewIncident, ObservationKind, Report,
    ReportSource, Urgency,
};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::media::{self, MediaInput};
use testigo_core::store::{ListQuery, Store};

use crate::keyfile;
use crate::output::{bold, dim, status, Output};

#[derive(Args)]
pub struct FieldArgs {
    /// The device store (default: the user's data dir, testigo/field.db).
    #[arg(long, env = "TESTIGO_STORE", global = true)]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: FieldCommand,
}

#[derive(Subcommand)]
enum FieldCommand {
    /// Show this device: id, role, hub.
    Whoami,
    /// Enrol this device with a hub using a one-time code from a coordinator.
    Enroll {
        #[arg(long)]
        hub: String,
        #[arg(long)]
        code: String,
    },
    /// Send what this device recorded and receive what it is assigned.
    Sync {
        #[arg(long)]
        hub: Option<String>,
    },
    /// Stay on duty: wait for the hub to say there is work, sync, print what
    /// arrived, and wait again (Ctrl-C stops). The same wake channel a phone holds.
    Wait {
        /// Seconds each wait stays open before the hub answers "nothing yet" (1–120).
        #[arg(long, default_value_t = 60)]
        timeout: u32,
        /// Stop after the first wait that brought work (or timed out).
        #[arg(long)]
        once: bool,
    },
    /// Register a UnifiedPush endpoint with the hub (`--off` unregisters): the hub
    /// then POSTs an empty wake to it when there is work for this device.
    Push {
        #[arg(required_unless_present = "off")]
        endpoint: Option<String>,
        #[arg(long, conflicts_with = "endpoint")]
        off: bool,
    },
    /// List incidents on this device (from the index; no document is opened).
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Everything about one incident.
    Show { incident: String },
    /// Open an incident seen in the field (not from a call).
    Open {
        #[arg(long)]
        place: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, value_enum, default_value_t = UrgencyArg::High)]
        urgency: UrgencyArg,
        #[arg(long, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, requires = "lat")]
        lon: Option<f64>,
    },
    /// Check in on scene with a location fix.
    CheckIn {
        incident: String,
        #[command(flatten)]
        fix: FixArgs,
    },
    /// Check out when leaving the scene.
    CheckOut {
        incident: String,
        #[command(flatten)]
        fix: FixArgs,
    },
    /// Answer the checklist: one question with `QUESTION VALUE`, or interactively.
    Answer {
        incident: String,
        question: Option<String>,
        value: Option<String>,
    },
    /// Show the checklist: visible questions, progress, suggested determination.
    Checklist { incident: String },
    /// Record an observation (a note, or a count with --count), optionally with
    /// photos, video or audio (--attach, repeatable; the type comes from the extension).
    Observe {
        incident: String,
        #[arg(default_value = "")]
        text: String,
        #[arg(long)]
        count: Option<i64>,
        #[command(flatten)]
        fix: OptionalFixArgs,
        /// A photo, video or audio file to attach; the original is kept unchanged.
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// A small JPEG/PNG preview of the first attached file, sent before it.
        #[arg(long, value_name = "FILE", requires = "attach")]
        preview: Option<PathBuf>,
    },
    /// Media waiting for the hub, and how far each got; --send uploads them.
    Uploads {
        #[arg(long)]
        send: bool,
        #[arg(long)]
        hub: Option<String>,
        /// The network the device is on: video waits for an unmetered one.
        #[arg(long, value_enum, default_value_t = NetworkArg::Unmetered)]
        network: NetworkArg,
        /// Send everything now, whatever the network.
        #[arg(long)]
        urgent: bool,
    },
    /// Correct an earlier observation; the original is kept.
    Amend {
        incident: String,
        observation: String,
        text: String,
        #[arg(long)]
        count: Option<i64>,
    },
    /// Propose a determination (volunteers) or confirm one (team leads, --confirm).
    Determine {
        incident: String,
        #[arg(value_enum)]
        determination: DeterminationArg,
        #[arg(long, value_enum)]
        confidence: Option<ConfidenceArg>,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        confirm: bool,
    },
    /// Changes the hub refused, kept here for review.
    Quarantine,
}

#[derive(Clone, Copy, ValueEnum)]
enum NetworkArg {
    Metered,
    Unmetered,
}

#[derive(Args, Clone)]
struct FixArgs {
    #[arg(long, allow_hyphen_values = true)]
    lat: f64,
    #[arg(long, allow_hyphen_values = true)]
    lon: f64,
    /// Horizontal accuracy in metres.
    #[arg(long, default_value_t = 10.0)]
    accuracy: f64,
    /// The fix came from a mock location provider.
    #[arg(long)]
    mock: bool,
}

impl FixArgs {
    fn fix(&self) -> LocationFix {
        LocationFix {
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy,
            altitude_m: None,
            provider: LocationProvider::Manual,
            fix_time: Utc::now(),
            mock: self.mock,
        }
    }
}

#[derive(Args, Clone)]
struct OptionalFixArgs {
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    #[arg(long, default_value_t = 10.0)]
    accuracy: f64,
}

impl OptionalFixArgs {
    fn fix(&self) -> Option<LocationFix> {
        Some(
            FixArgs {
                lat: self.lat?,
                lon: self.lon?,
                accuracy: self.accuracy,
                mock: false,
            }
            .fix(),
        )
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum UrgencyArg {
    Low,
    Normal,
    High,
    Critical,
}

impl From<UrgencyArg> for Urgency {
    fn from(u: UrgencyArg) -> Self {
        match u {
            UrgencyArg::Low => Urgency::Low,
            UrgencyArg::Normal => Urgency::Normal,
            UrgencyArg::High => Urgency::High,
            UrgencyArg::Critical => Urgency::Critical,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DeterminationArg {
    Verified,
    NotFound,
    Inconclusive,
}

impl From<DeterminationArg> for Determination {
    fn from(d: DeterminationArg) -> Self {
        match d {
            DeterminationArg::Verified => Determination::Verified,
            DeterminationArg::NotFound => Determination::NotFound,
            DeterminationArg::Inconclusive => Determination::Inconclusive,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ConfidenceArg {
    Low,
    Medium,
    High,
}

impl From<ConfidenceArg> for Confidence {
    fn from(c: ConfidenceArg) -> Self {
        match c {
            ConfidenceArg::Low => Confidence::Low,
            ConfidenceArg::Medium => Confidence::Medium,
            ConfidenceArg::High => Confidence::High,
        }
    }
}

pub fn default_store_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("testigo")
        .join("field.db")
}

pub fn open_store(path: Option<PathBuf>) -> Result<Store> {
    let path = path.unwrap_or_else(default_store_path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let key = keyfile::load_or_create(&path)?;
    Ok(Store::open(&path, &key)?)
}

fn incident_id(s: &str) -> Result<IncidentId> {
    IncidentId::parse(s).map_err(|e| anyhow!("{e}"))
}

pub fn run(args: FieldArgs, out: Output, lang: &str) -> Result<()> {
    let store = open_store(args.store)?;
    match args.command {
        FieldCommand::Whoami => {
            let identity = store.identity();
            let value = serde_json::json!({
                "device_id": identity.device_id, "role": identity.role, "team": identity.team,
                "hub": identity.hub_url, "enrolled": identity.is_enrolled(), "public_key": hex::encode(identity.public_key()),
            });
            out.result(&value, |v| {
                out.line(format!("device {}", bold(&v["device_id"])));
                out.line(format!("role {}, hub {}", v["role"], v["hub"]));
            })
        }
        FieldCommand::Enroll { hub, code } => {
            testigo_core::sync::enroll(&store, &hub, &code)?;
            let identity = store.identity();
            out.result(&serde_json::json!({ "device_id": identity.device_id, "role": identity.role, "hub": hub }), |_| {
                out.ok(format!("enrolled as {} ({})", identity.role.as_str(), identity.device_id));
            })
        }
        FieldCommand::Sync { hub } => {
            let report = crate::progress::spinner(out, "syncing", || {
                testigo_core::sync::sync(&store, hub.as_deref())
            })?;
            crate::report::print_sync(out, &report)
        }
        FieldCommand::Wait { timeout, once } => wait(&store, out, timeout, once),
        FieldCommand::Push { endpoint, off } => match endpoint.filter(|_| !off) {
            Some(endpoint) => {
                testigo_core::sync::register_push(&store, &endpoint)?;
                out.result(&serde_json::json!({ "push": endpoint }), |_| {
                    out.ok("push endpoint registered; the hub will send it empty wakes")
                })
            }
            None => {
                testigo_core::sync::unregister_push(&store)?;
                out.result(&serde_json::json!({ "push": null }), |_| {
                    out.ok("push endpoint unregistered")
                })
            }
        },
        FieldCommand::List {
            status: wanted,
            limit,
        } => {
            let wanted = match wanted.as_deref() {
                Some(s) => Some(
                    testigo_core::incident::IncidentStatus::parse(s)
                        .ok_or_else(|| anyhow!("unknown status {s:?}"))?,
                ),
                None => None,
            };
            let rows = store.list(&ListQuery {
                status: wanted,
                limit,
                ..ListQuery::default()
            })?;
            let value: Vec<_> = rows
                .iter()
                .map(
                    |r| serde_json::json!({ "summary": r.summary, "has_unsynced": r.has_unsynced }),
                )
                .collect();
            out.result(&value, |_| {
                if rows.is_empty() {
                    out.line(dim("no incidents on this device"));
                }
                for row in &rows {
                    let s = &row.summary;
                    out.line(format!(
                        "{}  {:<16} {:<9} {}  {}{}",
                        dim(&s.id),
                        status(s.status.as_str()),
                        format!("{:?}", s.urgency).to_lowercase(),
                        s.place_text,
                        dim(format!("{} obs", s.observation_count)),
                        if row.has_unsynced {
                            dim(" · not yet synced")
                        } else {
                            String::new()
                        }
                    ));
                }
            })
        }
        FieldCommand::Show { incident } => {
            let view = store.view(&incident_id(&incident)?)?;
            out.result(&view, |v| crate::report::print_incident(out, v))
        }
        FieldCommand::Open {
            place,
            description,
            urgency,
            lat,
            lon,
        } => {
            let point = lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon });
            let report = Report {
                place_text: place,
                point,
                reported_at: Utc::now(),
                description,
                urgency: urgency.into(),
                source: ReportSource::Field,
            };
            // The checklist the hub published most recently, else the shipped one.
            let template = store.current_template()?;
            let id = store.create_incident(NewIncident {
                report,
                template: Some(template),
            })?;
            out.result(&serde_json::json!({ "incident": id }), |_| {
                out.ok(format!("opened {id}"))
            })
        }
        FieldCommand::CheckIn { incident, fix } => {
            let checkpoint = store.check_in(&incident_id(&incident)?, fix.fix())?;
            out.result(&checkpoint, |c| match c.distance_m {
                Some(d) => out.ok(format!("checked in, {d:.0} m from the reported place")),
                None => out.ok("checked in"),
            })
        }
        FieldCommand::CheckOut { incident, fix } => {
            let checkpoint = store.check_out(&incident_id(&incident)?, fix.fix())?;
            out.result(&checkpoint, |_| out.ok("checked out"))
        }
        FieldCommand::Answer {
            incident,
            question,
            value,
        } => {
            let id = incident_id(&incident)?;
            match (question, value) {
                (Some(question), Some(value)) => {
                    let parsed = parse_for_question(&store, &id, &question, &value, lang)?;
                    store.answer(&id, &question, parsed)?;
                    out.result(&serde_json::json!({ "answered": question }), |_| {
                        out.ok(format!("answered {question}"))
                    })
                }
                (None, None) => interactive_checklist(&store, &id, lang, out),
                _ => {
                    bail!("give both QUESTION and VALUE, or neither for the interactive checklist")
                }
            }
        }
        FieldCommand::Checklist { incident } => {
            let id = incident_id(&incident)?;
            let evaluation = evaluation(&store, &id, lang)?;
            out.result(&evaluation, |e| crate::report::print_evaluation(out, e))
        }
        FieldCommand::Observe {
            incident,
            text,
            count,
            fix,
            attach,
            preview,
        } => {
            let kind = if count.is_some() {
                ObservationKind::Count
            } else {
                ObservationKind::Note
            };
            let incident = incident_id(&incident)?;
            let id = if attach.is_empty() {
                store.add_observation(&incident, kind, &text, count, fix.fix())?
            } else {
                let media = media_inputs(attach, preview, fix.fix())?;
                store.add_observation_with_media(
                    &incident,
                    kind,
                    &text,
                    count,
                    fix.fix(),
                    &media,
                )?
            };
            let attached = store
                .attachments(&incident)?
                .into_iter()
                .filter(|m| m.record == id && !m.is_preview)
                .map(|m| serde_json::json!({ "sha256": m.sha256, "mime": m.mime, "size": m.size }))
                .collect::<Vec<_>>();
            out.result(
                &serde_json::json!({ "observation": id, "attachments": attached }),
                |v| {
                    out.ok(format!("observation {id} saved"));
                    for a in v["attachments"].as_array().into_iter().flatten() {
                        out.line(format!(
                            "  attached {} ({} bytes, sha256 {})",
                            a["mime"], a["size"], a["sha256"]
                        ));
                    }
                },
            )
        }
        FieldCommand::Uploads {
            send,
            hub,
            network,
            urgent,
        } => {
            let report = if send {
                let network = match network {
                    NetworkArg::Metered => media::Network::Metered,
                    NetworkArg::Unmetered => media::Network::Unmetered,
                };
                let policy = media::UploadPolicy {
                    urgent,
                    ..Default::default()
                };
                Some(crate::progress::spinner(out, "uploading media", || {
                    media::upload_media(
                        &store,
                        hub.as_deref(),
                        network,
                        &policy,
                        &Default::default(),
                        None,
                    )
                })?)
            } else {
                None
            };
            let pending: Vec<_> = store
                .pending_uploads()?
                .into_iter()
                .map(|m| {
                    serde_json::json!({
                        "incident": m.incident, "sha256": m.sha256, "mime": m.mime,
                        "preview": m.is_preview, "size": m.size, "acked_bytes": m.acked_bytes,
                    })
                })
                .collect();
            let value = serde_json::json!({
                "sent": report.as_ref().map(|r| serde_json::json!({
                    "completed": r.completed, "bytes_sent": r.bytes_sent,
                    "waiting_for_network": r.waiting_for_network, "waiting_for_sync": r.waiting_for_sync,
                })),
                "pending": pending,
            });
            out.result(&value, |v| {
                if let Some(r) = report.as_ref() {
                    out.ok(format!(
                        "{} files sent ({} bytes)",
                        r.completed, r.bytes_sent
                    ));
                }
                let pending = v["pending"].as_array().map(Vec::len).unwrap_or(0);
                if pending == 0 {
                    out.line("nothing waiting for the hub".to_owned());
                }
                for p in v["pending"].as_array().into_iter().flatten() {
                    out.line(format!(
                        "  {} {}{}: {}/{} bytes",
                        p["incident"].as_str().unwrap_or_default(),
                        p["mime"].as_str().unwrap_or_default(),
                        if p["preview"] == true {
                            " (preview)"
                        } else {
                            ""
                        },
                        p["acked_bytes"],
                        p["size"]
                    ));
                }
            })
        }
        FieldCommand::Amend {
            incident,
            observation,
            text,
            count,
        } => {
            let original = RecordId::parse(&observation).map_err(|e| anyhow!("{e}"))?;
            let id = store.amend_observation(&incident_id(&incident)?, &original, &text, count)?;
            out.result(&serde_json::json!({ "amendment": id }), |_| {
                out.ok(format!("amendment {id} saved; the original is kept"))
            })
        }
        FieldCommand::Determine {
            incident,
            determination,
            confidence,
            note,
            confirm,
        } => {
            let kind = if confirm {
                EventKind::DeterminationConfirmed
            } else {
                EventKind::DeterminationProposed
            };
            let id = incident_id(&incident)?;
            store.record_event(
                &id,
                kind,
                Some(determination.into()),
                confidence.map(Into::into),
                note,
            )?;
            let view = store.view(&id)?;
            out.result(&view.status, |s| {
                out.ok(format!(
                    "recorded; the incident is now {}",
                    status(s.status.as_str())
                ))
            })
        }
        FieldCommand::Quarantine => {
            let held = testigo_core::sync::quarantined(&store)?;
            let value: Vec<_> = held.iter().map(|q| serde_json::json!({ "incident": q.incident, "change": q.change_hash, "reason": q.reason })).collect();
            out.result(&value, |_| {
                if held.is_empty() {
                    out.line(dim("nothing in quarantine"));
                }
                for q in &held {
                    out.warn(format!(
                        "{} {}: {}",
                        q.incident,
                        dim(&q.change_hash),
                        q.reason
                    ));
                }
            })
        }
    }
}

fn evaluation(
    store: &Store,
    id: &IncidentId,
    lang: &str,
) -> Result<testigo_core::checklist::Evaluation> {
    let view = store.view(id)?;
    let template_ref = view
        .template
        .clone()
        .ok_or_else(|| anyhow!("incident {id} has no checklist"))?;
    // The exact version the incident started with, from the ones this device keeps.
    store.with_templates(|registry| -> Result<_> {
        let template = registry.resolve(&template_ref)?;
        Ok(evaluate(template, &view.answers, &store.device_id(), lang))
    })
}

/// Turns what a person typed into the answer a question expects.
fn parse_answer(question: &QuestionState, input: &str) -> Result<AnswerValue> {
    let input = input.trim();
    Ok(match question.kind {
        QuestionType::YesNoUnknown => AnswerValue::YesNo(match input.to_lowercase().as_str() {
            "y" | "yes" | "s" | "si" | "sí" => YesNo::Yes,
            "n" | "no" => YesNo::No,
            "?" | "u" | "unknown" | "ns" | "no sé" | "no se" => YesNo::Unknown,
            other => bail!("{other:?}: answer yes, no or unknown (sí / no / no sé)"),
        }),
        QuestionType::SingleChoice => AnswerValue::Choice(choice_value(question, input)?),
        QuestionType::MultipleChoice => AnswerValue::Choices(
            input
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| choice_value(question, s))
                .collect::<Result<_>>()?,
        ),
        QuestionType::Count => AnswerValue::Count(
            input
                .parse()
                .with_context(|| format!("{input:?} is not a whole number"))?,
        ),
        QuestionType::Decimal => AnswerValue::Decimal(decimal(input)?),
        QuestionType::Text => AnswerValue::Text(input.to_owned()),
        QuestionType::Time => AnswerValue::Time(if input.is_empty() || input == "now" {
            Utc::now()
        } else {
            chrono::DateTime::parse_from_rfc3339(input)
                .with_context(|| format!("{input:?} is not an RFC 3339 time"))?
                .with_timezone(&Utc)
        }),
        QuestionType::Location | QuestionType::Checkpoint => {
            let fix = match input.split_once(',') {
                Some((lat, lon)) => Some(
                    FixArgs {
                        lat: lat.trim().parse()?,
                        lon: lon.trim().parse()?,
                        accuracy: 10.0,
                        mock: false,
                    }
                    .fix(),
                ),
                None if input.is_empty() || input == "now" => None,
                None => bail!("{input:?}: give LAT,LON"),
            };
            match (question.kind, fix) {
                (QuestionType::Location, Some(fix)) => AnswerValue::Location(fix),
                (QuestionType::Location, None) => bail!("a location needs LAT,LON"),
                (_, fix) => AnswerValue::Checkpoint {
                    at: Utc::now(),
                    fix,
                },
            }
        }
    })
}

/// A number as a volunteer types it: `1.5`, or `1,5` with a decimal comma. Spellings
/// Rust would also read as a float (`inf`, `NaN`, `1e3`) are refused: no answer holds
/// them.
fn decimal(input: &str) -> Result<f64> {
    let written = if input.contains('.') {
        input.to_owned()
    } else {
        input.replacen(',', ".", 1)
    };
    Number::parse(&written)
        .map(Number::as_f64)
        .ok_or_else(|| anyhow!("{input:?} is not a number (write it like 1.5 or 1,5)"))
}

/// Accepts a choice by its value, its label, or its number in the list.
fn choice_value(question: &QuestionState, input: &str) -> Result<String> {
    if let Ok(n) = input.parse::<usize>() {
        if let Some(choice) = n.checked_sub(1).and_then(|i| question.choices.get(i)) {
            return Ok(choice.value.clone());
        }
    }
    question
        .choices
        .iter()
        .find(|c| c.value == input || c.label.eq_ignore_ascii_case(input))
        .map(|c| c.value.clone())
        .ok_or_else(|| {
            anyhow!(
                "{input:?} is not one of: {}",
                question
                    .choices
                    .iter()
                    .map(|c| c.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

fn parse_for_question(
    store: &Store,
    id: &IncidentId,
    question_id: &str,
    input: &str,
    lang: &str,
) -> Result<AnswerValue> {
    let evaluation = evaluation(store, id, lang)?;
    let question = evaluation.question(question_id).ok_or_else(|| {
        anyhow!("question {question_id:?} is not in this checklist or is not shown now")
    })?;
    parse_answer(question, input)
}

/// Walks the volunteer through the questions still needing an answer, one at a time,
/// saving each answer as soon as it is given. An empty line skips; `q` stops.
fn interactive_checklist(store: &Store, id: &IncidentId, lang: &str, out: Output) -> Result<()> {
    let stdin = std::io::stdin();
    let mut skipped = std::collections::HashSet::new();
    loop {
        let evaluation = evaluation(store, id, lang)?;
        let Some(question) = evaluation
            .questions()
            .find(|q| {
                q.value.is_none() && !skipped.contains(&q.id)
                    || q.error.is_some() && !skipped.contains(&q.id)
            })
            .cloned()
        else {
            crate::report::print_evaluation(out, &evaluation);
            return Ok(());
        };
        println!(
            "\n{}{}",
            bold(&question.label),
            if question.required { " *" } else { "" }
        );
        if let Some(hint) = &question.hint {
            println!("  {}", dim(hint));
        }
        if let Some(error) = &question.error {
            println!("  {}", console::style(error).red());
        }
        for (i, choice) in question.choices.iter().enumerate() {
            println!("  {}. {}", i + 1, choice.label);
        }
        print!("> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim() == "q" {
            return Ok(());
        }
        if line.trim().is_empty() {
            skipped.insert(question.id.clone());
            continue;
        }
        match parse_answer(&question, &line)
            .and_then(|value| Ok(store.answer(id, &question.id, value)?))
        {
            Ok(()) => {}
            Err(e) => println!("  {}", console::style(e).red()),
        }
    }
}

/// The files of `--attach`, typed by extension; the preview goes with the first.
fn media_inputs(
    files: Vec<PathBuf>,
    preview: Option<PathBuf>,
    fix: Option<LocationFix>,
) -> Result<Vec<MediaInput>> {
    let mut preview = preview;
    files
        .into_iter()
        .map(|path| {
            let mime = media::mime_for_extension(&path).ok_or_else(|| {
                anyhow!("{}: unknown media type (use .jpg, .png, .heic, .mp4, .mov, .3gp, .m4a, .aac, .ogg, .mp3)", path.display())
            })?;
            Ok(MediaInput {
                path,
                mime: mime.to_owned(),
                captured_at: Utc::now(),
                fix: fix.clone(),
                preview: preview.take(),
            })
        })
        .collect()
}

/// `field wait`: the on-duty loop of a phone, printing each wake's news.
fn wait(store: &Store, out: Output, timeout: u32, once: bool) -> Result<()> {
    use testigo_core::sync::{wait_for_work, WaitCancel, WaitOutcome};
    let cancel = WaitCancel::default();
    loop {
        let outcome = wait_for_work(
            store,
            std::time::Duration::from_secs(timeout.into()),
            &cancel,
        )?;
        let report = match outcome {
            WaitOutcome::Work => Some(testigo_core::sync::sync(store, None)?),
            WaitOutcome::Timeout | WaitOutcome::Cancelled => None,
        };
        let arrived: Vec<_> = match &report {
            Some(report) => report
                .new_incidents
                .iter()
                .filter_map(|id| store.summary(id).transpose())
                .collect::<testigo_core::Result<_>>()?,
            None => Vec::new(),
        };
        let value = serde_json::json!({
            "woke": report.is_some(),
            "new_incidents": arrived.iter().map(|r| &r.summary).collect::<Vec<_>>(),
            "changes_down": report.as_ref().map_or(0, |r| r.changes_down),
            "incidents_removed": report.as_ref().map_or(0, |r| r.incidents_removed),
        });
        out.result(&value, |_| match &report {
            None => out.line(dim("nothing yet")),
            Some(report) => {
                out.ok(format!(
                    "woken: {} new, {} changes, {} removed",
                    arrived.len(),
                    report.changes_down,
                    report.incidents_removed
                ));
                for row in &arrived {
                    let s = &row.summary;
                    out.line(format!(
                        "  {}  {:<9} {}",
                        dim(&s.id),
                        format!("{:?}", s.urgency).to_lowercase(),
                        s.place_text
                    ));
                }
            }
        })?;
        if once {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_typed_with_a_point_or_a_comma_and_never_as_nan() {
        assert_eq!(decimal("1.5").unwrap(), 1.5);
        assert_eq!(decimal("1,5").unwrap(), 1.5);
        assert_eq!(decimal("-0,25").unwrap(), -0.25);
        assert_eq!(decimal("3").unwrap(), 3.0);
        for refused in [
            "",
            "NaN",
            "inf",
            "-infinity",
            "1e3",
            "1,5,0",
            "1.000,5",
            "tres",
        ] {
            let error = decimal(refused).unwrap_err().to_string();
            assert!(error.contains("is not a number"), "{refused}: {error}");
        }
    }
}
