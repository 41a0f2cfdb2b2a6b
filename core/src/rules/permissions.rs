//! Who may do what: the one table every check asks. The device asks it before it
//! writes (so a person is told at once), the hub's change validator asks it for every
//! record a device uploads, and the hub's API handlers ask it before they act. A
//! change to the rules is a change to [`may`] and nothing else.
//!
//! Decisions worth writing down:
//!
//! - **Team leads do not assign.** Assigning decides who is sent into a situation and
//!   who receives an incident (assignment is what makes the hub deliver it), so it
//!   stays with the people who already see every incident: dispatchers and
//!   coordinators. A team lead reviews, confirms, closes and exports.
//! - **Anyone enrolled may record field work** (answers, observations, check-ins):
//!   a dispatcher or coordinator who takes a volunteer's report by phone puts it down
//!   under their own name, and every record says who made it.
//! - **Only dispatchers see callers and tell them the result**: caller contact never
//!   leaves the dispatch desk.
//! - **The hub itself** ([`Role::Hub`]) only opens incidents, edits reports, assigns
//!   and closes; when it writes for a person it writes with that person's role.

use crate::error::{Error, Result};
use crate::incident::{EventKind, Role};

/// Everything a role may or may not be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Act {
    /// Open an incident from a hotline call, on the hub.
    OpenIncident,
    /// Open an incident on a device, in the field.
    OpenFieldIncident,
    /// Correct what the caller reported.
    EditReport,
    /// Assign or unassign a volunteer or a team.
    Assign,
    /// Answer a checklist question (one's own answer only).
    Answer,
    /// Record an observation or an amendment of one.
    RecordObservation,
    /// Check in or out on scene.
    Checkpoint,
    ProposeDetermination,
    ConfirmDetermination,
    /// Record that the caller was told the result.
    NotifyCaller,
    Close,
    /// Read the caller's name and phone number.
    SeeCallerContact,
    ExportEvidence,
    /// List enrolled devices (to assign them).
    ListDevices,
    /// Create one-time enrolment codes.
    EnrolDevices,
    RevokeDevices,
    ReadAuditLog,
    /// Read which changes the hub refused a device, and why.
    ReadRefusals,
    /// Import and publish checklist versions (XLSForm or template JSON).
    ManageChecklists,
    /// See every checklist version the hub holds, published or not.
    ListChecklists,
}

impl Act {
    /// Every act, for tables and tests.
    pub const ALL: [Act; 20] = [
        Act::OpenIncident,
        Act::OpenFieldIncident,
        Act::EditReport,
        Act::Assign,
        Act::Answer,
        Act::RecordObservation,
        Act::Checkpoint,
        Act::ProposeDetermination,
        Act::ConfirmDetermination,
        Act::NotifyCaller,
        Act::Close,
        Act::SeeCallerContact,
        Act::ExportEvidence,
        Act::ListDevices,
        Act::EnrolDevices,
        Act::RevokeDevices,
        Act::ReadAuditLog,
        Act::ReadRefusals,
        Act::ManageChecklists,
        Act::ListChecklists,
    ];

    /// What the act is, as a refusal says it ("a volunteer cannot …").
    pub fn describe(self) -> &'static str {
        match self {
            Act::OpenIncident => "open incidents",
            Act::OpenFieldIncident => "open incidents in the field",
            Act::EditReport => "edit the report",
            Act::Assign => "assign incidents",
            Act::Answer => "answer the checklist",
            Act::RecordObservation => "record observations",
            Act::Checkpoint => "check in or out",
            Act::ProposeDetermination => "propose a determination",
            Act::ConfirmDetermination => "confirm determinations",
            Act::NotifyCaller => "mark the caller notified",
            Act::Close => "close incidents",
            Act::SeeCallerContact => "see caller contacts",
            Act::ExportEvidence => "export evidence",
            Act::ListDevices => "list devices",
            Act::EnrolDevices => "create enrolment codes",
            Act::RevokeDevices => "revoke devices",
            Act::ReadAuditLog => "read the audit log",
            Act::ReadRefusals => "read what devices were refused",
            Act::ManageChecklists => "import or publish checklists",
            Act::ListChecklists => "list checklists",
        }
    }

    /// The act a status event records.
    pub fn of_event(kind: EventKind) -> Act {
        match kind {
            // A team is dispatched by assigning it.
            EventKind::Dispatched => Act::Assign,
            EventKind::DeterminationProposed => Act::ProposeDetermination,
            EventKind::DeterminationConfirmed => Act::ConfirmDetermination,
            EventKind::CallerNotified => Act::NotifyCaller,
            EventKind::ReportEdited => Act::EditReport,
            EventKind::Closed => Act::Close,
        }
    }
}

