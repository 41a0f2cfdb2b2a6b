//! Synthetic field data that reads like the real thing: places, descriptions and
//! observations assembled from word lists with random numbers, so that no two records
//! are the same string and compression does not flatter anyone.

use chrono::{DateTime, Duration, Utc};
use testigo_core::checklist::{default_template, AnswerValue, YesNo, YesNo as YN};
use testigo_core::incident::{
    GeoPoint, NewIncident, ObservationKind, Report, ReportSource, Urgency,
};
use testigo_core::location::{LocationFix, LocationProvider};

/// splitmix64: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
}

const STREETS: &[&str] = &[
    "Cherokee St",
    "Gravois Ave",
    "Jefferson Ave",
    "Grand Blvd",
    "Chippewa St",
    "Broadway",
    "Kingshighway",
    "Arsenal St",
    "Meramec St",
    "Delmar Blvd",
    "Natural Bridge Ave",
    "Manchester Ave",
    "Lemay Ferry Rd",
    "Bates St",
    "Virginia Ave",
    "Michigan Ave",
    "Nebraska Ave",
    "Calle Ocho",
    "Mission St",
    "International Blvd",
    "Fruitvale Ave",
    "Cesar Chavez Ave",
    "Whittier Blvd",
    "Atlantic Ave",
    "Main St",
];
const PLACES: &[&str] = &[
    "the laundromat",
    "the taqueria",
    "the bus stop",
    "the Dollar General",
    "the car wash",
    "the day-labor corner",
    "the apartment complex",
    "the church parking lot",
    "the elementary school",
    "the tire shop",
    "the carnicería",
    "the construction site",
    "the motel",
    "the panadería",
    "the community clinic",
    "the gas station",
    "the flea market",
    "the warehouse loading dock",
];
const CITIES: &[&str] = &[
    "St. Louis",
    "Maplewood",
    "Florissant",
    "Ferguson",
    "Affton",
    "Oakland",
    "San Jose",
    "East LA",
    "Pasadena",
    "Hayward",
];
const VEHICLES: &[&str] = &[
    "unmarked gray SUVs",
    "white vans with tinted windows",
    "black Tahoes",
    "a Ford Explorer with government plates",
    "two sedans",
    "a marked DHS van",
    "pickup trucks",
];
const VESTS: &[&str] = &[
    "vests marked POLICE",
    "plain clothes",
    "vests reading ERO",
    "tactical gear",
    "jackets marked HSI",
    "masks and no visible insignia",
];
const ACTIONS: &[&str] = &[
    "questioning people at the entrance",
    "stopping cars leaving the lot",
    "knocking on doors on the second floor",
    "waiting in their vehicles",
    "photographing license plates",
    "detaining a man near the door",
    "asking workers for papers",
    "blocking the alley",
    "leaving toward the highway",
];
const SOURCES: &[&str] = &[
    "a neighbor",
    "a shop owner",
    "the caller's cousin",
    "a delivery driver",
    "a parent at pickup",
    "a coworker",
    "someone on the group chat",
];
const NOTES: &[&str] = &[
    "Spoke with {who}, who says they arrived around {h}:{m:02}.",
    "Counted {n} agents; {k} went inside and the rest stayed by {veh}.",
    "Agents wearing {vest}, {act}.",
    "{who} saw {veh} parked on {street} near {place} for about {n} minutes.",
    "No agents visible at {place}; {who} says they left {n} minutes ago heading down {street}.",
    "Family of the detained person is at {place}; they asked for the hotline number, gave it.",
    "Plates partially seen: {plate}. {veh} left at {h}:{m:02}.",
    "Crowd of about {n} people gathered across {street}; everyone calm, filming from the sidewalk.",
    "A man was put into {veh}; {who} says he works at {place}.",
    "Checked the block between {street} and {street2}; nothing unusual besides {veh}.",
];

