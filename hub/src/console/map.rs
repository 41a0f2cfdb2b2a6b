//! The console's picture of an incident: the reported place, every check-in and
//! check-out, and every observation that has a location, drawn as SVG from the
//! records alone. No map tiles: a tile server would learn where incidents are, and
//! the hub may have no internet at all.
//!
//! The projection is a local equirectangular one centred on the reported place
//! (metres east and north of it); over the few hundred metres of a scene its error is
//! far below a phone's accuracy. Rings around the reported place and a scale bar give
//! distances; each point is labelled with its number in [`points`] and its distance.

use std::fmt::Write;

use serde::Serialize;
use testigo_core::ids::DeviceId;
use testigo_core::incident::{CheckpointKind, GeoPoint, IncidentView};
use testigo_core::location::{haversine_m, AccuracyLevel, LocationFix};

const EARTH_RADIUS_M: f64 = 6_371_008.8;
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 380.0;
/// Room kept around the farthest point, in pixels.
const MARGIN_X: f64 = 64.0;
const MARGIN_Y: f64 = 52.0;
/// The smallest area shown, in metres from the centre: a lone point is not drawn at
/// the scale of a room.
const MIN_EXTENT_M: f64 = 60.0;
const MAX_RINGS: u32 = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    CheckIn,
    CheckOut,
    Observation,
}

/// One located record, numbered as the picture labels it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapPoint {
    pub number: u32,
    pub kind: PointKind,
    pub by: DeviceId,
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub accuracy: AccuracyLevel,
    /// From the reported place as it is now (a corrected place moves every distance).
    pub distance_m: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapData {
    pub reported: Option<GeoPoint>,
    /// Check-ins and check-outs first, then observations, each oldest first.
    pub points: Vec<MapPoint>,
}

