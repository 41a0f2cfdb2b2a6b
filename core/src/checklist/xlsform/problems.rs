//! What an import found wrong or left out, each with the sheet and row (as the
//! spreadsheet numbers them, header = row 1) so the coordinator can go straight to it.

use std::fmt;

use serde::Serialize;

/// One finding of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `survey`, `choices`, `settings` or `determinations`; empty for the workbook.
    pub sheet: String,
    /// Spreadsheet row number (the header row is 1); 0 for the sheet as a whole.
    pub row: usize,
    /// The column the problem is in, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sheet.is_empty() {
            f.write_str("workbook")?;
        } else {
            write!(f, "{}", self.sheet)?;
        }
        if self.row > 0 {
            write!(f, " row {}", self.row)?;
        }
        if let Some(column) = &self.column {
            write!(f, " ({column})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything an import found. Errors stop the import; warnings name what was left out
/// on purpose (a note, a `start` timestamp Testigo records anyway) and do not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl ImportReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn error(
        &mut self,
        sheet: &str,
        row: usize,
        column: Option<&str>,
        message: impl Into<String>,
    ) {
        // A group's relevance is read for each of its questions: report it once.
        let problem = problem(sheet, row, column, message);
        if !self.errors.contains(&problem) {
            self.errors.push(problem);
        }
    }

    pub(crate) fn warning(
        &mut self,
        sheet: &str,
        row: usize,
        column: Option<&str>,
        message: impl Into<String>,
    ) {
        self.warnings.push(problem(sheet, row, column, message));
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

fn problem(sheet: &str, row: usize, column: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        sheet: sheet.to_owned(),
        row,
        column: column.map(str::to_owned),
        message: message.into(),
    }
}

/// Why an XLSForm could not become a template.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a workbook or CSV this reader understands.
    #[error("not a readable XLSForm: {0}")]
    Unreadable(String),
    /// The form uses something Testigo does not support, or breaks a rule; every
    /// problem is listed with its sheet and row.
    #[error("the XLSForm cannot be imported: {0}")]
    Form(ImportReport),
    /// The form translated, but the template it makes fails the template check.
    #[error("the imported checklist fails the template check: {}", .0.join("; "))]
    Template(Vec<String>),
}

impl From<ImportError> for crate::Error {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Template(errors) => crate::Error::InvalidTemplate(errors),
            ImportError::Form(report) => crate::Error::InvalidTemplate(
                report.errors.iter().map(Problem::to_string).collect(),
            ),
            ImportError::Unreadable(reason) => {
                crate::Error::InvalidTemplate(vec![format!("not a readable XLSForm: {reason}")])
            }
        }
    }
}
