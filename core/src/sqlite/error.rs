//! What the shared SQLite plumbing can fail with.

/// A failure opening, upgrading or checking a database.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// The file's schema is newer than this build knows: written by a newer Testigo.
    /// Nothing is changed; the user updates the app (or the hub).
    #[error("the {database} was written by a newer Testigo (schema {found}, this one knows up to {known}); update it")]
    Newer {
        database: &'static str,
        found: i64,
        known: i64,
    },
    /// SQLite's integrity check found damage; its first finding.
    #[error("integrity check failed: {0}")]
    Damaged(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl From<SqliteError> for crate::error::Error {
    fn from(e: SqliteError) -> Self {
        match e {
            // Full disk, read-only file, wrong key: the store's own reading of SQLite.
            SqliteError::Sqlite(e) => e.into(),
            other => crate::error::Error::Storage(other.to_string()),
        }
    }
}
