//! The rules an attachment record follows, wherever it was written: the device checks
//! its own before signing, and the same function checks a peer's.

use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::incident::AttachmentRecord;

use super::kind::check_type;

/// Checks one record as its author `by` wrote it.
pub fn validate_record(record: &AttachmentRecord, by: &DeviceId) -> Result<()> {
    let kind = check_type(&record.mime)?;
    if kind != record.kind {
        return Err(Error::invalid(
            "attachments.kind",
            format!("{} is not a {:?}", record.mime, record.kind),
        ));
    }
    check_hash("attachments.sha256", &record.sha256)?;
    if record.size == 0 {
        return Err(Error::invalid("attachments.size", "cannot be zero"));
    }
    if &record.by != by {
        return Err(Error::invalid(
            "attachments.by",
            "an attachment is recorded by the observation's author",
        ));
    }
    if let Some(fix) = &record.fix {
        fix.validate()?;
    }
    if let Some(preview) = &record.preview {
        if !matches!(preview.mime.as_str(), "image/jpeg" | "image/png") {
            return Err(Error::invalid(
                "attachments.preview.mime",
                "a preview is a JPEG or PNG picture",
            ));
        }
        check_hash("attachments.preview.sha256", &preview.sha256)?;
        if preview.size == 0 {
            return Err(Error::invalid("attachments.preview.size", "cannot be zero"));
        }
    }
    Ok(())
}

/// A SHA-256 as records carry it: 64 lower-case hex digits.
pub(crate) fn check_hash(field: &str, hash: &str) -> Result<()> {
    if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::invalid(field, "not a lower-case hex SHA-256"))
    }
}
