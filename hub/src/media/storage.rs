//! The rules of keeping media, the same over every backend (`backend.rs`): how an
//! upload is staged, when a file counts as received, and that it is stored once.
//!
//! ```text
//! staging/<incident>-<sha256>/<start>   one acknowledged chunk's new bytes, from byte <start>
//! <aa>/<sha256>                          a whole, checked file, stored once
//! ```
//!
//! - **Staging is parts, written once each.** A chunk's new bytes become their own
//!   object, named by the byte they start at (20 digits, so names sort as numbers),
//!   created only if no object has that name yet (`PutMode::Create`: S3's
//!   `If-None-Match: *`, a hard link on a filesystem). Two hub instances taking the
//!   same chunk at once, or a chunk sent twice, cannot both write it: the second finds
//!   it there and answers with what is held. Nothing is ever appended to or
//!   overwritten, which an object store could not do anyway, and no instance needs to
//!   remember anything between requests.
//! - **Received is what joins up.** The bytes held are the parts that chain from byte
//!   0, each starting where the one before ended; a part left alone by a discarded
//!   upload (written while another instance discarded) is not counted.
//! - **Checked before it counts.** When the last byte is staged the hub reads the parts
//!   back from the store in order, hashing them, and writes the same bytes into the
//!   stored file's multipart upload; only when the whole file hashed to its name is
//!   that upload completed. A wrong hash aborts it and discards the staging, so nothing
//!   is stored half, and the hash is always of the bytes the store holds.
//! - **Stored once.** A file already stored is only hashed, for this incident's
//!   upload, never written again.
//!
//! Memory stays flat whatever the file's size: a part is at most one chunk, and
//! composing holds at most [`COMPOSE_IN_FLIGHT`] parts of [`COMPOSE_PART`] bytes.
//!
//! Staging is per incident: a device proves it holds a file by sending it whole for
//! its incident, even when another incident's upload already stored the same bytes.

use std::path::Path as FilePath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Bytes of each part of a stored file's multipart upload: S3's smallest part.
pub const COMPOSE_PART: usize = 5 * 1024 * 1024;
/// Parts of a stored file on their way to the store at once.
pub const COMPOSE_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("media store: {0}")]
    Store(#[from] object_store::Error),
    #[error("media file: {0}")]
    File(#[from] std::io::Error),
    #[error("stored object {0} is not named as this hub names media")]
    Unnamed(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// What checking a whole upload found.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// The bytes hash to the file's name; the file is stored.
    Stored,
    /// They hash to something else (a bit flipped on the way, a lying client); the
    /// staging is gone and nothing was stored.
    HashMismatch { actual: String },
}

/// One incident's upload of one file. Both are checked before they get here (a
/// UUID and lower-case hex), so they are safe in an object name.
#[derive(Clone, Copy, Debug)]
pub struct Upload<'a> {
    pub incident: &'a str,
    pub sha256: &'a str,
}

impl Upload<'_> {
    fn staging(&self) -> Path {
        Path::from(format!("staging/{}-{}", self.incident, self.sha256))
    }

    fn part(&self, start: u64) -> Path {
        self.staging().join(format!("{start:020}"))
    }
}

/// The hub's media, in whichever store was chosen.
#[derive(Clone, Debug)]
pub struct MediaStorage {
    store: Arc<dyn ObjectStore>,
}

/// A staged part: where it starts and how long it is.
struct Part {
    start: u64,
    len: u64,
}

impl MediaStorage {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    fn stored(sha256: &str) -> Path {
        Path::from(format!("{}/{sha256}", &sha256[..2]))
    }

