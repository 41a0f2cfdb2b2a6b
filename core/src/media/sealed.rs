//! The encrypted form of an attachment at rest: ChaCha20-Poly1305 in the STREAM
//! construction (Hoang, Reyhanitabar, Rogaway, Vizár), segment by segment.
//!
//! ```text
//! "TGM1" | nonce prefix (7 bytes) | segment 0 | segment 1 | … | last segment
//! segment = SEGMENT bytes of plaintext + 16-byte tag; the last holds 0..=SEGMENT bytes
//! ```
//!
//! Each segment is authenticated with its position and a "last" flag, so a segment
//! cannot be moved, dropped or the file cut short without decryption failing. Only one
//! segment is ever in memory, and any segment can be read on its own — an upload that
//! resumes at byte N starts decrypting at segment N / SEGMENT.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use sha2::{Digest, Sha256};

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const MAGIC: &[u8; 4] = b"TGM1";
const NONCE_PREFIX: usize = 7;
const HEADER: u64 = (MAGIC.len() + NONCE_PREFIX) as u64;

/// The file key: 32 random bytes, one per stored file, kept in the SQLCipher database.
pub type FileKey = [u8; 32];

/// What sealing a file measured on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// SHA-256 of the plaintext, lower-case hex.
    pub sha256: String,
    pub size: u64,
}

fn stream(key: &FileKey, nonce: &[u8]) -> StreamBE32<ChaCha20Poly1305> {
    StreamBE32::from_aead(
        ChaCha20Poly1305::new(GenericArray::from_slice(key)),
        GenericArray::from_slice(nonce),
    )
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("sealed file {what}"))
}

/// SHA-256 of bytes in memory, as records carry it (lower-case hex).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A fresh random file key.
pub fn new_key() -> io::Result<FileKey> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(key)
}

/// Encrypts everything `src` yields into `dst`, hashing the plaintext as it passes.
pub fn seal(src: &mut impl Read, dst: &mut impl Write, key: &FileKey) -> io::Result<Sealed> {
    let mut nonce = [0u8; NONCE_PREFIX];
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let stream = stream(key, &nonce);
    dst.write_all(MAGIC)?;
    dst.write_all(&nonce)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = Vec::with_capacity(SEGMENT + TAG);
    for position in 0u32.. {
        buf.clear();
        let filled = src.by_ref().take(SEGMENT as u64).read_to_end(&mut buf)?;
        hasher.update(&buf);
        size += filled as u64;
        // A short (or empty) read is the end; a full segment may be followed by more.
        let last = filled < SEGMENT;
        stream
            .encrypt_in_place(position, last, &[], &mut buf)
            .map_err(|_| io::Error::other("encryption failed"))?;
        dst.write_all(&buf)?;
        if last {
            break;
        }
    }
    Ok(Sealed {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// Reads the plaintext of a sealed file, from any offset, one segment in memory.
pub struct SealedReader {
    file: File,
    stream: StreamBE32<ChaCha20Poly1305>,
    plain_len: u64,
    /// Index of the segment held in `segment`.
    current: Option<u32>,
    segment: Vec<u8>,
    /// Plaintext offset of the next byte `read` returns.
    offset: u64,
}

impl SealedReader {
    pub fn open(path: &Path, key: &FileKey) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut header = [0u8; HEADER as usize];
        file.read_exact(&mut header)
            .map_err(|_| damaged("is too short"))?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(damaged("has no Testigo header"));
        }
        let body = len - HEADER;
        if body < TAG as u64 {
            return Err(damaged("is cut short"));
        }
        let full = (body - TAG as u64) / (SEGMENT + TAG) as u64;
        let rest = (body - TAG as u64) % (SEGMENT + TAG) as u64;
        Ok(Self {
            stream: stream(key, &header[MAGIC.len()..]),
            file,
            plain_len: full * SEGMENT as u64 + rest,
            current: None,
            segment: Vec::with_capacity(SEGMENT + TAG),
            offset: 0,
        })
    }

    /// Bytes of plaintext the file holds.
    pub fn len(&self) -> u64 {
        self.plain_len
    }

    pub fn is_empty(&self) -> bool {
        self.plain_len == 0
    }

    /// Moves to plaintext offset `offset` (at most the length).
    pub fn seek_to(&mut self, offset: u64) {
        self.offset = offset.min(self.plain_len);
    }

    fn last_index(&self) -> u32 {
        (self.plain_len / SEGMENT as u64) as u32
    }

    fn load(&mut self, index: u32) -> io::Result<()> {
        let last = index == self.last_index();
        let ciphertext_len = if last {
            (self.plain_len - u64::from(index) * SEGMENT as u64) as usize + TAG
        } else {
            SEGMENT + TAG
        };
        self.file.seek(SeekFrom::Start(
            HEADER + u64::from(index) * (SEGMENT + TAG) as u64,
        ))?;
        self.segment.resize(ciphertext_len, 0);
        self.file.read_exact(&mut self.segment)?;
        self.current = None;
        self.stream
            .decrypt_in_place(index, last, &[], &mut self.segment)
            .map_err(|_| damaged("does not decrypt: altered, truncated or the wrong key"))?;
        self.current = Some(index);
        Ok(())
    }
}

impl Read for SealedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.offset >= self.plain_len || out.is_empty() {
            // The last segment (possibly empty) still authenticates the file's end.
            if self.plain_len % SEGMENT as u64 == 0 && self.current != Some(self.last_index()) {
                self.load(self.last_index())?;
            }
            return Ok(0);
        }
        let index = (self.offset / SEGMENT as u64) as u32;
        if self.current != Some(index) {
            self.load(index)?;
        }
        let within = (self.offset % SEGMENT as u64) as usize;
        let n = out.len().min(self.segment.len() - within);
        out[..n].copy_from_slice(&self.segment[within..within + n]);
        self.offset += n as u64;
        Ok(n)
    }
}

/// Decrypts a whole sealed file into `dst`, returning what it measured.
pub fn unseal(path: &Path, key: &FileKey, dst: &mut impl Write) -> io::Result<Sealed> {
    let mut reader = SealedReader::open(path, key)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; SEGMENT];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
        size += n as u64;
    }
    Ok(Sealed {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}