fn fill(rng: &mut Rng, template: &str) -> String {
    let mut out = template.to_owned();
    let pairs: Vec<(&str, String)> = vec![
        ("{who}", rng.pick(SOURCES).to_owned()),
        ("{h}", rng.range(5, 22).to_string()),
        ("{m:02}", format!("{:02}", rng.range(0, 59))),
        ("{n}", rng.range(2, 40).to_string()),
        ("{k}", rng.range(1, 6).to_string()),
        ("{veh}", rng.pick(VEHICLES).to_owned()),
        ("{vest}", rng.pick(VESTS).to_owned()),
        ("{act}", rng.pick(ACTIONS).to_owned()),
        ("{street2}", rng.pick(STREETS).to_owned()),
        ("{street}", rng.pick(STREETS).to_owned()),
        ("{place}", rng.pick(PLACES).to_owned()),
        (
            "{plate}",
            format!(
                "{}{}{}-{}",
                (b'A' + rng.below(26) as u8) as char,
                (b'A' + rng.below(26) as u8) as char,
                rng.range(0, 9),
                rng.range(100, 999)
            ),
        ),
    ];
    for (k, v) in pairs {
        out = out.replace(k, &v);
    }
    out
}

pub fn note(rng: &mut Rng) -> String {
    let t = rng.pick(NOTES);
    fill(rng, t)
}

pub fn fix(rng: &mut Rng, at: DateTime<Utc>) -> LocationFix {
    LocationFix {
        lat: 38.55 + rng.f() * 0.2,
        lon: -90.35 + rng.f() * 0.25,
        accuracy_m: (rng.range(3, 60) as f64) + rng.f(),
        altitude_m: if rng.chance(0.5) {
            Some(140.0 + rng.f() * 40.0)
        } else {
            None
        },
        provider: if rng.chance(0.7) {
            LocationProvider::Fused
        } else {
            LocationProvider::Gps
        },
        fix_time: at - Duration::seconds(rng.range(1, 30)),
        mock: false,
    }
}

pub fn new_incident(rng: &mut Rng, now: DateTime<Utc>) -> NewIncident {
    let place = format!(
        "{} {}, by {}, {}",
        rng.range(100, 9999),
        rng.pick(STREETS),
        rng.pick(PLACES),
        rng.pick(CITIES)
    );
    let description = format!(
        "Saw {} and agents in {}, {}.",
        rng.pick(VEHICLES),
        rng.pick(VESTS),
        rng.pick(ACTIONS)
    );
    let urgency = [
        Urgency::Normal,
        Urgency::High,
        Urgency::Critical,
        Urgency::Low,
    ][rng.below(4) as usize];
    NewIncident {
        report: Report {
            place_text: place,
            point: Some(GeoPoint {
                lat: 38.55 + rng.f() * 0.2,
                lon: -90.35 + rng.f() * 0.25,
            }),
            reported_at: now - Duration::minutes(rng.range(1, 20)),
            description,
            urgency,
            source: ReportSource::Field,
        },
        template: Some(default_template().expect("default template").template_ref()),
    }
}

