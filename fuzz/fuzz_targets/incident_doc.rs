//! A peer (or a damaged file) hands us arbitrary bytes as an incident document.
//! Loading and reading it must give a view or a typed error, never a panic.
//! Replayed by `core/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use testigo_core::incident::IncidentDoc;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = IncidentDoc::load(data) {
        let _ = doc.view();
    }
});
