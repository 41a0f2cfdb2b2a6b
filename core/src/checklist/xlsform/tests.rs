//! Import and export over forms written here, in `.xlsx` (written with rust_xlsxwriter,
//! independently of the exporter) and in pyxform's one-file CSV, from one table.

use serde_json::json;

use super::*;
use crate::checklist::{check_template, default_template, QuestionType};

type Table<'a> = Vec<(&'a str, Vec<Vec<&'a str>>)>;

fn xlsx(table: &Table) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for (name, rows) in table {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if cell.is_empty() {
                    continue;
                }
                // Numbers as numbers, the way a spreadsheet keeps a typed "2".
                match cell.parse::<f64>() {
                    Ok(n) => sheet.write_number(r as u32, c as u16, n).unwrap(),
                    Err(_) => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
                };
            }
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn csv(table: &Table) -> String {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for (name, rows) in table {
        for (i, row) in rows.iter().enumerate() {
            let first = if i == 0 { *name } else { "" };
            writer
                .write_record(std::iter::once(first).chain(row.iter().copied()))
                .unwrap();
        }
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Every supported type and expression, in English and Spanish.
fn full_form() -> Table<'static> {
    vec![
        (
            "survey",
            vec![
                vec!["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)", "hint::Español (es)", "required", "relevant", "constraint", "constraint_message::English (en)", "constraint_message::Español (es)", "appearance"],
                vec!["start", "start"],
                vec!["begin_group", "arrive", "Arrival", "Llegada"],
                vec!["geopoint", "arrived", "Check in", "Registre su llegada", "", "", "yes", "", "", "", "", "checkpoint"],
                vec!["end_group"],
                vec!["begin group", "scene", "Scene", "Lugar", "", "", "", "${arrived} != ''"],
                vec!["select_one yn", "present", "Enforcement present?", "¿Hay control?", "Only what you see", "Solo lo que vea", "true()"],
                vec!["select_multiple agencies", "agencies", "Which agencies?", "¿Qué agencias?", "", "", "yes", "${present} = 'yes'", "count-selected(.) >= 1 and count-selected(.) <= 3", "Pick one to three", "Elija de una a tres"],
                vec!["integer", "agents", "How many agents?", "¿Cuántos agentes?", "", "", "", "selected(${present}, 'yes')", ". >= 0 and . <= 200", "0 to 200", "De 0 a 200"],
                vec!["select_one activity", "activity", "What activity?", "¿Qué actividad?", "", "", "", "${agents} > 0 and (selected(${agencies}, 'ice') or selected(${agencies}, 'cbp'))"],
                vec!["text", "other", "Describe it", "Descríbala", "", "", "", "${activity} = 'other' or count-selected(${agencies}) >= 2", "string-length(.) <= 500", "500 letters at most", "500 letras como máximo"],
                vec!["note", "careful", "Stay safe", "Cuídese"],
                vec!["acknowledge", "read_rights", "I read the rights card", "Leí la tarjeta de derechos", "", "", "", "not(${present} = 'no')"],
                vec!["end_group"],
                vec!["geopoint", "where", "Where exactly?", "¿Dónde exactamente?", "", "", "", "${present} != 'no'"],
                vec!["date", "day", "Day", "Día"],
                vec!["time", "hour", "Time", "Hora", "", "", "", "${agents} < 10"],
                vec!["dateTime", "seen_at", "When did you see it?", "¿Cuándo lo vio?", "", "", "no", "${other} = ''"],
                vec!["begin_group", "leave", "Departure", "Salida"],
                vec!["geopoint", "left", "Check out", "Registre su salida", "", "", "yes", "", "", "", "", "checkpoint"],
                vec!["end_group"],
            ],
        ),
        (
            "choices",
            vec![
                vec!["list_name", "name", "label::English (en)", "label::Español (es)"],
                vec!["yn", "yes", "Yes", "Sí"],
                vec!["yn", "no", "No", "No"],
                vec!["yn", "unknown", "Unknown", "No se sabe"],
                vec!["agencies", "ice", "ICE", "ICE"],
                vec!["agencies", "cbp", "CBP", "CBP"],
                vec!["agencies", "police", "Police", "Policía"],
                vec!["activity", "home", "At a home", "En una casa"],
                vec!["activity", "other", "Other", "Otra"],
            ],
        ),
        (
            "settings",
            vec![
                vec!["form_id", "version", "default_language", "form_title", "form_title::Español (es)"],
                vec!["coalition-check", "2", "English (en)", "Coalition check", "Verificación de la coalición"],
            ],
        ),
        (
            "determinations",
            vec![
                vec!["name", "when", "determination", "confidence", "reason::English (en)", "reason::Español (es)"],
                vec!["seen", "${present} = 'yes' and count-selected(${agencies}) >= 1", "verified", "high", "Seen, agency known", "Visto, agencia conocida"],
                vec!["unclear", "${present} = 'unknown'", "inconclusive", "low", "Could not tell", "No se pudo saber"],
            ],
        ),
    ]
}

fn question<'t>(
    template: &'t crate::checklist::Template,
    id: &str,
) -> &'t crate::checklist::Question {
    template
        .questions()
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("no question {id}"))
}

