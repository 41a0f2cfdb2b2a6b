//! Shared fixtures for the core's integration tests.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use testigo_core::ids::DeviceId;
use testigo_core::incident::{Author, GeoPoint, NewIncident, Report, ReportSource, Role, TemplateRef, Urgency};
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
    GeoPoint { lat: 38.6270, lon: -90.1994 }
}

pub fn report(place: &str) -> NewIncident {
    NewIncident {
        report: Report {
            place_text: place.to_owned(),
            point: Some(corner()),
            reported_at: t0(),
            description: "Caller saw two unmarked SUVs and agents in vests outside the laundromat".into(),
            urgency: Urgency::High,
            source: ReportSource::Call,
        },
        template: Some(TemplateRef { id: "field-verification".into(), version: 1 }),
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
