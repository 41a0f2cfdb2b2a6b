//! Replays the fuzzers' regression corpus (`fuzz/corpus/<target>/`) through the same
//! calls the fuzz targets make, so every input that once found a bug, or reached new
//! code, is checked by ordinary `cargo test`: each gives a typed result, never a panic.

use std::path::{Path, PathBuf};

use testigo_core::checklist::{evaluate, CheckedTemplate};
use testigo_core::ids::DeviceId;
use testigo_core::incident::{untrusted, IncidentDoc, NewIncident, Report, ReportSource, Urgency};
use testigo_core::store::Store;
use testigo_core::sync::protocol::{decode, SyncRequest, SyncResponse};
use testigo_core::Error;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the {target} corpus is missing");
    files
}

/// Errors from hostile bytes must say what is wrong with the input, not blame storage
/// or the network.
fn assert_input_error(path: &Path, error: &Error) {
    assert!(
        matches!(
            error,
            Error::CorruptDocument { .. }
                | Error::InvalidInput { .. }
                | Error::InvalidTemplate(_)
                | Error::NotFound { .. }
        ),
        "{}: unexpected error kind {error:?}",
        path.display()
    );
}

#[test]
fn incident_documents_from_the_fuzz_corpus_read_or_fail_cleanly() {
    let (mut read, mut refused) = (0, 0);
    for (path, bytes) in corpus("incident_doc") {
        match IncidentDoc::load(&bytes).and_then(|doc| doc.view()) {
            Ok(view) => {
                assert!(!view.id.as_str().is_empty());
                read += 1;
            }
            Err(e) => {
                assert_input_error(&path, &e);
                refused += 1;
            }
        }
    }
    // The seeds are real incidents; mutants are mostly refused.
    assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
}

/// The same bytes arriving from a peer as changes to an incident this device holds:
/// each merge is refused or applied, and the store stays consistent and readable.
#[test]
fn incident_bytes_from_the_fuzz_corpus_merge_into_a_store_or_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.db"), &[7; 32]).unwrap();
    let report = Report {
        place_text: "Bus stop on Grand".into(),
        point: None,
        reported_at: chrono::Utc::now(),
        description: String::new(),
        urgency: Urgency::Normal,
        source: ReportSource::Field,
    };
    let id = store
        .create_incident(NewIncident {
            report,
            template: None,
        })
        .unwrap();
    for (path, bytes) in corpus("incident_doc") {
        if let Err(e) = store.merge_remote(&id, &bytes) {
            assert_input_error(&path, &e);
        }
        store.integrity_check().unwrap();
        let view = store
            .view(&id)
            .unwrap_or_else(|e| panic!("{}: the incident no longer reads: {e}", path.display()));
        assert_eq!(view.id, id);
    }
}

#[test]
fn templates_from_the_fuzz_corpus_check_and_run_or_fail_cleanly() {
    let author = DeviceId::from_public_key(&[7; 32]);
    let (mut accepted, mut refused) = (0, 0);
    for (path, bytes) in corpus("template") {
        let Ok(json) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match CheckedTemplate::from_json(json) {
            Ok(template) => {
                for locale in ["en", "es", "xx"] {
                    let evaluation = evaluate(&template, &[], &author, locale);
                    assert_eq!(
                        evaluation.progress.answered,
                        0,
                        "{}: answers from nowhere",
                        path.display()
                    );
                }
                accepted += 1;
            }
            Err(e) => {
                assert_input_error(&path, &e);
                refused += 1;
            }
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

/// Sync bodies as the hub receives them (and as a device receives answers): decoded to
/// a typed message or refused as a bad body, each uploaded change parsed or refused.
#[test]
fn sync_bodies_from_the_fuzz_corpus_decode_or_fail_cleanly() {
    let (mut decoded, mut refused) = (0, 0);
    for (path, bytes) in corpus("sync_request") {
        let compressed = zstd::encode_all(bytes.as_slice(), 1).unwrap();
        for body in [bytes.as_slice(), compressed.as_slice()] {
            match SyncRequest::decode(body) {
                Ok(request) => {
                    decoded += 1;
                    for change in request.uploads.into_iter().flat_map(|u| u.changes) {
                        let _ = untrusted::parse_change(change);
                    }
                }
                Err(e) => {
                    assert_input_error(&path, &e);
                    refused += 1;
                }
            }
            if let Err(e) = decode::<SyncResponse>(body) {
                assert_input_error(&path, &e);
            }
        }
    }
    assert!(
        decoded > 0 && refused > 0,
        "{decoded} decoded, {refused} refused"
    );
}

/// Change chunks and change recipes against a real incident, through the op-level
/// validator as the hub and a device run it (`fuzz/fuzz_targets/change_rules.rs`):
/// every input gets a verdict, an accepted change leaves the incident readable and
/// able to take more changes.
#[test]
fn changes_from_the_fuzz_corpus_are_judged_by_the_rules_without_a_panic() {
    for (path, bytes) in corpus("change_rules") {
        let result = std::panic::catch_unwind(|| {
            testigo_core::rules::changes::fuzzing::run(&bytes);
        });
        assert!(result.is_ok(), "{}: the validator panicked", path.display());
    }
}
