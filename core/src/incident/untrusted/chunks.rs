//! A pre-flight walk over automerge's binary framing, run before automerge sees bytes
//! from outside.
//!
//! automerge decodes whatever a chunk declares: fuzzing found an 89-byte "bundle"
//! chunk whose delta column makes the decoder collect gigabytes (see TESTING.md), and
//! deflate-compressed change chunks and document columns are inflated without a limit,
//! so a few megabytes from a peer could inflate to gigabytes. Testigo itself only ever
//! writes document, change and compressed-change chunks, so this walk:
//!
//! - refuses every other chunk type (bundles, and any type a future format adds);
//! - checks that each chunk's declared length fits in the bytes given;
//! - inflates every deflated part (compressed changes, deflated document columns)
//!   against a budget, [`MAX_INFLATED_BYTES`] for the whole input, and refuses the input
//!   past it.
//!
//! It reads only the framing (header, and a document's actor, head and column tables);
//! the checksum and everything inside columns is still automerge's to verify.

use std::io::Read;

/// The most bytes all deflated parts of one input may inflate to. An incident with a
/// long history is well under a megabyte; this leaves two orders of magnitude.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHECKSUM_LEN: usize = 4;
const CHANGE_HASH_LEN: usize = 32;
/// In a column specification, the bit that says the column's data is deflated.
const COLUMN_DEFLATE_BIT: u64 = 0b1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkType {
    Document,
    Change,
    CompressedChange,
}

impl ChunkType {
    fn from_byte(byte: u8) -> Result<Self, String> {
        match byte {
            0 => Ok(Self::Document),
            1 => Ok(Self::Change),
            2 => Ok(Self::CompressedChange),
            3 => Err("automerge bundle chunks are not accepted".to_owned()),
            other => Err(format!("unknown automerge chunk type {other}")),
        }
    }
}

/// Which chunks a caller accepts: a whole document may hold any of the three, a single
/// change only a change or a compressed change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    DocumentOrChanges,
    OneChange,
}

/// Walks every chunk in `bytes`; `Err` names the first problem.
pub fn check(bytes: &[u8], expect: Expect) -> Result<(), String> {
    let mut reader = Reader::new(bytes);
    let mut budget = InflateBudget::new(MAX_INFLATED_BYTES);
    let mut chunks = 0usize;
    while !reader.is_empty() {
        if reader.take(MAGIC.len())? != MAGIC {
            return Err("not an automerge chunk (bad magic bytes)".to_owned());
        }
        reader.take(CHECKSUM_LEN)?;
        let chunk_type = ChunkType::from_byte(reader.byte()?)?;
        let len = reader.length()?;
        let body = reader.take(len)?;
        chunks += 1;
        if expect == Expect::OneChange && (chunk_type == ChunkType::Document || chunks > 1) {
            return Err("expected exactly one change chunk".to_owned());
        }
        match chunk_type {
            ChunkType::Document => check_document_columns(body, &mut budget)?,
            ChunkType::Change => {}
            ChunkType::CompressedChange => budget.inflate(body)?,
        }
    }
    // No bytes is an empty document to automerge (and nothing to merge); a change
    // must be there.
    if chunks == 0 && expect == Expect::OneChange {
        return Err("no automerge chunk".to_owned());
    }
    Ok(())
}

/// The chunks of bytes already [`check`]ed, in order: whether each is a document, and
/// its bytes (header included).
pub(super) fn split(bytes: &[u8]) -> Result<Vec<(bool, &[u8])>, String> {
    let mut reader = Reader::new(bytes);
    let mut out = Vec::new();
    while !reader.is_empty() {
        let start = bytes.len() - reader.remaining();
        reader.take(MAGIC.len() + CHECKSUM_LEN)?;
        let chunk_type = ChunkType::from_byte(reader.byte()?)?;
        let len = reader.length()?;
        reader.take(len)?;
        let end = bytes.len() - reader.remaining();
        out.push((chunk_type == ChunkType::Document, &bytes[start..end]));
    }
    Ok(out)
}

/// Reads a document chunk's actor, head and column tables and inflates, against the
/// budget, every column marked deflated.
fn check_document_columns(body: &[u8], budget: &mut InflateBudget) -> Result<(), String> {
    let mut reader = Reader::new(body);
    let actors = reader.length()?;
    for _ in 0..actors {
        let actor_len = reader.length()?;
        reader.take(actor_len)?;
    }
    let heads = reader.length()?;
    reader.take(heads.checked_mul(CHANGE_HASH_LEN).ok_or_else(too_long)?)?;
    let change_columns = read_column_table(&mut reader)?;
    let op_columns = read_column_table(&mut reader)?;
    for column in change_columns.iter().chain(&op_columns) {
        let data = reader.take(column.len)?;
        if column.deflated {
            budget.inflate(data)?;
        }
    }
    Ok(())
}

