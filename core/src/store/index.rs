//! The materialized index behind list screens. It is rewritten from the incident view
//! in the same transaction as every document write, so it can never disagree with
//! the documents after a crash.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use crate::error::Result;
use crate::ids::{DeviceId, IncidentId};
use crate::incident::{IncidentStatus, IncidentSummary, IncidentView, Urgency};

pub fn upsert(
    conn: &Connection,
    view: &IncidentView,
    me: &DeviceId,
    has_unsynced: bool,
) -> Result<()> {
    let summary = view.summary();
    let closed_at = view
        .events
        .iter()
        .filter(|e| e.kind == crate::incident::EventKind::Closed)
        .map(|e| e.at.timestamp_millis())
        .min();
    conn.prepare_cached(
        "INSERT INTO incident_index (incident_id, status, urgency, urgency_rank, place_text, reported_at, updated_at,
             observation_count, answer_count, distance_m, assigned_to_me, closed_at, has_unsynced, problems)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(incident_id) DO UPDATE SET status = excluded.status, urgency = excluded.urgency,
             urgency_rank = excluded.urgency_rank, place_text = excluded.place_text, reported_at = excluded.reported_at,
             updated_at = excluded.updated_at, observation_count = excluded.observation_count,
             answer_count = excluded.answer_count, distance_m = excluded.distance_m,
             assigned_to_me = excluded.assigned_to_me, closed_at = excluded.closed_at,
             has_unsynced = excluded.has_unsynced OR incident_index.has_unsynced, problems = excluded.problems",
    )?
    .execute(params![
        summary.id.as_str(),
        summary.status.as_str(),
        urgency_str(summary.urgency),
        urgency_rank(summary.urgency),
        summary.place_text,
        summary.reported_at.timestamp_millis(),
        summary.updated_at.timestamp_millis(),
        summary.observation_count,
        summary.answer_count,
        summary.distance_m,
        view.is_assigned(me) || &view.created_by == me,
        closed_at,
        has_unsynced,
        view.problems.len() as i64,
    ])?;
    Ok(())
}

/// The row after one more observation recorded at `at` by this device; the other
/// columns do not depend on observations. `false` when the incident has no row yet.
pub fn observation_added(conn: &Connection, id: &IncidentId, at: DateTime<Utc>) -> Result<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE incident_index SET observation_count = observation_count + 1,
                 updated_at = max(updated_at, ?2), has_unsynced = 1
             WHERE incident_id = ?1",
        )?
        .execute(params![id.as_str(), at.timestamp_millis()])?;
    Ok(updated == 1)
}

pub fn set_synced(conn: &Connection, id: &IncidentId) -> Result<()> {
    conn.execute(
        "UPDATE incident_index SET has_unsynced = 0 WHERE incident_id = ?1",
        [id.as_str()],
    )?;
    Ok(())
}

/// What a list screen asks for.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub status: Option<IncidentStatus>,
    pub min_urgency: Option<Urgency>,
    pub only_unsynced: bool,
    pub limit: u32,
    pub offset: u32,
}

/// One index row: the summary plus device-local flags.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedIncident {
    pub summary: IncidentSummary,
    pub has_unsynced: bool,
    pub assigned_to_me: bool,
}

pub fn list(conn: &Connection, query: &ListQuery) -> Result<Vec<IndexedIncident>> {
    select(conn, query, None)
}

/// One incident's row, if the device holds it.
pub fn one(conn: &Connection, id: &IncidentId) -> Result<Option<IndexedIncident>> {
    let query = ListQuery {
        limit: 1,
        ..ListQuery::default()
    };
    Ok(select(conn, &query, Some(id))?.pop())
}

fn select(
    conn: &Connection,
    query: &ListQuery,
    only: Option<&IncidentId>,
) -> Result<Vec<IndexedIncident>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident_id, status, urgency, place_text, reported_at, updated_at, observation_count, answer_count,
                distance_m, has_unsynced, assigned_to_me
         FROM incident_index
         WHERE (?1 IS NULL OR status = ?1) AND urgency_rank >= ?2 AND (?3 = 0 OR has_unsynced = 1)
           AND (?6 IS NULL OR incident_id = ?6)
         ORDER BY updated_at DESC, incident_id
         LIMIT ?4 OFFSET ?5",
    )?;
    let limit = if query.limit == 0 {
        50
    } else {
        query.limit.min(1_000)
    };
    let rows = stmt.query_map(
        params![
            query.status.map(|s| s.as_str()),
            query.min_urgency.map(urgency_rank).unwrap_or(0),
            query.only_unsynced,
            limit,
            query.offset,
            only.map(IncidentId::as_str)
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, u32>(6)?,
                r.get::<_, u32>(7)?,
                r.get::<_, Option<f64>>(8)?,
                r.get::<_, bool>(9)?,
                r.get::<_, bool>(10)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (
            id,
            status,
            urgency,
            place_text,
            reported_at,
            updated_at,
            observation_count,
            answer_count,
            distance_m,
            has_unsynced,
            assigned_to_me,
        ) = row?;
        // Rows are written by this module only, but a damaged file must not panic.
        let (Ok(id), Some(status), Some(urgency), Some(reported_at), Some(updated_at)) = (
            IncidentId::parse(&id),
            IncidentStatus::parse(&status),
            parse_urgency(&urgency),
            crate::time::from_millis(reported_at),
            crate::time::from_millis(updated_at),
        ) else {
            tracing::warn!(incident = %id, "skipping an unreadable index row");
            continue;
        };
        out.push(IndexedIncident {
            summary: IncidentSummary {
                id,
                status,
                urgency,
                place_text,
                reported_at,
                updated_at,
                observation_count,
                answer_count,
                distance_m,
            },
            has_unsynced,
            assigned_to_me,
        });
    }
    Ok(out)
}

pub fn count(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT count(*) FROM incident_index", [], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

fn urgency_str(u: Urgency) -> &'static str {
    match u {
        Urgency::Low => "low",
        Urgency::Normal => "normal",
        Urgency::High => "high",
        Urgency::Critical => "critical",
    }
}

fn urgency_rank(u: Urgency) -> i64 {
    match u {
        Urgency::Low => 0,
        Urgency::Normal => 1,
        Urgency::High => 2,
        Urgency::Critical => 3,
    }
}

fn parse_urgency(s: &str) -> Option<Urgency> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}
