//! Localized text. Every string a volunteer reads comes from a template as a map
//! locale → text, so a coordinator can add a language without a new app release.
//! English is the fallback because it is the one language every template must have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The locale every template must have, and the one shown when a translation is missing.
pub const FALLBACK_LOCALE: &str = "en";

/// Locales every template is expected to have; a missing one is a warning, because the
/// volunteers who read the checklist on scene need it.
pub const EXPECTED_LOCALES: [&str; 2] = ["en", "es"];

/// One piece of text in several languages, e.g. `{"en": "Yes", "es": "Sí"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    /// Text from `(locale, text)` pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(locale, text)| (locale.to_owned(), text.to_owned()))
                .collect(),
        )
    }

    /// The text for `locale`: the exact locale (`es-MX`), then its language (`es`),
    /// then English. Empty only for a template that was never checked.
    pub fn get(&self, locale: &str) -> &str {
        self.translation(locale)
            .or_else(|| self.translation(language(locale)))
            .or_else(|| self.translation(FALLBACK_LOCALE))
            .unwrap_or("")
    }

    /// Whether `locale` has a non-blank translation of its own (no fallback).
    pub fn has(&self, locale: &str) -> bool {
        self.translation(locale).is_some()
    }

    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    fn translation(&self, locale: &str) -> Option<&str> {
        self.0
            .get(locale)
            .map(String::as_str)
            .filter(|t| !t.trim().is_empty())
    }
}

/// The language part of a locale tag: `es-MX` and `es_US` are both `es`.
fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or(locale)
}

/// The languages the engine's own messages (type errors, yes/no) are written in. Any
/// other locale reads them in English, as it reads untranslated template text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Es,
}

impl Lang {
    pub(crate) fn of(locale: &str) -> Self {
        if language(locale).eq_ignore_ascii_case("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_from_region_to_language_to_english() {
        let text = Text::new([
            ("en", "Yes"),
            ("es", "Sí"),
            ("es-MX", "Sí, claro"),
            ("fr", " "),
        ]);
        assert_eq!(text.get("es-MX"), "Sí, claro");
        assert_eq!(text.get("es_US"), "Sí");
        assert_eq!(text.get("es"), "Sí");
        assert_eq!(
            text.get("fr"),
            "Yes",
            "a blank translation is a missing one"
        );
        assert_eq!(text.get("ht"), "Yes");
        assert!(!text.has("fr"));
        assert!(text.has("es"));
    }

    #[test]
    fn engine_language_follows_the_locale() {
        assert_eq!(Lang::of("es-419"), Lang::Es);
        assert_eq!(Lang::of("ES"), Lang::Es);
        assert_eq!(Lang::of("ht"), Lang::En);
    }
}
