//! The flow of DESIGN.md end to end, over real HTTP: a call, two volunteers working
//! offline and disagreeing, a dispatcher editing meanwhile, syncs in a different order,
//! and a team lead confirming later.

use chrono::Utc;
use serde_json::json;
use testigo_core::checklist::{AnswerValue, YesNo};
use testigo_core::incident::{
    Determination, EventKind, IncidentStatus, IncidentView, ObservationKind, Role,
};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_tests::{Person, World};

fn fix(lat: f64, lon: f64) -> LocationFix {
    LocationFix {
        lat,
        lon,
        accuracy_m: 8.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Utc::now(),
        mock: false,
    }
}

/// Everyone's replica, as JSON (identical replicas give identical JSON).
fn views(people: &[&Person], id: &testigo_core::ids::IncidentId) -> Vec<serde_json::Value> {
    people
        .iter()
        .map(|p| serde_json::to_value(p.view(id)).unwrap())
        .collect()
}

#[test]
fn volunteers_offline_dispatcher_meanwhile_team_lead_later_all_converge() {
    let world = World::new();
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, Some("north"));
    let ben = world.enrol("ben", Role::Volunteer, Some("north"));
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let desk = dispatcher.api(hub);

    // A call comes in; the dispatcher opens the incident for team north and assigns two verifiers.
    let id = desk.open_incident(
        "Cherokee St & S Jefferson Ave",
        Some("+1 314 555 0199"),
        Some("north"),
    );
    desk.assign(&id, &ana, true);
    desk.assign(&id, &ben, true);

    for volunteer in [&ana, &ben] {
        let report = volunteer.sync(hub);
        assert_eq!(
            report.incidents_added, 1,
            "{} receives the incident",
            volunteer.name
        );
        assert_eq!(report.requests, 1);
        assert_eq!(
            volunteer.view(&id).status.status,
            IncidentStatus::Dispatched
        );
    }

    // Offline on scene. Ana checks in; both answer the same question differently and
    // propose different determinations.
    let check_in = ana.store.check_in(&id, fix(38.6271, -90.1990)).unwrap();
    assert!(check_in.distance_m.unwrap() < 100.0);
    ana.store
        .answer(&id, "agents_identifiable", AnswerValue::YesNo(YesNo::Yes))
        .unwrap();
    ana.store
        .add_observation(
            &id,
            ObservationKind::Count,
            "agents in tactical vests",
            Some(4),
            Some(fix(38.6271, -90.1990)),
        )
        .unwrap();
    ana.store
        .record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(Determination::Verified),
            None,
            None,
        )
        .unwrap();
    ben.store
        .answer(&id, "agents_identifiable", AnswerValue::YesNo(YesNo::No))
        .unwrap();
    ben.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "only a utility crew when I arrived",
            None,
            None,
        )
        .unwrap();
    ben.store
        .record_event(
            &id,
            EventKind::DeterminationProposed,
            Some(Determination::NotFound),
            None,
            None,
        )
        .unwrap();

    // Meanwhile the dispatcher corrects the place after a second call.
    let (status, body) = desk.put(
        &format!("/v1/incidents/{id}/report"),
        json!({ "place_text": "Cherokee St & S Jefferson Ave, north corner", "description": "second caller: two vans", "urgency": "critical" }),
    );
    assert_eq!(status, 200, "{body}");

    // Everyone syncs, in a different order than they left.
    let ben_first = ben.sync(hub);
    assert!(
        ben_first.changes_up >= 3 && ben_first.rejected.is_empty(),
        "{ben_first:?}"
    );
    let ana_second = ana.sync(hub);
    assert!(
        ana_second.changes_up >= 4 && ana_second.rejected.is_empty(),
        "{ana_second:?}"
    );
    assert!(
        ana_second.changes_down >= 4,
        "ana receives ben's and the dispatcher's work: {ana_second:?}"
    );
    ben.sync(hub);

    let hub_view = desk.view(&id);
    let replicas = views(&[&ana, &ben], &id);
    assert_eq!(
        replicas[0], replicas[1],
        "both volunteers hold the same incident"
    );
    assert_eq!(
        replicas[0],
        serde_json::to_value(&hub_view).unwrap(),
        "and so does the hub"
    );

    // Nothing was lost, and the disagreement is explicit.
    let v: IncidentView = hub_view;
    assert_eq!(
        v.report.place_text,
        "Cherokee St & S Jefferson Ave, north corner"
    );
    assert!(v.events.iter().any(|e| e.kind == EventKind::ReportEdited
        && e.note
            .as_deref()
            .unwrap_or("")
            .contains("Cherokee St & S Jefferson Ave")));
    assert_eq!(v.checkpoints.len(), 1);
    assert_eq!(v.observations.len(), 2);
    let answers = v.answers_to("agents_identifiable").unwrap();
    assert_eq!(answers.by_author.len(), 2);
    assert!(!answers.agree());
    assert_eq!(v.status.proposals.len(), 2);
    assert_eq!(v.status.status, IncidentStatus::Disputed);
    assert!(v.problems.is_empty());

    // The team lead syncs later, sees the dispute and confirms.
    assert_eq!(lead.sync(hub).incidents_added, 1);
    assert_eq!(lead.view(&id).status.status, IncidentStatus::Disputed);
    lead.store
        .record_event(
            &id,
            EventKind::DeterminationConfirmed,
            Some(Determination::Verified),
            None,
            Some("photos match".into()),
        )
        .unwrap();
    let confirmed = lead.sync(hub);
    assert!(confirmed.rejected.is_empty(), "{confirmed:?}");
    ana.sync(hub);
    ben.sync(hub);

    let replicas = views(&[&ana, &ben, &lead], &id);
    let hub_view = serde_json::to_value(desk.view(&id)).unwrap();
    for replica in &replicas {
        assert_eq!(replica, &hub_view);
    }
    assert_eq!(lead.view(&id).status.status, IncidentStatus::Confirmed);
    assert_eq!(
        lead.view(&id).status.determination,
        Some(Determination::Verified)
    );

    // The dispatcher tells the caller; the volunteers see it after their next sync.
    let (status, body) = desk.post(&format!("/v1/incidents/{id}/caller-notified"), json!({}));
    assert_eq!(status, 200, "{body}");
    ana.sync(hub);
    assert_eq!(ana.view(&id).status.status, IncidentStatus::CallerNotified);
    for person in [&ana, &ben, &lead] {
        person.assert_everything_sent();
    }
}