/// One user action, as the app makes it.
#[derive(Clone, Debug)]
pub enum Action {
    Answer(&'static str, AnswerValue),
    Observation(ObservationKind, String, Option<i64>, Option<LocationFix>),
}

fn yn(rng: &mut Rng) -> YesNo {
    [YesNo::Yes, YesNo::No, YesNo::Unknown][rng.below(3) as usize]
}

fn some_of(rng: &mut Rng, options: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = options
        .iter()
        .filter(|_| rng.chance(0.35))
        .map(|s| s.to_string())
        .collect();
    if out.is_empty() {
        out.push(rng.pick(options).to_owned());
    }
    out
}

/// A full walk through the default checklist (only the questions that apply given the
/// earlier answers), valid for every question.
pub fn checklist(rng: &mut Rng, start: DateTime<Utc>) -> Vec<Action> {
    let mut a = vec![(
        "arrival",
        AnswerValue::Checkpoint {
            at: start,
            fix: Some(fix(rng, start)),
        },
    )];
    let present = [YN::Yes, YN::Yes, YN::No, YN::Unknown][rng.below(4) as usize];
    a.push(("enforcement_present", AnswerValue::YesNo(present)));
    match present {
        YN::Yes => {
            a.push((
                "agencies",
                AnswerValue::Choices(some_of(
                    rng,
                    &[
                        "ice_ero",
                        "ice_hsi",
                        "cbp",
                        "other_federal",
                        "local_police",
                        "unknown",
                    ],
                )),
            ));
            a.push(("agents_count", AnswerValue::Count(rng.range(1, 30))));
            a.push(("vehicles_count", AnswerValue::Count(rng.range(1, 12))));
            let activity = rng.pick(&[
                "home",
                "workplace",
                "vehicle_stop",
                "courthouse",
                "public_arrest",
                "staging",
                "other",
            ]);
            a.push(("activity_type", AnswerValue::Choice(activity.to_owned())));
            if activity == "other" {
                a.push(("activity_other", AnswerValue::Text(note(rng))));
            }
            a.push(("detained_count", AnswerValue::Count(rng.range(0, 8))));
            a.push((
                "warrant",
                AnswerValue::Choice(
                    rng.pick(&["judicial", "administrative", "none", "unknown"])
                        .to_owned(),
                ),
            ));
            let ident = yn(rng);
            a.push(("agents_identifiable", AnswerValue::YesNo(ident)));
            if ident == YN::Yes {
                a.push((
                    "identification_details",
                    AnswerValue::Text(format!(
                        "{}; badge numbers partly seen: {}",
                        rng.pick(VESTS),
                        rng.range(1000, 99999)
                    )),
                ));
            }
        }
        YN::No => {
            a.push((
                "checked",
                AnswerValue::Choices(some_of(
                    rng,
                    &[
                        "reported_address",
                        "nearby_streets",
                        "asked_people",
                        "waited",
                        "other",
                    ],
                )),
            ));
            a.push(("checked_notes", AnswerValue::Text(note(rng))));
        }
        YN::Unknown => a.push(("unclear_reason", AnswerValue::Text(note(rng)))),
    }
    if present != YN::No {
        let w = yn(rng);
        a.push(("witnesses_present", AnswerValue::YesNo(w)));
        if w == YN::Yes {
            a.push(("witness_consent", AnswerValue::YesNo(yn(rng))));
        }
        a.push(("legal_help_needed", AnswerValue::YesNo(yn(rng))));
    }
    let threat = if rng.chance(0.2) { YN::Yes } else { YN::No };
    a.push(("safety_threat", AnswerValue::YesNo(threat)));
    if threat == YN::Yes {
        a.push(("safety_details", AnswerValue::Text(note(rng))));
    }
    let det = match present {
        YN::Yes => "verified",
        YN::No => "not_found",
        _ => "inconclusive",
    };
    a.push((
        "proposed_determination",
        AnswerValue::Choice(det.to_owned()),
    ));
    a.push((
        "confidence",
        AnswerValue::Choice(rng.pick(&["low", "medium", "high"]).to_owned()),
    ));
    a.push(("notes_for_team", AnswerValue::Text(note(rng))));
    let end = start + Duration::minutes(rng.range(10, 60));
    a.push((
        "departure",
        AnswerValue::Checkpoint {
            at: end,
            fix: Some(fix(rng, end)),
        },
    ));
    a.into_iter().map(|(q, v)| Action::Answer(q, v)).collect()
}

pub fn observation(rng: &mut Rng, at: DateTime<Utc>) -> Action {
    if rng.chance(0.3) {
        Action::Observation(
            ObservationKind::Count,
            format!(
                "{} visible",
                rng.pick(&[
                    "agents",
                    "vehicles",
                    "people detained",
                    "officers at the door"
                ])
            ),
            Some(rng.range(1, 25)),
            Some(fix(rng, at)),
        )
    } else {
        Action::Observation(
            ObservationKind::Note,
            note(rng),
            None,
            if rng.chance(0.8) {
                Some(fix(rng, at))
            } else {
                None
            },
        )
    }
}

/// A field incident as a volunteer records it: the full checklist and `observations`
/// observations, interleaved as on scene.
pub fn field_session(rng: &mut Rng, start: DateTime<Utc>, observations: usize) -> Vec<Action> {
    let mut actions = checklist(rng, start);
    let last = actions.pop().expect("departure");
    for i in 0..observations {
        let at = start + Duration::minutes(2 + i as i64 * 3);
        let pos = 2 + (i * 3).min(actions.len().saturating_sub(2));
        actions.insert(pos.min(actions.len()), observation(rng, at));
    }
    actions.push(last);
    actions
}

/// An edit for a long-lived incident: a new observation, or a re-answer of a text or
/// count question the volunteer keeps updating.
pub fn long_edit(rng: &mut Rng, at: DateTime<Utc>) -> Action {
    match rng.below(3) {
        0 => observation(rng, at),
        1 => Action::Answer("notes_for_team", AnswerValue::Text(note(rng))),
        _ => Action::Answer("detained_count", AnswerValue::Count(rng.range(0, 40))),
    }
}
