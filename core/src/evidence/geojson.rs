//! Observations and checkpoints as GeoJSON (RFC 7946), for attorneys' and team leads'
//! map tools. Coordinates are [longitude, latitude].

use serde_json::{json, Value};

use crate::incident::IncidentView;

pub fn incident_features(view: &IncidentView) -> Value {
    let mut features = Vec::new();
    if let Some(point) = &view.report.point {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [point.lon, point.lat] },
            "properties": { "incident": view.id, "record": "reported_place", "place": view.report.place_text },
        }));
    }
    for checkpoint in &view.checkpoints {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [checkpoint.fix.lon, checkpoint.fix.lat] },
            "properties": {
                "incident": view.id, "record": "checkpoint", "id": checkpoint.id, "kind": checkpoint.kind,
                "by": checkpoint.by, "at": checkpoint.at.to_rfc3339(), "accuracy_m": checkpoint.fix.accuracy_m,
                "mock": checkpoint.fix.mock, "distance_m": checkpoint.distance_m,
            },
        }));
    }
    for observation in &view.observations {
        let Some(fix) = &observation.fix else {
            continue;
        };
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [fix.lon, fix.lat] },
            "properties": {
                "incident": view.id, "record": "observation", "id": observation.id, "kind": observation.kind,
                "text": observation.text, "count": observation.count, "by": observation.by,
                "at": observation.at.to_rfc3339(), "accuracy_m": fix.accuracy_m, "mock": fix.mock,
            },
        }));
    }
    json!({ "type": "FeatureCollection", "features": features })
}
