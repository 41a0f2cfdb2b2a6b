//! The fuzz target of the change validator, here so that `fuzz/` and the corpus replay
//! in `core/tests/fuzz_corpus.rs` run exactly the same thing.
//!
//! An input is either a change chunk (tried as is) or a recipe: its bytes steer edits
//! to a valid change of a real incident — header fields, dependencies, op actions,
//! objects, keys, predecessors and values — so that the fuzzer reaches the validator
//! with changes that parse (a random chunk almost never passes automerge's checksum).
//! Whatever the input, checking gives a verdict, never a panic, and a change that is
//! accepted merges, leaves the incident readable, and leaves room for more changes
//! (no op counter near automerge's ceiling).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use automerge::legacy::{ElementId, Key, ObjectId, OpId, OpType};
use automerge::transaction::Transactable;
use automerge::ExpandedChange;
use automerge::{Automerge, Change, ChangeHash, ObjType, ScalarValue, ROOT};
use chrono::{TimeZone, Utc};

use super::{merge_checked, Writer};
use crate::checklist::{AnswerValue, YesNo};
use crate::ids::{DeviceId, IncidentId};
use crate::incident::{
    read_view, Author, IncidentDoc, NewIncident, ObservationKind, Report, ReportSource, Role,
    Urgency,
};

struct Fixture {
    id: IncidentId,
    doc: Automerge,
    /// Valid next changes of a volunteer (an observation, an answer) to mutate.
    seeds: Vec<Change>,
    volunteer: DeviceId,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = Utc.with_ymd_and_hms(2026, 3, 14, 15, 0, 0).unwrap();
        let desk = Author::new(DeviceId::from_public_key(&[1; 32]), Role::Dispatcher);
        let vol = Author::new(DeviceId::from_public_key(&[2; 32]), Role::Volunteer);
        let id = IncidentId::parse("inc_0123456789abcdef0123456789abcdef").expect("an id");
        let report = Report {
            place_text: "Cherokee St".into(),
            point: None,
            reported_at: now,
            description: String::new(),
            urgency: Urgency::High,
            source: ReportSource::Call,
        };
        let mut doc = IncidentDoc::create(
            &id,
            &desk,
            NewIncident {
                report,
                template: None,
            },
            now,
        )
        .expect("an incident");
        doc.add_observation(&vol, ObservationKind::Note, "vans", None, None, now)
            .expect("an observation");
        let base = doc.automerge().fork();
        let heads = base.get_heads();
        let mut observed = IncidentDoc::from_automerge(base.fork());
        observed
            .add_observation(&vol, ObservationKind::Count, "agents", Some(3), None, now)
            .expect("an observation");
        let mut answered = IncidentDoc::from_automerge(base.fork());
        answered
            .answer(&vol, "q", AnswerValue::YesNo(YesNo::Yes), now)
            .expect("an answer");
        let mut seeds = observed.automerge().get_changes(&heads);
        seeds.extend(answered.automerge().get_changes(&heads));
        Fixture {
            id,
            doc: base,
            seeds,
            volunteer: vol.device,
        }
    })
}

/// Runs one input; panics only if a rule of the validator is broken.
pub fn run(data: &[u8]) {
    let fixture = fixture();
    let mut changes = Vec::new();
    if let Ok(change) = crate::incident::untrusted::parse_change(data.to_vec()) {
        changes.push(change);
    } else if let Some(change) = recipe(fixture, data) {
        changes.push(change);
    }
    if changes.is_empty() {
        return;
    }
    for writer in [
        Writer::Peer,
        Writer::Enrolled {
            device: &fixture.volunteer,
            role: Role::Volunteer,
        },
    ] {
        let mut doc = fixture.doc.fork();
        // automerge refusing what passed every rule would be a gap in the rules.
        let merged = merge_checked(&mut doc, &fixture.id, changes.clone(), |_| writer)
            .expect("a change that passes the rules merges");
        if merged.accepted.is_empty() {
            assert!(
                !merged.refused.is_empty(),
                "a change is either merged or refused"
            );
            continue;
        }
        read_view(&doc).expect("an accepted change leaves the incident readable");
        // Room for more: a two-op change must still be possible.
        doc.set_actor(DeviceId::from_public_key(&[3; 32]).actor_id());
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let scratch = tx.put_object(ROOT, "scratch", ObjType::Map)?;
            tx.put(&scratch, "k", 1)?;
            Ok(())
        })
        .expect("the incident takes more changes");
    }
}

/// A seed change edited as `data` says.
fn recipe(fixture: &Fixture, data: &[u8]) -> Option<Change> {
    let (&pick, mut rest) = data.split_first()?;
    let mut change: ExpandedChange = fixture.seeds[pick as usize % fixture.seeds.len()].decode();
    while let [what, a, b, tail @ ..] = rest {
        rest = tail;
        let n = u64::from(*a) << 8 | u64::from(*b);
        let ops = change.operations.len();
        match what % 12 {
            0 => change.start_op = std::num::NonZeroU64::new(n.max(1))?,
            1 => change.start_op = std::num::NonZeroU64::new(u64::from(u32::MAX) - n)?,
            2 => change.seq = n,
            3 => change.deps.push(ChangeHash([*a; 32])),
            4 => change.deps.clear(),
            5 if ops > 0 => {
                change.operations[n as usize % ops].action = match b % 6 {
                    0 => OpType::Delete,
                    1 => OpType::Make(ObjType::Map),
                    2 => OpType::Make(ObjType::List),
                    3 => OpType::Make(ObjType::Text),
                    4 => OpType::Increment(1),
                    _ => OpType::Put(ScalarValue::Str("x".repeat(*a as usize).into())),
                }
            }
            6 if ops > 0 => {
                let target = change.operations[*b as usize % ops].obj.clone();
                change.operations[*a as usize % ops].obj =
                    if b % 3 == 0 { ObjectId::Root } else { target };
            }
            7 if ops > 0 => {
                change.operations[n as usize % ops].key = match b % 4 {
                    0 => Key::Map("observations".into()),
                    1 => Key::Map(format!("k{a}").into()),
                    2 => Key::Seq(ElementId::Head),
                    _ => Key::Seq(ElementId::Id(OpId(u64::from(*a), change.actor_id.clone()))),
                }
            }
            8 if ops > 0 => {
                let op = &mut change.operations[n as usize % ops];
                op.insert = !op.insert;
            }
            9 if ops > 0 => {
                let op = change.operations[*a as usize % ops].clone();
                change.operations.push(op);
            }
            10 if ops > 1 => {
                change.operations.remove(n as usize % ops);
            }
            11 if ops > 0 => {
                let values = [
                    ScalarValue::Int(i64::from(*a) - 128),
                    ScalarValue::F64(f64::from(*a) * 1e3),
                    ScalarValue::Null,
                    ScalarValue::Boolean(*a % 2 == 0),
                    ScalarValue::Uint(u64::from(*a)),
                    ScalarValue::Str(format!("dev_{a:032x}").into()),
                ];
                change.operations[n as usize % ops].action =
                    OpType::Put(values[*b as usize % values.len()].clone());
            }
            _ => {}
        }
    }
    // Building a change from arbitrary parts can trip automerge's own assertions; such a
    // change could never arrive as bytes anyway.
    catch_unwind(AssertUnwindSafe(|| Change::from(change))).ok()
}
