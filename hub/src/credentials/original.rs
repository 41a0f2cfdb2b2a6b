//! Getting the original back out of an evidence copy, so that a reader can see for
//! themselves that the copy shows the very file the device recorded: the record (and
//! the device's signature over it) is of the original's hash, and the copy is the
//! original plus a manifest. Removing the manifest's container must give bytes of
//! that hash; anything else is not shown to be the original, whatever it claims.
//!
//! Where the C2PA library puts the manifest: a JPEG's APP11 segments; a PNG's `caBX`
//! chunk; an MP4's top-level `uuid` box, inserted before the media data, so the
//! sample tables' chunk offsets (`stco`, `co64`) it moved are moved back.

const JPEG_APP11: u8 = 0xEB;
const JPEG_START_OF_SCAN: u8 = 0xDA;
/// The C2PA manifest's box in ISO media files: `uuid` with this user type.
const C2PA_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];
/// Boxes that hold the boxes leading to a sample table.
const CONTAINERS: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

/// The file with its manifest container removed, for the types handled; `None` when
/// the bytes do not have the expected structure.
pub fn without_manifest(bytes: &[u8], mime: &str) -> Option<Vec<u8>> {
    match mime {
        "image/jpeg" => jpeg(bytes),
        "image/png" => png(bytes),
        "video/mp4" | "video/quicktime" | "video/3gpp" => iso_bmff(bytes),
        _ => None,
    }
}

fn jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = bytes[..2].to_vec();
    let mut at = 2;
    loop {
        let marker = *bytes.get(at + 1)?;
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        if marker == JPEG_START_OF_SCAN {
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let end = at.checked_add(2 + len).filter(|end| *end <= bytes.len())?;
        if marker != JPEG_APP11 {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

fn png(bytes: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut out = SIGNATURE.to_vec();
    let mut at = SIGNATURE.len();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(12 + len).filter(|end| *end <= bytes.len())?;
        if &bytes[at + 4..at + 8] != b"caBX" {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
    Some(out)
}

/// One box's extent: where it starts, where its payload starts, where it ends.
struct Extent {
    kind: [u8; 4],
    start: usize,
    payload: usize,
    end: usize,
}

fn boxes(bytes: &[u8], from: usize, to: usize) -> Option<Vec<Extent>> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let size = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as u64;
        let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let (payload, size) = match size {
            1 => (
                at + 16,
                u64::from_be_bytes(bytes.get(at + 8..at + 16)?.try_into().ok()?),
            ),
            0 => (at + 8, (to - at) as u64),
            size => (at + 8, size),
        };
        let end = at.checked_add(usize::try_from(size).ok()?)?;
        if end > to || payload > end {
            return None;
        }
        out.push(Extent {
            kind,
            start: at,
            payload,
            end,
        });
        at = end;
    }
    Some(out)
}

fn iso_bmff(bytes: &[u8]) -> Option<Vec<u8>> {
    let top = boxes(bytes, 0, bytes.len())?;
    let manifest = top.iter().find(|b| {
        &b.kind == b"uuid" && bytes.get(b.payload..b.payload + 16) == Some(&C2PA_UUID[..])
    })?;
    let (removed_at, manifest_end) = (manifest.start, manifest.end);
    let removed = manifest_end - removed_at;
    let mut out = Vec::with_capacity(bytes.len() - removed);
    out.extend_from_slice(&bytes[..removed_at]);
    out.extend_from_slice(&bytes[manifest_end..]);
    // Every chunk offset past the removed box moved by its size; move it back.
    let shift = |offset: u64| {
        if offset >= manifest_end as u64 {
            offset - removed as u64
        } else {
            offset
        }
    };
    let moved = |at: usize| if at >= manifest_end { at - removed } else { at };
    let mut stack: Vec<Extent> = top.into_iter().filter(|b| b.start != removed_at).collect();
    while let Some(parent) = stack.pop() {
        if CONTAINERS.contains(&&parent.kind) {
            stack.extend(boxes(bytes, parent.payload, parent.end)?);
            continue;
        }
        let wide = match &parent.kind {
            b"stco" => false,
            b"co64" => true,
            _ => continue,
        };
        let count = u32::from_be_bytes(
            bytes
                .get(parent.payload + 4..parent.payload + 8)?
                .try_into()
                .ok()?,
        ) as usize;
        let width = if wide { 8 } else { 4 };
        let first = parent.payload + 8;
        if first.checked_add(count.checked_mul(width)?)? > parent.end {
            return None;
        }
        for i in 0..count {
            let at = first + i * width;
            let target = moved(at);
            if wide {
                let value = u64::from_be_bytes(bytes[at..at + 8].try_into().ok()?);
                out[target..target + 8].copy_from_slice(&shift(value).to_be_bytes());
            } else {
                let value = u64::from(u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?));
                let back = u32::try_from(shift(value)).ok()?;
                out[target..target + 4].copy_from_slice(&back.to_be_bytes());
            }
        }
    }
    Some(out)
}
