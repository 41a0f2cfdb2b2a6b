//! Translated columns: `label::English (en)`, `hint::Español (es)`, `label::es`, or a
//! plain `label` in the form's `default_language`. XLSForm puts the language code in
//! parentheses after the language's name; Testigo keys its texts by that code.

use std::collections::BTreeMap;

use super::sheets::{Row, Sheet};
use crate::checklist::text::{Text, FALLBACK_LOCALE};

/// The columns of a sheet that hold one translatable field (`label`, `hint`…), as
/// (column name, locale).
#[derive(Clone, Debug, Default)]
pub struct Translated {
    pub columns: Vec<(String, String)>,
}

/// A column that names a language Testigo cannot key a text by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLanguage {
    pub column: String,
}

impl Translated {
    /// Finds the columns of `field` in `sheet`. A plain `field` column is in
    /// `default_locale`.
    pub fn find(sheet: &Sheet, field: &str, default_locale: &str) -> (Self, Vec<UnknownLanguage>) {
        let mut columns = Vec::new();
        let mut unknown = Vec::new();
        for column in &sheet.columns {
            match column_locale(column, field, default_locale) {
                Some(Ok(locale)) => columns.push((column.clone(), locale)),
                Some(Err(())) => unknown.push(UnknownLanguage {
                    column: column.clone(),
                }),
                None => {}
            }
        }
        (Self { columns }, unknown)
    }

    /// The row's text for this field, `None` when every translation is blank.
    pub fn text(&self, row: &Row) -> Option<Text> {
        let map: BTreeMap<String, String> = self
            .columns
            .iter()
            .filter_map(|(column, locale)| row.get(column).map(|v| (locale.clone(), v.to_owned())))
            .collect();
        (!map.is_empty()).then_some(Text(map))
    }

    pub fn is_column(&self, column: &str) -> bool {
        self.columns.iter().any(|(c, _)| c == column)
    }
}

/// The locale of `column` if it is a column of `field`: `Some(Err)` for a language
/// without a code Testigo can use.
fn column_locale(column: &str, field: &str, default_locale: &str) -> Option<Result<String, ()>> {
    let lower = column.to_lowercase();
    if lower == field {
        return Some(Ok(default_locale.to_owned()));
    }
    let rest = column.get(field.len()..)?;
    if !lower.starts_with(field) || !rest.starts_with("::") {
        return None;
    }
    Some(language_code(&rest[2..]).ok_or(()))
}

/// `English (en)` → `en`, `es` → `es`, `Español` → `es`. The code in parentheses wins;
/// a bare name is accepted for the two languages Testigo ships, since forms written
/// for ODK Build often have just `English`.
pub fn language_code(language: &str) -> Option<String> {
    let language = language.trim();
    if let (Some(open), true) = (language.rfind('('), language.ends_with(')')) {
        let code = language[open + 1..language.len() - 1].trim();
        return is_code(code).then(|| code.to_owned());
    }
    if is_code(language) {
        return Some(language.to_owned());
    }
    match language.to_lowercase().as_str() {
        "english" => Some(FALLBACK_LOCALE.to_owned()),
        "español" | "espanol" | "spanish" => Some("es".to_owned()),
        _ => None,
    }
}

/// A BCP 47-looking tag: `en`, `es`, `es-MX`, `pt_BR`, `hat`.
fn is_code(code: &str) -> bool {
    let mut parts = code.split(['-', '_']);
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The XLSForm column for `field` in `locale`: `label::English (en)`.
pub fn column_name(field: &str, locale: &str) -> String {
    format!("{field}::{} ({locale})", language_name(locale))
}

fn language_name(locale: &str) -> &str {
    match locale {
        "en" => "English",
        "es" => "Español",
        "fr" => "Français",
        "ht" => "Kreyòl ayisyen",
        "pt" => "Português",
        "zh" => "中文",
        "vi" => "Tiếng Việt",
        "ar" => "العربية",
        _ => locale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_parentheses_bare_codes_or_known_names() {
        assert_eq!(language_code("English (en)").as_deref(), Some("en"));
        assert_eq!(language_code("Español (es)").as_deref(), Some("es"));
        assert_eq!(language_code("es-MX").as_deref(), Some("es-MX"));
        assert_eq!(language_code("English").as_deref(), Some("en"));
        assert_eq!(language_code("Español").as_deref(), Some("es"));
        assert_eq!(language_code("Klingon"), None);
        assert_eq!(language_code("Français (French)"), None);
    }

    #[test]
    fn columns_are_matched_whatever_their_case() {
        assert_eq!(
            column_locale("Label::Español (es)", "label", "en"),
            Some(Ok("es".into()))
        );
        assert_eq!(column_locale("label", "label", "es"), Some(Ok("es".into())));
        assert_eq!(column_locale("labels", "label", "en"), None);
        assert_eq!(
            column_locale("label::Klingon", "label", "en"),
            Some(Err(()))
        );
        assert_eq!(column_name("hint", "es"), "hint::Español (es)");
    }
}
