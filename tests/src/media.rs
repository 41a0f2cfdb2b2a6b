//! Media the tests capture: a real JPEG (encoded by `jpeg-encoder`) carrying the
//! location, device and time metadata a phone camera writes — EXIF with GPS, XMP and
//! IPTC — and a multi-megabyte MP4 file (an `ftyp` box and an `mdat` box of varied
//! bytes: a well-formed ISO media file, not a playable film).

use jpeg_encoder::{ColorType, Encoder};

/// Where the photos are "taken": 38°37'37.2" N, 90°11'57.8" W.
pub const GPS_LAT: [(u32, u32); 3] = [(38, 1), (37, 1), (372, 10)];
pub const GPS_LON: [(u32, u32); 3] = [(90, 1), (11, 1), (578, 10)];

/// A `width`×`height` JPEG of a gradient, with EXIF (make, model, time, GPS), XMP and
/// IPTC segments as a phone camera writes them.
pub fn jpeg_with_gps(width: u16, height: u16) -> Vec<u8> {
    let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
        .flat_map(|i| {
            let (x, y) = (i % u32::from(width), i / u32::from(width));
            [
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x + y) % 256) as u8,
            ]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 85);
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(tiff_with_gps());
    encoder.add_app_segment(1, &exif).expect("exif segment");
    encoder
        .add_app_segment(1, XMP.as_bytes())
        .expect("xmp segment");
    encoder.add_app_segment(13, &iptc()).expect("iptc segment");
    encoder
        .encode(&pixels, width, height, ColorType::Rgb)
        .expect("jpeg encodes");
    out
}

/// A plain small JPEG, as a platform's thumbnail of the photo.
pub fn thumbnail() -> Vec<u8> {
    let pixels = vec![128u8; 64 * 48 * 3];
    let mut out = Vec::new();
    Encoder::new(&mut out, 70)
        .encode(&pixels, 64, 48, ColorType::Rgb)
        .expect("jpeg encodes");
    out
}

/// An MP4 file of `len` bytes.
pub fn mp4(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&24u32.to_be_bytes());
    out.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let mdat = len - out.len();
    out.extend_from_slice(&(mdat as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    let mut x: u32 = 0x9E37_79B9;
    while out.len() < len {
        // xorshift: varied bytes that do not compress, as video does not.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x >> 24) as u8);
    }
    out
}

const XMP: &str = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"38,37.62N\" exif:GPSLongitude=\"90,11.963W\"/></rdf:RDF></x:xmpmeta>";

/// A Photoshop IRB holding an IPTC record with a city name.
fn iptc() -> Vec<u8> {
    let record = [&[0x1C, 0x02, 90, 0, 9][..], b"St. Louis"].concat();
    let mut out = b"Photoshop 3.0\08BIM\x04\x04\0\0".to_vec();
    out.extend_from_slice(&(record.len() as u32).to_be_bytes());
    out.extend_from_slice(&record);
    if record.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A little-endian TIFF: IFD0 (Make, GPS pointer) and a GPS IFD (lat/lon and refs).
fn tiff_with_gps() -> Vec<u8> {
    const ASCII: u16 = 2;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value);
    }
    let make = b"TestCam\0";
    let ifd0 = 8u32;
    let make_at = ifd0 + 2 + 2 * 12 + 4;
    let gps_at = make_at + make.len() as u32;
    let lat_at = gps_at + 2 + 4 * 12 + 4;
    let lon_at = lat_at + 24;
    let mut out = b"II\x2A\0".to_vec();
    out.extend_from_slice(&ifd0.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    entry(
        &mut out,
        0x010F,
        ASCII,
        make.len() as u32,
        make_at.to_le_bytes(),
    );
    entry(&mut out, 0x8825, LONG, 1, gps_at.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(make);
    out.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut out, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut out, 0x0002, RATIONAL, 3, lat_at.to_le_bytes());
    entry(&mut out, 0x0003, ASCII, 2, *b"W\0\0\0");
    entry(&mut out, 0x0004, RATIONAL, 3, lon_at.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in GPS_LAT.iter().chain(GPS_LON.iter()) {
        out.extend_from_slice(&num.to_le_bytes());
        out.extend_from_slice(&den.to_le_bytes());
    }
    out
}
