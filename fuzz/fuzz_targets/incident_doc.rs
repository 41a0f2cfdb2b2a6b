//! A peer (or a damaged file) hands us arbitrary bytes as an incident document.
//! Loading and reading it must give a view or a typed error, never a panic.
//! Replayed by `core/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use testigo_core::incident::IncidentDoc;

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on any panic, even one the core catches on purpose
        // (incident::untrusted); the default hook lets those be caught, and an uncaught
        // panic still aborts the run through libfuzzer-sys's own catch.
        drop(std::panic::take_hook());
    },
    |data: &[u8]| {
    if let Ok(doc) = IncidentDoc::load(data) {
        let _ = doc.view();
    }
});
