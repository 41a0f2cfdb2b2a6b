//! The dispatcher console's security, over real HTTP: who may sign in, how sessions
//! end, CSRF on every change, the headers on every page, and caller contact kept out
//! of every URL and list. (The browser test in `tests/console/` drives the same pages
//! in Chromium.)

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use testigo_core::incident::Role;
use testigo_core::sync;
use testigo_hub::console::{CONTENT_SECURITY_POLICY, COOKIE_NAME, IDLE_TIMEOUT, MAX_SESSION};
use testigo_tests::{Person, World};

const PHONE: &str = "+1 314 555 0123";
const CALLER: &str = "Marisol Q.";

/// A browser's view of the console: a cookie jar of one cookie, and the CSRF token.
struct Console {
    base: String,
    client: Client,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Console {
    fn new(world: &World) -> Self {
        Self {
            base: world.hub.url.clone(),
            client: Client::new(),
            cookie: None,
            csrf: None,
        }
    }

    fn read(response: Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Page {
            status,
            headers,
            body: response.text().unwrap_or_default(),
        }
    }

    fn with_cookie(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.cookie {
            Some(c) => request.header("cookie", format!("{COOKIE_NAME}={c}")),
            None => request,
        }
    }

    fn sign_in(&mut self, body: Value) -> Page {
        let request = self.with_cookie(
            self.client
                .post(format!("{}/console/api/sign-in", self.base)),
        );
        let page = Self::read(request.json(&body).send().expect("hub answers"));
        if page.status == 200 {
            let set = page.header("set-cookie").to_owned();
            let value = set
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix(&format!("{COOKIE_NAME}=")))
                .expect("a session cookie");
            self.cookie = Some(value.to_owned());
            self.csrf = page.json()["csrf"].as_str().map(str::to_owned);
        }
        page
    }

    fn get(&self, path: &str) -> Page {
        Self::read(
            self.with_cookie(self.client.get(format!("{}{path}", self.base)))
                .send()
                .expect("hub answers"),
        )
    }

    fn get_background(&self, path: &str) -> Page {
        Self::read(
            self.with_cookie(self.client.get(format!("{}{path}", self.base)))
                .header("x-console-background", "1")
                .send()
                .expect("hub answers"),
        )
    }

    fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .with_cookie(self.client.post(format!("{}/console/api{path}", self.base)))
            .json(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        Self::read(request.send().expect("hub answers"))
    }

    fn post(&self, path: &str, body: &Value) -> Page {
        let csrf = self.csrf.clone().expect("signed in");
        self.post_with(path, body, &[("x-csrf-token", &csrf)])
    }

    fn open_incident(&self) -> String {
        let page = self.post(
            "/incidents",
            &json!({ "place_text": "Gravois Ave & Chippewa St", "point": { "lat": 38.5915, "lon": -90.2420 }, "description": "agents at the laundromat",
                     "urgency": "high", "team": "south", "caller_name": CALLER, "caller_phone": PHONE }),
        );
        assert_eq!(page.status, 200, "{}", page.body);
        page.json()["id"].as_str().expect("id").to_owned()
    }
}

fn credential(person: &Person) -> String {
    person.store.identity().credential.expect("enrolled")
}

fn signed_in(world: &World, person: &Person) -> Console {
    let mut console = Console::new(world);
    let page = console.sign_in(json!({ "credential": credential(person) }));
    assert_eq!(page.status, 200, "{} signs in: {}", person.name, page.body);
    console
}

