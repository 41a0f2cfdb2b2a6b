//! A location fix as a phone reports it, validated before anything is written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Past this horizontal accuracy (metres) a fix is still saved but flagged, as ODK
/// Collect does with its accuracy threshold.
pub const ACCURACY_WARN_M: f64 = 50.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationProvider {
    Gps,
    Network,
    Fused,
    /// Typed in by the volunteer (e.g. from a street address).
    Manual,
    Unknown,
}

/// How much a fix can be relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyLevel {
    Good,
    /// Accuracy is worse than [`ACCURACY_WARN_M`]; shown with a warning.
    Poor,
    /// The platform said the location came from a mock provider.
    Mocked,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius in metres (68% confidence, as both platforms report).
    pub accuracy_m: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude_m: Option<f64>,
    pub provider: LocationProvider,
    /// When the platform took the fix (device clock, UTC).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub fix_time: DateTime<Utc>,
    /// Android's `isMock` / iOS's `sourceInformation.isSimulatedBySoftware`.
    #[serde(default)]
    pub mock: bool,
}

impl LocationFix {
    /// Checks every number. A fix that fails is never written anywhere.
    pub fn validate(&self) -> Result<()> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(Error::invalid(
                "latitude",
                format!("{} is not between -90 and 90", self.lat),
            ));
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(Error::invalid(
                "longitude",
                format!("{} is not between -180 and 180", self.lon),
            ));
        }
        if !self.accuracy_m.is_finite() || self.accuracy_m < 0.0 {
            return Err(Error::invalid(
                "accuracy",
                format!("{} m must be a finite number ≥ 0", self.accuracy_m),
            ));
        }
        if let Some(alt) = self.altitude_m {
            if !alt.is_finite() {
                return Err(Error::invalid("altitude", "must be finite"));
            }
        }
        Ok(())
    }

    pub fn point(&self) -> geo_types::Point<f64> {
        geo_types::Point::new(self.lon, self.lat)
    }

    pub fn accuracy_level(&self) -> AccuracyLevel {
        if self.mock {
            AccuracyLevel::Mocked
        } else if self.accuracy_m > ACCURACY_WARN_M {
            AccuracyLevel::Poor
        } else {
            AccuracyLevel::Good
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lon: f64, accuracy_m: f64) -> LocationFix {
        LocationFix {
            lat,
            lon,
            accuracy_m,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: Utc::now(),
            mock: false,
        }
    }

    #[test]
    fn rejects_every_impossible_number() {
        for (bad, field) in [
            (fix(f64::NAN, 0.0, 5.0), "latitude"),
            (fix(91.0, 0.0, 5.0), "latitude"),
            (fix(0.0, -181.0, 5.0), "longitude"),
            (fix(0.0, f64::INFINITY, 5.0), "longitude"),
            (fix(0.0, 0.0, -1.0), "accuracy"),
            (fix(0.0, 0.0, f64::NAN), "accuracy"),
        ] {
            match bad.validate() {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(fix(38.627, -90.199, 12.0).validate().is_ok());
    }

    #[test]
    fn poor_and_mocked_fixes_are_flagged() {
        assert_eq!(fix(0.0, 0.0, 10.0).accuracy_level(), AccuracyLevel::Good);
        assert_eq!(fix(0.0, 0.0, 120.0).accuracy_level(), AccuracyLevel::Poor);
        let mut mocked = fix(0.0, 0.0, 3.0);
        mocked.mock = true;
        assert_eq!(mocked.accuracy_level(), AccuracyLevel::Mocked);
    }
}
