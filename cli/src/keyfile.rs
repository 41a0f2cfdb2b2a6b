//! The database key of a terminal field device.
//!
//! Phones keep the key in the Android Keystore or the iOS Keychain. A terminal has no
//! such thing, so the key is read from `TESTIGO_STORE_KEY` (64 hex digits) or kept in
//! a file beside the store, readable by its owner only. Anyone who can read that file
//! can read the store: on shared machines, pass the key through the environment.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub fn key_path(store: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", store.display()))
}

/// The key for the store at `store`, creating one when the store is new.
pub fn load_or_create(store: &Path) -> Result<Vec<u8>> {
    if let Ok(hex_key) = std::env::var("TESTIGO_STORE_KEY") {
        return decode(hex_key.trim()).context("TESTIGO_STORE_KEY");
    }
    let path = key_path(store);
    match std::fs::read_to_string(&path) {
        Ok(text) => decode(text.trim()).with_context(|| format!("key file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if store.exists() {
                bail!(
                    "{} exists but its key file {} is missing; set TESTIGO_STORE_KEY",
                    store.display(),
                    path.display()
                );
            }
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            write_private(&path, hex::encode(key).as_bytes())?;
            Ok(key.to_vec())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn decode(hex_key: &str) -> Result<Vec<u8>> {
    let key = hex::decode(hex_key).context("the key is not hex")?;
    if key.len() != 32 {
        bail!(
            "the key must be 32 bytes (64 hex digits), not {}",
            key.len()
        );
    }
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("creating {}", path.display()))
}