#[test]
fn every_console_response_carries_a_strict_content_security_policy() {
    let world = World::new();
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let console = signed_in(&world, &dispatcher);
    for path in [
        "/console/",
        "/console/app.js",
        "/console/style.css",
        "/console/api/session",
        "/console/api/incidents",
        "/console/nope",
    ] {
        let page = console.get(path);
        assert_eq!(
            page.header("content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert!(
            CONTENT_SECURITY_POLICY.contains("script-src 'self'")
                && !CONTENT_SECURITY_POLICY.contains("unsafe")
        );
        assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(page.header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(page.header("x-frame-options"), "DENY", "{path}");
    }
    assert_eq!(
        console
            .get("/console/api/incidents")
            .header("cache-control"),
        "no-store",
        "answers with caller data are never cached"
    );
    let html = console.get("/console/").body;
    assert!(html.contains(r#"<script type="module" src="/console/app.js">"#));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, loaded from the hub, none inline"
    );
    assert!(
        !html.contains("style=") && !html.contains("<style"),
        "no inline style"
    );
    let no_redirects = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = no_redirects
        .get(format!("{}/console", world.hub.url))
        .send()
        .unwrap();
    assert_eq!(
        (
            bare.status().as_u16(),
            bare.headers()["location"].to_str().unwrap()
        ),
        (308, "/console/")
    );
}

#[test]
fn a_volunteer_cannot_sign_in_and_a_volunteer_code_is_not_spent_trying() {
    let world = World::new();
    let volunteer = world.enrol("ana", Role::Volunteer, Some("north"));
    let mut console = Console::new(&world);
    let page = console.sign_in(json!({ "credential": credential(&volunteer) }));
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.header("set-cookie").is_empty(),
        "no session for a volunteer"
    );

    let code = world
        .coordinator
        .api(&world.hub)
        .code(Role::Volunteer, Some("north"));
    let page = console.sign_in(json!({ "code": code }));
    assert_eq!(page.status, 403, "{}", page.body);
    let phone = Person::new("ben");
    sync::enroll(&phone.store, &world.hub.url, &code)
        .expect("the code still enrols the phone it was made for");

    assert_eq!(
        console
            .sign_in(json!({ "credential": "00".repeat(32) }))
            .status,
        401
    );
    assert_eq!(
        console.sign_in(json!({ "code": "AAAA-BBBB-CCCC" })).status,
        401
    );
    assert_eq!(
        console.get("/console/api/incidents").status,
        401,
        "nothing without a session"
    );
}

#[test]
fn a_one_time_code_enrols_a_console_device_whose_credential_works_later() {
    let world = World::new();
    let code = world
        .coordinator
        .api(&world.hub)
        .code(Role::TeamLead, Some("north"));
    let mut console = Console::new(&world);
    let page = console.sign_in(json!({ "code": code }));
    assert_eq!(page.status, 200, "{}", page.body);
    let info = page.json();
    assert_eq!(info["role"], "team_lead");
    assert_eq!(info["team"], "north");
    let credential = info["credential"]
        .as_str()
        .expect("the new credential, once")
        .to_owned();
    assert_eq!(
        console.get("/console/api/session").json()["credential"],
        Value::Null,
        "shown only once"
    );
    assert_eq!(
        Console::new(&world).sign_in(json!({ "code": code })).status,
        409,
        "a code works once"
    );

    let mut later = Console::new(&world);
    let page = later.sign_in(json!({ "credential": credential }));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json()["device_id"], info["device_id"]);
}

#[test]
fn every_change_needs_the_sessions_csrf_token_from_the_consoles_origin() {
    let world = World::new();
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let console = signed_in(&world, &dispatcher);
    let body = json!({ "place_text": "Broadway & Chouteau", "urgency": "normal" });
    assert_eq!(
        console.post_with("/incidents", &body, &[]).status,
        403,
        "no token"
    );
    assert_eq!(
        console
            .post_with("/incidents", &body, &[("x-csrf-token", &"0".repeat(64))])
            .status,
        403,
        "wrong token"
    );
    let other = signed_in(&world, &dispatcher);
    assert_eq!(
        console
            .post_with(
                "/incidents",
                &body,
                &[("x-csrf-token", other.csrf.as_deref().unwrap())]
            )
            .status,
        403,
        "another session's token"
    );
    let token = console.csrf.clone().unwrap();
    assert_eq!(
        console
            .post_with(
                "/incidents",
                &body,
                &[("x-csrf-token", &token), ("sec-fetch-site", "cross-site")]
            )
            .status,
        403,
        "from another site"
    );
    assert_eq!(
        console
            .post_with(
                "/incidents",
                &body,
                &[("x-csrf-token", &token), ("origin", "https://evil.example")]
            )
            .status,
        403,
        "from another origin"
    );
    assert_eq!(
        console.post_with("/sign-out", &json!({}), &[]).status,
        403,
        "even signing out"
    );
    assert_eq!(
        world.hub.query_i64("SELECT count(*) FROM incidents", &[]),
        0,
        "nothing was opened"
    );
    assert_eq!(
        console.post("/incidents", &body).status,
        200,
        "with the token, from the console"
    );

    let form = console
        .client
        .post(format!("{}/console/api/sign-in", console.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("credential=00")
        .send()
        .unwrap();
    assert_eq!(
        form.status().as_u16(),
        400,
        "a cross-site form cannot even try to sign in"
    );
}

#[test]
fn sessions_end_when_idle_after_a_shift_and_at_sign_out() {
    let world = World::new();
    let lead = world.enrol("lead", Role::TeamLead, Some("north"));
    let clock = &world.hub.clock;
    let idle = Span::from_std(IDLE_TIMEOUT).unwrap();

    let console = signed_in(&world, &lead);
    clock.advance(idle - Span::minutes(1));
    assert_eq!(
        console.get("/console/api/incidents").status,
        200,
        "active just in time"
    );
    clock.advance(Span::hours(3));
    assert_eq!(
        console.get("/console/api/incidents").status,
        200,
        "that request counted as activity"
    );
    clock.advance(idle);
    assert_eq!(
        console.get("/console/api/incidents").status,
        401,
        "idle for the whole timeout"
    );

    let console = signed_in(&world, &lead);
    clock.advance(idle / 2);
    assert_eq!(
        console.get_background("/console/api/incidents").status,
        200,
        "the page refreshing by itself"
    );
    clock.advance(idle / 2);
    assert_eq!(
        console.get("/console/api/incidents").status,
        401,
        "background refreshes do not keep a session alive"
    );

    let console = signed_in(&world, &lead);
    let mut elapsed = Span::zero();
    let max = Span::from_std(MAX_SESSION).unwrap();
    while elapsed + idle / 2 < max {
        clock.advance(idle / 2);
        elapsed += idle / 2;
        assert_eq!(console.get("/console/api/session").status, 200);
    }
    clock.advance(max - elapsed);
    assert_eq!(
        console.get("/console/api/session").status,
        401,
        "however busy, a session ends after a shift"
    );

    let mut console = signed_in(&world, &lead);
    let first = Console {
        cookie: console.cookie.clone(),
        ..Console::new(&world)
    };
    assert_eq!(
        console
            .sign_in(json!({ "credential": credential(&lead) }))
            .status,
        200
    );
    assert_eq!(
        first.get("/console/api/session").status,
        401,
        "signing in again ends the browser's old session"
    );
    assert_eq!(console.post("/sign-out", &json!({})).status, 200);
    assert_eq!(
        console.get("/console/api/session").status,
        401,
        "signed out"
    );
}

#[test]
fn caller_contact_never_appears_in_a_console_url_list_or_page() {
    let world = World::new();
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let lead = world.enrol("lead", Role::TeamLead, Some("south"));
    let console = signed_in(&world, &dispatcher);
    let id = console.open_incident();
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();

    let lead_console = signed_in(&world, &lead);
    let pages = [
        "/console/".to_owned(),
        "/console/app.js".to_owned(),
        "/console/incident.js".to_owned(),
        "/console/api/incidents".to_owned(),
        format!("/console/api/incidents/{id}"),
        format!("/console/api/incidents/{id}/checklist"),
        format!("/console/api/incidents/{id}/map"),
        format!("/console/api/incidents/{id}/map.svg"),
        format!("/console/api/evidence?incidents={id}"),
    ];
    for who in [&console, &lead_console] {
        for path in &pages {
            assert!(!path.contains(&digits) && !path.contains(CALLER), "{path}");
            let page = who.get(path);
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            let flat: String = page.body.chars().filter(char::is_ascii_digit).collect();
            assert!(
                !page.body.contains(CALLER)
                    && !page.body.contains(PHONE)
                    && !flat.contains(&digits),
                "caller data in {path}"
            );
        }
    }
    // Only the dispatcher's explicit request returns it, and never to a team lead.
    let contact = console.get(&format!("/console/api/incidents/{id}/caller"));
    assert_eq!(contact.json()["phone"], PHONE);
    assert_eq!(
        lead_console
            .get(&format!("/console/api/incidents/{id}/caller"))
            .status,
        403
    );
}

#[test]
fn the_console_has_the_apis_roles_a_team_lead_confirms_and_a_dispatcher_cannot() {
    let world = World::new();
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let lead = world.enrol("lead", Role::TeamLead, Some("south"));
    let desk = signed_in(&world, &dispatcher);
    let id = desk.open_incident();
    let confirm =
        json!({ "determination": "verified", "confidence": "high", "note": "photos match" });

    assert_eq!(
        desk.post(&format!("/incidents/{id}/confirm"), &confirm)
            .status,
        403,
        "a dispatcher cannot confirm"
    );
    let lead_console = signed_in(&world, &lead);
    assert_eq!(
        lead_console
            .post(
                &format!("/incidents/{id}/assign"),
                &json!({ "team": "north" })
            )
            .status,
        403,
        "a team lead cannot assign"
    );
    assert_eq!(
        lead_console.get("/console/api/devices").status,
        403,
        "nor list devices"
    );
    let page = lead_console.post(&format!("/incidents/{id}/confirm"), &confirm);
    assert_eq!(page.status, 200, "{}", page.body);
    let view = page.json();
    assert_eq!(view["status"]["status"], "confirmed");
    assert_eq!(
        view["status"]["confirmations"][0]["by"],
        lead.store.device_id().to_string(),
        "recorded as the lead's"
    );

    // The hub wrote it with its own key, on the lead's behalf, and devices get it.
    let hub_id = world.hub.query_i64(
        "SELECT count(*) FROM changes WHERE incident_id = ?1 AND from_device != ?2",
        &[&id, &lead.store.device_id().to_string()],
    );
    assert!(hub_id >= 2, "the hub's signed changes");
    assert_eq!(lead.sync(&world.hub).incidents_added, 1);
    assert_eq!(
        lead.view(&testigo_core::ids::IncidentId::parse(&id).unwrap())
            .status
            .confirmations
            .len(),
        1
    );
}

#[test]
fn an_open_page_hears_about_every_change() {
    let world = World::new();
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let console = signed_in(&world, &dispatcher);
    let mut stream = console.get_stream("/console/api/events");
    stream.expect("event: ready");
    let id = console.open_incident();
    stream.expect("event: changed");
    let revision = stream.data();
    // Reading (which the hub audits) is not a change: no page refreshes because another
    // page did.
    for _ in 0..3 {
        assert_eq!(
            console.get(&format!("/console/api/incidents/{id}")).status,
            200
        );
    }
    assert_eq!(
        console
            .post(&format!("/incidents/{id}/caller-notified"), &json!({}))
            .status,
        200
    );
    stream.expect("event: changed");
    drop(stream);
    // A new stream starts at the current revision: one more, for the one change.
    let mut fresh = console.get_stream("/console/api/events");
    fresh.expect("event: ready");
    assert_eq!(fresh.data(), revision + 1, "the reads moved nothing");
}

/// A team lead's page must not tick when incidents they cannot see are busy (that
/// alone tells when another team is out), nor carry the hub-wide revision.
#[test]
fn a_team_leads_page_hears_only_of_incidents_they_may_see() {
    let world = World::new();
    let desk = world
        .enrol("dispatcher", Role::Dispatcher, None)
        .api(&world.hub);
    let lead = world.enrol("lead", Role::TeamLead, Some("south"));
    let north = desk.open_incident("North", None, Some("north"));
    let south = desk.open_incident("South", None, Some("south"));
    let edit = |id: &testigo_core::ids::IncidentId, text: &str| {
        let (status, body) = desk.put(
            &format!("/v1/incidents/{id}/report"),
            json!({ "place_text": text, "urgency": "high" }),
        );
        assert_eq!(status, 200, "{body}");
    };
    let console = signed_in(&world, &lead);
    let mut stream = console.get_stream("/console/api/events");
    stream.expect("event: ready");
    assert_eq!(stream.data(), 0, "no hub-wide count");
    for round in 1..=2u64 {
        for i in 0..3 {
            edit(&north, &format!("North {round}.{i}"));
        }
        std::thread::sleep(Duration::from_millis(600));
        edit(&south, &format!("South {round}"));
        stream.expect("event: changed");
        assert_eq!(
            stream.data(),
            round,
            "only the south incident's changes count"
        );
    }
}

/// Reading server-sent events off a live response.
struct Stream {
    response: Response,
    seen: String,
    /// What came before the last match.
    last: String,
}

impl Stream {
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 512];
        while !self.seen.contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in {:?}",
                self.seen
            );
            let n = self.response.read(&mut buf).expect("stream open");
            assert!(n > 0, "stream ended before {needle:?}");
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let (before, rest) = self
            .seen
            .split_once(needle)
            .map(|(b, r)| (b.to_owned(), r.to_owned()))
            .unwrap_or_default();
        self.last = before;
        self.seen = rest;
    }

    /// The data line of the event just matched.
    fn data(&mut self) -> u64 {
        self.expect("\n\n");
        let line = self
            .last
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap_or_else(|| panic!("no data in {:?}", self.last));
        line.trim().parse().expect("a revision number")
    }
}

