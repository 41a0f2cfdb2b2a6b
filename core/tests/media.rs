//! Photos, video and audio as evidence on the device: sealed into the encrypted
//! attachment area while hashed, recorded in the signed observation, refused whole
//! when anything is wrong, and gone with the incident.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::*;
use sha2::{Digest, Sha256};
use testigo_core::incident::{MediaKind, ObservationKind};
use testigo_core::media::{MediaError, MediaInput, SEGMENT};
use testigo_core::store::{attachments_dir, StorageFault, Store};
use testigo_core::Error;

fn open(path: &Path) -> Store {
    Store::open(path, &store_key(7)).unwrap()
}

/// Bytes that start like a JPEG and then hold a recognisable pattern, so a test can
/// look for plaintext on disk.
fn jpeg_like(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..len - 4).map(|i| b"PLAINTEXT-PHOTO-"[i % 16]));
    bytes
}

/// Bytes that start like an MP4 (`ftyp` box) and then vary, `len` long.
fn mp4_like(len: usize) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x18];
    bytes.extend_from_slice(b"ftypisom");
    bytes.extend((0..len - 12).map(|i| (i * 31 % 251) as u8));
    bytes
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn input(path: PathBuf, mime: &str) -> MediaInput {
    MediaInput {
        path,
        mime: mime.into(),
        captured_at: at(3),
        fix: Some(fix_near(0.0001)),
        preview: None,
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn on_scene(store: &Store) -> testigo_core::ids::IncidentId {
    store
        .create_incident(report("Laundromat, 5th and Main"))
        .unwrap()
}

#[test]
fn a_photo_and_its_preview_are_sealed_hashed_and_recorded_in_the_signed_observation() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let photo = jpeg_like(300_000);
    let preview = jpeg_like(20_000);
    let mut media = input(write_file(tmp.path(), "cam.jpg", &photo), "image/jpeg");
    media.preview = Some(write_file(tmp.path(), "thumb.jpg", &preview));
    let signatures_before = store.change_signatures(&id).unwrap().len();

    let record = store
        .add_observation_with_media(&id, ObservationKind::Note, "", None, None, &[media])
        .unwrap();

    let view = store.view(&id).unwrap();
    let observation = view.observations.iter().find(|o| o.id == record).unwrap();
    let [attachment] = observation.attachments.as_slice() else {
        panic!("one attachment expected: {:?}", observation.attachments)
    };
    assert_eq!(attachment.kind, MediaKind::Photo);
    assert_eq!(attachment.sha256, sha256(&photo));
    assert_eq!(attachment.size, photo.len() as u64);
    assert_eq!(attachment.captured_at, at(3));
    assert_eq!(attachment.by, store.device_id());
    assert_eq!(attachment.fix, Some(fix_near(0.0001)));
    let recorded_preview = attachment.preview.as_ref().unwrap();
    assert_eq!(recorded_preview.sha256, sha256(&preview));
    assert_eq!(recorded_preview.mime, "image/jpeg");
    // One action, one signed change: the record never exists without its observation.
    assert_eq!(
        store.change_signatures(&id).unwrap().len(),
        signatures_before + 1
    );

    // Nothing on disk holds the plaintext; the camera's own file is untouched.
    let sealed = files_in(&attachments_dir(store.path()));
    assert_eq!(sealed.len(), 2, "{sealed:?}");
    for file in &sealed {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(16).any(|w| w == b"PLAINTEXT-PHOTO-"),
            "{file:?} is plaintext"
        );
    }
    assert_eq!(std::fs::read(tmp.path().join("cam.jpg")).unwrap(), photo);

    let mut out = Vec::new();
    store
        .export_attachment(&id, &attachment.sha256, &mut out)
        .unwrap();
    assert_eq!(out, photo);
    let stored = store.attachments(&id).unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].is_preview, "previews come first: {stored:?}");
    assert!(stored.iter().all(|m| !m.uploaded && m.acked_bytes == 0));
}

