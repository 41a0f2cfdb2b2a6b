//! Sheets → template. Every row is looked at once; whatever it cannot take becomes a
//! [`Problem`](super::Problem) naming the sheet, the row and the column, so one pass
//! lists everything a coordinator has to change.

use std::collections::{HashMap, HashSet};

use super::expressions::{condition, constraint_rules};
use super::languages::{language_code, Translated};
use super::problems::ImportReport;
use super::sheets::{Row, Sheet, Workbook};
use super::types::{self, QuestionKind, RowType, CHECKPOINT_APPEARANCE, YES_NO_UNKNOWN_VALUES};
use crate::checklist::relevance::Condition;
use crate::checklist::template::{
    Choice, Constraint, DeterminationRule, Question, QuestionType, Section, Template,
};
use crate::checklist::text::{Text, FALLBACK_LOCALE};

pub const SURVEY: &str = "survey";
pub const CHOICES: &str = "choices";
pub const SETTINGS: &str = "settings";
/// Testigo's own sheet: the rules that suggest a determination. ODK tools ignore a
/// sheet they do not know.
pub const DETERMINATIONS: &str = "determinations";

/// Survey columns that change what a form does and that Testigo cannot honour: a row
/// with a value in one of them is refused.
const UNSUPPORTED_COLUMNS: [(&str, &str); 8] = [
    ("calculation", "calculations are not supported"),
    (
        "choice_filter",
        "filtered choices (cascading selects) are not supported",
    ),
    ("repeat_count", "repeats are not supported"),
    ("default", "default answers are not supported"),
    ("read_only", "read-only questions are not supported"),
    ("readonly", "read-only questions are not supported"),
    ("trigger", "triggered recalculation is not supported"),
    ("parameters", "question parameters are not supported"),
];

/// Columns that only change how ODK shows a form: ignored, with a warning per column.
const PRESENTATION_COLUMNS: [&str; 9] = [
    "appearance",
    "guidance_hint",
    "required_message",
    "image",
    "audio",
    "video",
    "media",
    "autoplay",
    "body",
];

pub(crate) fn template(workbook: &Workbook, report: &mut ImportReport) -> Option<Template> {
    let Some(survey) = workbook.sheet(SURVEY) else {
        report.error("", 0, None, "there is no \"survey\" sheet");
        return None;
    };
    let settings = Settings::read(workbook.sheet(SETTINGS), report);
    let locale = settings.default_locale.clone();
    let lists = choice_lists(workbook.sheet(CHOICES), &locale, report);
    let mut builder = Builder {
        survey,
        lists: &lists,
        locale: &locale,
        report: &mut *report,
        kinds: HashMap::new(),
    };
    let sections = builder.sections(&settings);
    let kinds = builder.kinds.clone();
    let determination_rules =
        determinations(workbook.sheet(DETERMINATIONS), &locale, &kinds, report);
    Some(Template {
        id: settings.form_id,
        version: settings.version,
        title: settings.title,
        description: settings.description,
        sections,
        determination_rules,
    })
}

// ----- settings ------------------------------------------------------------------------

struct Settings {
    form_id: String,
    version: u32,
    title: Text,
    description: Option<Text>,
    default_locale: String,
}