impl Console {
    fn get_stream(&self, path: &str) -> Stream {
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let response = self
            .with_cookie(client.get(format!("{}{path}", self.base)))
            .send()
            .expect("hub answers");
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Stream {
            response,
            seen: String::new(),
            last: String::new(),
        }
    }
}

impl Console {
    fn post_file(&self, path: &str, body: &str, csrf: bool) -> Page {
        let mut request = self
            .with_cookie(self.client.post(format!("{}/console/api{path}", self.base)))
            .header("content-type", "application/octet-stream")
            .body(body.to_owned());
        if csrf {
            request = request.header("x-csrf-token", self.csrf.clone().expect("signed in"));
        }
        Self::read(request.send().expect("hub answers"))
    }
}

#[test]
fn a_coordinator_imports_and_publishes_a_checklist_from_the_console() {
    let form = "survey,type,name,label::English (en),label::Español (es),required,appearance\n\
                ,geopoint,arrival,Check in,Registre su llegada,yes,checkpoint\n\
                ,select_one yn,agents,Agents?,¿Agentes?,yes,\n\
                ,geopoint,departure,Check out,Registre su salida,yes,checkpoint\n\
                choices,list_name,name,label::English (en),label::Español (es)\n\
                ,yn,yes,Yes,Sí\n,yn,no,No,No\n,yn,unknown,Unknown,No se sabe\n\
                settings,form_id,version,form_title,form_title::Español (es)\n\
                ,short-check,1,Short check,Verificación corta\n";
    let world = World::new();
    let coordinator = signed_in(&world, &world.coordinator);
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let dispatcher = signed_in(&world, &dispatcher);

    assert_eq!(
        coordinator.post_file("/templates", form, false).status,
        403,
        "no CSRF token, no import"
    );
    let page = dispatcher.post_file("/templates", form, true);
    assert_eq!(
        page.status, 403,
        "a dispatcher cannot import: {}",
        page.body
    );
    let page = coordinator.post_file("/templates", form, true);
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json()["questions"], 3);
    let page = dispatcher.post(
        "/templates/publish",
        &json!({"id": "short-check", "version": 1}),
    );
    assert_eq!(page.status, 403, "{}", page.body);
    let page = coordinator.post(
        "/templates/publish",
        &json!({"id": "short-check", "version": 1}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let listed = dispatcher.get("/console/api/templates").json();
    assert!(listed[0]["published_at_ms"].is_i64(), "{listed}");

    // The console opens incidents with the newest publication and shows its checklist.
    let id = dispatcher.open_incident();
    let view = dispatcher
        .get(&format!("/console/api/incidents/{id}"))
        .json();
    assert_eq!(view["template"], json!({"id": "short-check", "version": 1}));
    let checklist = dispatcher
        .get(&format!("/console/api/incidents/{id}/checklist?lang=es"))
        .json();
    // Nobody has answered yet, so it shows no questions; it is the published checklist.
    assert_eq!(
        checklist["template"],
        json!({"id": "short-check", "version": 1}),
        "{checklist}"
    );
}