#[test]
fn every_supported_type_and_expression_imports_from_xlsx_and_csv_alike() {
    let form = full_form();
    let from_xlsx = import_xlsx(&xlsx(&form)).unwrap();
    let from_csv = import_csv(&csv(&form)).unwrap();
    assert_eq!(
        from_xlsx.template, from_csv.template,
        "the two formats read the same"
    );
    assert_eq!(
        import_file(&xlsx(&form)).unwrap().template,
        from_csv.template
    );
    assert_eq!(
        import_file(csv(&form).as_bytes()).unwrap().template,
        from_csv.template
    );

    let t = from_xlsx.template.template();
    assert!(check_template(t).is_ok());
    assert!(
        from_xlsx.template.warnings().is_empty(),
        "{:?}",
        from_xlsx.template.warnings()
    );
    assert_eq!((t.id.as_str(), t.version), ("coalition-check", 2));
    assert_eq!(t.title.get("es"), "Verificación de la coalición");
    let sections: Vec<&str> = t.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sections, ["arrive", "scene", "part_3", "leave"]);
    assert_eq!(
        t.sections[2].title.get("en"),
        "Coalition check",
        "loose questions get the form's title"
    );

    let kinds: Vec<(&str, QuestionType)> = t.questions().map(|q| (q.id.as_str(), q.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("arrived", QuestionType::Checkpoint),
            ("present", QuestionType::YesNoUnknown),
            ("agencies", QuestionType::MultipleChoice),
            ("agents", QuestionType::Count),
            ("activity", QuestionType::SingleChoice),
            ("other", QuestionType::Text),
            ("read_rights", QuestionType::SingleChoice),
            ("where", QuestionType::Location),
            ("day", QuestionType::Time),
            ("hour", QuestionType::Time),
            ("seen_at", QuestionType::Time),
            ("left", QuestionType::Checkpoint),
        ]
    );
    let present = question(t, "present");
    assert!(present.required && present.choices.is_empty());
    assert_eq!(present.hint.as_ref().unwrap().get("es"), "Solo lo que vea");
    assert_eq!(present.label.get("es"), "¿Hay control?");
    // The group's relevance is each of its questions' relevance.
    assert_eq!(
        serde_json::to_value(&present.relevance).unwrap(),
        json!({"answered": "arrived"})
    );
    let relevance = |id: &str| serde_json::to_value(&question(t, id).relevance).unwrap();
    assert_eq!(
        relevance("agencies"),
        json!({"all": [{"answered": "arrived"}, {"equals": {"question": "present", "value": "yes"}}]})
    );
    assert_eq!(
        relevance("activity"),
        json!({"all": [{"answered": "arrived"}, {"all": [
            {"at_least": {"question": "agents", "value": 1}},
            {"any": [{"selected": {"question": "agencies", "value": "ice"}}, {"selected": {"question": "agencies", "value": "cbp"}}]}
        ]}]})
    );
    assert_eq!(
        relevance("other"),
        json!({"all": [{"answered": "arrived"}, {"any": [
            {"equals": {"question": "activity", "value": "other"}},
            {"at_least": {"question": "agencies", "value": 2}}
        ]}]})
    );
    assert_eq!(
        relevance("read_rights"),
        json!({"all": [{"answered": "arrived"}, {"not": {"equals": {"question": "present", "value": "no"}}}]})
    );
    assert_eq!(
        relevance("where"),
        json!({"not": {"equals": {"question": "present", "value": "no"}}})
    );
    assert_eq!(
        relevance("hour"),
        json!({"all": [{"answered": "agents"}, {"not": {"at_least": {"question": "agents", "value": 10}}}]})
    );
    assert_eq!(relevance("seen_at"), json!({"not": {"answered": "other"}}));
    assert_eq!(
        serde_json::to_value(&question(t, "agents").constraints).unwrap(),
        json!([
            {"rule": {"min": 0}, "message": {"en": "0 to 200", "es": "De 0 a 200"}},
            {"rule": {"max": 200}, "message": {"en": "0 to 200", "es": "De 0 a 200"}}
        ])
    );
    assert_eq!(
        question(t, "agencies")
            .constraints
            .iter()
            .map(|c| c.rule)
            .collect::<Vec<_>>(),
        [
            crate::checklist::ConstraintRule::MinSelected(1),
            crate::checklist::ConstraintRule::MaxSelected(3)
        ]
    );
    assert_eq!(
        question(t, "other").constraints[0].rule,
        crate::checklist::ConstraintRule::MaxLength(500)
    );
    assert_eq!(question(t, "read_rights").choices[0].value, "OK");
    assert_eq!(question(t, "activity").choices[1].label.get("es"), "Otra");
    assert_eq!(t.determination_rules.len(), 2);
    assert_eq!(
        serde_json::to_value(&t.determination_rules[0].when).unwrap(),
        json!({"all": [{"equals": {"question": "present", "value": "yes"}}, {"at_least": {"question": "agencies", "value": 1}}]})
    );

    // What was left out on purpose is said, with its row.
    let left_out: Vec<(usize, &str)> = from_xlsx
        .warnings
        .iter()
        .map(|w| (w.row, w.column.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        left_out,
        [(2, "type"), (12, "type")],
        "{:#?}",
        from_xlsx.warnings
    );
    assert!(from_xlsx.warnings[1].message.contains("note"));
}

