//! The media types kept as evidence, and the check that a file's first bytes are what
//! its type says (a mislabelled file would be shown, exported and verified wrongly).

use crate::incident::MediaKind;

use super::error::MediaError;

/// Every media type a volunteer's phone produces that Testigo keeps, with its kind.
pub const ALLOWED_TYPES: [(&str, MediaKind); 10] = [
    ("image/jpeg", MediaKind::Photo),
    ("image/png", MediaKind::Photo),
    ("image/heic", MediaKind::Photo),
    ("video/mp4", MediaKind::Video),
    ("video/quicktime", MediaKind::Video),
    ("video/3gpp", MediaKind::Video),
    ("audio/mp4", MediaKind::Audio),
    ("audio/aac", MediaKind::Audio),
    ("audio/ogg", MediaKind::Audio),
    ("audio/mpeg", MediaKind::Audio),
];

/// The kind of a media type, or [`MediaError::UnknownType`].
pub fn check_type(mime: &str) -> Result<MediaKind, MediaError> {
    ALLOWED_TYPES
        .iter()
        .find(|(m, _)| *m == mime)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| MediaError::UnknownType {
            mime: mime.to_owned(),
            reason: format!("not one of {}", ALLOWED_TYPES.map(|(m, _)| m).join(", ")),
        })
}

/// Whether `head` (the file's first bytes, at least 12 when the file has them) starts
/// the way files of type `mime` start.
pub fn sniff_matches(mime: &str, head: &[u8]) -> bool {
    // ISO base media files (MP4, MOV, 3GP, HEIC, M4A) carry "ftyp" at offset 4.
    let iso_bmff = head.len() >= 8 && &head[4..8] == b"ftyp";
    match mime {
        "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/heic" | "video/mp4" | "video/quicktime" | "video/3gpp" | "audio/mp4" => iso_bmff,
        // ADTS frames start with a 12-bit sync word.
        "audio/aac" => head.len() >= 2 && head[0] == 0xFF && head[1] & 0xF0 == 0xF0,
        "audio/ogg" => head.starts_with(b"OggS"),
        "audio/mpeg" => {
            head.starts_with(b"ID3")
                || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
        }
        _ => false,
    }
}

/// The media type a file name's extension usually means, for tools that take a path
/// (the CLI); apps know the type they captured.
pub fn mime_for_extension(path: &std::path::Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "heic" | "heif" => "image/heic",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "3gp" => "video/3gpp",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

/// The usual file extension of a media type (names of files in evidence exports).
pub fn extension_for(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/heic" => "heic",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/3gpp" => "3gp",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        _ => return None,
    })
}
