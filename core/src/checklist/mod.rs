//! Checklists: templates as data and the engine that runs them on scene.

mod answer;

pub use answer::{AnswerValue, YesNo};