#[test]
fn a_plain_single_language_form_uses_default_language_for_unsuffixed_columns() {
    let form: Table = vec![
        (
            "survey",
            vec![
                vec!["type", "name", "label"],
                vec!["integer", "people", "¿Cuántas personas?"],
            ],
        ),
        (
            "settings",
            vec![
                vec!["form_id", "default_language"],
                vec!["solo", "Español (es)"],
            ],
        ),
    ];
    let error = import_csv(&csv(&form)).unwrap_err();
    // Spanish only: the template check wants English, and says where.
    match error {
        ImportError::Template(errors) => {
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("question \"people\": label: no English")),
                "{errors:?}"
            )
        }
        other => panic!("{other}"),
    }
    let form: Table = vec![
        (
            "survey",
            vec![
                vec!["type", "name", "label"],
                vec!["integer", "people", "How many people?"],
            ],
        ),
        ("settings", vec![vec!["form_id"], vec!["plain"]]),
    ];
    let imported = import_csv(&csv(&form)).unwrap();
    assert_eq!(imported.template.template().version, 1);
    assert_eq!(
        imported
            .template
            .question("people")
            .unwrap()
            .label
            .get("en"),
        "How many people?"
    );
    assert!(imported
        .warnings
        .iter()
        .any(|w| w.column.as_deref() == Some("version")));
}

#[test]
fn unsupported_features_are_each_reported_with_sheet_and_row() {
    let form: Table = vec![
        (
            "survey",
            vec![
                vec![
                    "type",
                    "name",
                    "label::English (en)",
                    "label::Klingon",
                    "relevant",
                    "constraint",
                    "required",
                    "calculation",
                    "choice_filter",
                ],
                vec!["begin_repeat", "visits", "Visits"],
                vec!["barcode", "code", "Code"],
                vec!["calculate", "total", "", "", "", "", "", "${a} + ${b}"],
                vec![
                    "select_one towns",
                    "town",
                    "Town",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "${state} = 'x'",
                ],
                vec!["text", "t1", "T1", "", "regex(${t1}, 'a')"],
                vec!["integer", "n1", "N1", "", "", ". < 3 or . > 10"],
                vec!["select_one missing", "m1", "M1"],
                vec!["begin_group", "g1", "G1"],
                vec!["begin_group", "g2", "G2"],
                vec!["text", "t2", "T2", "", "", "", "${n1} > 3"],
                vec!["end_group"],
                vec!["range", "r1", "R1"],
                vec!["text", "", "No name"],
            ],
        ),
        (
            "choices",
            vec![
                vec!["list_name", "name", "label::English (en)"],
                vec!["towns", "a", "A"],
            ],
        ),
        (
            "settings",
            vec![vec!["form_id", "version"], vec!["bad", "v2"]],
        ),
    ];
    for error in [
        import_csv(&csv(&form)).unwrap_err(),
        import_xlsx(&xlsx(&form)).unwrap_err(),
    ] {
        let report = match error {
            ImportError::Form(report) => report,
            other => panic!("{other}"),
        };
        let found: Vec<(&str, usize, Option<&str>)> = report
            .errors
            .iter()
            .map(|p| (p.sheet.as_str(), p.row, p.column.as_deref()))
            .collect();
        let expect = |sheet: &str, row: usize, column: &str, words: &str| {
            let problem = report
                .errors
                .iter()
                .find(|p| p.sheet == sheet && p.row == row && p.column.as_deref() == Some(column))
                .unwrap_or_else(|| panic!("nothing at {sheet} row {row} ({column}): {found:?}"));
            assert!(problem.message.contains(words), "{problem}");
        };
        expect("settings", 2, "version", "not a version");
        expect("survey", 1, "label::Klingon", "language code");
        expect("survey", 2, "type", "repeats");
        expect("survey", 3, "type", "\"barcode\" type");
        expect("survey", 4, "type", "calculations");
        expect("survey", 4, "calculation", "calculations");
        expect("survey", 5, "choice_filter", "filtered choices");
        expect("survey", 6, "relevant", "regex()");
        expect("survey", 7, "constraint", "only bounds");
        expect("survey", 8, "type", "no choice list \"missing\"");
        expect("survey", 10, "type", "groups inside groups");
        expect("survey", 11, "required", "required only under a condition");
        expect("survey", 13, "type", "\"range\" type");
        expect("survey", 14, "name", "needs a name");
        let text = ImportError::Form(report.clone()).to_string();
        assert!(
            text.contains("survey row 3 (type): the \"barcode\" type"),
            "{text}"
        );
    }
}

