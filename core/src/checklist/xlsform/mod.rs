//! XLSForm, the spreadsheet format of ODK and KoboToolbox, to and from Testigo
//! templates. Coalitions already keep their forms this way; importing them means a
//! coordinator publishes what the volunteers were trained on.
//!
//! - `sheets.rs`: `.xlsx` (calamine) and pyxform's one-file CSV, both as [`Sheet`]s;
//! - `languages.rs`: `label::English (en)` columns to locale-keyed texts;
//! - `types.rs`: the `type` column;
//! - `expressions.rs`: `relevant` and `constraint` (XPath) to conditions and rules;
//! - `import.rs` / `export.rs`: the sheets to and from a template;
//! - `problems.rs`: what could not be taken, with sheet and row.
//!
//! An import either gives a template that passed [`check_template`] or fails listing
//! every problem; what it leaves out on purpose (notes, ODK's metadata rows, layout
//! columns) is in the warnings, never dropped unsaid. Behind the `xlsform` feature:
//! phones receive templates as checked JSON and never parse spreadsheets.
//!
//! [`check_template`]: super::check_template

mod export;
mod expressions;
mod import;
mod languages;
mod problems;
mod sheets;
mod types;

pub use export::ExportError;
pub use problems::{ImportError, ImportReport, Problem};
pub use sheets::{Row, Sheet, Workbook, MAX_FORM_BYTES};

use super::check::CheckedTemplate;
use super::template::Template;

/// A form that became a checked template, with what was left out on purpose.
#[derive(Clone, Debug)]
pub struct Imported {
    pub template: CheckedTemplate,
    pub warnings: Vec<Problem>,
}

/// Imports an `.xlsx` XLSForm.
pub fn import_xlsx(bytes: &[u8]) -> Result<Imported, ImportError> {
    import_workbook(&Workbook::from_xlsx(bytes)?)
}

/// Imports an XLSForm in pyxform's one-file CSV layout.
pub fn import_csv(text: &str) -> Result<Imported, ImportError> {
    import_workbook(&Workbook::from_csv(text)?)
}

/// Imports `bytes`, as `.xlsx` when they are a zip archive (`PK`), as CSV otherwise.
pub fn import_file(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.starts_with(b"PK") {
        import_xlsx(bytes)
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            ImportError::Unreadable("neither an .xlsx workbook nor UTF-8 CSV".into())
        })?;
        import_csv(text.trim_start_matches('\u{feff}'))
    }
}

pub fn import_workbook(workbook: &Workbook) -> Result<Imported, ImportError> {
    let mut report = ImportReport::default();
    let template = import::template(workbook, &mut report);
    match template {
        Some(template) if report.is_ok() => match CheckedTemplate::new(template) {
            Ok(template) => Ok(Imported {
                template,
                warnings: report.warnings,
            }),
            Err(crate::Error::InvalidTemplate(errors)) => Err(ImportError::Template(errors)),
            Err(other) => Err(ImportError::Template(vec![other.to_string()])),
        },
        _ => Err(ImportError::Form(report)),
    }
}

/// The template as an `.xlsx` XLSForm.
pub fn export_xlsx(template: &Template) -> Result<Vec<u8>, ExportError> {
    export::to_xlsx(&export::grids(template)?)
}

/// The template as an XLSForm in pyxform's one-file CSV layout.
pub fn export_csv(template: &Template) -> Result<String, ExportError> {
    export::to_csv(&export::grids(template)?)
}
#[cfg(test)]
mod tests;
