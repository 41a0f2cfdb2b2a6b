//! A dispatch reaches the volunteer's phone at once, through the wake channel: a
//! long-poll held open by a phone on duty, and UnifiedPush for phones that sleep.
//! Nothing about an incident ever travels in a wake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use testigo_core::incident::{ObservationKind, Role};
use testigo_core::sync::{self, WaitCancel, WaitOutcome};
use testigo_hub::wake::{InProcessBus, PushPolicy, Signal, WakeBus};
use testigo_tests::distributor::Distributor;
use testigo_tests::{contains, Person, TestHub, World};

const PLACE: &str = "Cherokee St & Jefferson Ave";
const DESCRIPTION: &str = "caller reports unmarked vans and agents in vests";

/// A hub that accepts loopback (plain http) push endpoints and retries quickly.
fn world(policy: PushPolicy) -> World {
    World::on(TestHub::start_with(|config| {
        config.push_allow_http = true;
        config.push_policy = Some(policy);
    }))
}

fn quick_retries() -> PushPolicy {
    PushPolicy {
        attempts: 2,
        first_retry: Duration::from_millis(10),
        max_failed_wakes: 2,
        allow_http: true,
    }
}

/// Blocks until the hub holds `n` waits open (the waiting phone's request is in).
fn until_waiting(hub: &TestHub, n: usize) {
    for _ in 0..6000 {
        if hub.watch.waiting_phones() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the phone never started waiting");
}

fn wait(person: &Person, secs: u64) -> testigo_core::Result<WaitOutcome> {
    sync::wait_for_work(
        &person.store,
        Duration::from_secs(secs),
        &WaitCancel::default(),
    )
}

#[test]
fn an_assignment_wakes_the_waiting_phone_and_pushes_one_empty_wake() {
    let world = world(quick_retries());
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, Some("south"));
    let desk = dispatcher.api(hub);
    let distributor = Distributor::start(201);
    let endpoint = distributor.endpoint("ana-phone");
    sync::register_push(&ana.store, &endpoint).expect("ana registers her push endpoint");
    ana.sync(hub);

    // Ana is on duty: her phone holds the long-poll open. The dispatcher opens an
    // incident nobody is assigned to (not ana's business), then assigns it to her.
    let id = std::thread::scope(|s| {
        let waiting = s.spawn(|| {
            let outcome = wait(&ana, 60).expect("the wait ends well");
            let report = ana.sync(hub);
            (outcome, report)
        });
        until_waiting(hub, 1);
        let id = {
            let (status, body) = desk.post(
                "/v1/incidents",
                serde_json::json!({ "place_text": PLACE, "description": DESCRIPTION, "urgency": "critical" }),
            );
            assert_eq!(status, 200, "{body}");
            testigo_core::ids::IncidentId::parse(body["id"].as_str().unwrap()).unwrap()
        };
        desk.assign(&id, &ana, true);
        let (outcome, report) = waiting.join().expect("the waiting phone");
        assert_eq!(outcome, WaitOutcome::Work);
        assert_eq!(report.new_incidents, vec![id.clone()]);
        id
    });
    // The event, not a timing: the incident is in her encrypted store.
    assert!(ana.holds(&id));
    assert_eq!(ana.view(&id).report.place_text, PLACE);

    // A second assignment while she is not waiting: the next wait returns at once,
    // because the wait carries her cursor.
    let second = desk.open_incident("Gravois Ave & Chippewa St", None, None);
    desk.assign(&second, &ana, true);
    assert_eq!(wait(&ana, 30).unwrap(), WaitOutcome::Work);
    ana.sync(hub);
    assert!(ana.holds(&second));

    // Exactly one push per assignment (the opens were not hers), and nothing in any
    // of them: no incident id, place or description, in the body or the headers.
    let wakes = distributor.wait_for(&endpoint, 2);
    assert_eq!(wakes.len(), 2, "one wake per assignment");
    for wake in &wakes {
        assert!(wake.body.is_empty(), "a wake carries no body");
        for secret in [
            id.as_str(),
            second.as_str(),
            PLACE,
            "Cherokee",
            DESCRIPTION,
            "Gravois",
        ] {
            assert!(
                !contains(&wake.raw, secret.as_bytes()),
                "a wake contained {secret:?}"
            );
        }
    }

    // Her own uploads do not wake her.
    ana.store
        .add_observation(
            &id,
            ObservationKind::Note,
            "two vans, no plates",
            None,
            None,
        )
        .unwrap();
    ana.sync(hub);
    assert_eq!(wait(&ana, 1).unwrap(), WaitOutcome::Timeout);

    // A change by someone else to an incident she holds does.
    let (status, body) = desk.put(
        &format!("/v1/incidents/{id}/report"),
        serde_json::json!({ "place_text": PLACE, "description": "three vans now", "urgency": "critical" }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(wait(&ana, 30).unwrap(), WaitOutcome::Work);
    assert_eq!(ana.sync(hub).changes_down, 1);
    assert_eq!(distributor.wait_for(&endpoint, 3).len(), 3);
}

/// A bus that holds signals back until released: the hub hears of its commits late,
/// as a loaded instance (or another instance across the network) does.
#[derive(Debug, Default)]
struct LateBus {
    inner: InProcessBus,
    held: Mutex<Option<Vec<Signal>>>,
}

impl LateBus {
    fn hold(&self) {
        *self.held.lock().unwrap() = Some(Vec::new());
    }

    fn release(&self) {
        let held = self.held.lock().unwrap().take().unwrap_or_default();
        for signal in held {
            self.inner.publish(signal);
        }
    }
}

impl WakeBus for LateBus {
    fn publish(&self, signal: Signal) {
        match self.held.lock().unwrap().as_mut() {
            Some(held) => held.push(signal),
            None => self.inner.publish(signal),
        }
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Signal> {
        self.inner.subscribe()
    }
}

#[test]
fn a_push_follows_the_database_its_commit_left_not_a_later_one() {
    let bus = Arc::new(LateBus::default());
    let world = World::on(TestHub::start_with(|config| {
        config.push_allow_http = true;
        config.push_policy = Some(quick_retries());
        config.wake_bus = Some(bus.clone());
    }));
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, Some("south"));
    let desk = dispatcher.api(hub);
    let distributor = Distributor::start(201);
    let endpoint = distributor.endpoint("ana-phone");
    sync::register_push(&ana.store, &endpoint).unwrap();
    ana.sync(hub);

    // The open is not ana's business; the assignment right after it is. Heard late,
    // the open's signal would find her assigned already and push her a second time.
    bus.hold();
    let id = desk.open_incident(PLACE, None, None);
    desk.assign(&id, &ana, true);
    assert_eq!(
        distributor.wait_for(&endpoint, 1).len(),
        1,
        "the push does not wait for the bus"
    );
    bus.release();
    // A later event she is pushed for: once its wake is in, any duplicate of the
    // first would have been sent before it.
    let (status, body) = desk.put(
        &format!("/v1/incidents/{id}/report"),
        serde_json::json!({ "place_text": PLACE, "description": "three vans now", "urgency": "critical" }),
    );
    assert_eq!(status, 200, "{body}");
    let wakes = distributor.wait_for(&endpoint, 2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        distributor.to(&endpoint).len(),
        2,
        "one push for the assignment, one for the edit: {wakes:?}"
    );
}

#[test]
fn revoking_a_device_ends_its_wait_and_its_push_registration() {
    let world = world(quick_retries());
    let hub = &world.hub;
    let ana = world.enrol("ana", Role::Volunteer, None);
    let distributor = Distributor::start(201);
    sync::register_push(&ana.store, &distributor.endpoint("ana")).unwrap();
    let registered = |device: &str| {
        hub.query_i64(
            "SELECT count(*) FROM push_endpoints WHERE device_id = ?1",
            &[&device],
        )
    };
    let device = ana.store.device_id().to_string();
    assert_eq!(registered(&device), 1);

    let outcome = std::thread::scope(|s| {
        let waiting = s.spawn(|| wait(&ana, 60));
        until_waiting(hub, 1);
        let (status, body) = world.coordinator.api(hub).post(
            &format!("/v1/devices/{device}/revoke"),
            serde_json::json!({}),
        );
        assert_eq!(status, 200, "{body}");
        waiting.join().expect("the waiting phone")
    });
    let err = outcome.expect_err("a revoked device's wait ends with a refusal");
    assert!(err.to_string().contains("revoked"), "{err}");
    assert_eq!(hub.watch.waiting_phones(), 0);
    assert_eq!(
        registered(&device),
        0,
        "the push registration went with the device"
    );
}

#[test]
fn cancelling_a_wait_closes_it_on_the_hub() {
    let world = world(quick_retries());
    let hub = &world.hub;
    let ana = world.enrol("ana", Role::Volunteer, None);
    let cancel = WaitCancel::default();
    let outcome = std::thread::scope(|s| {
        let waiting = s.spawn(|| sync::wait_for_work(&ana.store, Duration::from_secs(60), &cancel));
        until_waiting(hub, 1);
        cancel.cancel();
        waiting.join().expect("the waiting phone")
    });
    assert_eq!(outcome.unwrap(), WaitOutcome::Cancelled);
    // The hub notices the closed connection and forgets the wait.
    for _ in 0..500 {
        if hub.watch.waiting_phones() == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the hub still holds the cancelled wait");
}

#[test]
fn dead_push_endpoints_are_retried_then_dropped() {
    let world = world(quick_retries());
    let hub = &world.hub;
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let ana = world.enrol("ana", Role::Volunteer, None);
    let bo = world.enrol("bo", Role::Volunteer, None);
    let desk = dispatcher.api(hub);
    let failing = Distributor::start(503);
    let gone = Distributor::start(410);
    sync::register_push(&ana.store, &failing.endpoint("ana")).unwrap();
    sync::register_push(&bo.store, &gone.endpoint("bo")).unwrap();
    let registered = |person: &Person| {
        hub.query_i64(
            "SELECT count(*) FROM push_endpoints WHERE device_id = ?1",
            &[&person.store.device_id().to_string()],
        )
    };
    let eventually = |person: &Person, count: i64| {
        for _ in 0..3000 {
            if registered(person) == count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    };

    // A distributor that says the endpoint is gone: dropped at the first wake.
    let first = desk.open_incident(PLACE, None, None);
    desk.assign(&first, &bo, true);
    assert!(eventually(&bo, 0), "a 410 drops the endpoint");
    assert_eq!(gone.to(&gone.endpoint("bo")).len(), 1);

    // One that keeps failing: each wake is tried twice, and after two failed wakes
    // in a row the endpoint is dropped.
    desk.assign(&first, &ana, true);
    assert_eq!(failing.wait_for(&failing.endpoint("ana"), 2).len(), 2);
    assert!(eventually(&ana, 1), "one failed wake is forgiven");
    let second = desk.open_incident("Gravois Ave", None, None);
    desk.assign(&second, &ana, true);
    assert!(eventually(&ana, 0), "repeated failures drop the endpoint");
    assert_eq!(failing.to(&failing.endpoint("ana")).len(), 4);

    // Plain-http and malformed endpoints are refused by a hub that does not allow them.
    let strict = World::new();
    let carla = strict.enrol("carla", Role::Volunteer, None);
    let err = sync::register_push(&carla.store, "http://10.0.0.5/up").unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");
    assert!(sync::register_push(&carla.store, "not a url").is_err());
}
