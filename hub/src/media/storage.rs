//! Where the hub keeps media: on the filesystem beside its database by default.
//!
//! ```text
//! <db>.media/staging/<incident>-<sha256>.part   an upload in progress, bytes 0..received
//! <db>.media/<aa>/<sha256>                       a whole, checked file, stored once
//! ```
//!
//! Staging is per incident: a device proves it holds a file by sending it whole for
//! its incident, even when another incident's upload already stored the same bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct MediaStorage {
    root: PathBuf,
}

impl MediaStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Media of the hub database at `db`: the folder beside it.
    pub fn beside(db: &Path) -> Self {
        Self::new(format!("{}.media", db.display()))
    }

    fn staging(&self, incident: &str, sha256: &str) -> PathBuf {
        self.root
            .join("staging")
            .join(format!("{incident}-{sha256}.part"))
    }

    /// The stored file of `sha256` (which must already be checked as hex).
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    pub fn has(&self, sha256: &str) -> bool {
        self.path(sha256).is_file()
    }

    /// Bytes of an incident's upload received so far.
    pub fn received(&self, incident: &str, sha256: &str) -> io::Result<u64> {
        match fs::metadata(self.staging(incident, sha256)) {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Appends `bytes` at the end of the staged upload and flushes them to disk before
    /// they are acknowledged.
    pub fn append(&self, incident: &str, sha256: &str, bytes: &[u8]) -> io::Result<u64> {
        let path = self.staging(incident, sha256);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        Ok(file.metadata()?.len())
    }

    /// Checks a fully staged upload against `sha256`. On a match the bytes become the
    /// stored file (unless it is stored already); either way the staging goes.
    pub fn finish(&self, incident: &str, sha256: &str) -> io::Result<Result<(), String>> {
        let staged = self.staging(incident, sha256);
        let actual = hash_file(&staged)?;
        if actual != sha256 {
            fs::remove_file(&staged)?;
            return Ok(Err(actual));
        }
        let target = self.path(sha256);
        if target.is_file() {
            fs::remove_file(&staged)?;
        } else {
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::rename(&staged, &target)?;
            if let Some(dir) = target.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
        Ok(Ok(()))
    }

    /// Deletes a stored file no incident records any more.
    pub fn remove(&self, sha256: &str) {
        match fs::remove_file(self.path(sha256)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "could not delete a media file"),
        }
    }
}

/// SHA-256 of a file, read in blocks (never whole in memory).
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
