//! Copies for sharing outside the hotline (press, social media): the picture without
//! the metadata that says where, when and with what it was taken.
//!
//! Evidence exports keep the originals (their hash is the evidence); this is only for
//! copies that leave. What is removed:
//!
//! - JPEG: every APPn segment but APP0 (JFIF: pixel density) and APP14 (Adobe: how
//!   colours are coded, needed to decode some files) — so EXIF and XMP (APP1), ICC
//!   profiles that may name the device (APP2), IPTC (APP13) and makers' segments — and
//!   comments (COM).
//! - PNG: every chunk but those that draw the picture (IHDR, PLTE, IDAT, IEND, tRNS,
//!   gAMA, cHRM, sRGB, sBIT, bKGD, pHYs) — so eXIf, tEXt, zTXt, iTXt and tIME.
//!
//! Not handled, refused with [`MediaError::UnknownType`] rather than shared with
//! their metadata: HEIC, MP4/MOV/3GP (container `udta`/`meta` boxes hold the
//! location), and audio. The app shares those by re-encoding them with the platform's
//! tools, which write no location.

use std::io::{Read, Write};

use bytes::Bytes;
use img_parts::jpeg::{markers, Jpeg};
use img_parts::png::Png;

use super::error::MediaError;
use crate::error::{Error, Result};

/// PNG chunks that draw the picture; every other chunk is left out.
const PNG_KEPT: [&[u8; 4]; 11] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
    b"pHYs",
];

/// Whether a sharing copy of `mime` can be made.
pub fn can_strip(mime: &str) -> bool {
    matches!(mime, "image/jpeg" | "image/png")
}

/// [`MediaError::UnknownType`] for a type whose metadata cannot be removed.
pub fn check_strippable(mime: &str) -> Result<()> {
    if can_strip(mime) {
        Ok(())
    } else {
        Err(MediaError::UnknownType {
            mime: mime.to_owned(),
            reason: "its metadata cannot be removed here; share a re-encoded copy".into(),
        }
        .into())
    }
}

/// Writes `src` (a whole photo, read into memory: photos are a few MB) to `dst`
/// without its location, device and time metadata. Returns the bytes written.
pub fn strip_metadata(src: &mut impl Read, mime: &str, dst: &mut impl Write) -> Result<u64> {
    check_strippable(mime)?;
    let mut bytes = Vec::new();
    src.read_to_end(&mut bytes)
        .map_err(|e| Error::Storage(format!("reading the photo: {e}")))?;
    let bytes = Bytes::from(bytes);
    let damaged = |e: img_parts::Error| {
        Error::from(MediaError::UnknownType {
            mime: mime.to_owned(),
            reason: format!("the file does not parse: {e}"),
        })
    };
    let mut counted = Counted {
        inner: dst,
        bytes: 0,
    };
    let written = if mime == "image/jpeg" {
        let mut jpeg = Jpeg::from_bytes(bytes).map_err(damaged)?;
        jpeg.segments_mut().retain(|segment| {
            let marker = segment.marker();
            let app = (markers::APP0..=markers::APP15).contains(&marker);
            let kept_app = marker == markers::APP0 || marker == markers::APP14;
            marker != markers::COM && (!app || kept_app)
        });
        jpeg.encoder().write_to(&mut counted)
    } else {
        let mut png = Png::from_bytes(bytes).map_err(damaged)?;
        png.chunks_mut()
            .retain(|chunk| PNG_KEPT.iter().any(|kind| chunk.kind() == **kind));
        png.encoder().write_to(&mut counted)
    };
    written.map_err(|e| Error::Storage(format!("writing the sharing copy: {e}")))?;
    Ok(counted.bytes)
}

struct Counted<'a, W> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
