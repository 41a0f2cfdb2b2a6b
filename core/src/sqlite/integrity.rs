//! SQLite's own consistency check, as the crash and fault suites and the app's
//! diagnostics use it.

use rusqlite::Connection;

use super::SqliteError;

/// Runs `PRAGMA integrity_check` over the whole database; `Ok` only if SQLite says
/// "ok", otherwise its first finding.
pub fn check(conn: &Connection) -> Result<(), SqliteError> {
    let finding: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if finding == "ok" {
        Ok(())
    } else {
        Err(SqliteError::Damaged(finding))
    }
}
