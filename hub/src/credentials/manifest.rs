//! Writing a manifest: what an exported file says about itself, signed by the
//! organisation.
//!
//! Every manifest holds a `c2pa.created` action at the capture time (a digital
//! capture), the hard binding to the file's bytes that the C2PA library computes
//! (a data hash for JPEG and PNG, a BMFF hash for MP4), and Testigo's own assertion
//! ([`super::assertion`]). An evidence copy is the original bytes plus the manifest,
//! and also holds the capture's location as a `c2pa.metadata` assertion (EXIF GPS
//! fields, the one place C2PA 2.x allows them). A sharing copy is made from the
//! picture with its metadata removed first, and its manifest holds no location and
//! names no device.

use std::io::{Cursor, Read, Seek, Write};

use c2pa::{Builder, ClaimGeneratorInfo, Context};
use serde_json::{json, Value};
use testigo_core::incident::AttachmentRecord;
use testigo_core::location::LocationFix;

use super::assertion::{Copy, TestigoAssertion, LABEL};
use super::author::AuthorAttestation;
use super::error::CredentialError;
use super::identity::OrgIdentity;

/// IPTC's term for a photo or video taken by a camera (C2PA uses IPTC's vocabulary).
const DIGITAL_CAPTURE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture";
/// The label of C2PA's metadata assertion, which may carry EXIF GPS fields.
pub const METADATA_LABEL: &str = "c2pa.metadata";

/// What a manifest is about: one file of one observation.
pub struct Subject<'a> {
    pub incident: &'a str,
    pub observation: &'a str,
    pub record: &'a AttachmentRecord,
    /// The capturing device's attestation, for evidence copies.
    pub author: Option<AuthorAttestation>,
}

/// Whether C2PA can carry a manifest in a file of type `mime`.
pub fn supported(mime: &str) -> bool {
    Builder::supported_mime_types().iter().any(|m| m == mime)
}

/// Writes to `signed` the file `original` (the bytes the record's hash is of) as the
/// copy `copy`, with a manifest signed by `identity`. Both are streams, so that a
/// video is never whole in memory (a sharing copy is a photo, stripped in memory).
pub fn credential<R, W>(
    identity: &OrgIdentity,
    original: &mut R,
    signed: &mut W,
    subject: Subject<'_>,
    copy: Copy,
) -> Result<(), CredentialError>
where
    R: Read + Seek + Send,
    W: Write + Read + Seek + Send,
{
    let mime = subject.record.mime.as_str();
    if !supported(mime) {
        return Err(CredentialError::Unsupported {
            mime: mime.to_owned(),
        });
    }
    let signing = |e: c2pa::Error| CredentialError::Signing(e.to_string());

    let mut builder = Builder::from_context(Context::new());
    let mut generator = ClaimGeneratorInfo::new("Testigo");
    generator.set_version(env!("CARGO_PKG_VERSION"));
    builder.set_claim_generator_info(generator);
    builder
        .add_action(json!({
            "action": "c2pa.created",
            "when": subject.record.captured_at.to_rfc3339(),
            "digitalSourceType": DIGITAL_CAPTURE,
        }))
        .map_err(signing)?;
    if copy == Copy::Evidence {
        if let Some(fix) = &subject.record.fix {
            builder
                .add_assertion(METADATA_LABEL, &location(fix))
                .map_err(signing)?;
        }
    }
    let assertion = TestigoAssertion::new(
        copy,
        subject.incident,
        subject.observation,
        subject.record,
        subject.author,
    );
    builder.add_assertion(LABEL, &assertion).map_err(signing)?;

    let signer = identity.signer()?;
    match copy {
        Copy::Evidence => builder.sign(signer.as_ref(), mime, original, signed),
        Copy::Sharing => {
            let mut stripped = Vec::new();
            testigo_core::media::strip_metadata(original, mime, &mut stripped)
                .map_err(|e| CredentialError::Sharing(e.to_string()))?;
            builder.sign(signer.as_ref(), mime, &mut Cursor::new(stripped), signed)
        }
    }
    .map_err(signing)?;
    Ok(())
}

/// [`credential`] over bytes in memory.
pub fn credential_bytes(
    identity: &OrgIdentity,
    original: &[u8],
    subject: Subject<'_>,
    copy: Copy,
) -> Result<Vec<u8>, CredentialError> {
    let mut signed = Cursor::new(Vec::with_capacity(original.len() + 32 * 1024));
    credential(
        identity,
        &mut Cursor::new(original),
        &mut signed,
        subject,
        copy,
    )?;
    Ok(signed.into_inner())
}

/// The fix as C2PA's metadata assertion writes a location: XMP's EXIF GPS fields
/// (`DDD,MM.mmmmmmN` coordinates, rationals for the error radius and altitude).
fn location(fix: &LocationFix) -> Value {
    let mut fields = json!({
        "@context": { "exif": "http://ns.adobe.com/exif/1.0/" },
        "exif:GPSVersionID": "2.2.0.0",
        "exif:GPSLatitude": coordinate(fix.lat, 'N', 'S'),
        "exif:GPSLongitude": coordinate(fix.lon, 'E', 'W'),
        "exif:GPSHPositioningError": rational(fix.accuracy_m),
        "exif:GPSTimeStamp": fix.fix_time.to_rfc3339(),
    });
    if let Some(altitude) = fix.altitude_m {
        fields["exif:GPSAltitudeRef"] = json!(if altitude < 0.0 { 1 } else { 0 });
        fields["exif:GPSAltitude"] = json!(rational(altitude.abs()));
    }
    fields
}

/// XMP's GPSCoordinate: whole degrees, decimal minutes, hemisphere.
fn coordinate(value: f64, positive: char, negative: char) -> String {
    let hemisphere = if value < 0.0 { negative } else { positive };
    let value = value.abs();
    let degrees = value.trunc();
    let minutes = (value - degrees) * 60.0;
    format!("{degrees:.0},{minutes:.6}{hemisphere}")
}

/// An EXIF rational to the centimetre.
fn rational(value: f64) -> String {
    format!("{}/100", (value * 100.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_written_as_xmp_gps_coordinates() {
        assert_eq!(coordinate(38.627, 'N', 'S'), "38,37.620000N");
        assert_eq!(coordinate(-90.19939, 'E', 'W'), "90,11.963400W");
        assert_eq!(coordinate(-0.5, 'N', 'S'), "0,30.000000S");
        assert_eq!(rational(12.345), "1235/100");
    }
}