#[test]
fn a_video_reads_back_from_any_offset_and_a_file_of_whole_segments_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let video = mp4_like(SEGMENT * 40 + 123);
    let exact = mp4_like(SEGMENT * 3);
    let inputs = [
        input(write_file(tmp.path(), "clip.mp4", &video), "video/mp4"),
        input(write_file(tmp.path(), "exact.mp4", &exact), "video/mp4"),
    ];
    store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "agents at the door",
            None,
            None,
            &inputs,
        )
        .unwrap();

    let mut reader = store.open_attachment(&id, &sha256(&video)).unwrap();
    assert_eq!(reader.len(), video.len() as u64);
    let offset = SEGMENT as u64 * 17 + 999;
    reader.seek_to(offset);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, video[offset as usize..]);

    let mut out = Vec::new();
    store
        .export_attachment(&id, &sha256(&exact), &mut out)
        .unwrap();
    assert_eq!(out, exact);
}

#[test]
fn a_sealed_file_changed_by_one_byte_or_cut_short_is_named_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let video = mp4_like(SEGMENT * 2 + 10);
    let hash = sha256(&video);
    store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[input(write_file(tmp.path(), "v.mp4", &video), "video/mp4")],
        )
        .unwrap();
    let sealed_files = files_in(&attachments_dir(store.path()));
    let [sealed] = sealed_files.as_slice() else {
        panic!("one sealed file expected")
    };
    let original = std::fs::read(sealed).unwrap();

    let mut flipped = original.clone();
    flipped[SEGMENT + 100] ^= 1;
    std::fs::write(sealed, &flipped).unwrap();
    let err = store
        .export_attachment(&id, &hash, &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::Damaged { ref sha256, .. }) if *sha256 == hash),
        "{err:?}"
    );

    // Dropping the last segment must not pass as a shorter file.
    std::fs::write(sealed, &original[..original.len() - 26]).unwrap();
    let err = store
        .export_attachment(&id, &hash, &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::Damaged { .. })),
        "{err:?}"
    );
}

#[test]
fn a_bad_file_is_refused_with_its_reason_and_nothing_is_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let good = write_file(tmp.path(), "good.jpg", &jpeg_like(5_000));
    let png_bytes = b"\x89PNG\r\n\x1a\n0000000000000000".to_vec();
    store.set_setting("max_attachment_bytes", "100000").unwrap();
    let cases: Vec<(&str, MediaInput, fn(&Error) -> bool)> = vec![
        (
            "vanished",
            input(tmp.path().join("never-written.jpg"), "image/jpeg"),
            |e| matches!(e, Error::Media(MediaError::Vanished { .. })),
        ),
        (
            "empty",
            input(write_file(tmp.path(), "empty.jpg", b""), "image/jpeg"),
            |e| matches!(e, Error::Media(MediaError::Empty { .. })),
        ),
        (
            "unknown type",
            input(good.clone(), "application/pdf"),
            |e| matches!(e, Error::Media(MediaError::UnknownType { .. })),
        ),
        (
            "bytes of another type",
            input(write_file(tmp.path(), "x.jpg", &png_bytes), "image/jpeg"),
            |e| matches!(e, Error::Media(MediaError::UnknownType { .. })),
        ),
        (
            "too large",
            input(
                write_file(tmp.path(), "big.mp4", &mp4_like(100_001)),
                "video/mp4",
            ),
            |e| {
                matches!(
                    e,
                    Error::Media(MediaError::TooLarge {
                        size: 100_001,
                        max: 100_000
                    })
                )
            },
        ),
    ];
    let observations_before = store.view(&id).unwrap().observations.len();
    for (case, bad, expected) in cases {
        // The good file goes first: it must not be kept when the second is refused.
        let err = store
            .add_observation_with_media(
                &id,
                ObservationKind::Note,
                "two photos",
                None,
                None,
                &[input(good.clone(), "image/jpeg"), bad],
            )
            .unwrap_err();
        assert!(expected(&err), "{case}: {err:?}");
        assert_eq!(
            store.view(&id).unwrap().observations.len(),
            observations_before,
            "{case}"
        );
        assert!(
            files_in(&attachments_dir(store.path())).is_empty(),
            "{case}: a file was left"
        );
        assert!(store.attachments(&id).unwrap().is_empty(), "{case}");
    }
}

