//! Convergence under partitions. Three to five replicas of one incident (the
//! dispatcher who opened it, a volunteer, a team lead, then a dispatcher and a second team lead) do
//! random sequences of every user action while cut off from each other, exchange
//! changes in random pairs and directions (some twice), then all sync. At the end:
//! every replica shows the identical view; every acknowledged observation, checkpoint
//! and event is present exactly once; every person's last answer to each question is
//! there; and the incident is `disputed` exactly when determinations conflict.
//!
//! Changes travel the way sync carries them: the changes one side lacks, in causal
//! order, and every exchange goes through the hub's op-level validator, each change
//! checked as sent by the enrolled device (and role) that made it — so every action of
//! every role, assignments, closing and report edits included, is shown to pass it.
//! 1,000 cases by default; `TESTIGO_PROPTEST_CASES` raises it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use proptest::prelude::*;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::ids::{IncidentId, RecordId};
use testigo_core::incident::{
    Author, CheckpointKind, Determination, EventKind, IncidentDoc, IncidentStatus, ObservationKind,
    Role,
};
use testigo_core::rules::changes::{merge_checked, Writer};

/// Replica `i` acts as `ROLES[i]`; cases use the first 3 to 5.
const ROLES: [Role; 5] = [
    Role::Dispatcher,
    Role::Volunteer,
    Role::TeamLead,
    Role::Dispatcher,
    Role::TeamLead,
];
const QUESTIONS: [&str; 3] = ["enforcement_present", "vehicles_seen", "detentions_seen"];

#[derive(Clone, Debug)]
enum Action {
    Observe,
    /// Amends the n-th observation this replica sees (if any).
    Amend(usize),
    Answer(usize, YesNo),
    Checkpoint(CheckpointKind),
    Propose(Determination),
    Confirm(Determination),
    NotifyCaller,
    Close,
    /// Assigns (or unassigns) replica n's person.
    Assign(usize, bool),
    EditReport,
}

#[derive(Clone, Debug)]
enum Step {
    Act(usize, Action),
    /// Replica `to` receives what replica `from` has and it lacks; `twice` delivers the
    /// same bytes again (a retried response).
    Send {
        from: usize,
        to: usize,
        twice: bool,
    },
}

fn determination() -> impl Strategy<Value = Determination> {
    prop::sample::select(vec![
        Determination::Verified,
        Determination::NotFound,
        Determination::Inconclusive,
    ])
}

