//! Numbers in a template: the bounds of a constraint and the values conditions compare
//! answers with. A count question takes whole numbers, a decimal question whole or
//! decimal ones; the template check (`check.rs`) says which fits where.
//!
//! In JSON a number is written plainly, `2` or `0.5`. A whole number is kept whole, so
//! `2` and `2.0` stay what the author wrote and a template reads back exactly as it was
//! written, in JSON and in XLSForm.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Integer(i64),
    Decimal(f64),
}

impl Number {
    /// Compares two numbers by value; whole numbers exactly, anything with a decimal
    /// as `f64`. `None` only when a side is not finite, which the template check
    /// refuses and answers never hold.
    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Integer(a), Number::Integer(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            // Lossy only past 2^53, far beyond any count a template bounds.
            Number::Integer(n) => n as f64,
            Number::Decimal(x) => x,
        }
    }

    pub fn is_whole(self) -> bool {
        matches!(self, Number::Integer(_))
    }

    pub fn is_finite(self) -> bool {
        match self {
            Number::Integer(_) => true,
            Number::Decimal(x) => x.is_finite(),
        }
    }

    /// Reads a number as people write it in a spreadsheet cell or an expression:
    /// digits with an optional sign and one decimal point (`3`, `-2`, `0.5`, `.5`).
    /// Spellings `f64` would also take (`inf`, `NaN`, `1e3`) are refused: a template
    /// holds finite numbers written out.
    pub fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        let digits = text.strip_prefix('-').unwrap_or(text);
        let well_formed = !digits.is_empty()
            && digits.bytes().any(|b| b.is_ascii_digit())
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().filter(|&b| b == b'.').count() <= 1;
        if !well_formed {
            return None;
        }
        if !digits.contains('.') {
            if let Ok(n) = text.parse::<i64>() {
                return Some(Number::Integer(n));
            }
        }
        text.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Number::Decimal)
    }
}

/// Whole numbers as digits; decimals in the shortest form that reads back to the same
/// `f64`, always with a decimal point (`2.0`, `0.5`), so that reading the text again
/// gives the same [`Number`].
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Integer(n) => write!(f, "{n}"),
            Number::Decimal(x) => {
                let text = x.to_string();
                if text.contains('.') || !x.is_finite() {
                    f.write_str(&text)
                } else {
                    write!(f, "{text}.0")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_whatever_their_spelling() {
        assert_eq!(
            Number::Integer(2).compare(Number::Decimal(2.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Number::Decimal(1.5).compare(Number::Integer(2)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Number::Integer(i64::MAX).compare(Number::Integer(i64::MAX - 1)),
            Some(Ordering::Greater),
            "whole numbers compare exactly"
        );
        assert_eq!(Number::Decimal(f64::NAN).compare(Number::Integer(0)), None);
    }

    #[test]
    fn parsing_takes_written_out_numbers_only() {
        assert_eq!(Number::parse(" 3 "), Some(Number::Integer(3)));
        assert_eq!(Number::parse("-2"), Some(Number::Integer(-2)));
        assert_eq!(Number::parse("0.5"), Some(Number::Decimal(0.5)));
        assert_eq!(Number::parse(".5"), Some(Number::Decimal(0.5)));
        assert_eq!(Number::parse("2.0"), Some(Number::Decimal(2.0)));
        for refused in [
            "", "-", ".", "1.2.3", "inf", "NaN", "1e3", "+1", "1,5", "0x10",
        ] {
            assert_eq!(Number::parse(refused), None, "{refused:?}");
        }
        let huge = format!("1{}", "0".repeat(400));
        assert_eq!(Number::parse(&huge), None, "too large to be finite");
    }

    #[test]
    fn written_numbers_read_back_the_same() {
        for n in [
            Number::Integer(-7),
            Number::Decimal(2.0),
            Number::Decimal(0.1),
            Number::Decimal(-1.25),
            Number::Decimal(1e-7),
            Number::Decimal(1e300),
        ] {
            assert_eq!(Number::parse(&n.to_string()), Some(n), "{n}");
        }
        assert_eq!(Number::Decimal(2.0).to_string(), "2.0");
        assert_eq!(
            serde_json::to_string(&[Number::Integer(2), Number::Decimal(2.0)]).unwrap(),
            "[2,2.0]"
        );
        assert_eq!(
            serde_json::from_str::<Vec<Number>>("[2, 2.0, 0.5]").unwrap(),
            [
                Number::Integer(2),
                Number::Decimal(2.0),
                Number::Decimal(0.5)
            ]
        );
    }
}