#[test]
fn broken_files_are_refused_not_misread() {
    assert!(matches!(
        import_xlsx(b"PK\x03\x04 not really"),
        Err(ImportError::Unreadable(_))
    ));
    assert!(matches!(
        import_file(&[0xff, 0xfe, 0x00]),
        Err(ImportError::Unreadable(_))
    ));
    assert!(
        matches!(import_csv(",text,q,Q\n"), Err(ImportError::Unreadable(m)) if m.contains("before any sheet"))
    );
    let huge = "x".repeat(MAX_FORM_BYTES + 1);
    assert!(matches!(import_csv(&huge), Err(ImportError::Unreadable(m)) if m.contains("larger")));
    assert!(matches!(
        import_csv("choices,list_name,name,label\n,a,b,c\n"),
        Err(ImportError::Form(r)) if r.errors[0].message.contains("no \"survey\" sheet")
    ));
}

#[test]
fn the_default_checklist_round_trips_through_xlsx_and_csv() {
    let original = default_template().unwrap();
    let from_xlsx = import_xlsx(&export_xlsx(original.template()).unwrap()).unwrap();
    assert_eq!(
        from_xlsx.template.template(),
        original.template(),
        "same questions, texts and rules"
    );
    assert!(from_xlsx.warnings.is_empty(), "{:#?}", from_xlsx.warnings);
    let csv = export_csv(original.template()).unwrap();
    assert!(
        csv.starts_with("survey,type,name,label::English (en),label::Español (es)"),
        "{}",
        &csv[..200]
    );
    assert_eq!(
        import_csv(&csv).unwrap().template.template(),
        original.template()
    );
}

#[test]
fn constraints_with_different_messages_cannot_be_one_xlsform_constraint() {
    let mut template = default_template().unwrap().template().clone();
    let agents = template.sections[1]
        .questions
        .iter_mut()
        .find(|q| q.id == "agents_count")
        .unwrap();
    agents.constraints[1].message =
        crate::checklist::Text::new([("en", "Too many"), ("es", "Demasiados")]);
    assert!(matches!(
        export_csv(&template),
        Err(ExportError::ConstraintMessages { question }) if question == "agents_count"
    ));
}

