//! `testigo enroll` and `testigo dispatch …`: what a coordinator and a dispatcher do
//! at the hub, from a terminal enrolled with the matching role.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use testigo_core::ids::{DeviceId, IncidentId};
use testigo_core::incident::Role;

use crate::field::{open_store, UrgencyArg};
use crate::hub_client::HubClient;
use crate::output::{bold, dim, status, Output};

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Coordinator,
    Dispatcher,
    TeamLead,
    Volunteer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::Dispatcher => Role::Dispatcher,
            RoleArg::TeamLead => Role::TeamLead,
            RoleArg::Volunteer => Role::Volunteer,
        }
    }
}

#[derive(Args)]
pub struct EnrollArgs {
    /// The coordinator's enrolled store.
    #[arg(long, env = "TESTIGO_STORE")]
    store: Option<PathBuf>,
    /// Role of the device that will use the code.
    #[arg(long, value_enum)]
    role: RoleArg,
    #[arg(long)]
    team: Option<String>,
    /// Minutes the code stays valid.
    #[arg(long, default_value_t = 60)]
    expires_in: i64,
    /// Re-enrol this device (already known to the hub, or revoked): the code enrols
    /// it and no other, with a new credential and this role and team.
    #[arg(long)]
    device: Option<String>,
}

pub fn enroll(args: EnrollArgs, out: Output) -> Result<()> {
    let device = args
        .device
        .as_deref()
        .map(DeviceId::parse)
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    let hub = HubClient::for_store(&open_store(args.store)?)?;
    let created = hub.create_code(
        args.role.into(),
        args.team.as_deref(),
        Some(args.expires_in),
        device.as_ref(),
    )?;
    out.result(&created, |c| {
        let whom = match &device {
            Some(d) => format!("re-enrolling {d} as a"),
            None => "a".to_owned(),
        };
        out.ok(format!(
            "one-time code {} for {whom} {} ({} min)",
            bold(c["code"].as_str().unwrap_or("")),
            c["role"].as_str().unwrap_or(""),
            args.expires_in
        ));
    })
}

#[derive(Args)]
pub struct RevokeArgs {
    /// The coordinator's enrolled store.
    #[arg(long, env = "TESTIGO_STORE")]
    store: Option<PathBuf>,
    /// The lost or seized device's id, as the hub's device list shows it.
    device: String,
}

pub fn revoke(args: RevokeArgs, out: Output) -> Result<()> {
    let device = DeviceId::parse(&args.device).map_err(|e| anyhow!("{e}"))?;
    let hub = HubClient::for_store(&open_store(args.store)?)?;
    let revoked = hub.revoke_device(&device)?;
    out.result(&revoked, |r| {
        out.ok(format!(
            "revoked {} ({}): its credential no longer opens anything",
            bold(device.as_str()),
            r["role"].as_str().unwrap_or("")
        ));
    })
}

#[derive(Args)]
pub struct DispatchArgs {
    /// The dispatcher's enrolled store.
    #[arg(long, env = "TESTIGO_STORE", global = true)]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: DispatchCommand,
}

#[derive(Subcommand)]
enum DispatchCommand {
    /// Open an incident from a call. Caller contact stays in the hub's private table.
    Open {
        #[arg(long)]
        place: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, value_enum, default_value_t = UrgencyArg::High)]
        urgency: UrgencyArg,
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Send it to a whole team's devices.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        caller_name: Option<String>,
        #[arg(long)]
        caller_phone: Option<String>,
        /// The checklist, as ID@VERSION; by default the one the hub published last.
        #[arg(long)]
        template: Option<String>,
    },
    /// Assign (or with --remove, unassign) a volunteer's device or a team.
    Assign {
        incident: String,
        #[arg(long, conflicts_with = "team")]
        device: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        remove: bool,
    },
    /// Incidents with their derived status.
    List,
    /// One incident as the hub holds it.
    Show { incident: String },
    /// The caller's contact (dispatchers only; the read is audited).
    Caller { incident: String },
    /// The caller was told the result.
    Notified {
        incident: String,
        #[arg(long)]
        note: Option<String>,
    },
    Close {
        incident: String,
        #[arg(long)]
        note: Option<String>,
    },
}

fn incident_id(s: &str) -> Result<IncidentId> {
    IncidentId::parse(s).map_err(|e| anyhow!("{e}"))
}

pub fn run(args: DispatchArgs, out: Output) -> Result<()> {
    let hub = HubClient::for_store(&open_store(args.store)?)?;
    match args.command {
        DispatchCommand::Open {
            place,
            description,
            urgency,
            lat,
            lon,
            team,
            caller_name,
            caller_phone,
            template,
        } => {
            let urgency: testigo_core::incident::Urgency = urgency.into();
            let point = lat
                .zip(lon)
                .map(|(lat, lon)| json!({ "lat": lat, "lon": lon }));
            let template = template
                .as_deref()
                .map(crate::template::parse_ref)
                .transpose()?;
            let id = hub.open_incident(json!({
                "place_text": place, "description": description, "urgency": urgency, "point": point, "template": template,
                "team": team, "caller_name": caller_name, "caller_phone": caller_phone,
            }))?;
            out.result(&json!({ "incident": id }), |_| {
                out.ok(format!("opened {id}"))
            })
        }
        DispatchCommand::Assign {
            incident,
            device,
            team,
            remove,
        } => {
            let device = device
                .map(|d| DeviceId::parse(&d))
                .transpose()
                .map_err(|e| anyhow!("{e}"))?;
            let view = hub.assign(
                &incident_id(&incident)?,
                device.as_ref(),
                team.as_deref(),
                !remove,
            )?;
            out.result(&view.assignments, |_| {
                out.ok(if remove { "unassigned" } else { "assigned" })
            })
        }
        DispatchCommand::List => {
            let rows = hub.list()?;
            out.result(&rows, |rows| {
                for row in rows {
                    out.line(format!(
                        "{}  {:<16} {:<9} {}{}",
                        dim(row["id"].as_str().unwrap_or("")),
                        status(row["status"].as_str().unwrap_or("")),
                        row["urgency"].as_str().unwrap_or(""),
                        row["place_text"].as_str().unwrap_or(""),
                        if row["caller_notified"].as_bool() == Some(true) {
                            dim(" · caller notified")
                        } else {
                            String::new()
                        }
                    ));
                }
            })
        }
        DispatchCommand::Show { incident } => {
            let view = hub.incident(&incident_id(&incident)?)?;
            out.result(&view, |v| crate::report::print_incident(out, v))
        }
        DispatchCommand::Caller { incident } => {
            let contact = hub.caller(&incident_id(&incident)?)?;
            out.result(&contact, |c| {
                out.line(format!(
                    "{} {}",
                    c["name"].as_str().unwrap_or("(no name)"),
                    c["phone"].as_str().unwrap_or("(no phone)")
                ))
            })
        }
        DispatchCommand::Notified { incident, note } => {
            let view = hub.caller_notified(&incident_id(&incident)?, note.as_deref())?;
            out.result(&view.status, |s| {
                out.ok(format!(
                    "caller notified; status {}",
                    status(s.status.as_str())
                ))
            })
        }
        DispatchCommand::Close { incident, note } => {
            let view = hub.close(&incident_id(&incident)?, note.as_deref())?;
            out.result(&view.status, |_| out.ok("closed"))
        }
    }
}
