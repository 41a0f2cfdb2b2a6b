//! The status of an incident is never stored: it is derived from its append-only
//! status events and checkpoints, so every replica that holds the same records shows
//! the same status, whatever order they arrived in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::schema::{Assignment, Checkpoint, Determination, EventKind, StatusEvent};
use crate::ids::DeviceId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// Reported, nobody assigned yet.
    Open,
    Dispatched,
    /// Somebody checked in on scene.
    OnScene,
    /// Determinations were proposed and all agree.
    Proposed,
    /// Determinations by different people disagree; a team lead must confirm one.
    Disputed,
    Confirmed,
    CallerNotified,
    Closed,
}

impl IncidentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Dispatched => "dispatched",
            IncidentStatus::OnScene => "on_scene",
            IncidentStatus::Proposed => "proposed",
            IncidentStatus::Disputed => "disputed",
            IncidentStatus::Confirmed => "confirmed",
            IncidentStatus::CallerNotified => "caller_notified",
            IncidentStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// One person's latest word on what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub by: DeviceId,
    pub determination: Determination,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DerivedStatus {
    pub status: IncidentStatus,
    /// The settled determination: confirmed, or proposed by everyone who proposed.
    pub determination: Option<Determination>,
    /// Each proposer's latest proposal, in device-id order.
    pub proposals: Vec<Position>,
    /// Each confirmer's latest confirmation, in device-id order.
    pub confirmations: Vec<Position>,
    pub caller_notified: bool,
}

/// Latest determination per author for one event kind. "Latest" is by the author's own
/// clock, which orders one person's events correctly even when clocks disagree across
/// people; ties fall back to the record id so every replica picks the same one.
fn latest_per_author(events: &[StatusEvent], kind: EventKind) -> Vec<Position> {
    let mut latest: BTreeMap<&DeviceId, &StatusEvent> = BTreeMap::new();
    for event in events
        .iter()
        .filter(|e| e.kind == kind && e.determination.is_some())
    {
        let newer = match latest.get(&event.by) {
            Some(current) => (event.at, &event.id) > (current.at, &current.id),
            None => true,
        };
        if newer {
            latest.insert(&event.by, event);
        }
    }
    latest
        .into_values()
        .filter_map(|e| {
            e.determination.map(|determination| Position {
                by: e.by.clone(),
                determination,
            })
        })
        .collect()
}

fn agreed(positions: &[Position]) -> Result<Option<Determination>, ()> {
    let distinct: BTreeSet<Determination> = positions.iter().map(|p| p.determination).collect();
    match distinct.len() {
        0 => Ok(None),
        1 => Ok(distinct.into_iter().next()),
        _ => Err(()),
    }
}

pub fn derive(
    events: &[StatusEvent],
    checkpoints: &[Checkpoint],
    assignments: &[Assignment],
) -> DerivedStatus {
    let proposals = latest_per_author(events, EventKind::DeterminationProposed);
    let confirmations = latest_per_author(events, EventKind::DeterminationConfirmed);
    let caller_notified = events.iter().any(|e| e.kind == EventKind::CallerNotified);
    let closed = events.iter().any(|e| e.kind == EventKind::Closed);

    // A confirmation settles the proposals; only confirmations that disagree with each
    // other (two team leads offline) dispute it again.
    let (settled, disputed) = match agreed(&confirmations) {
        Ok(Some(d)) => (Some((d, true)), false),
        Err(()) => (None, true),
        Ok(None) => match agreed(&proposals) {
            Ok(found) => (found.map(|d| (d, false)), false),
            Err(()) => (None, true),
        },
    };

    let status = if closed {
        IncidentStatus::Closed
    } else if disputed {
        IncidentStatus::Disputed
    } else if caller_notified && settled.is_some() {
        IncidentStatus::CallerNotified
    } else if let Some((_, confirmed)) = settled {
        if confirmed {
            IncidentStatus::Confirmed
        } else {
            IncidentStatus::Proposed
        }
    } else if !checkpoints.is_empty() {
        IncidentStatus::OnScene
    } else if assignments.iter().any(|a| a.active)
        || events.iter().any(|e| e.kind == EventKind::Dispatched)
    {
        IncidentStatus::Dispatched
    } else {
        IncidentStatus::Open
    };

    DerivedStatus {
        status,
        determination: settled.map(|(d, _)| d),
        proposals,
        confirmations,
        caller_notified,
    }
}