struct Column {
    len: usize,
    deflated: bool,
}

fn read_column_table(reader: &mut Reader<'_>) -> Result<Vec<Column>, String> {
    let count = reader.length()?;
    // Each entry takes at least two bytes, so a count past that is a lie; checking it
    // first keeps the allocation below bounded by the input.
    if count > reader.remaining() / 2 {
        return Err(truncated());
    }
    (0..count)
        .map(|_| {
            let spec = reader.uleb()?;
            let len = reader.length()?;
            Ok(Column {
                len,
                deflated: spec & COLUMN_DEFLATE_BIT != 0,
            })
        })
        .collect()
}

/// How many bytes one change chunk holds once inflated: its own length, or for a
/// compressed change what its deflated body inflates to — counted only up to
/// `limit + 1`, by inflating into a sink, so neither time nor memory grows past the
/// limit. A result past `limit` means "too big". `Err` for bytes that are not one
/// change chunk.
pub fn change_size(bytes: &[u8], limit: u64) -> Result<u64, String> {
    let mut reader = Reader::new(bytes);
    if reader.take(MAGIC.len())? != MAGIC {
        return Err("not an automerge chunk (bad magic bytes)".to_owned());
    }
    reader.take(CHECKSUM_LEN)?;
    let chunk_type = ChunkType::from_byte(reader.byte()?)?;
    let len = reader.length()?;
    let body = reader.take(len)?;
    if !reader.is_empty() {
        return Err("expected exactly one change chunk".to_owned());
    }
    match chunk_type {
        ChunkType::Document => Err("expected a change, not a document".to_owned()),
        ChunkType::Change => Ok(bytes.len() as u64),
        ChunkType::CompressedChange => {
            let decoder = flate2::bufread::DeflateDecoder::new(body);
            let mut limited = decoder.take(limit.saturating_add(1));
            // Bad deflate data is automerge's to report when it parses the change.
            Ok(std::io::copy(&mut limited, &mut std::io::sink()).unwrap_or(0))
        }
    }
}

/// How many inflated bytes are left for one input.
struct InflateBudget {
    left: u64,
}

impl InflateBudget {
    fn new(limit: u64) -> Self {
        Self { left: limit }
    }

