//! Template → XLSForm, so a coalition can start from Testigo's checklist in the
//! spreadsheet tools it already uses, and import its edit back. Everything the import
//! reads is written: sections as groups, yes / no / unknown as a `yes_no_unknown`
//! list, checkpoints as `geopoint` with appearance `checkpoint`, determination rules on
//! a `determinations` sheet.

use std::collections::BTreeSet;

use super::expressions::{write_condition, write_constraint};
use super::import::{CHOICES, DETERMINATIONS, SETTINGS, SURVEY};
use super::languages::column_name;
use super::types::{CHECKPOINT_APPEARANCE, YES_NO_UNKNOWN_LIST, YES_NO_UNKNOWN_VALUES};
use crate::checklist::answer::YesNo;
use crate::checklist::display::yes_no_label;
use crate::checklist::template::{QuestionType, Template};
use crate::checklist::text::{Lang, Text, FALLBACK_LOCALE};

/// Why a template cannot be written as XLSForm.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// XLSForm has one constraint message per question.
    #[error("question {question:?}: its constraints have different messages; XLSForm has one per question")]
    ConstraintMessages { question: String },
    #[error("cannot write the workbook: {0}")]
    Write(String),
}

/// The sheets, each a grid of text cells (the header first).
pub(crate) struct Grids {
    pub sheets: Vec<(&'static str, Vec<Vec<String>>)>,
}

pub(crate) fn grids(template: &Template) -> Result<Grids, ExportError> {
    let locales = locales(template);
    let texts = |text: Option<&Text>| -> Vec<String> {
        locales
            .iter()
            .map(|l| text.and_then(|t| t.0.get(l)).cloned().unwrap_or_default())
            .collect()
    };
    let columns =
        |field: &str| -> Vec<String> { locales.iter().map(|l| column_name(field, l)).collect() };
    let kinds: std::collections::HashMap<&str, QuestionType> = template
        .questions()
        .map(|q| (q.id.as_str(), q.kind))
        .collect();
    let kind_of = |q: &str| kinds.get(q).copied();

    let mut survey = vec![[
        vec!["type".to_owned(), "name".to_owned()],
        columns("label"),
        columns("hint"),
        vec!["required".into(), "relevant".into(), "constraint".into()],
        columns("constraint_message"),
        vec!["appearance".into()],
    ]
    .concat()];
    let mut choices = vec![[
        vec!["list_name".to_owned(), "name".to_owned()],
        columns("label"),
    ]
    .concat()];
    let mut yes_no_written = false;
    let row = |kind: String,
               name: &str,
               label: Option<&Text>,
               hint: Option<&Text>,
               rest: [String; 3],
               message: Option<&Text>,
               appearance: &str| {
        [
            vec![kind, name.to_owned()],
            texts(label),
            texts(hint),
            rest.to_vec(),
            texts(message),
            vec![appearance.to_owned()],
        ]
        .concat()
    };
    for section in &template.sections {
        survey.push(row(
            "begin_group".into(),
            &section.id,
            Some(&section.title),
            None,
            Default::default(),
            None,
            "",
        ));
        for question in &section.questions {
            let (kind, appearance) = match question.kind {
                QuestionType::YesNoUnknown => {
                    if !yes_no_written {
                        yes_no_written = true;
                        for value in YES_NO_UNKNOWN_VALUES {
                            let yes_no: YesNo =
                                serde_json::from_value(serde_json::Value::String(value.into()))
                                    .map_err(|e| ExportError::Write(e.to_string()))?;
                            let label = Text::new([
                                ("en", yes_no_label(yes_no, Lang::En)),
                                ("es", yes_no_label(yes_no, Lang::Es)),
                            ]);
                            choices.push(
                                [
                                    vec![YES_NO_UNKNOWN_LIST.to_owned(), value.to_owned()],
                                    texts(Some(&label)),
                                ]
                                .concat(),
                            );
                        }
                    }
                    (format!("select_one {YES_NO_UNKNOWN_LIST}"), "")
                }
                QuestionType::SingleChoice => (format!("select_one {}", question.id), ""),
                QuestionType::MultipleChoice => (format!("select_multiple {}", question.id), ""),
                QuestionType::Count => ("integer".into(), ""),
                QuestionType::Decimal => ("decimal".into(), ""),
                QuestionType::Text => ("text".into(), ""),
                QuestionType::Location => ("geopoint".into(), ""),
                QuestionType::Time => ("dateTime".into(), ""),
                QuestionType::Checkpoint => ("geopoint".into(), CHECKPOINT_APPEARANCE),
            };
            for choice in &question.choices {
                choices.push(
                    [
                        vec![question.id.clone(), choice.value.clone()],
                        texts(Some(&choice.label)),
                    ]
                    .concat(),
                );
            }
            let message = match question.constraints.split_first() {
                None => None,
                Some((first, rest)) => {
                    if rest.iter().any(|c| c.message != first.message) {
                        return Err(ExportError::ConstraintMessages {
                            question: question.id.clone(),
                        });
                    }
                    Some(&first.message)
                }
            };
            let rules: Vec<_> = question.constraints.iter().map(|c| c.rule).collect();
            let rest = [
                if question.required {
                    "yes".into()
                } else {
                    String::new()
                },
                question
                    .relevance
                    .as_ref()
                    .map(|r| write_condition(r, &kind_of))
                    .unwrap_or_default(),
                write_constraint(&rules),
            ];
            survey.push(row(
                kind,
                &question.id,
                Some(&question.label),
                question.hint.as_ref(),
                rest,
                message,
                appearance,
            ));
        }
        survey.push(row(
            "end_group".into(),
            "",
            None,
            None,
            Default::default(),
            None,
            "",
        ));
    }

    let settings = vec![
        [
            vec![
                "form_id".to_owned(),
                "version".into(),
                "default_language".into(),
            ],
            columns("form_title"),
            columns("description"),
        ]
        .concat(),
        [
            vec![
                template.id.clone(),
                template.version.to_string(),
                column_name("", FALLBACK_LOCALE)[2..].to_owned(),
            ],
            texts(Some(&template.title)),
            texts(template.description.as_ref()),
        ]
        .concat(),
    ];

    let mut determinations = vec![[
        vec![
            "name".to_owned(),
            "when".into(),
            "determination".into(),
            "confidence".into(),
        ],
        columns("reason"),
    ]
    .concat()];
    for rule in &template.determination_rules {
        let name = |v: serde_json::Result<serde_json::Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        determinations.push(
            [
                vec![
                    rule.id.clone(),
                    write_condition(&rule.when, &kind_of),
                    name(serde_json::to_value(rule.determination)),
                    name(serde_json::to_value(rule.confidence)),
                ],
                texts(Some(&rule.reason)),
            ]
            .concat(),
        );
    }
    let mut sheets = vec![(SURVEY, survey), (CHOICES, choices), (SETTINGS, settings)];
    if !template.determination_rules.is_empty() {
        sheets.push((DETERMINATIONS, determinations));
    }
    Ok(Grids { sheets })
}

/// English first, then every other locale the template uses.
fn locales(template: &Template) -> Vec<String> {
    let mut all = BTreeSet::new();
    let mut add = |text: &Text| all.extend(text.locales().map(str::to_owned));
    add(&template.title);
    if let Some(d) = &template.description {
        add(d);
    }
    for section in &template.sections {
        add(&section.title);
        for q in &section.questions {
            add(&q.label);
            q.hint.iter().for_each(&mut add);
            q.choices.iter().for_each(|c| add(&c.label));
            q.constraints.iter().for_each(|c| add(&c.message));
        }
    }
    template
        .determination_rules
        .iter()
        .for_each(|r| add(&r.reason));
    all.insert("es".to_owned()); // the yes / no / unknown labels are bilingual
    all.remove(FALLBACK_LOCALE);
    std::iter::once(FALLBACK_LOCALE.to_owned())
        .chain(all)
        .collect()
}

pub(crate) fn to_xlsx(grids: &Grids) -> Result<Vec<u8>, ExportError> {
    let write = |e: rust_xlsxwriter::XlsxError| ExportError::Write(e.to_string());
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for (name, grid) in &grids.sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name).map_err(write)?;
        for (r, row) in grid.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    let (r, c) = (
                        u32::try_from(r).map_err(|e| ExportError::Write(e.to_string()))?,
                        u16::try_from(c).map_err(|e| ExportError::Write(e.to_string()))?,
                    );
                    sheet.write_string(r, c, cell).map_err(write)?;
                }
            }
        }
    }
    workbook.save_to_buffer().map_err(write)
}

/// pyxform's one-file CSV: each sheet's header row starts with the sheet's name.
pub(crate) fn to_csv(grids: &Grids) -> Result<String, ExportError> {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let io = |e: csv::Error| ExportError::Write(e.to_string());
    for (name, grid) in &grids.sheets {
        for (i, row) in grid.iter().enumerate() {
            let first = if i == 0 { *name } else { "" };
            writer
                .write_record(std::iter::once(first).chain(row.iter().map(String::as_str)))
                .map_err(io)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExportError::Write(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ExportError::Write(e.to_string()))
}