impl Settings {
    fn read(sheet: Option<&Sheet>, report: &mut ImportReport) -> Self {
        let empty = Row::default();
        let row = sheet.and_then(|s| s.rows.first()).unwrap_or(&empty);
        let number = row.number;
        let default_locale = match row.get("default_language") {
            None => FALLBACK_LOCALE.to_owned(),
            Some(language) => language_code(language).unwrap_or_else(|| {
                report.error(
                    SETTINGS,
                    number,
                    Some("default_language"),
                    format!("{language:?} has no language code; write it as “English (en)”"),
                );
                FALLBACK_LOCALE.to_owned()
            }),
        };
        let form_id = match row.get("form_id").or_else(|| row.get("id_string")) {
            Some(id) => id.to_owned(),
            None => {
                report.error(
                    SETTINGS,
                    number,
                    Some("form_id"),
                    "the form needs a form_id",
                );
                String::new()
            }
        };
        let version = match row.get("version") {
            None => {
                report.warning(
                    SETTINGS,
                    number,
                    Some("version"),
                    "no version given; it is version 1",
                );
                1
            }
            Some(v) => {
                match v.parse::<u32>() {
                    Ok(v) if v >= 1 => v,
                    _ => {
                        report.error(
                        SETTINGS,
                        number,
                        Some("version"),
                        format!("{v:?} is not a version: a whole number from 1 (e.g. 2 or 2026061501)"),
                    );
                        1
                    }
                }
            }
        };
        let (title, description) = match sheet {
            Some(sheet) => {
                let title = translated(sheet, "form_title", &default_locale, report).text(row);
                let description =
                    translated(sheet, "description", &default_locale, report).text(row);
                for column in &sheet.columns {
                    let known = ["form_id", "id_string", "version", "default_language"];
                    let lower = column.to_lowercase();
                    if !known.contains(&lower.as_str())
                        && !lower.starts_with("form_title")
                        && !lower.starts_with("description")
                        && row.get(column).is_some()
                    {
                        report.warning(
                            SETTINGS,
                            number,
                            Some(column),
                            "ignored: it is for ODK servers and has no meaning in Testigo",
                        );
                    }
                }
                (title, description)
            }
            None => (None, None),
        };
        let title = title.unwrap_or_else(|| {
            report.warning(
                SETTINGS,
                number,
                Some("form_title"),
                "no form_title; the form_id is used as the title",
            );
            Text::new([(FALLBACK_LOCALE, form_id.as_str())])
        });
        Settings {
            form_id,
            version,
            title,
            description,
            default_locale,
        }
    }
}

fn translated(sheet: &Sheet, field: &str, locale: &str, report: &mut ImportReport) -> Translated {
    let (columns, unknown) = Translated::find(sheet, field, locale);
    for column in unknown {
        report.error(
            &sheet.name,
            1,
            Some(&column.column),
            "no language code; write the language as “Español (es)”",
        );
    }
    columns
}

// ----- choices -------------------------------------------------------------------------

/// A choice list, with the row of each choice.
type ChoiceLists = HashMap<String, Vec<(usize, Choice)>>;

fn choice_lists(sheet: Option<&Sheet>, locale: &str, report: &mut ImportReport) -> ChoiceLists {
    let mut lists = ChoiceLists::new();
    let Some(sheet) = sheet else { return lists };
    let labels = translated(sheet, "label", locale, report);
    for column in &sheet.columns {
        let lower = column.to_lowercase();
        if lower != "list_name"
            && lower != "list name"
            && lower != "name"
            && !labels.is_column(column)
        {
            if sheet.rows.iter().any(|r| r.get(column).is_some()) {
                report.warning(
                    CHOICES,
                    1,
                    Some(column),
                    "ignored: Testigo keeps a choice's name and labels only",
                );
            }
        }
    }
    for row in &sheet.rows {
        let Some(list) = row.get("list_name").or_else(|| row.get("list name")) else {
            report.error(
                CHOICES,
                row.number,
                Some("list_name"),
                "a choice needs a list_name",
            );
            continue;
        };
        let Some(value) = row.get("name") else {
            report.error(CHOICES, row.number, Some("name"), "a choice needs a name");
            continue;
        };
        let label = labels.text(row).unwrap_or_else(|| {
            report.error(CHOICES, row.number, Some("label"), "a choice needs a label");
            Text::default()
        });
        lists.entry(list.to_owned()).or_default().push((
            row.number,
            Choice {
                value: value.to_owned(),
                label,
            },
        ));
    }
    lists
}

// ----- survey --------------------------------------------------------------------------

struct Builder<'a> {
    survey: &'a Sheet,
    lists: &'a ChoiceLists,
    locale: &'a str,
    report: &'a mut ImportReport,
    /// Each question's type, for translating expressions that read it.
    kinds: HashMap<String, QuestionType>,
}

/// A question row once its type is known, before expressions are translated.
struct Pending<'r> {
    row: &'r Row,
    question: Question,
    group_relevance: Option<(usize, String)>,
}

