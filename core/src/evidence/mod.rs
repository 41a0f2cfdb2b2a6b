//! Evidence: signed changes and self-checking export bundles that a third party can
//! verify without trusting the hub or the phone they came from.

mod attestation;
mod bundle;
mod geojson;
mod history;
mod media;
mod signing;
mod verify;

pub use bundle::{
    export, Bundle, ChangeEntry, DeviceRecord, HistoryEntry, HubRecord, IncidentEntry,
    IncidentEvidence, UploadPlace, FORMAT, FORMAT_V1, FORMAT_V2,
};
pub use geojson::incident_features;
pub use history::{HistoryStatement, Inclusion, UploadStatement};
pub use media::{bundle_media, media_file_name, verify_media, BundledMedia};
pub use signing::{sign_change, sign_change_with_key, verify_change, SignatureError};
pub use verify::{verify, verify_with, Anchor, Finding, VerificationReport};
