//! Wiping a device: everything Testigo keeps on it goes, in one call.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Every file the store at `db` can leave on disk: the database, SQLite's write-ahead
/// log and shared-memory index, a rollback journal, and the attachments folder.
pub fn store_files(db: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .collect();
    files.push(attachments_dir(db));
    files
}

/// Where photos and other attachments of this store live.
pub fn attachments_dir(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.attachments", db.display()))
}

/// Deletes every file of the store at `db`. Works without the key, so a phone whose
/// keystore entry is gone can still be cleaned. The platform destroys the key itself
/// (Keystore / Keychain); without it any copy of the file is unreadable.
pub fn wipe_files(db: &Path) -> Result<()> {
    for file in store_files(db) {
        let removed = if file.is_dir() {
            std::fs::remove_dir_all(&file)
        } else {
            std::fs::remove_file(&file)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Storage(format!(
                    "could not delete {}: {e}",
                    file.display()
                )))
            }
        }
    }
    Ok(())
}