    /// The staged parts that chain from byte 0, in order.
    async fn chain(&self, upload: Upload<'_>) -> StorageResult<Vec<Part>> {
        let mut parts: Vec<Part> = self
            .store
            .list(Some(&upload.staging()))
            .map_err(StorageError::from)
            .and_then(|meta| async move {
                let start = meta
                    .location
                    .filename()
                    .and_then(|name| name.parse().ok())
                    .ok_or_else(|| StorageError::Unnamed(meta.location.to_string()))?;
                Ok(Part {
                    start,
                    len: meta.size,
                })
            })
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.start);
        let mut chain = Vec::with_capacity(parts.len());
        let mut end = 0;
        for part in parts {
            if part.start == end && part.len > 0 {
                end += part.len;
                chain.push(part);
            }
        }
        Ok(chain)
    }

    /// Bytes of an incident's upload held so far.
    pub async fn received(&self, upload: Upload<'_>) -> StorageResult<u64> {
        Ok(self
            .chain(upload)
            .await?
            .last()
            .map_or(0, |p| p.start + p.len))
    }

    /// Keeps `bytes` as the part starting at `start` (where the held bytes ended when
    /// the caller asked), durably, and returns how many bytes are held now. If a part
    /// starting there exists already (the same chunk twice, or another instance first)
    /// these bytes are dropped and the answer says what is really held, which the
    /// device resumes from.
    pub async fn stage(&self, upload: Upload<'_>, start: u64, bytes: Bytes) -> StorageResult<u64> {
        let created = self
            .store
            .put_opts(
                &upload.part(start),
                PutPayload::from_bytes(bytes),
                PutMode::Create.into(),
            )
            .await;
        match created {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.received(upload).await
    }

    /// Checks a fully staged upload against its name: its parts are read back from the
    /// store and hashed and, unless the file is stored already, written into it as
    /// they go, the write completed only if the hash matched. A mismatch discards the
    /// staging. On a match the staging stays until [`Self::settle`].
    pub async fn check(&self, upload: Upload<'_>) -> StorageResult<Checked> {
        let staged = self.staged_bytes(upload).await?;
        let checked = if self.contains(upload.sha256).await? {
            hash_only(staged, upload.sha256).await?
        } else {
            self.store_checked(upload.sha256, staged).await?
        };
        if checked != Checked::Stored {
            self.discard(upload).await;
        }
        Ok(checked)
    }

    /// After the incident's link to the file is committed: makes sure the file is
    /// still stored, and drops the staging. An archive elsewhere may have removed the
    /// file's last other link, and the file with it, between the check and the link;
    /// the staging then stores it again. `false`: the file is gone and so is a whole
    /// staging (another instance settled the same upload meanwhile), so the link must
    /// go and the device send the file again.
    pub async fn settle(&self, upload: Upload<'_>) -> StorageResult<bool> {
        let mut stored = self.contains(upload.sha256).await?;
        if !stored {
            let staged = self.staged_bytes(upload).await?;
            stored = self.store_checked(upload.sha256, staged).await? == Checked::Stored;
        }
        self.discard(upload).await;
        Ok(stored)
    }

    /// The staged bytes in order, part by part, as a stream.
    async fn staged_bytes(
        &self,
        upload: Upload<'_>,
    ) -> StorageResult<BoxStream<'static, StorageResult<Bytes>>> {
        let chain = self.chain(upload).await?;
        let store = Arc::clone(&self.store);
        let paths: Vec<Path> = chain.iter().map(|p| upload.part(p.start)).collect();
        Ok(futures_util::stream::iter(paths)
            .then(move |path| {
                let store = Arc::clone(&store);
                async move {
                    let got = store.get(&path).await?;
                    Ok::<_, StorageError>(got.into_stream().map_err(StorageError::from))
                }
            })
            .try_flatten()
            .boxed())
    }

    /// Writes `bytes` as the stored file `sha256`, completing the write only if they
    /// hash to `sha256`; otherwise nothing of them is kept.
    async fn store_checked(
        &self,
        sha256: &str,
        mut bytes: BoxStream<'static, StorageResult<Bytes>>,
    ) -> StorageResult<Checked> {
        let upload = self.store.put_multipart(&Self::stored(sha256)).await?;
        let mut sink = WriteMultipart::new_with_chunk_size(upload, COMPOSE_PART);
        let mut hasher = Sha256::new();
        let written: StorageResult<()> = async {
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                sink.wait_for_capacity(COMPOSE_IN_FLIGHT).await?;
                sink.put(chunk);
            }
            Ok(())
        }
        .await;
        let actual = hex::encode(hasher.finalize());
        match written {
            Ok(()) if actual == sha256 => {
                sink.finish().await?;
                Ok(Checked::Stored)
            }
            Ok(()) => {
                abort(sink).await;
                Ok(Checked::HashMismatch { actual })
            }
            Err(e) => {
                abort(sink).await;
                Err(e)
            }
        }
    }

    /// Drops an upload's staging (every part, joined up or not).
    pub async fn discard(&self, upload: Upload<'_>) {
        let parts = self
            .store
            .list(Some(&upload.staging()))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.store.delete_stream(parts);
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete a staged media part"),
            }
        }
    }

    /// Whether the file is stored.
    pub async fn contains(&self, sha256: &str) -> StorageResult<bool> {
        match self.store.head(&Self::stored(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A stored file as a stream, and its length.
    pub async fn read(
        &self,
        sha256: &str,
    ) -> StorageResult<(u64, BoxStream<'static, object_store::Result<Bytes>>)> {
        let got = self.store.get(&Self::stored(sha256)).await?;
        Ok((got.meta.size, got.into_stream()))
    }

    /// Copies a stored file to `target` on this machine, flushed to disk.
    pub async fn copy_to_file(&self, sha256: &str, target: &FilePath) -> StorageResult<()> {
        let (_, mut stream) = self.read(sha256).await?;
        let mut file = tokio::fs::File::create(target).await?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await?;
        }
        file.sync_all().await?;
        Ok(())
    }

    /// Stores the file `sha256` from `source` on this machine, if it hashes to that
    /// name (the archive putting back a file it removed too soon).
    pub async fn store_from_file(&self, sha256: &str, source: &FilePath) -> StorageResult<Checked> {
        let file = tokio::fs::File::open(source).await?;
        let bytes = tokio_util::io::ReaderStream::new(file)
            .map_err(StorageError::from)
            .boxed();
        self.store_checked(sha256, bytes).await
    }

    /// Deletes a stored file no incident records any more.
    pub async fn remove(&self, sha256: &str) {
        match self.store.delete(&Self::stored(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "could not delete a media file"),
        }
    }
}

/// Hashes a stream and compares it with `sha256`.
async fn hash_only(
    mut bytes: BoxStream<'static, StorageResult<Bytes>>,
    sha256: &str,
) -> StorageResult<Checked> {
    let mut hasher = Sha256::new();
    while let Some(chunk) = bytes.next().await {
        hasher.update(&chunk?);
    }
    let actual = hex::encode(hasher.finalize());
    Ok(if actual == sha256 {
        Checked::Stored
    } else {
        Checked::HashMismatch { actual }
    })
}

/// Abandons a stored file's write; S3 drops the parts sent so far.
async fn abort(sink: WriteMultipart) {
    if let Err(e) = sink.abort().await {
        tracing::warn!(error = %e, "could not abort a media write; the store will expire its parts");
    }
}

#[cfg(test)]
mod tests;
