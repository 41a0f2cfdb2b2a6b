//! A device (or anyone with a stolen credential) sends the hub an arbitrary sync body.
//! Decoding it, and parsing each uploaded change as the hub does first, must give a
//! value or a typed error, never a panic or an unbounded allocation. The same bytes
//! are also tried as a response, which a device decodes from whatever answers at the
//! hub's address. Each input is tried as sent and zstd-compressed, so the fuzzer
//! reaches the postcard structure behind the compression.
//! Replayed by `tests/tests/fuzz_corpus.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use testigo_core::incident::untrusted;
use testigo_core::sync::protocol::{decode, SyncRequest, SyncResponse};

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on any panic, even one the core catches on purpose
        // (incident::untrusted); the default hook lets those be caught, and an uncaught
        // panic still aborts the run through libfuzzer-sys's own catch.
        drop(std::panic::take_hook());
    },
    |data: &[u8]| {
        let compressed = zstd::encode_all(data, 1).expect("compressing in memory");
        for body in [data, compressed.as_slice()] {
            if let Ok(request) = SyncRequest::decode(body) {
                for upload in request.uploads {
                    for change in upload.changes {
                        let _ = untrusted::parse_change(change);
                    }
                }
            }
            let _ = decode::<SyncResponse>(body);
        }
    }
);
