//! automerge's decoders can panic on crafted bytes instead of returning an error:
//! fuzzing `IncidentDoc::load` found a 68-byte document whose delta-encoded column makes
//! automerge's RLE decoder (hexane) unwrap a `None` (see TESTING.md). Bytes from a peer,
//! the hub or a damaged file therefore go through these wrappers, which turn such a
//! panic into an error naming the bytes as corrupt, so a hostile document can never
//! crash the app across the FFI or a hub worker. They rely on panics unwinding, which
//! every Testigo build profile keeps (uniffi needs it too).
//!
//! A panic is not the only way a decoder can fail: automerge also allocates whatever a
//! chunk declares, so before decoding, [`chunks::check`] walks the framing and refuses
//! chunk types Testigo never writes and compressed data that would inflate past a
//! budget (an 89-byte bundle chunk found by fuzzing asked for gigabytes).

mod chunks;

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Automerge, Change};

pub use chunks::{change_size, MAX_INFLATED_BYTES};
use chunks::{check, Expect};

/// `Automerge::load` for bytes from outside.
pub fn load(bytes: &[u8]) -> Result<Automerge, String> {
    check(bytes, Expect::DocumentOrChanges)?;
    guarded(|| Automerge::load(bytes).map_err(|e| e.to_string()))
}

/// `load_incremental` for bytes from outside. On error `doc` may hold part of the
/// bytes: the caller must drop it and reload from its own storage.
pub fn load_incremental(doc: &mut Automerge, bytes: &[u8]) -> Result<usize, String> {
    check(bytes, Expect::DocumentOrChanges)?;
    guarded(AssertUnwindSafe(|| {
        doc.load_incremental(bytes).map_err(|e| e.to_string())
    }))
}

/// `Change::from_bytes` for bytes from outside.
pub fn parse_change(bytes: Vec<u8>) -> Result<Change, String> {
    check(&bytes, Expect::OneChange)?;
    guarded(|| Change::from_bytes(bytes).map_err(|e| e.to_string()))
}

/// The changes in bytes from outside that hold whole documents (`save`) and change
/// chunks in any mix, as sync carries them: each document contributes its whole
/// history, each change chunk itself. Nothing is merged anywhere.
pub fn changes_in(bytes: &[u8]) -> Result<Vec<Change>, String> {
    check(bytes, Expect::DocumentOrChanges)?;
    let mut changes = Vec::new();
    for (is_document, chunk) in chunks::split(bytes)? {
        if is_document {
            let doc = guarded(|| Automerge::load(chunk).map_err(|e| e.to_string()))?;
            changes.extend(guarded(AssertUnwindSafe(|| Ok(doc.get_changes(&[]))))?);
        } else {
            changes.push(guarded(|| {
                Change::from_bytes(chunk.to_vec()).map_err(|e| e.to_string())
            })?);
        }
    }
    Ok(changes)
}

fn guarded<T>(f: impl FnOnce() -> Result<T, String> + std::panic::UnwindSafe) -> Result<T, String> {
    match catch_unwind(f) {
        Ok(result) => result,
        Err(_) => Err("malformed automerge data (the decoder gave up)".to_owned()),
    }
}