/// Whether `role` may do `act`.
pub fn may(role: Role, act: Act) -> bool {
    use Act::*;
    use Role::*;
    match act {
        OpenIncident | EditReport | Assign => matches!(role, Dispatcher | Coordinator | Hub),
        OpenFieldIncident | Answer | RecordObservation | Checkpoint => {
            matches!(role, Volunteer | TeamLead | Dispatcher | Coordinator)
        }
        ProposeDetermination => matches!(role, Volunteer | TeamLead | Dispatcher),
        ConfirmDetermination => matches!(role, TeamLead),
        NotifyCaller | SeeCallerContact => matches!(role, Dispatcher),
        Close => matches!(role, Dispatcher | TeamLead | Coordinator | Hub),
        ExportEvidence => matches!(role, Dispatcher | TeamLead | Coordinator),
        ListDevices | ListChecklists => matches!(role, Dispatcher | Coordinator),
        EnrolDevices | RevokeDevices | ReadAuditLog | ReadRefusals | ManageChecklists => {
            matches!(role, Coordinator)
        }
    }
}

/// [`may`] as a typed refusal naming the role and the act.
pub fn require(role: Role, act: Act) -> Result<()> {
    if may(role, act) {
        Ok(())
    } else {
        Err(Error::not_permitted(refusal(role, act)))
    }
}

/// The words of a refusal: "a volunteer cannot assign incidents".
pub fn refusal(role: Role, act: Act) -> String {
    format!("a {} cannot {}", role.as_str(), act.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 5] = [
        Role::Coordinator,
        Role::Dispatcher,
        Role::TeamLead,
        Role::Volunteer,
        Role::Hub,
    ];

    /// Every (role, act) pair, written out: a change to the rules shows here.
    #[test]
    fn every_role_and_act_pair_is_pinned() {
        // Columns: coordinator, dispatcher, team lead, volunteer, hub.
        let table: [(Act, [bool; 5]); 20] = [
            (Act::OpenIncident, [true, true, false, false, true]),
            (Act::OpenFieldIncident, [true, true, true, true, false]),
            (Act::EditReport, [true, true, false, false, true]),
            (Act::Assign, [true, true, false, false, true]),
            (Act::Answer, [true, true, true, true, false]),
            (Act::RecordObservation, [true, true, true, true, false]),
            (Act::Checkpoint, [true, true, true, true, false]),
            (Act::ProposeDetermination, [false, true, true, true, false]),
            (
                Act::ConfirmDetermination,
                [false, false, true, false, false],
            ),
            (Act::NotifyCaller, [false, true, false, false, false]),
            (Act::Close, [true, true, true, false, true]),
            (Act::SeeCallerContact, [false, true, false, false, false]),
            (Act::ExportEvidence, [true, true, true, false, false]),
            (Act::ListDevices, [true, true, false, false, false]),
            (Act::EnrolDevices, [true, false, false, false, false]),
            (Act::RevokeDevices, [true, false, false, false, false]),
            (Act::ReadAuditLog, [true, false, false, false, false]),
            (Act::ReadRefusals, [true, false, false, false, false]),
            (Act::ManageChecklists, [true, false, false, false, false]),
            (Act::ListChecklists, [true, true, false, false, false]),
        ];
        assert_eq!(
            table.iter().map(|(act, _)| *act).collect::<Vec<_>>(),
            Act::ALL.to_vec(),
            "the table lists every act once, in order"
        );
        for (act, allowed) in table {
            for (role, expected) in ROLES.iter().zip(allowed) {
                assert_eq!(may(*role, act), expected, "{role:?} {act:?}");
                assert_eq!(require(*role, act).is_ok(), expected);
            }
        }
    }

    #[test]
    fn a_refusal_names_the_role_and_the_act() {
        let err = require(Role::TeamLead, Act::Assign)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a team_lead cannot assign incidents"), "{err}");
    }

    #[test]
    fn every_event_kind_is_an_act() {
        use EventKind::*;
        for (kind, act) in [
            (Dispatched, Act::Assign),
            (DeterminationProposed, Act::ProposeDetermination),
            (DeterminationConfirmed, Act::ConfirmDetermination),
            (CallerNotified, Act::NotifyCaller),
            (ReportEdited, Act::EditReport),
            (Closed, Act::Close),
        ] {
            assert_eq!(Act::of_event(kind), act);
        }
    }
}
