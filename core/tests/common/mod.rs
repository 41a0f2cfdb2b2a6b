//! Shared fixtures for the core's integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use testigo_core::ids::DeviceId;
use testigo_core::incident::{
    Author, GeoPoint, NewIncident, Report, ReportSource, Role, TemplateRef, Urgency,
};
use testigo_core::location::{LocationFix, LocationProvider};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 15, 0, 0).unwrap()
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

pub fn person(seed: u8, role: Role) -> Author {
    Author::new(DeviceId::from_public_key(&[seed; 32]), role)
}

pub fn corner() -> GeoPoint {
    GeoPoint {
        lat: 38.6270,
        lon: -90.1994,
    }
}

pub fn report(place: &str) -> NewIncident {
    NewIncident {
        report: Report {
            place_text: place.to_owned(),
            point: Some(corner()),
            reported_at: t0(),
            description: "Caller saw two unmarked SUVs and agents in vests outside the laundromat"
                .into(),
            urgency: Urgency::High,
            source: ReportSource::Call,
        },
        template: Some(TemplateRef {
            id: "field-verification".into(),
            version: 1,
        }),
    }
}

pub fn fix_near(d_lat: f64) -> LocationFix {
    LocationFix {
        lat: corner().lat + d_lat,
        lon: corner().lon,
        accuracy_m: 8.0,
        altitude_m: Some(140.0),
        provider: LocationProvider::Fused,
        fix_time: t0(),
        mock: false,
    }
}

/// A clock tests move by hand.
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(std::sync::Mutex::new(start)))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl testigo_core::time::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub fn store_key(seed: u8) -> Vec<u8> {
    (0..32)
        .map(|i| seed.wrapping_add(i).wrapping_add(1))
        .collect()
}

/// The seed in `env_var` if set (to replay a failure), else one from the clock; printed
/// either way.
pub fn seed(env_var: &str) -> u64 {
    let seed = std::env::var(env_var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    eprintln!("{env_var}={seed}");
    seed
}