fn usable(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// The located records of an incident, in the order the picture numbers them.
pub fn points(view: &IncidentView) -> MapData {
    let reported = view.report.point.filter(|p| usable(p.lat, p.lon));
    let located = view
        .checkpoints
        .iter()
        .map(|c| {
            let kind = match c.kind {
                CheckpointKind::CheckIn => PointKind::CheckIn,
                CheckpointKind::CheckOut => PointKind::CheckOut,
            };
            (kind, &c.fix, &c.by, c.at)
        })
        .chain(view.observations.iter().filter_map(|o| {
            o.fix
                .as_ref()
                .map(|fix| (PointKind::Observation, fix, &o.by, o.at))
        }));
    let points = located
        .filter(|(_, fix, _, _)| usable(fix.lat, fix.lon))
        .zip(1..)
        .map(
            |((kind, fix, by, at), number): ((PointKind, &LocationFix, &DeviceId, _), u32)| {
                MapPoint {
                    number,
                    kind,
                    by: by.clone(),
                    at_ms: at.timestamp_millis(),
                    lat: fix.lat,
                    lon: fix.lon,
                    accuracy_m: if fix.accuracy_m.is_finite() {
                        fix.accuracy_m.max(0.0)
                    } else {
                        0.0
                    },
                    accuracy: fix.accuracy_level(),
                    distance_m: reported.map(|r| {
                        haversine_m(
                            r.point(),
                            GeoPoint {
                                lat: fix.lat,
                                lon: fix.lon,
                            }
                            .point(),
                        )
                    }),
                }
            },
        )
        .collect();
    MapData { reported, points }
}

/// Metres east and north of a centre, and from there pixels.
struct Projection {
    lat0: f64,
    lon0: f64,
    cos_lat0: f64,
    /// Pixels per metre.
    scale: f64,
}

impl Projection {
    fn metres(&self, lat: f64, lon: f64) -> (f64, f64) {
        let mut d_lon = lon - self.lon0;
        if d_lon > 180.0 {
            d_lon -= 360.0;
        } else if d_lon < -180.0 {
            d_lon += 360.0;
        }
        (
            d_lon.to_radians() * EARTH_RADIUS_M * self.cos_lat0,
            (lat - self.lat0).to_radians() * EARTH_RADIUS_M,
        )
    }

    fn pixels(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (east, north) = self.metres(lat, lon);
        (
            WIDTH / 2.0 + east * self.scale,
            HEIGHT / 2.0 - north * self.scale,
        )
    }

    /// Centred on `centre`, scaled so that every point fits.
    fn fitting(centre: (f64, f64), points: &[MapPoint]) -> Self {
        let mut projection = Self {
            lat0: centre.0,
            lon0: centre.1,
            cos_lat0: centre.0.to_radians().cos().max(0.01),
            scale: 1.0,
        };
        let (mut east, mut north) = (MIN_EXTENT_M, MIN_EXTENT_M);
        for p in points {
            let (e, n) = projection.metres(p.lat, p.lon);
            east = east.max(e.abs());
            north = north.max(n.abs());
        }
        projection.scale = ((WIDTH / 2.0 - MARGIN_X) / east).min((HEIGHT / 2.0 - MARGIN_Y) / north);
        projection
    }
}

/// The largest 1, 2 or 5 times a power of ten not above `limit`.
pub fn nice_length(limit: f64) -> f64 {
    if !(limit.is_finite() && limit > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(limit.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * power)
        .find(|l| *l <= limit)
        .unwrap_or(power)
}

/// "40 m", "1.2 km" (Spanish: "1,2 km").
pub fn format_distance(metres: f64, lang: &str) -> String {
    if metres < 1000.0 {
        format!("{metres:.0} m")
    } else {
        let km = format!("{:.1}", metres / 1000.0);
        let km = km.strip_suffix(".0").map(str::to_owned).unwrap_or(km);
        format!(
            "{} km",
            if lang == "es" {
                km.replace('.', ",")
            } else {
                km
            }
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Words {
    title: &'static str,
    reported: &'static str,
    nothing: &'static str,
    no_point: &'static str,
}

fn words(lang: &str) -> Words {
    if lang == "es" {
        Words {
            title: "Registros con ubicación alrededor del lugar reportado",
            reported: "Lugar reportado",
            nothing: "Todavía no hay registros con ubicación",
            no_point: "El reporte no tiene coordenadas: sin distancias",
        }
    } else {
        Words {
            title: "Located records around the reported place",
            reported: "Reported place",
            nothing: "No located records yet",
            no_point: "The report has no coordinates: no distances",
        }
    }
}

const INK: &str = "#1f2933";
const MUTED: &str = "#7b8794";
const RING: &str = "#cbd2d9";
const REPORTED: &str = "#b42318";
const CHECKPOINT: &str = "#0f766e";
const OBSERVATION: &str = "#b45309";

/// The picture, as a standalone SVG document (served as `image/svg+xml`).
pub fn render_svg(view: &IncidentView, lang: &str) -> String {
    let data = points(view);
    let w = words(lang);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" role="img"><title>{}</title><rect width="{WIDTH}" height="{HEIGHT}" fill="#f8fafc"/>"##,
        escape(w.title)
    );
    let centre = match (data.reported, data.points.is_empty()) {
        (Some(r), _) => Some((r.lat, r.lon)),
        (None, false) => {
            let n = data.points.len() as f64;
            Some((
                data.points.iter().map(|p| p.lat).sum::<f64>() / n,
                data.points.iter().map(|p| p.lon).sum::<f64>() / n,
            ))
        }
        (None, true) => None,
    };
    let Some(centre) = centre else {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="16" fill="{MUTED}">{}</text></svg>"#,
            WIDTH / 2.0,
            HEIGHT / 2.0,
            escape(w.nothing)
        );
        return svg;
    };
    let projection = Projection::fitting(centre, &data.points);
    let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0);
    let step = nice_length((WIDTH / 4.0) / projection.scale);

    // Distance rings around the reported place.
    if data.reported.is_some() {
        let reach = (WIDTH.max(HEIGHT) / 2.0) / projection.scale;
        for k in (1..=MAX_RINGS).take_while(|k| f64::from(*k) * step <= reach) {
            let r = f64::from(k) * step * projection.scale;
            let _ = write!(
                svg,
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="none" stroke="{RING}" stroke-width="1" stroke-dasharray="4 4"/><text x="{:.1}" y="{:.1}" font-size="12" fill="{MUTED}">{}</text>"#,
                cx + r * std::f64::consts::FRAC_1_SQRT_2 + 3.0,
                cy - r * std::f64::consts::FRAC_1_SQRT_2 - 3.0,
                escape(&format_distance(f64::from(k) * step, lang))
            );
        }
    }

    // Accuracy first, so that markers stay on top.
    for p in &data.points {
        let (x, y) = projection.pixels(p.lat, p.lon);
        let r = p.accuracy_m * projection.scale;
        if r >= 2.0 {
            let colour = if p.kind == PointKind::Observation {
                OBSERVATION
            } else {
                CHECKPOINT
            };
            let dash = if p.accuracy == AccuracyLevel::Good {
                ""
            } else {
                r#" stroke-dasharray="3 3""#
            };
            let _ = write!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{colour}" fill-opacity="0.08" stroke="{colour}" stroke-opacity="0.35"{dash}/>"#
            );
        }
    }

    if let Some(r) = data.reported {
        let (x, y) = projection.pixels(r.lat, r.lon);
        let _ = write!(
            svg,
            r##"<g><circle cx="{x:.1}" cy="{y:.1}" r="13" fill="none" stroke="{REPORTED}" stroke-width="2"/><circle cx="{x:.1}" cy="{y:.1}" r="5" fill="{REPORTED}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="14" font-weight="600" fill="{REPORTED}" stroke="#f8fafc" stroke-width="3" paint-order="stroke">{}</text></g>"##,
            y + 30.0,
            escape(w.reported)
        );
    }

    for p in &data.points {
        let (x, y) = projection.pixels(p.lat, p.lon);
        let number = p.number;
        let _ = match p.kind {
            PointKind::CheckIn => write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="11" fill="{CHECKPOINT}" stroke="#ffffff" stroke-width="2"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" font-weight="700" fill="#ffffff">{number}</text>"##,
                y + 4.0
            ),
            PointKind::CheckOut => write!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="11" fill="#ffffff" stroke="{CHECKPOINT}" stroke-width="2.5"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" font-weight="700" fill="{CHECKPOINT}">{number}</text>"##,
                y + 4.0
            ),
            PointKind::Observation => write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="20" height="20" rx="3" fill="{OBSERVATION}" stroke="#ffffff" stroke-width="2"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" font-weight="700" fill="#ffffff">{number}</text>"##,
                x - 10.0,
                y - 10.0,
                y + 4.5
            ),
        };
        if let Some(d) = p.distance_m {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="13" font-weight="600" fill="{INK}" stroke="#f8fafc" stroke-width="3" paint-order="stroke">{}</text>"##,
                x + 15.0,
                y + 4.5,
                escape(&format_distance(d, lang))
            );
        }
    }

    // Scale bar, bottom left.
    let bar = step * projection.scale;
    let (x0, y0) = (20.0, HEIGHT - 22.0);
    let _ = write!(
        svg,
        r#"<g><path d="M{x0} {:.1} V{y0} H{:.1} V{:.1}" fill="none" stroke="{INK}" stroke-width="2"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="{INK}">{}</text></g>"#,
        y0 - 6.0,
        x0 + bar,
        y0 - 6.0,
        x0 + bar / 2.0,
        y0 - 9.0,
        escape(&format_distance(step, lang))
    );

    // North arrow, top right.
    let (nx, ny) = (WIDTH - 30.0, 24.0);
    let _ = write!(
        svg,
        r#"<g><path d="M{nx} {ny} l-7 18 l7 -5 l7 5 z" fill="{INK}"/><text x="{nx}" y="{:.1}" text-anchor="middle" font-size="13" font-weight="700" fill="{INK}">N</text></g>"#,
        ny + 32.0
    );

    if data.reported.is_none() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="13" fill="{MUTED}">{}</text>"#,
            WIDTH / 2.0,
            escape(w.no_point)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use testigo_core::ids::{IncidentId, RecordId};
    use testigo_core::incident::{
        Checkpoint, DerivedStatus, IncidentStatus, Observation, ObservationKind, Report,
        ReportSource, Urgency,
    };
    use testigo_core::location::LocationProvider;

    fn fix(lat: f64, lon: f64, accuracy_m: f64) -> LocationFix {
        LocationFix {
            lat,
            lon,
            accuracy_m,
            altitude_m: None,
            provider: LocationProvider::Gps,
            fix_time: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            mock: false,
        }
    }

    fn view(point: Option<GeoPoint>) -> IncidentView {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let by = DeviceId::from_public_key(&[1; 32]);
        IncidentView {
            id: IncidentId::generate(),
            schema: 1,
            created_at: at,
            created_by: by.clone(),
            report: Report {
                place_text: "Cherokee St <& Jefferson>".into(),
                point,
                reported_at: at,
                description: String::new(),
                urgency: Urgency::High,
                source: ReportSource::Call,
            },
            template: None,
            assignments: vec![],
            answers: vec![],
            observations: vec![
                Observation {
                    id: RecordId::generate(),
                    kind: ObservationKind::Note,
                    text: "vans".into(),
                    count: None,
                    fix: Some(fix(38.6280, -90.1994, 12.0)),
                    amends: None,
                    attachments: Vec::new(),
                    by: by.clone(),
                    at,
                },
                Observation {
                    id: RecordId::generate(),
                    kind: ObservationKind::Note,
                    text: "no fix".into(),
                    count: None,
                    fix: None,
                    amends: None,
                    attachments: Vec::new(),
                    by: by.clone(),
                    at,
                },
            ],
            checkpoints: vec![Checkpoint {
                id: RecordId::generate(),
                kind: CheckpointKind::CheckIn,
                fix: fix(38.6270, -90.1990, 80.0),
                distance_m: Some(35.0),
                by,
                at,
            }],
            events: vec![],
            status: DerivedStatus {
                status: IncidentStatus::OnScene,
                determination: None,
                proposals: vec![],
                confirmations: vec![],
                caller_notified: false,
            },
            problems: vec![],
        }
    }

    #[test]
    fn points_are_numbered_checkpoints_first_with_distances_from_the_report() {
        let data = points(&view(Some(GeoPoint {
            lat: 38.6270,
            lon: -90.1994,
        })));
        assert_eq!(
            data.points.len(),
            2,
            "the observation without a fix is not drawn"
        );
        assert_eq!(
            (data.points[0].number, data.points[0].kind),
            (1, PointKind::CheckIn)
        );
        assert_eq!(
            (data.points[1].number, data.points[1].kind),
            (2, PointKind::Observation)
        );
        let east = data.points[0].distance_m.unwrap();
        assert!(
            (33.0..37.0).contains(&east),
            "0.0004° of longitude at 38.6° is about 35 m: {east}"
        );
        let north = data.points[1].distance_m.unwrap();
        assert!(
            (108.0..114.0).contains(&north),
            "0.001° of latitude is about 111 m: {north}"
        );
        assert_eq!(data.points[0].accuracy, AccuracyLevel::Poor);
    }

    #[test]
    fn projection_keeps_distances_and_directions() {
        let data = points(&view(Some(GeoPoint {
            lat: 38.6270,
            lon: -90.1994,
        })));
        let p = Projection::fitting((38.6270, -90.1994), &data.points);
        let (x, y) = p.pixels(38.6270, -90.1990);
        assert!(
            x > WIDTH / 2.0 && (y - HEIGHT / 2.0).abs() < 1e-6,
            "east is right"
        );
        let (x2, y2) = p.pixels(38.6280, -90.1994);
        assert!(
            y2 < HEIGHT / 2.0 && (x2 - WIDTH / 2.0).abs() < 1e-6,
            "north is up"
        );
        let east_px = x - WIDTH / 2.0;
        let north_px = HEIGHT / 2.0 - y2;
        let ratio = (east_px / north_px)
            / (data.points[0].distance_m.unwrap() / data.points[1].distance_m.unwrap());
        assert!(
            (ratio - 1.0).abs() < 0.01,
            "one scale in both directions: {ratio}"
        );
        assert!(y2 >= MARGIN_Y - 1e-6, "the farthest point fits");
    }

    #[test]
    fn scale_bar_lengths_are_round() {
        assert_eq!(nice_length(180.0), 100.0);
        assert_eq!(nice_length(260.0), 200.0);
        assert_eq!(nice_length(7.0), 5.0);
        assert_eq!(nice_length(1000.0), 1000.0);
        assert_eq!(nice_length(f64::NAN), 1.0);
        assert_eq!(format_distance(42.4, "en"), "42 m");
        assert_eq!(format_distance(1200.0, "es"), "1,2 km");
        assert_eq!(format_distance(2000.0, "en"), "2 km");
    }

    #[test]
    fn svg_holds_the_data_and_nothing_a_person_typed() {
        let svg = render_svg(
            &view(Some(GeoPoint {
                lat: 38.6270,
                lon: -90.1994,
            })),
            "es",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Lugar reportado") && svg.contains("35 m") && svg.contains("111 m"));
        assert!(
            !svg.contains("Cherokee") && !svg.contains("vans"),
            "free text stays out of the picture"
        );
        assert!(
            !svg.contains("style") && !svg.contains("script"),
            "nothing the CSP would block"
        );
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn without_a_reported_point_or_any_record_it_says_so() {
        let mut v = view(None);
        let svg = render_svg(&v, "en");
        assert!(svg.contains("no distances") && !svg.contains("Reported place"));
        assert!(points(&v).points.iter().all(|p| p.distance_m.is_none()));
        v.checkpoints.clear();
        v.observations.clear();
        assert!(render_svg(&v, "en").contains("No located records yet"));
    }
}