#[test]
fn a_full_device_refuses_the_observation_and_leaves_no_sealed_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let photo = write_file(tmp.path(), "p.jpg", &jpeg_like(50_000));
    store.inject_storage_fault(StorageFault::DiskFull).unwrap();
    let mut saved = None;
    // The first attempts may fit in free pages; a full device refuses one soon.
    for _ in 0..200 {
        match store.add_observation_with_media(
            &id,
            ObservationKind::Note,
            &"x".repeat(2_000),
            None,
            None,
            &[input(photo.clone(), "image/jpeg")],
        ) {
            Ok(_) => continue,
            Err(e) => {
                saved = Some(e);
                break;
            }
        }
    }
    let err = saved.expect("a full database refuses a write");
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    store.inject_storage_fault(StorageFault::None).unwrap();
    let kept = store.attachments(&id).unwrap().len();
    assert_eq!(
        files_in(&attachments_dir(store.path())).len(),
        kept.min(1),
        "only the rows that were saved name a file (the same photo is kept once)"
    );
}

#[test]
fn the_same_photo_attached_twice_is_kept_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("store.db"));
    let id = on_scene(&store);
    let photo = write_file(tmp.path(), "p.jpg", &jpeg_like(10_000));
    for text in ["first", "again"] {
        store
            .add_observation_with_media(
                &id,
                ObservationKind::Note,
                text,
                None,
                None,
                &[input(photo.clone(), "image/jpeg")],
            )
            .unwrap();
    }
    assert_eq!(store.attachments(&id).unwrap().len(), 1);
    assert_eq!(files_in(&attachments_dir(store.path())).len(), 1);
}

#[test]
fn removing_an_incident_or_wiping_the_store_deletes_its_files_and_a_crash_leaves_none() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("store.db");
    let store = open(&db);
    let (first, second) = (on_scene(&store), on_scene(&store));
    for (id, len) in [(&first, 1_000), (&second, 2_000)] {
        let path = write_file(tmp.path(), &format!("{len}.jpg"), &jpeg_like(len));
        store
            .add_observation_with_media(
                id,
                ObservationKind::Note,
                "",
                None,
                None,
                &[input(path, "image/jpeg")],
            )
            .unwrap();
    }
    let dir = attachments_dir(&db);
    assert_eq!(files_in(&dir).len(), 2);
    store.remove_incident(&first).unwrap();
    assert_eq!(files_in(&dir).len(), 1);
    assert_eq!(store.attachments(&second).unwrap().len(), 1);

    // What a crash between sealing and saving leaves is removed on a later open, once
    // old enough that no other open store can still be sealing it.
    drop(store);
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (name, bytes) in [("0123.part", &b"half"[..]), ("4567.sealed", b"unsaved")] {
        let mut file = std::fs::File::create(dir.join(name)).unwrap();
        file.write_all(bytes).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    std::fs::File::create(dir.join("89ab.part"))
        .unwrap()
        .write_all(b"being sealed now")
        .unwrap();
    let store = open(&db);
    let mut left: Vec<String> = files_in(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    left.sort();
    assert_eq!(left, ["89ab.part"], "only the fresh partial file stays");
    assert_eq!(files_in(&dir).len(), 2);
    std::fs::remove_file(dir.join("89ab.part")).unwrap();
    let hash = store.attachments(&second).unwrap()[0].sha256.clone();
    store
        .export_attachment(&second, &hash, &mut Vec::new())
        .unwrap();

    store.wipe().unwrap();
    assert!(!dir.exists());
}
