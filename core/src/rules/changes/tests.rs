//! Each rule, shown with a change the app would make (accepted) and a crafted one that
//! breaks it (refused, with the rule's words).

use automerge::transaction::{Transactable, Transaction};
use automerge::ExpandedChange;
use automerge::{Automerge, AutomergeError, Change, ChangeHash, ObjId, ObjType, ReadDoc, ROOT};
use chrono::{TimeZone, Utc};

use super::*;
use crate::checklist::{AnswerValue, YesNo};
use crate::incident::{
    keys, Author, Determination, EventKind, GeoPoint, IncidentDoc, NewIncident, ObservationKind,
    Report, ReportSource, Urgency,
};
use crate::location::{LocationFix, LocationProvider};

fn person(seed: u8, role: Role) -> Author {
    Author::new(DeviceId::from_public_key(&[seed; 32]), role)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 15, 0, 0).unwrap()
}

fn report(place: &str) -> Report {
    Report {
        place_text: place.to_owned(),
        point: Some(GeoPoint {
            lat: 38.627,
            lon: -90.1994,
        }),
        reported_at: now(),
        description: "two unmarked vans".into(),
        urgency: Urgency::High,
        source: ReportSource::Call,
    }
}

fn fix() -> LocationFix {
    LocationFix {
        lat: 38.6271,
        lon: -90.1994,
        accuracy_m: 8.0,
        altitude_m: None,
        provider: LocationProvider::Fused,
        fix_time: now(),
        mock: false,
    }
}

struct Case {
    id: IncidentId,
    doc: IncidentDoc,
    desk: Author,
    vol: Author,
    other: Author,
    lead: Author,
}

/// An incident opened by a dispatcher, with one observation and one answer by another
/// volunteer already in it.
fn case() -> Case {
    let desk = person(1, Role::Dispatcher);
    let vol = person(2, Role::Volunteer);
    let other = person(3, Role::Volunteer);
    let lead = person(4, Role::TeamLead);
    let id = IncidentId::generate();
    let mut doc = IncidentDoc::create(
        &id,
        &desk,
        NewIncident {
            report: report("Cherokee St"),
            template: None,
        },
        now(),
    )
    .unwrap();
    doc.add_observation(&other, ObservationKind::Note, "vans", None, None, now())
        .unwrap();
    doc.answer(
        &other,
        "enforcement_present",
        AnswerValue::YesNo(YesNo::Yes),
        now(),
    )
    .unwrap();
    Case {
        id,
        doc,
        desk,
        vol,
        other,
        lead,
    }
}

/// The change `author` makes with the app's own API.
fn made(case: &Case, author: &Author, f: impl FnOnce(&mut IncidentDoc, &Author)) -> Change {
    let mut doc = IncidentDoc::from_automerge(case.doc.automerge().fork());
    let before = doc.automerge().get_heads();
    f(&mut doc, author);
    let mut changes = doc.automerge().get_changes(&before);
    assert_eq!(changes.len(), 1);
    changes.remove(0)
}