    /// Inflates `deflated` into a sink, never past the budget; what it inflated to is
    /// spent. Bad deflate data is left to automerge, which reports it as an error.
    fn inflate(&mut self, deflated: &[u8]) -> Result<(), String> {
        let decoder = flate2::bufread::DeflateDecoder::new(deflated);
        let mut limited = decoder.take(self.left + 1);
        let inflated = match std::io::copy(&mut limited, &mut std::io::sink()) {
            Ok(n) => n,
            Err(_) => return Ok(()),
        };
        if inflated > self.left {
            return Err(format!(
                "compressed data inflates past {MAX_INFLATED_BYTES} bytes"
            ));
        }
        self.left -= inflated;
        Ok(())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.bytes.len() {
            return Err(truncated());
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number of at most 64 bits.
    fn uleb(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(too_long());
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(too_long())
    }

    /// A LEB128 length or count, which can never exceed the bytes left to read it from.
    fn length(&mut self) -> Result<usize, String> {
        let value = self.uleb()?;
        usize::try_from(value)
            .ok()
            .filter(|&n| n <= self.remaining())
            .ok_or_else(truncated)
    }
}

fn truncated() -> String {
    "automerge chunk declares more bytes than it has".to_owned()
}

fn too_long() -> String {
    "automerge chunk has a number too large to be real".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};
    use std::io::Write;

    fn document_with_history() -> Automerge {
        let mut doc = Automerge::new();
        for i in 0..200 {
            let mut tx = doc.transaction();
            tx.put(ROOT, format!("key{}", i % 17), format!("value number {i}"))
                .unwrap();
            tx.commit();
        }
        // Long enough that automerge deflates its value column and the change.
        let long_note = "the agents moved north along the avenue; ".repeat(40);
        let mut tx = doc.transaction();
        tx.put(ROOT, "note", long_note).unwrap();
        tx.commit();
        doc
    }

    fn push_uleb(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn frame(chunk_type: u8, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0, 0, 0, 0, chunk_type]);
        push_uleb(&mut out, body.len());
        out.extend(body);
        out
    }

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn what_automerge_writes_passes() {
        let mut doc = document_with_history();
        let saved = doc.save();
        assert_eq!(check(&saved, Expect::DocumentOrChanges), Ok(()));
        // A save followed by incremental changes, as the store keeps them.
        let heads = doc.get_heads();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "later", "a later edit")?;
            Ok(())
        })
        .unwrap();
        let mut with_changes = saved.clone();
        with_changes.extend(doc.save_after(&heads));
        assert_eq!(check(&with_changes, Expect::DocumentOrChanges), Ok(()));
        for change in doc.get_changes(&[]) {
            assert_eq!(check(change.raw_bytes(), Expect::OneChange), Ok(()));
        }
        // The long note's change, compressed, is a compressed change chunk.
        let mut change = doc.get_changes(&[])[200].clone();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "automerge compressed the change");
        assert_eq!(check(&compressed, Expect::OneChange), Ok(()));
    }

    #[test]
    fn bundles_unknown_types_and_missing_changes_are_refused() {
        let bundle = frame(3, &[0; 8]);
        assert!(check(&bundle, Expect::DocumentOrChanges)
            .unwrap_err()
            .contains("bundle"));
        assert!(check(&frame(9, &[]), Expect::DocumentOrChanges)
            .unwrap_err()
            .contains("unknown"));
        assert!(check(&[], Expect::OneChange).is_err());
        assert_eq!(check(&[], Expect::DocumentOrChanges), Ok(()));
        assert!(check(b"{\"json\": true}", Expect::DocumentOrChanges)
            .unwrap_err()
            .contains("magic"));
    }

    #[test]
    fn declared_lengths_past_the_input_are_refused() {
        let saved = document_with_history().save();
        for cut in [1, 5, 9, saved.len() / 2, saved.len() - 1] {
            assert!(
                check(&saved[..cut], Expect::DocumentOrChanges).is_err(),
                "cut at {cut} of {}",
                saved.len()
            );
        }
        let mut huge_length = MAGIC.to_vec();
        huge_length.extend([0, 0, 0, 0, 0]);
        huge_length.extend([0xff; 9]);
        huge_length.push(0x7f);
        assert!(check(&huge_length, Expect::DocumentOrChanges).is_err());
    }

    #[test]
    fn a_document_where_one_change_is_expected_is_refused() {
        let saved = document_with_history().save();
        assert!(check(&saved, Expect::OneChange).is_err());
        let doc = document_with_history();
        let changes = doc.get_changes(&[]);
        let mut two = changes[0].raw_bytes().to_vec();
        two.extend(changes[1].raw_bytes());
        assert!(check(&two, Expect::OneChange).is_err());
    }

    #[test]
    fn a_deflate_bomb_in_a_compressed_change_is_refused() {
        let zeros = vec![0u8; (MAX_INFLATED_BYTES + 1024) as usize];
        let bomb = deflate(&zeros);
        assert!(bomb.len() < 200 * 1024, "the bomb is small: {}", bomb.len());
        let err = check(&frame(2, &bomb), Expect::OneChange).unwrap_err();
        assert!(err.contains("inflates past"), "{err}");
    }

    #[test]
    fn a_change_is_measured_inflated_and_a_bomb_stops_at_the_limit() {
        let doc = document_with_history();
        let mut change = doc.get_changes(&[])[200].clone();
        let raw = change.raw_bytes().to_vec();
        let compressed = change.bytes().to_vec();
        assert!(compressed.len() < raw.len());
        assert_eq!(change_size(&raw, 1 << 20), Ok(raw.len() as u64));
        let inflated = change_size(&compressed, 1 << 20).unwrap();
        assert!(
            inflated + 64 >= raw.len() as u64,
            "{inflated} vs {}",
            raw.len()
        );
        assert_eq!(change_size(&compressed, 100), Ok(101));

        let bomb = frame(2, &deflate(&vec![0u8; 8 << 20]));
        assert_eq!(change_size(&bomb, 1 << 20), Ok((1 << 20) + 1));
        assert!(change_size(&doc.save(), 1 << 20).is_err());
        assert!(change_size(b"not a chunk", 1 << 20).is_err());
    }

    #[test]
    fn a_deflate_bomb_in_a_document_column_is_refused() {
        let zeros = vec![0u8; (MAX_INFLATED_BYTES + 1024) as usize];
        let bomb = deflate(&zeros);
        // A document chunk: no actors, no heads, no change columns, one deflated op
        // column holding the bomb.
        let mut body = vec![0, 0, 0, 1];
        let spec = (1 << 4) | COLUMN_DEFLATE_BIT;
        body.push(spec as u8);
        push_uleb(&mut body, bomb.len());
        body.extend(&bomb);
        let err = check(&frame(0, &body), Expect::DocumentOrChanges).unwrap_err();
        assert!(err.contains("inflates past"), "{err}");
    }
}
