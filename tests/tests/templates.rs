//! A coalition's own checklist, end to end: the coordinator imports an XLSForm and
//! publishes it; a volunteer's phone receives it with its next sync, keeps it across a
//! restart, and answers an incident opened with it, in Spanish. Incidents already in
//! progress keep the checklist they started with, and a template from outside is
//! checked by the hub and again by the phone.

use chrono::Utc;
use serde_json::json;
use testigo_core::checklist::{evaluate, AnswerValue, CheckedTemplate, YesNo};
use testigo_core::incident::{Role, TemplateRef};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::store::Store;
use testigo_tests::{Person, World};

/// The coalition's form as pyxform's one-file CSV, the way a spreadsheet saves it.
const FORM: &str = "\
survey,type,name,label::English (en),label::Español (es),required,relevant,constraint,constraint_message::English (en),constraint_message::Español (es),appearance
,start,start,,,,,,,,
,begin_group,llegada,Arrival,Llegada,,,,,,
,geopoint,arrival,Check in,Registre su llegada,yes,,,,,checkpoint
,end_group,,,,,,,,,
,begin_group,escena,Scene,Lugar,,,,,,
,select_one yn,agentes_presentes,Are there agents?,¿Hay agentes?,yes,,,,,
,integer,cuantos,How many?,¿Cuántos?,yes,${agentes_presentes} = 'yes',. >= 1 and . <= 100,From 1 to 100,Escriba de 1 a 100,
,select_multiple vehiculos,vehiculos,Which vehicles?,¿Qué vehículos?,yes,${cuantos} >= 1,,,,
,text,notas,Notes,Notas,,,string-length(.) <= 300,300 letters at most,300 letras como máximo,
,end_group,,,,,,,,,
,begin_group,salida,Departure,Salida,,,,,,
,geopoint,departure,Check out,Registre su salida,yes,,,,,checkpoint
,end_group,,,,,,,,,
choices,list_name,name,label::English (en),label::Español (es)
,yn,yes,Yes,Sí
,yn,no,No,No
,yn,unknown,Unknown,No se sabe
,vehiculos,van,Van,Camioneta
,vehiculos,suv,SUV,Todoterreno
settings,form_id,version,default_language,form_title,form_title::Español (es)
,coalicion-norte,3,English (en),North coalition check,Verificación de la coalición norte
";

fn fix() -> LocationFix {
    LocationFix {
        lat: 38.6271,
        lon: -90.1993,
        accuracy_m: 6.0,
        altitude_m: None,
        provider: LocationProvider::Gps,
        fix_time: Utc::now(),
        mock: false,
    }
}

fn coalition() -> TemplateRef {
    TemplateRef {
        id: "coalicion-norte".into(),
        version: 3,
    }
}

/// The phone after a restart: the store opened again from its file and key.
fn restart(person: &mut Person) {
    let path = person.dir().join("device.db");
    person.store = Store::open(&path, &person.key).expect("store reopens");
}

#[test]
fn a_published_xlsform_reaches_the_phone_which_keeps_it_and_answers_in_spanish() {
    let world = World::new();
    let coordinator = world.coordinator.api(&world.hub);
    let dispatcher = world.enrol("dispatcher", Role::Dispatcher, None);
    let mut ana = world.enrol("ana", Role::Volunteer, Some("norte"));

    // An incident already in progress on the shipped checklist.
    let earlier = dispatcher
        .api(&world.hub)
        .open_incident("Calle 1", None, Some("norte"));
    ana.sync(&world.hub);
    let quiet = ana.sync(&world.hub);
    assert_eq!(quiet.templates_received, 0);

    // Only a coordinator imports and publishes.
    let (status, body) =
        ana.api(&world.hub)
            .post_raw("/v1/templates", "text/csv", FORM.as_bytes().to_vec());
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        coordinator.post_raw("/v1/templates", "text/csv", FORM.as_bytes().to_vec());
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["id"].as_str(), body["version"].as_u64()),
        (Some("coalicion-norte"), Some(3))
    );
    assert_eq!(
        body["warnings"][0]["row"], 2,
        "the start row is reported as left out: {body}"
    );
    let (status, body) = dispatcher.api(&world.hub).post(
        "/v1/templates/publish",
        json!({"id": "coalicion-norte", "version": 3}),
    );
    assert_eq!(status, 403, "{body}");

    // Imported but not published: nobody receives it, nobody may open an incident with it.
    assert_eq!(ana.sync(&world.hub).templates_received, 0);
    let (status, body) = dispatcher.api(&world.hub).post(
        "/v1/incidents",
        json!({"place_text": "Calle 2", "urgency": "high", "template": coalition()}),
    );
    assert_eq!(status, 400, "{body}");

    let (status, body) = coordinator.post(
        "/v1/templates/publish",
        json!({"id": "coalicion-norte", "version": 3}),
    );
    assert_eq!(status, 200, "{body}");
    // The dispatcher names no checklist: the hub opens it with the newest publication.
    let id = dispatcher
        .api(&world.hub)
        .open_incident("Calle 3", None, Some("norte"));
    assert_eq!(
        dispatcher.api(&world.hub).view(&id).template,
        Some(coalition())
    );

    let received = ana.sync(&world.hub);
    assert_eq!(received.templates_received, 1, "{received:?}");
    assert!(received.templates_refused.is_empty());
    assert_eq!(received.incidents_added, 1);
    // Received once: the next no-op sync carries nothing and is the no-op size again.
    let after = ana.sync(&world.hub);
    assert_eq!(after.templates_received, 0);
    // Only the cursor's varint may have grown meanwhile; no template rides along.
    assert!(
        after.bytes_down.abs_diff(quiet.bytes_down) <= 2,
        "a no-op sync is the no-op size: {} bytes now, {} before",
        after.bytes_down,
        quiet.bytes_down
    );

    // The phone restarts: the checklist is still there, from the encrypted store.
    restart(&mut ana);
    assert_eq!(ana.store.current_template().unwrap(), coalition());
    ana.store.set_locale("es");
    let checklist = |store: &Store| {
        let view = store.view(&id).unwrap();
        store.with_templates(|r| {
            evaluate(
                r.resolve(&view.template.clone().unwrap()).unwrap(),
                &view.answers,
                &store.device_id(),
                "es",
            )
        })
    };
    let before = checklist(&ana.store);
    assert_eq!(before.sections[0].questions[0].label, "Registre su llegada");
    assert_eq!(before.sections[1].questions[0].label, "¿Hay agentes?");

    ana.store.check_in(&id, fix()).unwrap();
    ana.store
        .answer(&id, "agentes_presentes", AnswerValue::YesNo(YesNo::Yes))
        .unwrap();
    let refused = ana
        .store
        .answer(&id, "cuantos", AnswerValue::Count(500))
        .unwrap_err();
    assert!(
        refused.to_string().contains("Escriba de 1 a 100"),
        "{refused}"
    );
    ana.store
        .answer(&id, "cuantos", AnswerValue::Count(4))
        .unwrap();
    ana.store
        .answer(
            &id,
            "vehiculos",
            AnswerValue::Choices(vec!["van".into(), "suv".into()]),
        )
        .unwrap();
    ana.store
        .answer(
            &id,
            "notas",
            AnswerValue::Text("Dos camionetas sin placas".into()),
        )
        .unwrap();
    ana.store.check_out(&id, fix()).unwrap();
    let done = checklist(&ana.store);
    assert!(done.complete, "{:?}", done.next);
    assert_eq!((done.progress.answered, done.progress.required), (5, 5));
    assert_eq!(
        done.sections[1].questions[2].display.as_deref(),
        Some("Camioneta, Todoterreno")
    );

    ana.sync(&world.hub);
    ana.assert_everything_sent();
    let hub_view = dispatcher.api(&world.hub).view(&id);
    assert_eq!(
        ana.answer_in(&hub_view, "cuantos"),
        Some(AnswerValue::Count(4))
    );
    assert!(matches!(
        ana.answer_in(&hub_view, "departure"),
        Some(AnswerValue::Checkpoint { .. })
    ));

    // The incident in progress kept the shipped checklist.
    assert_eq!(
        ana.view(&earlier).template.map(|t| t.id),
        Some("field-verification".into())
    );
    // A new field incident on the phone opens with the published one.
    assert_eq!(ana.store.current_template().unwrap(), coalition());
}

