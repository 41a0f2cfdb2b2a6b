//! Incidents as automerge documents: the schema they follow, how they are written, and
//! the typed view read back from them.

pub(crate) mod document;
pub(crate) mod json_bridge;
mod read;
pub mod schema;
mod status;
pub mod untrusted;
mod view;

pub use document::{has_root, IncidentDoc, NewIncident, MAX_ATTACHMENTS, MAX_TEXT_CHARS};
pub use read::{read_json, read_view};
pub use schema::*;
pub use status::{DerivedStatus, IncidentStatus, Position};
pub use view::{IncidentSummary, IncidentView, QuestionAnswers};

/// JSON rendering of a whole document, as the reader sees it (for exports).
pub fn render_json(doc: &automerge::Automerge) -> serde_json::Value {
    json_bridge::to_json(&doc.hydrate(None))
}