impl<'a> Builder<'a> {
    fn sections(&mut self, settings: &Settings) -> Vec<Section> {
        let sheet = self.survey;
        let labels = translated(sheet, "label", self.locale, self.report);
        let hints = translated(sheet, "hint", self.locale, self.report);
        let messages = translated(sheet, "constraint_message", self.locale, self.report);
        self.check_columns(&labels, &hints, &messages);

        // First pass: rows → sections of pending questions, and every question's type.
        let mut sections: Vec<(Section, Vec<Pending>)> = Vec::new();
        let mut open_group: Option<(usize, Option<(usize, String)>)> = None;
        let mut loose_section_open = false;
        for row in &sheet.rows {
            self.refuse_unsupported_columns(row);
            let Some(type_cell) = row.get("type") else {
                if row
                    .cells
                    .keys()
                    .any(|c| !PRESENTATION_COLUMNS.contains(&c.as_str()))
                {
                    self.report
                        .error(SURVEY, row.number, Some("type"), "the row has no type");
                }
                continue;
            };
            match types::parse(type_cell) {
                RowType::BeginGroup => {
                    if open_group.is_some() {
                        self.report.error(
                            SURVEY,
                            row.number,
                            Some("type"),
                            "groups inside groups are not supported",
                        );
                        continue;
                    }
                    let id = row.get("name").unwrap_or_default().to_owned();
                    if id.is_empty() {
                        self.report
                            .error(SURVEY, row.number, Some("name"), "a group needs a name");
                    }
                    let title = labels.text(row).unwrap_or_else(|| {
                        self.report.warning(
                            SURVEY,
                            row.number,
                            Some("label"),
                            "the group has no label; its name is its title",
                        );
                        Text::new([(FALLBACK_LOCALE, id.as_str())])
                    });
                    let relevance = row.get("relevant").map(|r| (row.number, r.to_owned()));
                    sections.push((
                        Section {
                            id,
                            title,
                            questions: Vec::new(),
                        },
                        Vec::new(),
                    ));
                    open_group = Some((row.number, relevance));
                    loose_section_open = false;
                }
                RowType::EndGroup => {
                    if open_group.take().is_none() {
                        self.report.error(
                            SURVEY,
                            row.number,
                            Some("type"),
                            "end_group without begin_group",
                        );
                    }
                }
                RowType::LeftOut(why) => {
                    self.report.warning(
                        SURVEY,
                        row.number,
                        Some("type"),
                        format!("left out: {why}"),
                    );
                }
                RowType::Unsupported(why) => {
                    self.report.error(SURVEY, row.number, Some("type"), why);
                }
                RowType::Question(kind) => {
                    let Some(question) = self.question(row, kind, &labels, &hints) else {
                        continue;
                    };
                    self.kinds.insert(question.id.clone(), question.kind);
                    if open_group.is_none() && !loose_section_open {
                        // Questions outside any group: a section of their own, titled
                        // like the form, so a plain list of questions imports too.
                        let n = sections.len() + 1;
                        sections.push((
                            Section {
                                id: format!("part_{n}"),
                                title: settings.title.clone(),
                                questions: Vec::new(),
                            },
                            Vec::new(),
                        ));
                        loose_section_open = true;
                    }
                    let group_relevance = open_group.as_ref().and_then(|(_, r)| r.clone());
                    if let Some((_, pending)) = sections.last_mut() {
                        pending.push(Pending {
                            row,
                            question,
                            group_relevance,
                        });
                    }
                }
            }
        }
        if let Some((row, _)) = open_group {
            self.report.error(
                SURVEY,
                row,
                Some("type"),
                "begin_group is never closed with end_group",
            );
        }

        // Second pass: expressions, now that every question's type is known.
        let mut out = Vec::new();
        for (mut section, pending) in sections {
            for Pending {
                row,
                mut question,
                group_relevance,
            } in pending
            {
                let own = row
                    .get("relevant")
                    .and_then(|r| self.condition(row.number, "relevant", r));
                let group =
                    group_relevance.and_then(|(number, r)| self.condition(number, "relevant", &r));
                question.relevance = match (group, own) {
                    (Some(group), Some(own)) => Some(Condition::All(vec![group, own])),
                    (group, own) => group.or(own),
                };
                question.constraints = self.constraints(row, question.kind, &messages);
                section.questions.push(question);
            }
            out.push(section);
        }
        out
    }