#[test]
fn templates_from_outside_are_checked_by_the_hub_and_again_by_the_phone() {
    let world = World::new();
    let coordinator = world.coordinator.api(&world.hub);
    let ana = world.enrol("ana", Role::Volunteer, None);

    // A form with an unsupported feature: refused, naming the row.
    let repeat = FORM.replace(",begin_group,escena", ",begin_repeat,escena");
    let (status, body) = coordinator.post_raw("/v1/templates", "text/csv", repeat.into_bytes());
    assert_eq!(status, 400, "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("survey row 6 (type): repeats are not supported"),
        "{body}"
    );
    // Template JSON that fails the check (a skip-logic cycle).
    let mut cyclic: serde_json::Value = serde_json::to_value(
        testigo_core::checklist::default_template()
            .unwrap()
            .template(),
    )
    .unwrap();
    cyclic["id"] = json!("cyclic");
    cyclic["sections"][1]["questions"][0]["relevance"] = json!({"answered": "agencies"});
    let (status, body) = coordinator.post_raw(
        "/v1/templates",
        "application/json",
        cyclic.to_string().into_bytes(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("cycle"), "{body}");
    // The same version with other content is refused: incidents may have started on it.
    let (status, _) = coordinator.post_raw("/v1/templates", "text/csv", FORM.as_bytes().to_vec());
    assert_eq!(status, 200);
    let changed = FORM.replace("How many?", "How many agents?");
    let (status, body) = coordinator.post_raw("/v1/templates", "text/csv", changed.into_bytes());
    assert_eq!(status, 409, "{body}");

    let (status, body) = coordinator.post(
        "/v1/templates/publish",
        json!({"id": "coalicion-norte", "version": 3}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(ana.sync(&world.hub).templates_received, 1);

    // A tampered hub database: a published row the hub never checked. The phone checks
    // it again, refuses it, and the sync goes on.
    let conn = rusqlite::Connection::open(&world.hub.db_path).unwrap();
    let mut broken = cyclic.clone();
    broken["id"] = json!("tampered");
    conn.execute(
        "INSERT INTO templates (template_id, version, json, imported_at, imported_by, published_seq, published_at, published_by)
         VALUES ('tampered', 1, ?1, 0, 'x', (SELECT value + 1000 FROM hub_meta WHERE key = 'seq'), 0, 'x')",
        [broken.to_string()],
    )
    .unwrap();
    conn.execute(
        "UPDATE hub_meta SET value = value + 1000 WHERE key = 'seq'",
        [],
    )
    .unwrap();
    drop(conn);
    let report = ana.sync(&world.hub);
    assert_eq!(report.templates_received, 0);
    assert_eq!(report.templates_refused.len(), 1, "{report:?}");
    assert!(
        report.templates_refused[0].contains("cycle"),
        "{:?}",
        report.templates_refused
    );
    assert!(ana
        .store
        .with_templates(|r| r.versions("tampered").is_empty()));
    assert!(CheckedTemplate::from_json(&broken.to_string()).is_err());
}
