//! Times cross the FFI as `SystemTime` (Kotlin `java.time.Instant`, Swift `Date`,
//! Python `datetime`) and are kept by the core as `chrono::DateTime<Utc>` with
//! millisecond precision, as documents store them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::errors::{Result, TestigoError};

pub(crate) fn to_system(t: DateTime<Utc>) -> SystemTime {
    let millis = t.timestamp_millis();
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    // Every time the core hands out came from `from_system` or a validated document,
    // so it is within SystemTime's range on every platform.
    if millis >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// A time from the platform; `field` names it in the error when it cannot be stored.
pub(crate) fn from_system(t: SystemTime, field: &str) -> Result<DateTime<Utc>> {
    let millis = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).ok(),
        Err(before) => i64::try_from(before.duration().as_millis())
            .ok()
            .map(|m| -m),
    };
    millis
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| TestigoError::invalid(field, "is outside the range of representable times"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_millisecond_precision_on_both_sides_of_the_epoch() {
        for millis in [0_i64, 1_700_000_000_123, -86_400_000_001] {
            let t = DateTime::from_timestamp_millis(millis).unwrap();
            assert_eq!(from_system(to_system(t), "t").unwrap(), t);
        }
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert!(
            matches!(from_system(far, "fix_time"), Err(TestigoError::InvalidInput { field, .. }) if field == "fix_time")
        );
    }
}
