//! A checklist template arrives from the hub as JSON. Parsing and checking it, then
//! running it with no answers, must give a result or a typed error, never a panic.
//! Replayed by `core/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use testigo_core::checklist::{evaluate, CheckedTemplate};
use testigo_core::ids::DeviceId;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(template) = CheckedTemplate::from_json(json) {
        let author = DeviceId::from_public_key(&[7; 32]);
        for locale in ["en", "es", "xx"] {
            let _ = evaluate(&template, &[], &author, locale);
        }
    }
});