/// A change crafted with automerge directly, as `author`'s actor.
fn crafted(
    case: &Case,
    author: &Author,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Change {
    let mut doc = case.doc.automerge().fork();
    doc.set_actor(author.device.actor_id());
    doc.transact(|tx| f(tx)).map_err(|f| f.error).unwrap();
    doc.get_last_local_change().unwrap()
}

fn rewritten(change: &Change, f: impl FnOnce(&mut ExpandedChange)) -> Change {
    let mut expanded = change.decode();
    f(&mut expanded);
    Change::from(expanded)
}

fn collection(tx: &Transaction<'_>, key: &str) -> ObjId {
    match tx.get(ROOT, key).unwrap() {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("{other:?}"),
    }
}

fn check_as(case: &Case, change: &Change, author: &Author) -> Result<(), Refusal> {
    let mut validator = Validator::new(case.doc.automerge(), &case.id)?;
    validator.check(
        change,
        Writer::Enrolled {
            device: &author.device,
            role: author.role,
        },
    )
}

fn check_peer(case: &Case, change: &Change) -> Result<(), Refusal> {
    Validator::new(case.doc.automerge(), &case.id)?.check(change, Writer::Peer)
}

#[track_caller]
fn refused(result: Result<(), Refusal>, words: &str) {
    match result {
        Ok(()) => panic!("accepted; expected a refusal for {words:?}"),
        Err(e) => assert!(e.0.contains(words), "refused for {e:?}, expected {words:?}"),
    }
}

#[test]
fn what_the_app_writes_passes_at_the_hub_and_on_a_peer() {
    let c = case();
    let other_obs = c.doc.view().unwrap().observations[0].id.clone();
    let changes: Vec<(&Author, Change)> = vec![
        (
            &c.vol,
            made(&c, &c.vol, |d, a| {
                d.add_observation(
                    a,
                    ObservationKind::Count,
                    "agents",
                    Some(4),
                    Some(fix()),
                    now(),
                )
                .unwrap();
            }),
        ),
        (
            &c.vol,
            made(&c, &c.vol, |d, a| {
                d.amend_observation(a, &other_obs, "six vans", None, now())
                    .unwrap();
            }),
        ),
        (
            &c.vol,
            made(&c, &c.vol, |d, a| {
                d.checkpoint(a, crate::incident::CheckpointKind::CheckIn, fix(), now())
                    .unwrap();
            }),
        ),
        (
            &c.vol,
            made(&c, &c.vol, |d, a| {
                d.answer(
                    a,
                    "vehicles",
                    AnswerValue::Choices(vec!["van".into(), "suv".into(), "car".into()]),
                    now(),
                )
                .unwrap();
            }),
        ),
        (
            &c.other,
            made(&c, &c.other, |d, a| {
                d.answer(
                    a,
                    "enforcement_present",
                    AnswerValue::YesNo(YesNo::No),
                    now(),
                )
                .unwrap();
            }),
        ),
        (
            &c.vol,
            made(&c, &c.vol, |d, a| {
                d.add_event(
                    a,
                    EventKind::DeterminationProposed,
                    Some(Determination::Verified),
                    None,
                    Some("seen".into()),
                    now(),
                )
                .unwrap();
            }),
        ),
        (
            &c.lead,
            made(&c, &c.lead, |d, a| {
                d.add_event(
                    a,
                    EventKind::DeterminationConfirmed,
                    Some(Determination::Verified),
                    None,
                    None,
                    now(),
                )
                .unwrap();
            }),
        ),
        (
            &c.desk,
            made(&c, &c.desk, |d, a| {
                d.assign(a, &c.vol.device, true, now()).unwrap()
            }),
        ),
        (
            &c.desk,
            made(&c, &c.desk, |d, a| {
                d.edit_report(a, report("Jefferson Ave"), now()).unwrap()
            }),
        ),
        (
            &c.desk,
            made(&c, &c.desk, |d, a| {
                d.add_event(a, EventKind::Closed, None, None, None, now())
                    .unwrap();
            }),
        ),
    ];
    for (author, change) in &changes {
        check_as(&c, change, author)
            .unwrap_or_else(|e| panic!("{}: {e}", change.message().unwrap_or("")));
        check_peer(&c, change).unwrap();
    }
    // The creating change itself, at the hub from the device that opens in the field.
    let field = person(9, Role::Volunteer);
    let id = IncidentId::generate();
    let created = IncidentDoc::create(
        &id,
        &field,
        NewIncident {
            report: report("x"),
            template: None,
        },
        now(),
    )
    .unwrap();
    let creation = created.automerge().get_changes(&[]).remove(0);
    let empty = Automerge::new();
    let mut validator = Validator::new(&empty, &id).unwrap();
    validator
        .check(
            &creation,
            Writer::Enrolled {
                device: &field.device,
                role: field.role,
            },
        )
        .unwrap();
    refused(
        Validator::new(&empty, &IncidentId::generate())
            .unwrap()
            .check(&creation, Writer::Peer),
        "the document is sent as incident",
    );
}

#[test]
fn a_batch_builds_on_its_own_earlier_changes() {
    let c = case();
    let mut doc = IncidentDoc::from_automerge(c.doc.automerge().fork());
    let before = doc.automerge().get_heads();
    doc.answer(&c.vol, "q1", AnswerValue::YesNo(YesNo::Yes), now())
        .unwrap();
    doc.answer(&c.vol, "q1", AnswerValue::YesNo(YesNo::No), now())
        .unwrap();
    // A third answer supersedes the second only: the first is already superseded
    // within the batch, not standing beside it.
    doc.answer(&c.vol, "q1", AnswerValue::YesNo(YesNo::Yes), now())
        .unwrap();
    doc.add_observation(&c.vol, ObservationKind::Note, "one", None, None, now())
        .unwrap();
    let changes = doc.automerge().get_changes(&before);
    let mut hub = c.doc.automerge().fork();
    let merged = merge_checked(&mut hub, &c.id, changes, |_| Writer::Enrolled {
        device: &c.vol.device,
        role: Role::Volunteer,
    })
    .unwrap();
    assert!(merged.refused.is_empty(), "{:?}", merged.refused);
    assert_eq!(merged.accepted.len(), 4);
    assert_eq!(hub.get_heads(), doc.automerge().get_heads());
}

#[test]
fn the_root_and_its_collections_are_made_once() {
    let c = case();
    for key in keys::COLLECTIONS {
        let swap = crafted(&c, &c.vol, |tx| {
            tx.put_object(ROOT, key, ObjType::Map)?;
            Ok(())
        });
        refused(
            check_peer(&c, &swap),
            "a root key is written only by the change that creates the incident",
        );
    }
    let rename = crafted(&c, &c.desk, |tx| tx.put(ROOT, keys::ID, "inc_other"));
    refused(check_as(&c, &rename, &c.desk), "a root key is written only");
    // A second creation, with no dependencies.
    let again = IncidentDoc::create(
        &c.id,
        &c.vol,
        NewIncident {
            report: report("y"),
            template: None,
        },
        now(),
    )
    .unwrap();
    let again = again.automerge().get_changes(&[]).remove(0);
    refused(check_peer(&c, &again), "the incident already exists");
}

#[test]
fn records_are_never_deleted_or_rewritten() {
    let c = case();
    let key = c.doc.view().unwrap().observations[0].id.clone();
    let delete = crafted(&c, &c.vol, |tx| {
        let obs = collection(tx, keys::OBSERVATIONS);
        tx.delete(&obs, key.as_str())
    });
    refused(
        check_peer(&c, &delete),
        "nothing in an incident is ever deleted",
    );
    let edit = crafted(&c, &c.other, |tx| {
        let obs = collection(tx, keys::OBSERVATIONS);
        let record = tx.get(&obs, key.as_str())?.unwrap().1;
        tx.put(&record, "text", "something else")
    });
    refused(
        check_peer(&c, &edit),
        "writes into an object this change did not make",
    );
    let over = crafted(&c, &c.vol, |tx| {
        let obs = collection(tx, keys::OBSERVATIONS);
        tx.put_object(&obs, key.as_str(), ObjType::Map)?;
        Ok(())
    });
    refused(check_peer(&c, &over), "append-only");
}

#[test]
fn answers_belong_to_their_author() {
    let c = case();
    let theirs = format!("enforcement_present@{}", c.other.device);
    let overwrite = crafted(&c, &c.vol, |tx| {
        let answers = collection(tx, keys::ANSWERS);
        tx.put_object(&answers, theirs.as_str(), ObjType::Map)?;
        Ok(())
    });
    refused(
        check_peer(&c, &overwrite),
        "only they can give or change it",
    );
    // The owner answering again, as the app does (superseding the earlier answer).
    let beside = {
        crafted(&c, &c.other, |tx| {
            let answers = collection(tx, keys::ANSWERS);
            let value = serde_json::to_value(crate::incident::AnswerRecord {
                value: AnswerValue::YesNo(YesNo::No),
                by: c.other.device.clone(),
                at: now(),
            })
            .unwrap();
            crate::incident::json_bridge::put_json(tx, &answers, theirs.as_str(), &value).unwrap();
            Ok(())
        })
    };
    check_peer(&c, &beside).unwrap();
    let no_pred = rewritten(&beside, |e| {
        for op in &mut e.operations {
            if op.obj != automerge::legacy::ObjectId::Root && !op.pred.is_empty() {
                op.pred = automerge::legacy::SortedVec::new();
            }
        }
    });
    refused(check_peer(&c, &no_pred), "instead of standing beside it");
}

#[test]
fn the_sender_must_be_the_author_and_allowed() {
    let c = case();
    let as_other = made(&c, &c.other, |d, a| {
        d.add_observation(a, ObservationKind::Note, "mine", None, None, now())
            .unwrap();
    });
    refused(check_as(&c, &as_other, &c.vol), "not the sending device");
    // A record claiming someone else's `by`, in the sender's own change.
    let claim = made(&c, &c.vol, |d, _| {
        d.add_observation(
            &Author::via(
                c.other.device.clone(),
                Role::Volunteer,
                c.vol.device.clone(),
            ),
            ObservationKind::Note,
            "theirs",
            None,
            None,
            now(),
        )
        .unwrap();
    });
    refused(check_as(&c, &claim, &c.vol), "not by the sending device");
    check_peer(&c, &claim).unwrap();
    // Roles: a volunteer assigning or confirming, a team lead assigning.
    let assign = made(&c, &c.desk, |d, a| {
        d.assign(a, &c.vol.device, true, now()).unwrap()
    });
    let as_vol = Author::new(c.vol.device.clone(), Role::Volunteer);
    let forged = made(&c, &as_vol, |d, _| {
        d.assign(
            &Author::new(c.vol.device.clone(), Role::Dispatcher),
            &c.vol.device,
            true,
            now(),
        )
        .unwrap()
    });
    refused(
        check_as(&c, &forged, &as_vol),
        "a volunteer cannot assign incidents",
    );
    let by_lead = made(&c, &c.lead, |d, _| {
        d.assign(
            &Author::new(c.lead.device.clone(), Role::Dispatcher),
            &c.vol.device,
            true,
            now(),
        )
        .unwrap()
    });
    refused(
        check_as(&c, &by_lead, &c.lead),
        "a team_lead cannot assign incidents",
    );
    check_as(&c, &assign, &c.desk).unwrap();
    let confirm = made(&c, &c.vol, |d, _| {
        d.add_event(
            &Author::new(c.vol.device.clone(), Role::TeamLead),
            EventKind::DeterminationConfirmed,
            Some(Determination::Verified),
            None,
            None,
            now(),
        )
        .unwrap();
    });
    refused(check_as(&c, &confirm, &c.vol), "claims the role team_lead");
    let edit = made(&c, &c.vol, |d, _| {
        d.edit_report(
            &Author::new(c.vol.device.clone(), Role::Dispatcher),
            report("elsewhere"),
            now(),
        )
        .unwrap()
    });
    refused(
        check_as(&c, &edit, &c.vol),
        "a volunteer cannot edit the report",
    );
}

#[test]
fn counters_sequence_and_dependencies_follow_the_history() {
    let c = case();
    let valid = made(&c, &c.vol, |d, a| {
        d.add_observation(a, ObservationKind::Note, "fine", None, None, now())
            .unwrap();
    });
    check_peer(&c, &valid).unwrap();
    let ops = valid.len() as u64;
    for end in [
        u64::from(u32::MAX),
        u64::from(u32::MAX) - 1,
        super::super::limits::MAX_OP_COUNTER + 5,
    ] {
        let poisoned = rewritten(&valid, |e| {
            e.start_op = std::num::NonZeroU64::new(end - ops + 1).unwrap()
        });
        refused(check_peer(&c, &poisoned), "starts at op counter");
    }
    let low = rewritten(&valid, |e| {
        e.start_op = std::num::NonZeroU64::new(e.start_op.get() - 1).unwrap()
    });
    refused(check_peer(&c, &low), "starts at op counter");
    let skipped = rewritten(&valid, |e| e.seq += 1);
    refused(check_peer(&c, &skipped), "sequence number");
    let unknown = rewritten(&valid, |e| e.deps.push(ChangeHash([7; 32])));
    refused(check_peer(&c, &unknown), "which the receiver does not have");
    let author = rewritten(&valid, |e| e.extra_bytes = vec![1, 3, b'a', b'b', b'c']);
    refused(check_peer(&c, &author), "extra header bytes");
}

#[test]
fn content_is_checked_as_the_device_checks_it() {
    let c = case();
    let long = made(&c, &c.vol, |d, a| {
        d.add_observation(a, ObservationKind::Note, "x", None, None, now())
            .unwrap();
    });
    // The same observation with a text past the limit, and with a field the schema
    // does not have.
    let too_long = rewritten(&long, |e| {
        for op in &mut e.operations {
            if let automerge::legacy::OpType::Put(automerge::ScalarValue::Str(s)) = &mut op.action {
                if s.as_str() == "x" {
                    *s = "y".repeat(crate::incident::MAX_TEXT_CHARS + 1).into();
                }
            }
        }
    });
    refused(check_peer(&c, &too_long), "longer than");
    let extra = rewritten(&long, |e| {
        let mut op = e.operations.last().unwrap().clone();
        op.key = automerge::legacy::Key::Map("smuggled".into());
        op.action = automerge::legacy::OpType::Put("payload".into());
        e.operations.push(op);
    });
    refused(
        check_peer(&c, &extra),
        "fields or values an incident record does not have",
    );
    let mut bad_fix = fix();
    bad_fix.lat = 123.0;
    let bad = made(&c, &c.vol, |d, a| {
        d.checkpoint(a, crate::incident::CheckpointKind::CheckIn, fix(), now())
            .unwrap();
    });
    let bad = rewritten(&bad, |e| {
        for op in &mut e.operations {
            if let automerge::legacy::Key::Map(k) = &op.key {
                if k.as_str() == "lat" {
                    op.action =
                        automerge::legacy::OpType::Put(automerge::ScalarValue::F64(bad_fix.lat));
                }
            }
        }
    });
    refused(check_peer(&c, &bad), "latitude");
    let huge = rewritten(&long, |e| {
        for op in &mut e.operations {
            if let automerge::legacy::OpType::Put(automerge::ScalarValue::Str(s)) = &mut op.action {
                if s.as_str() == "x" {
                    *s = "z"
                        .repeat(crate::rules::limits::MAX_STRING_BYTES + 1)
                        .into();
                }
            }
        }
    });
    refused(check_peer(&c, &huge), "a string of");
}

#[test]
fn a_refused_change_takes_its_dependents_and_nothing_else() {
    let c = case();
    let mut doc = IncidentDoc::from_automerge(c.doc.automerge().fork());
    let before = doc.automerge().get_heads();
    doc.add_observation(&c.vol, ObservationKind::Note, "good", None, None, now())
        .unwrap();
    let good = doc.automerge().get_changes(&before);
    let mid = doc.automerge().get_heads();
    // A crafted deletion, then more work on top of it.
    let mut am = doc.automerge().fork();
    am.set_actor(c.vol.device.actor_id());
    let key = c.doc.view().unwrap().observations[0].id.clone();
    am.transact(|tx| {
        let obs = collection(tx, keys::OBSERVATIONS);
        tx.delete(&obs, key.as_str())
    })
    .map_err(|f| f.error)
    .unwrap();
    let mut doc = IncidentDoc::from_automerge(am);
    doc.add_observation(&c.vol, ObservationKind::Note, "after", None, None, now())
        .unwrap();
    let bad = doc.automerge().get_changes(&mid);
    let mut incoming = good.clone();
    incoming.extend(bad);
    let mut hub = c.doc.automerge().fork();
    let merged = merge_checked(&mut hub, &c.id, incoming, |_| Writer::Peer).unwrap();
    assert_eq!(merged.accepted.len(), 1);
    assert_eq!(merged.refused.len(), 2, "{:?}", merged.refused);
    assert!(merged
        .refused
        .iter()
        .any(|(_, r)| r.contains("depends on refused change")));
    let view = crate::incident::read_view(&hub).unwrap();
    assert_eq!(view.observations.len(), 2);
    assert!(view.observations.iter().any(|o| o.id == key));
}

#[test]
fn attachment_records_are_checked_as_the_device_checks_them() {
    use crate::ids::{DeviceId, RecordId};
    use crate::incident::{AttachmentRecord, MediaKind, Observation};
    let c = case();
    let photo = |by: &DeviceId| AttachmentRecord {
        kind: MediaKind::Photo,
        mime: "image/jpeg".into(),
        sha256: "ab".repeat(32),
        size: 1234,
        captured_at: now(),
        fix: None,
        preview: None,
        by: by.clone(),
    };
    let app = made(&c, &c.vol, |d, a| {
        d.add_observation_with_attachments(
            a,
            ObservationKind::Note,
            "",
            None,
            None,
            vec![photo(&a.device)],
            now(),
        )
        .unwrap();
    });
    check_peer(&c, &app).unwrap();
    check_as(&c, &app, &c.vol).unwrap();

    // An observation of the sender's carrying a file recorded in another's name.
    let with = |attachments: Vec<AttachmentRecord>| {
        crafted(&c, &c.vol, |tx| {
            let observations = collection(tx, keys::OBSERVATIONS);
            let id = RecordId::generate();
            let value = serde_json::to_value(Observation {
                id: id.clone(),
                kind: ObservationKind::Note,
                text: String::new(),
                count: None,
                fix: None,
                amends: None,
                attachments,
                by: c.vol.device.clone(),
                at: now(),
            })
            .unwrap();
            crate::incident::json_bridge::put_json(tx, &observations, id.as_str(), &value).unwrap();
            Ok(())
        })
    };
    refused(
        check_as(&c, &with(vec![photo(&c.other.device)]), &c.vol),
        "recorded by the observation's author",
    );
    let mut not_a_photo = photo(&c.vol.device);
    not_a_photo.mime = "application/x-msdownload".into();
    refused(
        check_as(&c, &with(vec![not_a_photo]), &c.vol),
        "unknown media type",
    );
    let many = vec![photo(&c.vol.device); crate::incident::MAX_ATTACHMENTS + 1];
    refused(check_as(&c, &with(many), &c.vol), "files per observation");
}

#[test]
fn a_decimal_answer_holds_a_finite_number_and_nothing_else() {
    let c = case();
    let key = format!("distance_km@{}", c.vol.device);
    // The record the app writes for a decimal answer, op by op, with `value` chosen.
    let answer_with = |kind: &str, value: automerge::ScalarValue| {
        crafted(&c, &c.vol, |tx| {
            let answers = collection(tx, keys::ANSWERS);
            let record = tx.put_object(&answers, key.as_str(), ObjType::Map)?;
            let answer = tx.put_object(&record, "value", ObjType::Map)?;
            tx.put(&answer, "type", kind)?;
            tx.put(&answer, "value", value)?;
            tx.put(&record, "by", c.vol.device.as_str())?;
            tx.put(&record, "at", now().timestamp_millis())?;
            Ok(())
        })
    };
    use automerge::ScalarValue::{Int, Str, F64};
    check_as(&c, &answer_with("decimal", F64(1.5)), &c.vol).unwrap();
    check_peer(&c, &answer_with("decimal", F64(2.0))).unwrap();
    check_peer(&c, &answer_with("decimal", F64(-0.25))).unwrap();
    for not_finite in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        refused(
            check_as(&c, &answer_with("decimal", F64(not_finite)), &c.vol),
            "finite numbers only",
        );
        refused(
            check_peer(&c, &answer_with("decimal", F64(not_finite))),
            "finite numbers only",
        );
    }
    refused(
        check_peer(&c, &answer_with("decimal", Str("1.5".into()))),
        "invalid type: string",
    );
    refused(
        check_peer(&c, &answer_with("count", F64(1.5))),
        "invalid type: floating point",
    );
    // The app writes every decimal as an F64; a whole number in its place is not
    // what the schema says and is refused rather than read as something else.
    refused(
        check_peer(&c, &answer_with("decimal", Int(2))),
        "fields or values an incident record does not have",
    );
    // Non-finite numbers are refused wherever they are, not only in answers.
    let checkpoint = made(&c, &c.vol, |d, a| {
        d.checkpoint(a, crate::incident::CheckpointKind::CheckIn, fix(), now())
            .unwrap();
    });
    let nan_accuracy = rewritten(&checkpoint, |e| {
        for op in &mut e.operations {
            if matches!(&op.key, automerge::legacy::Key::Map(k) if k.as_str() == "accuracy_m") {
                op.action = automerge::legacy::OpType::Put(F64(f64::NAN));
            }
        }
    });
    refused(check_peer(&c, &nan_accuracy), "finite numbers only");
}
