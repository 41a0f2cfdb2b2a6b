//! Evidence: signed changes and self-checking export bundles that a third party can
//! verify without trusting the hub or the phone they came from.

mod bundle;
mod geojson;
mod media;
mod signing;
mod verify;

pub use bundle::{
    export, Bundle, ChangeEntry, DeviceRecord, IncidentEntry, IncidentEvidence, FORMAT,
};
pub use geojson::incident_features;
pub use media::{bundle_media, media_file_name, verify_media, BundledMedia};
pub use signing::{sign_change, sign_change_with_key, verify_change, SignatureError};
pub use verify::{verify, Finding, VerificationReport};