    fn check_columns(&mut self, labels: &Translated, hints: &Translated, messages: &Translated) {
        let known = ["type", "name", "required", "relevant", "constraint"];
        for column in &self.survey.columns {
            let lower = column.to_lowercase();
            let base = lower.split("::").next().unwrap_or("");
            if known.contains(&lower.as_str())
                || labels.is_column(column)
                || hints.is_column(column)
                || messages.is_column(column)
                || UNSUPPORTED_COLUMNS.iter().any(|(c, _)| *c == base)
                || base == "appearance"
            {
                continue;
            }
            if self.survey.rows.iter().any(|r| r.get(column).is_some()) {
                let why = if PRESENTATION_COLUMNS.contains(&base) {
                    "ignored: it only changes how ODK shows the form"
                } else {
                    "ignored: Testigo does not know this column"
                };
                self.report.warning(SURVEY, 1, Some(column), why);
            }
        }
    }

    fn refuse_unsupported_columns(&mut self, row: &Row) {
        for (column, why) in UNSUPPORTED_COLUMNS {
            if let Some(actual) = row
                .cells
                .keys()
                .find(|c| c.to_lowercase().split("::").next() == Some(column))
            {
                if row.get(actual).is_some() {
                    self.report
                        .error(SURVEY, row.number, Some(actual.as_str()), why);
                }
            }
        }
    }

    fn question(
        &mut self,
        row: &Row,
        kind: QuestionKind,
        labels: &Translated,
        hints: &Translated,
    ) -> Option<Question> {
        let number = row.number;
        let Some(id) = row.get("name") else {
            self.report
                .error(SURVEY, number, Some("name"), "a question needs a name");
            return None;
        };
        let label = labels.text(row).unwrap_or_else(|| {
            self.report
                .error(SURVEY, number, Some("label"), "a question needs a label");
            Text::default()
        });
        let appearance = row.get("appearance").map(str::to_lowercase);
        let (kind, choices) = match kind {
            QuestionKind::Plain(kind) => (kind, Vec::new()),
            QuestionKind::Geopoint if appearance.as_deref() == Some(CHECKPOINT_APPEARANCE) => {
                (QuestionType::Checkpoint, Vec::new())
            }
            QuestionKind::Geopoint => (QuestionType::Location, Vec::new()),
            QuestionKind::Acknowledge => (
                QuestionType::SingleChoice,
                vec![Choice {
                    value: "OK".into(),
                    label: Text::new([("en", "OK"), ("es", "De acuerdo")]),
                }],
            ),
            QuestionKind::SelectOne(list) | QuestionKind::SelectMultiple(list)
                if !self.lists.contains_key(&list) =>
            {
                self.report.error(
                    SURVEY,
                    number,
                    Some("type"),
                    format!("there is no choice list {list:?} in the choices sheet"),
                );
                return None;
            }
            QuestionKind::SelectOne(list) => {
                let choices = self.choices(&list);
                let mut values: Vec<&str> = choices.iter().map(|c| c.value.as_str()).collect();
                values.sort_unstable();
                let mut yes_no_unknown = YES_NO_UNKNOWN_VALUES;
                yes_no_unknown.sort_unstable();
                if values == yes_no_unknown {
                    // Testigo's own yes / no / unknown question, labelled by the app.
                    (QuestionType::YesNoUnknown, Vec::new())
                } else {
                    (QuestionType::SingleChoice, choices)
                }
            }
            QuestionKind::SelectMultiple(list) => {
                (QuestionType::MultipleChoice, self.choices(&list))
            }
        };
        if let Some(appearance) =
            appearance.filter(|a| a != CHECKPOINT_APPEARANCE || kind != QuestionType::Checkpoint)
        {
            self.report.warning(
                SURVEY,
                number,
                Some("appearance"),
                format!("ignored: {appearance:?} only changes how ODK shows the question"),
            );
        }
        let required = match row.get("required").map(str::to_lowercase).as_deref() {
            None | Some("no" | "false" | "false()" | "0") => false,
            Some("yes" | "true" | "true()" | "1") => true,
            Some(other) => {
                self.report.error(SURVEY, number, Some("required"), format!("{other:?}: a question is required or not (yes / no); required only under a condition is not supported"));
                false
            }
        };
        Some(Question {
            id: id.to_owned(),
            kind,
            label,
            hint: hints.text(row),
            required,
            relevance: None,
            choices,
            constraints: Vec::new(),
        })
    }

