//! Device time and how far it can be trusted.
//!
//! Every record carries the device's own UTC time. The hub's time from each sync gives
//! an offset; times are shown corrected by it, and a device whose clock is off by more
//! than [`SKEW_WARN`] is flagged rather than trusted.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Beyond this difference from the hub a device clock is reported as skewed.
pub const SKEW_WARN: Duration = Duration::minutes(2);

/// Source of "now". Tests and the demo substitute their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// hub time − device time, as measured by the last sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockOffset {
    pub millis: i64,
}

impl ClockOffset {
    /// Offset from one round trip: the hub's time is taken as the midpoint of the
    /// request, so symmetric network delay cancels out.
    pub fn measure(sent: DateTime<Utc>, received: DateTime<Utc>, hub_time: DateTime<Utc>) -> Self {
        let midpoint = sent + (received - sent) / 2;
        Self {
            millis: (hub_time - midpoint).num_milliseconds(),
        }
    }

    pub fn correct(&self, device_time: DateTime<Utc>) -> DateTime<Utc> {
        device_time + Duration::milliseconds(self.millis)
    }

    pub fn is_skewed(&self) -> bool {
        Duration::milliseconds(self.millis.saturating_abs()) > SKEW_WARN
    }
}

/// Milliseconds since the epoch, as stored in documents.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Reads a stored millisecond time; `None` for values chrono cannot represent.
pub fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_cancels_symmetric_delay_and_flags_skew() {
        let sent = from_millis(1_000_000).unwrap();
        let received = sent + Duration::milliseconds(400);
        let hub = sent + Duration::milliseconds(200) + Duration::minutes(5);
        let offset = ClockOffset::measure(sent, received, hub);
        assert_eq!(offset.millis, 300_000);
        assert!(offset.is_skewed());
        assert_eq!(offset.correct(sent), sent + Duration::minutes(5));
        assert!(!ClockOffset { millis: 1_000 }.is_skewed());
        assert!(from_millis(i64::MAX).is_none());
    }
}