/// A decimal question with a constraint, read by a relevance and by a rule.
fn decimal_form() -> Table<'static> {
    vec![
        (
            "survey",
            vec![
                vec![
                    "type",
                    "name",
                    "label::English (en)",
                    "label::Español (es)",
                    "required",
                    "relevant",
                    "constraint",
                    "constraint_message::English (en)",
                    "constraint_message::Español (es)",
                ],
                vec![
                    "decimal",
                    "distance_km",
                    "How far away is it (km)?",
                    "¿A qué distancia está (km)?",
                    "yes",
                    "",
                    ". >= 0.5 and . <= 250",
                    "0.5 to 250 km",
                    "De 0.5 a 250 km",
                ],
                vec![
                    "decimal",
                    "speed",
                    "How fast were they driving?",
                    "¿A qué velocidad iban?",
                    "",
                    "",
                    ". > 0",
                    "More than 0",
                    "Más de 0",
                ],
                vec![
                    "text",
                    "route",
                    "Which route?",
                    "¿Qué ruta?",
                    "yes",
                    "${distance_km} > 1.5",
                ],
                vec![
                    "text",
                    "nearby",
                    "What is next to it?",
                    "¿Qué hay al lado?",
                    "",
                    "${distance_km} <= 1.5 and ${distance_km} != 1",
                ],
            ],
        ),
        (
            "settings",
            vec![
                vec![
                    "form_id",
                    "version",
                    "form_title",
                    "form_title::Español (es)",
                ],
                vec!["distances", "3", "Distances", "Distancias"],
            ],
        ),
        (
            "determinations",
            vec![
                vec![
                    "name",
                    "when",
                    "determination",
                    "confidence",
                    "reason::English (en)",
                    "reason::Español (es)",
                ],
                vec![
                    "far",
                    "${distance_km} >= 100.25",
                    "inconclusive",
                    "low",
                    "Too far to tell",
                    "Demasiado lejos",
                ],
            ],
        ),
    ]
}

#[test]
fn decimal_questions_import_from_xlsx_and_csv_with_their_bounds_and_relevance() {
    use crate::checklist::{ConstraintRule, Number};
    let form = decimal_form();
    let from_xlsx = import_xlsx(&xlsx(&form)).unwrap();
    let from_csv = import_csv(&csv(&form)).unwrap();
    assert_eq!(from_xlsx.template, from_csv.template);
    assert!(from_xlsx.warnings.is_empty(), "{:#?}", from_xlsx.warnings);
    let t = from_csv.template.template();
    let distance = question(t, "distance_km");
    assert_eq!(distance.kind, QuestionType::Decimal);
    assert!(distance.required);
    assert_eq!(
        distance
            .constraints
            .iter()
            .map(|c| c.rule)
            .collect::<Vec<_>>(),
        [
            ConstraintRule::Min(Number::Decimal(0.5)),
            ConstraintRule::Max(Number::Integer(250))
        ]
    );
    assert_eq!(distance.constraints[0].message.get("es"), "De 0.5 a 250 km");
    assert_eq!(
        question(t, "speed").constraints[0].rule,
        ConstraintRule::MoreThan(Number::Integer(0)),
        "a decimal's > is strict, not a step of one"
    );
    let relevance = |id: &str| serde_json::to_value(&question(t, id).relevance).unwrap();
    assert_eq!(
        relevance("route"),
        json!({"more_than": {"question": "distance_km", "value": 1.5}})
    );
    assert_eq!(
        relevance("nearby"),
        json!({"all": [
            {"all": [{"answered": "distance_km"}, {"not": {"more_than": {"question": "distance_km", "value": 1.5}}}]},
            {"not": {"equals": {"question": "distance_km", "value": 1}}}
        ]})
    );
    assert_eq!(
        serde_json::to_value(&t.determination_rules[0].when).unwrap(),
        json!({"at_least": {"question": "distance_km", "value": 100.25}})
    );
}

#[test]
fn a_form_with_decimals_round_trips_through_xlsx_and_csv() {
    let original = import_csv(&csv(&decimal_form())).unwrap().template;
    let csv = export_csv(original.template()).unwrap();
    assert!(csv.contains(",decimal,distance_km,"), "{csv}");
    assert!(csv.contains(". >= 0.5 and . <= 250"), "{csv}");
    assert!(csv.contains("${distance_km} > 1.5"), "{csv}");
    assert_eq!(import_csv(&csv).unwrap().template, original);
    let xlsx = export_xlsx(original.template()).unwrap();
    assert_eq!(import_xlsx(&xlsx).unwrap().template, original);
}

#[test]
fn decimal_bounds_on_a_count_are_refused_naming_the_row() {
    let form: Table = vec![
        (
            "survey",
            vec![
                vec!["type", "name", "label", "relevant", "constraint"],
                vec!["integer", "agents", "Agents", "", ". >= 0.5"],
                vec!["text", "who", "Who?", "${agents} > 2.5"],
            ],
        ),
        ("settings", vec![vec!["form_id", "version"], vec!["f", "1"]]),
    ];
    let Err(ImportError::Form(report)) = import_csv(&csv(&form)) else {
        panic!("a decimal bound on a whole number must be refused");
    };
    let found: Vec<(usize, &str, bool)> = report
        .errors
        .iter()
        .map(|p| {
            (
                p.row,
                p.column.as_deref().unwrap_or(""),
                p.message.contains("is not a whole number"),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(2, "constraint", true), (3, "relevant", true)],
        "{report:#?}"
    );
}