#[test]
fn a_volunteer_opens_an_incident_in_the_field_and_the_team_receives_it() {
    use testigo_core::incident::{NewIncident, Report, ReportSource, Urgency};
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let finder = world.enrol("finder", Role::Volunteer, Some("east"));
    let lead = world.enrol("lead", Role::TeamLead, Some("east"));
    let outsider = world.enrol("outsider", Role::TeamLead, Some("west"));

    let report = Report {
        place_text: "Grand Blvd bus stop".into(),
        point: None,
        reported_at: Utc::now(),
        description: "seen while passing".into(),
        urgency: Urgency::High,
        source: ReportSource::Field,
    };
    let id = finder
        .store
        .create_incident(NewIncident {
            report,
            template: None,
        })
        .unwrap();
    finder
        .store
        .add_observation(
            &id,
            ObservationKind::Note,
            "three agents at the stop",
            None,
            None,
        )
        .unwrap();
    let up = finder.sync(hub);
    assert!(
        up.rejected.is_empty() && up.changes_up == 2 && up.incidents_added == 0,
        "{up:?}"
    );
    let again = finder.sync(hub);
    assert_eq!(
        (again.changes_up, again.incidents_added),
        (0, 0),
        "the hub does not send the finder its own incident back"
    );

    assert_eq!(desk.view(&id).observations.len(), 1);
    assert_eq!(lead.sync(hub).incidents_added, 1);
    assert_eq!(outsider.sync(hub).incidents_added, 0);
    assert_eq!(
        serde_json::to_value(lead.view(&id)).unwrap(),
        serde_json::to_value(finder.view(&id)).unwrap()
    );
}
