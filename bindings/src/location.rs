//! Location fixes as the platform adapters produce them (FusedLocationProviderClient,
//! CoreLocation), and the checks a screen shows before saving one.

use std::time::SystemTime;

use testigo_core::incident::GeoPoint as CoreGeoPoint;
use testigo_core::location::{self as core, AccuracyLevel, LocationProvider};

use crate::errors::{ffi_call, Result};
use crate::time::{from_system, to_system};

/// Where the platform got a fix.
#[uniffi::remote(Enum)]
pub enum LocationProvider {
    Gps,
    Network,
    Fused,
    /// Typed in by the volunteer (e.g. from a street address).
    Manual,
    Unknown,
}

/// How much a fix can be relied on.
#[uniffi::remote(Enum)]
pub enum AccuracyLevel {
    Good,
    /// The accuracy radius is wider than [`accuracy_warn_m`]: saved, shown with a warning.
    Poor,
    /// The platform said the location came from a mock provider.
    Mocked,
}

/// One location fix. Validated (finite, in range) before anything is written: a fix
/// that fails is rejected with `TestigoError.InvalidInput` naming the field.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius in metres (68% confidence, as both platforms report).
    pub accuracy_m: f64,
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    pub provider: LocationProvider,
    /// When the platform took the fix.
    pub fix_time: SystemTime,
    /// Android's `Location.isMock`, iOS's `sourceInformation.isSimulatedBySoftware`.
    #[uniffi(default = false)]
    pub mock: bool,
}

/// A point on the map (a reported place).
#[derive(Clone, Copy, Debug, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl LocationFix {
    pub(crate) fn into_core(self) -> Result<core::LocationFix> {
        Ok(core::LocationFix {
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy_m,
            altitude_m: self.altitude_m,
            provider: self.provider,
            fix_time: from_system(self.fix_time, "fix_time")?,
            mock: self.mock,
        })
    }
}

impl From<core::LocationFix> for LocationFix {
    fn from(fix: core::LocationFix) -> Self {
        Self {
            lat: fix.lat,
            lon: fix.lon,
            accuracy_m: fix.accuracy_m,
            altitude_m: fix.altitude_m,
            provider: fix.provider,
            fix_time: to_system(fix.fix_time),
            mock: fix.mock,
        }
    }
}

impl From<GeoPoint> for CoreGeoPoint {
    fn from(p: GeoPoint) -> Self {
        CoreGeoPoint {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl From<CoreGeoPoint> for GeoPoint {
    fn from(p: CoreGeoPoint) -> Self {
        GeoPoint {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

/// Validates a fix the way the store will, and says how far it can be trusted, so a
/// screen can warn before the volunteer saves it.
#[uniffi::export]
pub fn assess_fix(fix: LocationFix) -> Result<AccuracyLevel> {
    ffi_call("assess_fix", || {
        let fix = fix.into_core()?;
        fix.validate()?;
        Ok(fix.accuracy_level())
    })
}

/// Past this accuracy radius (metres) a fix is flagged [`AccuracyLevel::Poor`].
#[uniffi::export]
pub fn accuracy_warn_m() -> f64 {
    core::ACCURACY_WARN_M
}

/// Great-circle distance in metres, e.g. from a fix to the reported place.
#[uniffi::export]
pub fn distance_m(from: GeoPoint, to: GeoPoint) -> Result<f64> {
    ffi_call("distance_m", || {
        for (field, p) in [("from", from), ("to", to)] {
            if !(p.lat.is_finite()
                && (-90.0..=90.0).contains(&p.lat)
                && p.lon.is_finite()
                && (-180.0..=180.0).contains(&p.lon))
            {
                return Err(crate::errors::TestigoError::invalid(
                    field,
                    format!("({}, {}) is not a point on Earth", p.lat, p.lon),
                ));
            }
        }
        Ok(core::haversine_m(
            CoreGeoPoint::from(from).point(),
            CoreGeoPoint::from(to).point(),
        ))
    })
}
