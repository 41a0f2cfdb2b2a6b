//! Media the tests capture: a real JPEG (encoded by `jpeg-encoder`) carrying the
//! location, device and time metadata a phone camera writes — EXIF with GPS, XMP and
//! IPTC — and a multi-megabyte MP4 file (`ftyp`, `moov` and `mdat`: a well-formed
//! ISO media file whose one sample is varied bytes, not a playable film).

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

/// An MP4 file of exactly `len` bytes (at least 1 KiB): a real ISO base media file —
/// `ftyp`, a `moov` describing one 16×16 video track of one sample (`mvhd`, `trak`
/// with `tkhd`, `mdhd`, `hdlr`, `vmhd`, `dref` and a sample table whose `stco`
/// points at the sample), and the `mdat` holding it — whose sample is varied bytes
/// rather than encoded video: every tool that reads the structure reads it, no
/// player shows a picture.
pub fn mp4(len: usize) -> Vec<u8> {
    let ftyp = bmff_box(
        b"ftyp",
        &[
            b"isom",
            &512u32.to_be_bytes()[..],
            b"isom",
            b"iso2",
            b"avc1",
            b"mp41",
        ]
        .concat(),
    );
    let moov_len = moov(0, 0).len();
    let sample_len = len
        .checked_sub(ftyp.len() + moov_len + 8)
        .expect("an MP4 of at least 1 KiB");
    let sample_at = (ftyp.len() + moov_len + 8) as u32;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&ftyp);
    out.extend_from_slice(&moov(sample_len as u32, sample_at));
    out.extend_from_slice(&((sample_len + 8) as u32).to_be_bytes());
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

/// One box: 32-bit size, type, payload.
fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A full box: version 0 and `flags`, then the payload.
fn full_box(kind: &[u8; 4], flags: u32, payload: &[u8]) -> Vec<u8> {
    bmff_box(kind, &[&flags.to_be_bytes()[..], payload].concat())
}

/// The identity matrix of `mvhd` and `tkhd`.
fn matrix() -> Vec<u8> {
    [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

/// The movie box for one sample of `sample_len` bytes at file offset `sample_at`.
fn moov(sample_len: u32, sample_at: u32) -> Vec<u8> {
    let be = |v: u32| v.to_be_bytes().to_vec();
    let (timescale, duration) = (1000u32, 1000u32);
    let mvhd = full_box(
        b"mvhd",
        0,
        &[
            be(0),
            be(0),
            be(timescale),
            be(duration),
            be(0x0001_0000),
            vec![0x01, 0x00],
            vec![0; 10],
            matrix(),
            vec![0; 24],
            be(2),
        ]
        .concat(),
    );
    let tkhd = full_box(
        b"tkhd",
        3,
        &[
            be(0),
            be(0),
            be(1),
            be(0),
            be(duration),
            vec![0; 8],
            vec![0; 2],
            vec![0; 2],
            vec![0; 2],
            vec![0; 2],
            matrix(),
            be(16 << 16),
            be(16 << 16),
        ]
        .concat(),
    );
    let mdhd = full_box(
        b"mdhd",
        0,
        &[
            be(0),
            be(0),
            be(timescale),
            be(duration),
            vec![0x55, 0xC4, 0, 0],
        ]
        .concat(),
    );
    let hdlr = full_box(
        b"hdlr",
        0,
        &[
            be(0),
            b"vide".to_vec(),
            vec![0; 12],
            b"VideoHandler\0".to_vec(),
        ]
        .concat(),
    );
    let vmhd = full_box(b"vmhd", 1, &[0u8; 8]);
    let dinf = bmff_box(
        b"dinf",
        &full_box(b"dref", 0, &[be(1), full_box(b"url ", 1, &[])].concat()),
    );
    let avc1 = bmff_box(
        b"avc1",
        &[
            vec![0; 6],
            vec![0, 1],
            vec![0; 16],
            vec![0, 16, 0, 16],
            be(0x0048_0000),
            be(0x0048_0000),
            be(0),
            vec![0, 1],
            vec![0; 32],
            vec![0, 0x18],
            vec![0xFF, 0xFF],
        ]
        .concat(),
    );
    let stbl = bmff_box(
        b"stbl",
        &[
            full_box(b"stsd", 0, &[be(1), avc1].concat()),
            full_box(b"stts", 0, &[be(1), be(1), be(duration)].concat()),
            full_box(b"stsc", 0, &[be(1), be(1), be(1), be(1)].concat()),
            full_box(b"stsz", 0, &[be(0), be(1), be(sample_len)].concat()),
            full_box(b"stco", 0, &[be(1), be(sample_at)].concat()),
        ]
        .concat(),
    );
    let minf = bmff_box(b"minf", &[vmhd, dinf, stbl].concat());
    let mdia = bmff_box(b"mdia", &[mdhd, hdlr, minf].concat());
    let trak = bmff_box(b"trak", &[tkhd, mdia].concat());
    bmff_box(b"moov", &[mvhd, trak].concat())
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
