//! A sync where nothing changed costs the same few dozen bytes whether the device
//! holds one incident or a thousand, in one request, without opening a document.

use testigo_core::incident::Role;
use testigo_tests::proxy::Proxy;
use testigo_tests::World;

#[test]
fn a_no_op_sync_with_1000_incidents_is_one_request_of_a_few_bytes() {
    let world = World::new();
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None).api(hub);
    let busy = world.enrol("busy", Role::Volunteer, Some("bulk"));
    let quiet = world.enrol("quiet", Role::Volunteer, Some("single"));
    for i in 0..1000 {
        desk.open_incident(&format!("Block {i}"), None, Some("bulk"));
    }
    desk.open_incident("The only one", None, Some("single"));

    let first = busy.sync(hub);
    assert_eq!(first.incidents_added, 1000);
    assert_eq!(busy.store.incident_count().unwrap(), 1000);
    assert_eq!(quiet.sync(hub).incidents_added, 1);

    let loads = busy.store.document_loads();
    let noop = busy.sync(hub);
    println!(
        "no-op sync, 1000 incidents: {} request(s), {} bytes up, {} bytes down, {} total (bodies)",
        noop.requests,
        noop.bytes_up,
        noop.bytes_down,
        noop.bytes_up + noop.bytes_down
    );
    assert_eq!(noop.requests, 1);
    assert_eq!(
        (
            noop.changes_up,
            noop.changes_down,
            noop.incidents_added,
            noop.incidents_removed
        ),
        (0, 0, 0, 0)
    );
    assert!(noop.bytes_up + noop.bytes_down <= 512, "{noop:?}");
    assert_eq!(
        busy.store.document_loads(),
        loads,
        "a no-op sync opens no document"
    );

    // The same round through a proxy that counts whole HTTP messages, headers included.
    let proxy = Proxy::start(hub.addr);
    let counted = testigo_core::sync::sync(&busy.store, Some(&proxy.url)).unwrap();
    assert_eq!(counted.requests, 1);
    let (request, response) = proxy.wire_sizes()[0];
    println!("no-op sync, 1000 incidents, on the wire with HTTP headers: {request} bytes up, {response} bytes down");
    assert!(request + response <= 768, "{request} + {response}");

    let single = quiet.sync(hub);
    println!(
        "no-op sync, 1 incident: {} bytes up, {} bytes down",
        single.bytes_up, single.bytes_down
    );
    assert!(
        (single.bytes_up + single.bytes_down).abs_diff(noop.bytes_up + noop.bytes_down) <= 8,
        "the cost does not grow with incidents"
    );
}
