//! Arbitrary change bytes, and recipes that edit a valid change, against a real
//! incident through the op-level change validator (hub and device modes). Every input
//! gets a verdict, never a panic; an accepted change leaves the incident readable and
//! able to take more changes. Replayed by `core/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // As in the other targets: panics the core catches on purpose must be catchable.
        drop(std::panic::take_hook());
    },
    |data: &[u8]| {
    testigo_core::rules::changes::fuzzing::run(data);
});
