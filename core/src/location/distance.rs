//! Great-circle distance, enough to tell a volunteer whether they are at the reported
//! corner or three blocks away.

use geo_types::Point;

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Haversine distance in metres between two (lon, lat) points.
pub fn haversine_m(a: Point<f64>, b: Point<f64>) -> f64 {
    let (lat1, lat2) = (a.y().to_radians(), b.y().to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.x() - a.x()).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Gateway Arch to St. Louis City Hall: about 1.6 km.
        let arch = Point::new(-90.1848, 38.6247);
        let city_hall = Point::new(-90.1994, 38.6270);
        let d = haversine_m(arch, city_hall);
        assert!((1_250.0..1_350.0).contains(&d), "{d}");
        assert_eq!(haversine_m(arch, arch), 0.0);
        // Antipodes are half the circumference, not NaN.
        let d = haversine_m(Point::new(0.0, 0.0), Point::new(180.0, 0.0));
        assert!((d - std::f64::consts::PI * EARTH_RADIUS_M).abs() < 1.0);
    }
}
