//! Human renderings of what the core returns.

use testigo_core::checklist::Evaluation;
use testigo_core::incident::IncidentView;
use testigo_core::sync::SyncReport;

use crate::output::{bold, dim, status, Output};

pub fn print_sync(out: Output, report: &SyncReport) -> anyhow::Result<()> {
    let value = serde_json::json!({
        "changes_up": report.changes_up, "changes_down": report.changes_down,
        "incidents_added": report.incidents_added, "incidents_removed": report.incidents_removed,
        "rejected": report.rejected.iter().map(|r| serde_json::json!({ "incident": r.incident, "change": r.change_hash, "reason": r.reason })).collect::<Vec<_>>(),
        "bytes_up": report.bytes_up, "bytes_down": report.bytes_down, "requests": report.requests,
        "clock_offset_ms": report.clock_offset_ms, "skewed": report.skewed,
        "templates_received": report.templates_received, "templates_refused": report.templates_refused,
    });
    out.result(&value, |_| {
        out.ok(format!(
            "synced: {} changes up, {} down, {} incidents added, {} removed {}",
            report.changes_up,
            report.changes_down,
            report.incidents_added,
            report.incidents_removed,
            dim(format!(
                "({} B up, {} B down, {} request{})",
                report.bytes_up,
                report.bytes_down,
                report.requests,
                if report.requests == 1 { "" } else { "s" }
            ))
        ));
        if report.templates_received > 0 {
            out.ok(format!(
                "{} new checklist version{} from the hub",
                report.templates_received,
                if report.templates_received == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        for refused in &report.templates_refused {
            out.warn(format!("a checklist from the hub was refused: {refused}"));
        }
        for rejected in &report.rejected {
            out.warn(format!(
                "the hub refused a change to {}: {} (kept in quarantine)",
                rejected.incident, rejected.reason
            ));
        }
        if report.skewed {
            out.warn(format!(
                "this device's clock is off by {:.1} min; times are corrected when shown",
                report.clock_offset_ms as f64 / 60_000.0
            ));
        }
    })
}

pub fn print_incident(out: Output, view: &IncidentView) {
    out.line(format!(
        "{} {}",
        bold(&view.report.place_text),
        dim(&view.id)
    ));
    out.line(format!(
        "status {}, urgency {:?}, reported {}",
        status(view.status.status.as_str()),
        view.report.urgency,
        view.report.reported_at.format("%Y-%m-%d %H:%M UTC")
    ));
    if !view.report.description.is_empty() {
        out.line(&view.report.description);
    }
    for proposal in &view.status.proposals {
        out.line(format!(
            "proposed {:?} by {}",
            proposal.determination,
            dim(&proposal.by)
        ));
    }
    for confirmation in &view.status.confirmations {
        out.line(format!(
            "confirmed {:?} by {}",
            confirmation.determination,
            dim(&confirmation.by)
        ));
    }
    for checkpoint in &view.checkpoints {
        let distance = checkpoint
            .distance_m
            .map(|d| format!(", {d:.0} m from the reported place"))
            .unwrap_or_default();
        out.line(format!(
            "{:?} at {}{} {}",
            checkpoint.kind,
            checkpoint.at.format("%H:%M:%S"),
            distance,
            dim(&checkpoint.by)
        ));
    }
    for observation in &view.observations {
        let count = observation
            .count
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        let amends = observation
            .amends
            .as_ref()
            .map(|a| format!(" (amends {a})"))
            .unwrap_or_default();
        out.line(format!(
            "{} {}{count}{amends} {}",
            observation.at.format("%H:%M:%S"),
            observation.text,
            dim(&observation.by)
        ));
    }
    for question in view.answers.iter().filter(|q| !q.agree()) {
        out.line(format!(
            "{} answers to {} disagree",
            console::style("≠").red().bold(),
            question.question_id
        ));
    }
    for problem in &view.problems {
        out.line(format!("{} {problem}", console::style("!").yellow()));
    }
}

pub fn print_evaluation(out: Output, evaluation: &Evaluation) {
    for section in &evaluation.sections {
        out.line(bold(&section.title));
        for question in &section.questions {
            let mark = match (&question.display, &question.error) {
                (_, Some(_)) => console::style("✗").red().to_string(),
                (Some(_), None) => console::style("✓").green().to_string(),
                (None, None) => " ".to_owned(),
            };
            let answer = question.display.clone().unwrap_or_default();
            out.line(format!(
                "  {mark} {}{} {}",
                question.label,
                if question.required { " *" } else { "" },
                dim(answer)
            ));
        }
    }
    out.line(format!(
        "progress {}/{}{}",
        evaluation.progress.answered,
        evaluation.progress.required,
        if evaluation.complete {
            " — complete"
        } else {
            ""
        }
    ));
    if let Some(suggestion) = &evaluation.suggestion {
        out.line(format!(
            "suggested determination: {:?} ({:?}) — {}",
            suggestion.determination, suggestion.confidence, suggestion.reason
        ));
    }
}
