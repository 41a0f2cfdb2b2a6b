//! Taking a captured file into the store's attachment area.
//!
//! The file is sealed into `<random>.part`, flushed to disk, then renamed to
//! `<random>.sealed`: a crash leaves either nothing or a whole sealed file, and the
//! store removes any sealed file no database row names when it opens (the row and the
//! observation are written in one transaction, after the file is on disk).

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::MediaError;
use super::kind::{check_type, sniff_matches};
use super::sealed::{self, FileKey, Sealed};
use crate::error::{Error, Result};
use crate::incident::MediaKind;
use crate::location::LocationFix;

/// One file the app hands over with an observation.
#[derive(Clone, Debug)]
pub struct MediaInput {
    /// The camera's or recorder's file. The core reads it and never changes or deletes
    /// it; the app deletes it once the store call returned `Ok`.
    pub path: PathBuf,
    pub mime: String,
    pub captured_at: DateTime<Utc>,
    pub fix: Option<LocationFix>,
    /// A small JPEG or PNG the platform made of it (a photo's thumbnail, a video's
    /// first frame), sent to the hub before the full file.
    pub preview: Option<PathBuf>,
}

/// A file sealed into the attachment area, not yet named by the database.
#[derive(Debug)]
pub struct CapturedFile {
    pub kind: MediaKind,
    pub mime: String,
    /// The sealed file's name inside the attachment area.
    pub file_name: String,
    pub key: FileKey,
    pub sealed: Sealed,
    dir: PathBuf,
}

impl CapturedFile {
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file_name)
    }

    /// Removes the sealed file (the action it belonged to was not saved).
    pub fn discard(self) {
        if let Err(e) = fs::remove_file(self.path()) {
            tracing::warn!(target: "testigo_core", "could not remove an unsaved attachment: {e}");
        }
    }
}

/// Suffix of a sealed file being written.
pub(crate) const PARTIAL_SUFFIX: &str = ".part";
/// Suffix of a whole sealed file.
pub(crate) const SEALED_SUFFIX: &str = ".sealed";

/// Seals `path` into `dir`, checking its type, that it exists, is not empty and is at
/// most `max_bytes`.
pub fn capture(dir: &Path, path: &Path, mime: &str, max_bytes: u64) -> Result<CapturedFile> {
    let kind = check_type(mime)?;
    let shown = path.display().to_string();
    let vanished = || MediaError::Vanished {
        path: shown.clone(),
    };
    let size = match fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.len(),
        Ok(_) => return Err(vanished().into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(vanished().into()),
        Err(e) => return Err(io_error(e, &shown)),
    };
    if size == 0 {
        return Err(MediaError::Empty { path: shown }.into());
    }
    if size > max_bytes {
        return Err(MediaError::TooLarge {
            size,
            max: max_bytes,
        }
        .into());
    }
    let mut source = BufReader::new(File::open(path).map_err(|e| io_error(e, &shown))?);
    let mut head = [0u8; 16];
    let head_len = read_up_to(&mut source, &mut head).map_err(|e| io_error(e, &shown))?;
    if !sniff_matches(mime, &head[..head_len]) {
        return Err(MediaError::UnknownType {
            mime: mime.to_owned(),
            reason: "the file's bytes are not of this type".into(),
        }
        .into());
    }
    fs::create_dir_all(dir).map_err(|e| io_error(e, &shown))?;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let partial = dir.join(format!("{name}{PARTIAL_SUFFIX}"));
    let file_name = format!("{name}{SEALED_SUFFIX}");
    let key = sealed::new_key().map_err(|e| io_error(e, &shown))?;
    let written = (|| -> io::Result<Sealed> {
        let mut out = io::BufWriter::new(File::create(&partial)?);
        let mut whole = (&head[..head_len]).chain(source);
        let sealed = sealed::seal(&mut whole, &mut out, &key)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&partial, dir.join(&file_name))?;
        sync_dir(dir);
        Ok(sealed)
    })();
    match written {
        Ok(sealed) if sealed.size == 0 => {
            let _ = fs::remove_file(dir.join(&file_name));
            Err(MediaError::Empty { path: shown }.into())
        }
        Ok(sealed) => Ok(CapturedFile {
            kind,
            mime: mime.to_owned(),
            file_name,
            key,
            sealed,
            dir: dir.to_path_buf(),
        }),
        Err(e) => {
            let _ = fs::remove_file(&partial);
            let _ = fs::remove_file(dir.join(&file_name));
            Err(io_error(e, &shown))
        }
    }
}

fn read_up_to(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Makes a rename durable (a directory's entries are flushed with the directory).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// The typed error for an I/O failure while taking in `path`.
pub(crate) fn io_error(e: io::Error, path: &str) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound => MediaError::Vanished {
            path: path.to_owned(),
        }
        .into(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            Error::Storage("the device storage is full".into())
        }
        _ => Error::Storage(format!("could not store {path}: {e}")),
    }
}

/// What the store keeps about one attachment file of an incident, and how far its
/// upload got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMedia {
    pub incident: crate::ids::IncidentId,
    /// The observation that records it.
    pub record: crate::ids::RecordId,
    pub sha256: String,
    pub kind: MediaKind,
    pub mime: String,
    pub size: u64,
    /// `true` for a preview picture, `false` for the original file.
    pub is_preview: bool,
    /// Bytes the hub has acknowledged; the upload resumes from here.
    pub acked_bytes: u64,
    /// The hub checked the whole file's hash and holds it.
    pub uploaded: bool,
}