fn action(replicas: usize) -> impl Strategy<Value = Action> {
    // Closing hides a dispute behind `closed`, so it is rare enough that most cases
    // end open.
    prop_oneof![
        16 => Just(Action::Observe),
        4 => any::<usize>().prop_map(Action::Amend),
        12 => (0..QUESTIONS.len(), prop::sample::select(vec![YesNo::Yes, YesNo::No, YesNo::Unknown])).prop_map(|(q, v)| Action::Answer(q, v)),
        4 => prop::sample::select(vec![CheckpointKind::CheckIn, CheckpointKind::CheckOut]).prop_map(Action::Checkpoint),
        8 => determination().prop_map(Action::Propose),
        4 => determination().prop_map(Action::Confirm),
        4 => Just(Action::NotifyCaller),
        1 => Just(Action::Close),
        4 => (0..replicas, any::<bool>()).prop_map(|(n, active)| Action::Assign(n, active)),
        4 => Just(Action::EditReport),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>, Vec<usize>)> {
    (3usize..=5).prop_flat_map(|replicas| {
        let step = prop_oneof![
            3 => (0..replicas, action(replicas)).prop_map(|(r, a)| Step::Act(r, a)),
            1 => (0..replicas, 0..replicas, prop::bool::weighted(0.2)).prop_map(|(from, to, twice)| Step::Send { from, to, twice }),
        ];
        (Just(replicas), prop::collection::vec(step, 1..40), Just((0..replicas).collect::<Vec<_>>()).prop_shuffle())
    })
}

/// What the replicas said `Ok` to, which must all be there at the end.
#[derive(Default)]
struct Acknowledged {
    observations: BTreeSet<RecordId>,
    checkpoints: BTreeSet<RecordId>,
    events: BTreeSet<RecordId>,
    /// Each person's last answer per question.
    answers: BTreeMap<(usize, usize), YesNo>,
    /// Each person's last proposal and confirmation.
    proposals: BTreeMap<usize, Determination>,
    confirmations: BTreeMap<usize, Determination>,
    closed: bool,
}

fn people(replicas: usize) -> Vec<Author> {
    (0..replicas)
        .map(|i| person(10 + i as u8, ROLES[i]))
        .collect()
}

/// Delivers what `from` has and `to` lacks, as sync does: the missing changes in
/// causal order, each checked by the hub's validator as sent by the enrolled device
/// that made it (its role included) before it is merged. Every change the people make
/// through the app must pass.
fn send(
    docs: &mut [IncidentDoc],
    people: &[Author],
    id: &IncidentId,
    from: usize,
    to: usize,
    twice: bool,
) {
    if from == to {
        return;
    }
    let missing = docs[to]
        .automerge()
        .get_changes_added(docs[from].automerge());
    for _ in 0..if twice { 2 } else { 1 } {
        let merged = merge_checked(docs[to].automerge_mut(), id, missing.clone(), |change| {
            let author = people
                .iter()
                .find(|p| &p.device.actor_id() == change.actor_id())
                .expect("every change is someone's");
            Writer::Enrolled {
                device: &author.device,
                role: author.role,
            }
        })
        .expect("checked changes merge");
        assert!(
            merged.refused.is_empty(),
            "the validator refused the app's own changes: {:?}",
            merged.refused
        );
    }
}

fn act(
    doc: &mut IncidentDoc,
    author: &Author,
    people: &[Author],
    action: &Action,
    who: usize,
    step: i64,
    acked: &mut Acknowledged,
) {
    let now = at(step);
    match action {
        Action::Observe => {
            let id = doc
                .add_observation(
                    author,
                    ObservationKind::Note,
                    &format!("note by {who} at step {step}"),
                    None,
                    None,
                    now,
                )
                .expect("observing is always allowed");
            acked.observations.insert(id);
        }
        Action::Amend(n) => {
            let seen = doc.view().unwrap().observations;
            if !seen.is_empty() {
                let original = seen[n % seen.len()].id.clone();
                acked.observations.insert(
                    doc.amend_observation(author, &original, "corrected", None, now)
                        .expect("amending a seen observation"),
                );
            }
        }
        Action::Answer(q, value) => {
            doc.answer(author, QUESTIONS[*q], AnswerValue::YesNo(*value), now)
                .expect("answering is always allowed");
            acked.answers.insert((who, *q), *value);
        }
        Action::Checkpoint(kind) => {
            acked.checkpoints.insert(
                doc.checkpoint(author, *kind, fix_near(0.0003), now)
                    .expect("checkpoint")
                    .id,
            );
        }
        Action::Propose(d) => {
            if let Ok(id) = doc.add_event(
                author,
                EventKind::DeterminationProposed,
                Some(*d),
                None,
                None,
                now,
            ) {
                acked.events.insert(id);
                acked.proposals.insert(who, *d);
            }
        }
        Action::Confirm(d) => {
            if let Ok(id) = doc.add_event(
                author,
                EventKind::DeterminationConfirmed,
                Some(*d),
                None,
                None,
                now,
            ) {
                acked.events.insert(id);
                acked.confirmations.insert(who, *d);
            }
        }
        Action::NotifyCaller | Action::Close => {
            let kind = if matches!(action, Action::Close) {
                EventKind::Closed
            } else {
                EventKind::CallerNotified
            };
            if let Ok(id) = doc.add_event(author, kind, None, None, None, now) {
                acked.events.insert(id);
                acked.closed |= kind == EventKind::Closed;
            }
        }
        Action::Assign(n, active) => {
            // Concurrent assignments of the same person settle on one value (checked by
            // convergence); a refused one must write nothing (checked by the counts).
            let _ = doc.assign(author, &people[n % people.len()].device, *active, now);
        }
        Action::EditReport => {
            let mut report = doc.view().unwrap().report;
            report.place_text = format!("corrected by {who} at step {step}");
            let before = doc.view().unwrap().events.len();
            if doc.edit_report(author, report, now).is_ok() {
                let events = doc.view().unwrap().events;
                assert_eq!(events.len(), before + 1);
                acked.events.extend(
                    events
                        .into_iter()
                        .filter(|e| e.kind == EventKind::ReportEdited)
                        .map(|e| e.id),
                );
            }
        }
    }
}

fn conflict(positions: &BTreeMap<usize, Determination>) -> bool {
    positions.values().collect::<BTreeSet<_>>().len() > 1
}

fn cases() -> u32 {
    std::env::var("TESTIGO_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_partitions((replicas, steps, final_order) in scenario()) {
        let people = people(replicas);
        let id = IncidentId::generate();
        let origin = IncidentDoc::create(&id, &people[0], report("Cherokee St & Jefferson Ave"), at(0)).unwrap();
        let saved = origin.automerge().save();
        // Everyone starts from the one created document, never creating it again.
        let mut docs: Vec<IncidentDoc> = (0..replicas).map(|_| IncidentDoc::load(&saved).unwrap()).collect();
        let mut acked = Acknowledged::default();

        for (n, step) in steps.iter().enumerate() {
            match step {
                Step::Act(who, action) => act(&mut docs[*who], &people[*who], &people, action, *who, n as i64 + 1, &mut acked),
                Step::Send { from, to, twice } => send(&mut docs, &people, &id, *from, *to, *twice),
            }
        }
        // Connectivity returns: everyone syncs with the hub (replica 0) in a random
        // order, then once more so the early ones get what the late ones brought.
        for _ in 0..2 {
            for &r in &final_order {
                send(&mut docs, &people, &id, r, 0, false);
                send(&mut docs, &people, &id, 0, r, false);
            }
        }

        let view = docs[0].view().unwrap();
        for (r, doc) in docs.iter().enumerate().skip(1) {
            prop_assert_eq!(&doc.view().unwrap(), &view, "replica {} differs from the hub", r);
        }
        prop_assert!(view.problems.is_empty(), "{:?}", view.problems);

        let observations: Vec<RecordId> = view.observations.iter().map(|o| o.id.clone()).collect();
        prop_assert_eq!(observations.len(), acked.observations.len(), "observations appeared or vanished");
        prop_assert_eq!(observations.into_iter().collect::<BTreeSet<_>>(), acked.observations);
        prop_assert_eq!(view.checkpoints.iter().map(|c| c.id.clone()).collect::<BTreeSet<_>>(), acked.checkpoints);
        prop_assert_eq!(view.checkpoints.len(), view.checkpoints.iter().map(|c| &c.id).collect::<BTreeSet<_>>().len());
        let events: BTreeSet<RecordId> = view.events.iter().map(|e| e.id.clone()).collect();
        prop_assert_eq!(events.len(), view.events.len());
        prop_assert_eq!(events, acked.events);

        let answer_count: usize = view.answers.iter().map(|q| q.by_author.len()).sum();
        prop_assert_eq!(answer_count, acked.answers.len(), "answers appeared or vanished");
        for ((who, q), value) in &acked.answers {
            let stored = view.answers_to(QUESTIONS[*q]).and_then(|a| a.by(&people[*who].device)).map(|a| a.value.clone());
            prop_assert_eq!(stored, Some(AnswerValue::YesNo(*value)), "replica {}'s answer to {} was lost", who, QUESTIONS[*q]);
        }

        let conflicting = if acked.confirmations.is_empty() { conflict(&acked.proposals) } else { conflict(&acked.confirmations) };
        prop_assert_eq!(view.status.status == IncidentStatus::Disputed, conflicting && !acked.closed,
            "status {:?} with proposals {:?} and confirmations {:?}", view.status.status, acked.proposals, acked.confirmations);
        prop_assert_eq!(view.status.proposals.len(), acked.proposals.len());
        prop_assert_eq!(view.status.confirmations.len(), acked.confirmations.len());
    }
}
