//! The sheets of an XLSForm as plain text cells, whichever file they came in: an `.xlsx`
//! workbook (read with calamine) or pyxform's one-file CSV, where a row whose first
//! cell names a sheet (`survey`, `choices`, `settings`) starts that sheet, its
//! following cells are the sheet's header, and the rows after it (first cell empty)
//! are the sheet's rows.
//!
//! Everything after this file reads [`Sheet`]s only, so both formats get exactly the
//! same translation and the same reports.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::problems::ImportError;

/// Larger files are refused before they are opened: a real form is a few dozen kB, and
/// a zip bomb should cost us nothing.
pub const MAX_FORM_BYTES: usize = 4 << 20;
/// Rows in one sheet; a checklist filled on scene has tens of questions.
pub const MAX_ROWS: usize = 5_000;
/// Characters in one cell.
const MAX_CELL_CHARS: usize = 10_000;

/// One sheet: its header (column names, trimmed, as written) and its non-empty rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

/// One row of a sheet: its spreadsheet row number and its cells by column name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub number: usize,
    pub cells: HashMap<String, String>,
}

impl Row {
    /// The trimmed cell in `column`, `None` when blank.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The sheets of a form by lower-case name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workbook {
    pub sheets: HashMap<String, Sheet>,
}

impl Workbook {
    pub fn sheet(&self, name: &str) -> Option<&Sheet> {
        self.sheets.get(name)
    }

    /// Reads an `.xlsx` workbook.
    pub fn from_xlsx(bytes: &[u8]) -> Result<Self, ImportError> {
        check_size(bytes.len())?;
        let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
            .map_err(|e| ImportError::Unreadable(format!("not an .xlsx workbook: {e}")))?;
        let mut sheets = HashMap::new();
        for name in workbook.sheet_names() {
            let range = workbook
                .worksheet_range(&name)
                .map_err(|e| ImportError::Unreadable(format!("sheet {name:?}: {e}")))?;
            // Row numbers as the spreadsheet shows them, even when the used range does
            // not start at A1.
            let first_row = range.start().map_or(0, |(row, _)| row as usize);
            let grid: Vec<(usize, Vec<String>)> = range
                .rows()
                .enumerate()
                .map(|(i, cells)| (first_row + i + 1, cells.iter().map(cell_text).collect()))
                .collect();
            let sheet = Sheet::from_grid(&name, grid)?;
            sheets.insert(name.trim().to_lowercase(), sheet);
        }
        Ok(Self { sheets })
    }

    /// Reads pyxform's one-file CSV form.
    pub fn from_csv(text: &str) -> Result<Self, ImportError> {
        check_size(text.len())?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut sheets = HashMap::new();
        let mut current: Option<(String, Vec<(usize, Vec<String>)>)> = None;
        for (i, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| ImportError::Unreadable(format!("CSV line {}: {e}", i + 1)))?;
            let mut cells = record.iter().map(str::to_owned);
            let first = cells.next().unwrap_or_default();
            let rest: Vec<String> = cells.collect();
            if !first.trim().is_empty() {
                if let Some((name, grid)) = current.take() {
                    sheets.insert(name.to_lowercase(), Sheet::from_grid(&name, grid)?);
                }
                current = Some((first.trim().to_owned(), vec![(1, rest)]));
            } else if let Some((_, grid)) = current.as_mut() {
                let number = grid.len() + 1;
                grid.push((number, rest));
            } else if rest.iter().any(|c| !c.trim().is_empty()) {
                return Err(ImportError::Unreadable(format!(
                    "CSV line {}: a row before any sheet name (the first cell of a sheet's header row names the sheet: survey, choices, settings)",
                    i + 1
                )));
            }
        }
        if let Some((name, grid)) = current.take() {
            sheets.insert(name.to_lowercase(), Sheet::from_grid(&name, grid)?);
        }
        Ok(Self { sheets })
    }
}

impl Sheet {
    /// A sheet from its rows of cells; the first non-blank row is the header.
    fn from_grid(name: &str, grid: Vec<(usize, Vec<String>)>) -> Result<Self, ImportError> {
        let mut rows = grid
            .into_iter()
            .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
        let Some((_, header)) = rows.next() else {
            return Ok(Sheet {
                name: name.to_lowercase(),
                ..Default::default()
            });
        };
        let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
        let mut out = Vec::new();
        for (number, cells) in rows {
            if out.len() >= MAX_ROWS {
                return Err(ImportError::Unreadable(format!(
                    "sheet {name:?} has more than {MAX_ROWS} rows"
                )));
            }
            let mut by_column = HashMap::new();
            for (column, value) in columns.iter().zip(cells) {
                if column.is_empty() || value.trim().is_empty() {
                    continue;
                }
                if value.chars().count() > MAX_CELL_CHARS {
                    return Err(ImportError::Unreadable(format!(
                        "sheet {name:?} row {number} column {column:?}: longer than {MAX_CELL_CHARS} characters"
                    )));
                }
                by_column.insert(column.clone(), value);
            }
            out.push(Row {
                number,
                cells: by_column,
            });
        }
        Ok(Sheet {
            name: name.to_lowercase(),
            columns: columns.into_iter().filter(|c| !c.is_empty()).collect(),
            rows: out,
        })
    }
}

fn check_size(len: usize) -> Result<(), ImportError> {
    if len > MAX_FORM_BYTES {
        return Err(ImportError::Unreadable(format!(
            "larger than {MAX_FORM_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A cell as the text a person typed: whole numbers without `.0`, booleans as XLSForm
/// spells them.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(true) => "yes".to_owned(),
        Data::Bool(false) => "no".to_owned(),
        other => other.to_string(),
    }
}
