//! The `type` column: which XLSForm types become which Testigo question, which open and
//! close a section, and which Testigo leaves out or cannot take.

use crate::checklist::template::QuestionType;

/// What one `type` cell means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowType {
    Question(QuestionKind),
    BeginGroup,
    EndGroup,
    /// Left out with a warning: it asks nothing Testigo must keep (a note), or it is a
    /// value Testigo records by itself (`start`, `end`, `deviceid`…).
    LeftOut(&'static str),
    /// Testigo cannot run it; the import fails naming the row.
    Unsupported(String),
}

/// A question as XLSForm types it, before its choice list is looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuestionKind {
    /// `select_one list`: a yes / no / unknown question when the list is exactly those
    /// three values, a single choice otherwise.
    SelectOne(String),
    SelectMultiple(String),
    /// `acknowledge`: one "OK" choice.
    Acknowledge,
    /// `geopoint`; with `appearance` `checkpoint`, an arrival or departure.
    Geopoint,
    Plain(QuestionType),
}

/// The appearance that makes a geopoint a Testigo checkpoint (time and fix together).
/// ODK Collect ignores appearances it does not know and shows a location question.
pub const CHECKPOINT_APPEARANCE: &str = "checkpoint";

/// The choice list a yes / no / unknown question is exported with.
pub const YES_NO_UNKNOWN_LIST: &str = "yes_no_unknown";

/// The values that make a `select_one` list a yes / no / unknown question.
pub const YES_NO_UNKNOWN_VALUES: [&str; 3] = ["yes", "no", "unknown"];

pub fn parse(cell: &str) -> RowType {
    let cell = cell.trim();
    // The spelling with a space is as common as the one with an underscore.
    let spaced: Vec<String> = cell.split_whitespace().map(str::to_lowercase).collect();
    if let [first, second] = spaced.as_slice() {
        match (first.as_str(), second.as_str()) {
            ("begin", "group") => return RowType::BeginGroup,
            ("end", "group") => return RowType::EndGroup,
            ("begin" | "end", "repeat") => {
                return RowType::Unsupported("repeats are not supported".into())
            }
            _ => {}
        }
    }
    let mut words = cell.split_whitespace();
    let head = words.next().unwrap_or("").to_lowercase();
    let list = words.next().map(str::to_owned);
    let extra = words.next().is_some();
    let with_list = |make: fn(String) -> QuestionKind| match (&list, extra) {
        (Some(list), false) => RowType::Question(make(list.clone())),
        (None, _) => RowType::Unsupported(format!("{head:?} needs a choice list name")),
        (Some(_), true) => RowType::Unsupported(format!("{cell:?} is not a type")),
    };
    if list.is_some() && !head.starts_with("select_") && head != "rank" {
        return RowType::Unsupported(format!("{cell:?} is not a type"));
    }
    match head.as_str() {
        "select_one" => with_list(QuestionKind::SelectOne),
        "select_multiple" => with_list(QuestionKind::SelectMultiple),
        "integer" | "int" => RowType::Question(QuestionKind::Plain(QuestionType::Count)),
        "decimal" => RowType::Question(QuestionKind::Plain(QuestionType::Decimal)),
        "text" | "string" => RowType::Question(QuestionKind::Plain(QuestionType::Text)),
        "date" | "time" | "datetime" => RowType::Question(QuestionKind::Plain(QuestionType::Time)),
        "geopoint" => RowType::Question(QuestionKind::Geopoint),
        "acknowledge" | "trigger" => RowType::Question(QuestionKind::Acknowledge),
        "begin_group" => RowType::BeginGroup,
        "end_group" => RowType::EndGroup,
        "note" => RowType::LeftOut("a note asks nothing; put its text in a question's hint"),
        "start" | "end" | "today" | "deviceid" | "phonenumber" | "simserial" | "subscriberid"
        | "username" | "email" | "audit" | "start-geopoint" => RowType::LeftOut(
            "Testigo records times, places and devices itself, signed, with every answer",
        ),
        "begin_repeat" | "end_repeat" => RowType::Unsupported("repeats are not supported".into()),
        "calculate" | "hidden" => RowType::Unsupported("calculations are not supported".into()),
        "select_one_from_file" | "select_multiple_from_file" | "select_one_external" => {
            RowType::Unsupported("choices from an external file are not supported".into())
        }
        "" => RowType::Unsupported("the type is empty".into()),
        other => RowType::Unsupported(format!("the {other:?} type is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse() {
        assert_eq!(
            parse("select_one  yes_no"),
            RowType::Question(QuestionKind::SelectOne("yes_no".into()))
        );
        assert_eq!(
            parse("dateTime"),
            RowType::Question(QuestionKind::Plain(QuestionType::Time))
        );
        assert_eq!(parse("begin group"), RowType::BeginGroup);
        assert!(matches!(parse("select_one"), RowType::Unsupported(_)));
        assert!(matches!(parse("integer agents"), RowType::Unsupported(_)));
        assert_eq!(
            parse("decimal"),
            RowType::Question(QuestionKind::Plain(QuestionType::Decimal))
        );
        assert!(matches!(parse("begin_repeat"), RowType::Unsupported(m) if m.contains("repeat")));
        assert!(matches!(parse("note"), RowType::LeftOut(_)));
    }
}