    fn choices(&self, list: &str) -> Vec<Choice> {
        self.lists
            .get(list)
            .map(|choices| choices.iter().map(|(_, c)| c.clone()).collect())
            .unwrap_or_default()
    }

    fn condition(&mut self, row: usize, column: &str, expression: &str) -> Option<Condition> {
        let kinds = &self.kinds;
        match condition(expression, &|q| kinds.get(q).copied()) {
            Ok(condition) => Some(condition),
            Err(error) => {
                self.report.error(
                    SURVEY,
                    row,
                    Some(column),
                    format!("{expression:?}: {}", error.0),
                );
                None
            }
        }
    }

    fn constraints(
        &mut self,
        row: &Row,
        kind: QuestionType,
        messages: &Translated,
    ) -> Vec<Constraint> {
        let Some(expression) = row.get("constraint") else {
            return Vec::new();
        };
        let rules = match constraint_rules(expression, kind) {
            Ok(rules) => rules,
            Err(error) => {
                self.report.error(
                    SURVEY,
                    row.number,
                    Some("constraint"),
                    format!("{expression:?}: {}", error.0),
                );
                return Vec::new();
            }
        };
        let message = messages.text(row).unwrap_or_else(|| {
            self.report.warning(
                SURVEY,
                row.number,
                Some("constraint_message"),
                "no constraint_message; a general one is shown",
            );
            Text::new([
                ("en", "This answer is not allowed here."),
                ("es", "Esta respuesta no se admite aquí."),
            ])
        });
        rules
            .into_iter()
            .map(|rule| Constraint {
                rule,
                message: message.clone(),
            })
            .collect()
    }
}

// ----- determinations --------------------------------------------------------------------

fn determinations(
    sheet: Option<&Sheet>,
    locale: &str,
    kinds: &HashMap<String, QuestionType>,
    report: &mut ImportReport,
) -> Vec<DeterminationRule> {
    let Some(sheet) = sheet else {
        return Vec::new();
    };
    let reasons = translated(sheet, "reason", locale, report);
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for row in &sheet.rows {
        let number = row.number;
        let mut cell = |column: &str| {
            let value = row.get(column);
            if value.is_none() {
                report.error(
                    DETERMINATIONS,
                    number,
                    Some(column),
                    format!("a rule needs a {column}"),
                );
            }
            value
        };
        let (Some(id), Some(when), Some(determination), Some(confidence)) = (
            cell("name"),
            cell("when"),
            cell("determination"),
            cell("confidence"),
        ) else {
            continue;
        };
        if !seen.insert(id) {
            report.error(
                DETERMINATIONS,
                number,
                Some("name"),
                format!("{id:?} is used twice"),
            );
        }
        let when = match condition(when, &|q| kinds.get(q).copied()) {
            Ok(when) => when,
            Err(error) => {
                report.error(
                    DETERMINATIONS,
                    number,
                    Some("when"),
                    format!("{when:?}: {}", error.0),
                );
                continue;
            }
        };
        let (Ok(determination), Ok(confidence)) = (
            serde_json::from_value(serde_json::Value::String(determination.to_owned())),
            serde_json::from_value(serde_json::Value::String(confidence.to_owned())),
        ) else {
            report.error(
                DETERMINATIONS,
                number,
                None,
                "determination is verified, not_found or inconclusive; confidence is low, medium or high",
            );
            continue;
        };
        let Some(reason) = reasons.text(row) else {
            report.error(
                DETERMINATIONS,
                number,
                Some("reason"),
                "a rule needs a reason",
            );
            continue;
        };
        rules.push(DeterminationRule {
            id: id.to_owned(),
            when,
            determination,
            confidence,
            reason,
        });
    }
    rules
}
