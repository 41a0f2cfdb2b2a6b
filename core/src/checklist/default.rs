//! The verification checklist that ships with Testigo: a SALUTE-style walk through a
//! reported enforcement scene (arrival, what is there, who, how many, what they are
//! doing, the people affected, the volunteer's safety, a conclusion, departure), in
//! English and Spanish. It lives in `core/templates/` as plain JSON so coordinators
//! can read it, copy it and publish their own versions.

use super::check::CheckedTemplate;
use crate::error::Result;

pub const DEFAULT_TEMPLATE_ID: &str = "field-verification";

const DEFAULT_TEMPLATE_JSON: &str = include_str!("../../templates/field-verification.v1.json");

/// The shipped checklist, checked like any other template.
pub fn default_template() -> Result<CheckedTemplate> {
    CheckedTemplate::from_json(DEFAULT_TEMPLATE_JSON)
}
