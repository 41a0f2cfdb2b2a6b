//! Content credentials end to end: a volunteer photographs and films on scene, the
//! files reach the hub, and the copies the hub exports carry C2PA manifests signed by
//! the organisation. Each is read back by the C2PA library's own `Reader` — a
//! validator Testigo did not write — with the organisation's trust anchor (trusted),
//! without it (valid, `signingCredential.untrusted`), after one byte changed
//! (invalid), and against an impostor's anchor bearing the same organisation name
//! (never trusted).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use c2pa::{Context, Reader, ValidationState};
use chrono::Utc;
use sha2::{Digest, Sha256};
use testigo_core::ids::IncidentId;
use testigo_core::incident::{NewIncident, ObservationKind, Report, ReportSource, Role, Urgency};
use testigo_core::location::{LocationFix, LocationProvider};
use testigo_core::media::{upload_media, MediaInput, Network, UploadOptions, UploadPolicy};
use testigo_hub::credentials::author::AuthorError;
use testigo_hub::credentials::manifest::{credential_bytes, Subject, METADATA_LABEL};
use testigo_hub::credentials::{
    check, export, AuthorCheck, Copy, OrgIdentity, TestigoAssertion, Verdict,
};
use testigo_tests::media::{jpeg_with_gps, mp4};
use testigo_tests::{contains, Person, TestHub, World};

const ASSERTION: &str = testigo_hub::credentials::assertion::LABEL;

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A real 4×4 PNG (signature, IHDR, one zlib-compressed IDAT, IEND, with their
/// CRCs) carrying a `tEXt` chunk, as a screenshot tool writes one.
fn png() -> Vec<u8> {
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&[&kind[..], data].concat());
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    // Four rows, each a filter byte (none) and four grey pixels, stored in one
    // uncompressed deflate block inside a zlib stream.
    let raw: Vec<u8> = (0..4u8)
        .flat_map(|row| [0, row * 60, row * 60, row * 60, row * 60])
        .collect();
    let adler = {
        let (mut a, mut b) = (1u32, 0u32);
        for byte in &raw {
            a = (a + u32::from(*byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        (b << 16) | a
    };
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler.to_be_bytes());
    let header = [
        &4u32.to_be_bytes()[..],
        &4u32.to_be_bytes(),
        &[8, 0, 0, 0, 0],
    ]
    .concat();
    [
        &b"\x89PNG\r\n\x1a\n"[..],
        &chunk(b"IHDR", &header),
        &chunk(b"tEXt", b"Software\0ScreenTool"),
        &chunk(b"IDAT", &zlib),
        &chunk(b"IEND", &[]),
    ]
    .concat()
}

/// Where the volunteer stood.
fn fix() -> LocationFix {
    LocationFix {
        lat: 38.627,
        lon: -90.19939,
        accuracy_m: 8.0,
        altitude_m: Some(142.0),
        provider: LocationProvider::Gps,
        fix_time: Utc::now(),
        mock: false,
    }
}

/// A volunteer's incident with one observation holding `files` (path, type), captured
/// with a fix, synced and uploaded.
fn captured(world: &World, vol: &Person, files: &[(PathBuf, &str)]) -> IncidentId {
    let id = vol
        .store
        .create_incident(NewIncident {
            report: Report {
                place_text: "Laundromat, 5th and Main".into(),
                point: None,
                reported_at: Utc::now(),
                description: "Agents in vests at the door".into(),
                urgency: Urgency::Critical,
                source: ReportSource::Field,
            },
            template: None,
        })
        .unwrap();
    let media: Vec<MediaInput> = files
        .iter()
        .map(|(path, mime)| MediaInput {
            path: path.clone(),
            mime: (*mime).into(),
            captured_at: Utc::now(),
            fix: Some(fix()),
            preview: None,
        })
        .collect();
    vol.store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "agents at the door",
            None,
            Some(fix()),
            &media,
        )
        .unwrap();
    vol.sync(&world.hub);
    let report = upload_media(
        &vol.store,
        Some(&world.hub.url),
        Network::Unmetered,
        &UploadPolicy::default(),
        &UploadOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(report.completed as usize, files.len(), "{report:?}");
    id
}

/// GET `copy` of a file with credentials, as `person`: status and bytes.
fn credentialed(
    person: &Person,
    hub: &TestHub,
    id: &IncidentId,
    hash: &str,
    copy: Copy,
) -> (u16, Vec<u8>) {
    let api = person.api(hub);
    let response = api
        .client
        .get(format!(
            "{}{}",
            hub.url,
            export::path(id.as_str(), hash, copy)
        ))
        .bearer_auth(api.credential.as_deref().unwrap())
        .send()
        .unwrap();
    (
        response.status().as_u16(),
        response.bytes().unwrap().to_vec(),
    )
}

/// The C2PA library's own reading of `bytes`, trusting only `anchor` (if any).
fn c2pa_read(bytes: &[u8], mime: &str, anchor: Option<&str>) -> Reader {
    let mut settings = serde_json::json!({ "verify": { "verify_after_reading": true } });
    if let Some(anchor) = anchor {
        settings["trust"] = serde_json::json!({ "trust_anchors": anchor });
    }
    let context = Context::new()
        .with_settings(settings.to_string().as_str())
        .unwrap();
    Reader::from_context(context)
        .with_stream(mime, Cursor::new(bytes))
        .expect("the C2PA reader reads the manifest")
}

fn failure_codes(reader: &Reader) -> Vec<String> {
    reader
        .validation_results()
        .and_then(|r| r.active_manifest())
        .map(|codes| {
            codes
                .failure()
                .iter()
                .map(|s| s.code().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The offset of the first byte of the box `kind` in an MP4, found by walking the
/// top-level boxes.
fn box_at(mp4: &[u8], kind: &[u8; 4]) -> usize {
    let mut at = 0;
    while at + 8 <= mp4.len() {
        let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
        if &mp4[at + 4..at + 8] == kind {
            return at;
        }
        assert!(size >= 8, "a box of size {size} at {at}");
        at += size;
    }
    panic!("no {kind:?} box")
}

/// One byte of the picture or film itself changed: inside the JPEG's scan data (just
/// before its end marker), or inside the MP4's `mdat`.
fn one_byte_changed(bytes: &[u8], mime: &str) -> Vec<u8> {
    let mut changed = bytes.to_vec();
    let at = match mime {
        "image/jpeg" => {
            assert_eq!(&bytes[bytes.len() - 2..], [0xFF, 0xD9], "ends with EOI");
            bytes.len() - 20
        }
        "video/mp4" => box_at(bytes, b"mdat") + 1000,
        other => panic!("no rule for {other}"),
    };
    changed[at] ^= 0x01;
    changed
}

#[test]
fn exported_photo_and_video_are_trusted_with_the_anchor_untrusted_without_and_invalid_once_changed()
{
    let world = World::new();
    let hub = &world.hub;
    let lead = &world.coordinator;
    let vol = world.enrol("volunteer", Role::Volunteer, Some("south"));
    let photo = jpeg_with_gps(320, 240);
    let video = mp4(256 * 1024);
    let id = captured(
        &world,
        &vol,
        &[
            (write(vol.dir(), "IMG_0001.jpg", &photo), "image/jpeg"),
            (write(vol.dir(), "VID_0001.mp4", &video), "video/mp4"),
        ],
    );
    let organisation = testigo_hub::config::DEFAULT_ORGANISATION;
    let organisations_key =
        testigo_hub::credentials::identity_of(&hub.db_path, organisation).unwrap();
    let anchor = organisations_key.trust_anchor_pem().to_owned();
    // Someone else's CA, in the organisation's very name: what a forger would make.
    let impostor = OrgIdentity::generate(organisation).unwrap();
    // For other validators (tests/credentials/c2patool.sh): the files this test
    // checks, written where it is told.
    let keep = std::env::var_os("TESTIGO_CREDENTIALS_DIR").map(PathBuf::from);
    if let Some(dir) = &keep {
        std::fs::write(dir.join("org.pem"), &anchor).unwrap();
        std::fs::write(dir.join("impostor.pem"), impostor.trust_anchor_pem()).unwrap();
    }

    for (original, mime) in [(&photo, "image/jpeg"), (&video, "video/mp4")] {
        let (status, signed) = credentialed(lead, hub, &id, &sha256(original), Copy::Evidence);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&signed));
        assert_ne!(signed, *original, "the copy carries a manifest");

        // With the organisation's anchor: trusted, and it says what it is.
        let reader = c2pa_read(&signed, mime, Some(&anchor));
        assert_eq!(
            reader.validation_state(),
            ValidationState::Trusted,
            "{mime}: {:?}",
            failure_codes(&reader)
        );
        let manifest = reader.active_manifest().unwrap();
        let assertion: TestigoAssertion = manifest.find_assertion(ASSERTION).unwrap();
        assert_eq!(assertion.copy, Copy::Evidence);
        assert_eq!(assertion.incident, id.to_string());
        assert_eq!(assertion.original.sha256, sha256(original));
        assert_eq!(assertion.original.size, original.len() as u64);
        let record = assertion
            .record
            .as_ref()
            .expect("evidence carries the record");
        assert_eq!(record.by, vol.store.identity().device_id);
        assert!(record.fix.is_some());
        let metadata: serde_json::Value = manifest.find_assertion(METADATA_LABEL).unwrap();
        assert_eq!(metadata["exif:GPSLatitude"], "38,37.620000N", "{metadata}");
        assert_eq!(metadata["exif:GPSLongitude"], "90,11.963400W", "{metadata}");
        let actions = serde_json::to_string(
            &manifest
                .find_assertion::<serde_json::Value>("c2pa.actions.v2")
                .or_else(|_| manifest.find_assertion::<serde_json::Value>("c2pa.actions"))
                .unwrap(),
        )
        .unwrap();
        assert!(actions.contains("c2pa.created"), "{actions}");
        assert_eq!(
            manifest.issuer().as_deref(),
            Some(organisation),
            "signed in the organisation's name"
        );

        // The project's reading agrees, and the author's own signature inside holds.
        let ours = check(&signed, mime, Some(&anchor)).unwrap();
        assert_eq!(ours.verdict, Verdict::Trusted);
        assert_eq!(
            ours.author,
            AuthorCheck::Verified {
                device: vol.store.identity().device_id
            }
        );
        assert!(ours.states_location);
        assert_eq!(
            ours.shows_original,
            Some(true),
            "the copy is the original plus a manifest"
        );

        // Without any anchor: valid (nothing changed), untrusted, and explained.
        let reader = c2pa_read(&signed, mime, None);
        assert_eq!(reader.validation_state(), ValidationState::Valid);
        assert_eq!(failure_codes(&reader), ["signingCredential.untrusted"]);
        let ours = check(&signed, mime, None).unwrap();
        assert_eq!(ours.verdict, Verdict::ValidUntrusted);
        assert!(
            ours.failures[0].meaning.contains("not a sign of forgery"),
            "{:?}",
            ours.failures
        );

        // With the impostor's anchor: the organisation's file is not "trusted" by it…
        let reader = c2pa_read(&signed, mime, Some(impostor.trust_anchor_pem()));
        assert_ne!(reader.validation_state(), ValidationState::Trusted);
        // …and a file the impostor signed in the organisation's name is not trusted
        // under the organisation's anchor.
        let record = assertion.record.clone().unwrap();
        let forged = credential_bytes(
            &impostor,
            original,
            Subject {
                incident: id.as_str(),
                observation: &assertion.observation,
                record: &record,
                author: assertion.author.clone(),
            },
            Copy::Evidence,
        )
        .unwrap();
        let reader = c2pa_read(&forged, mime, Some(&anchor));
        assert_eq!(reader.validation_state(), ValidationState::Valid);
        assert_eq!(failure_codes(&reader), ["signingCredential.untrusted"]);
        assert_eq!(
            check(&forged, mime, Some(&anchor)).unwrap().verdict,
            Verdict::ValidUntrusted
        );

        // Another picture under the genuine record and attestation: signed by the
        // impostor, or even with the organisation's own key (a hub taken over), the
        // device's signature does not carry over to it.
        let other = match mime {
            "image/jpeg" => jpeg_with_gps(64, 48),
            _ => mp4(32 * 1024),
        };
        for (signer, verdict) in [
            (&impostor, Verdict::ValidUntrusted),
            (&organisations_key, Verdict::Trusted),
        ] {
            let swapped = credential_bytes(
                signer,
                &other,
                Subject {
                    incident: id.as_str(),
                    observation: &assertion.observation,
                    record: &record,
                    author: assertion.author.clone(),
                },
                Copy::Evidence,
            )
            .unwrap();
            let report = check(&swapped, mime, Some(&anchor)).unwrap();
            assert_eq!(report.verdict, verdict);
            assert_eq!(
                report.shows_original,
                Some(false),
                "{mime}: a swapped picture is not the original"
            );
        }

        // One byte of the picture or film changed: invalid, with the anchor or not.
        let changed = one_byte_changed(&signed, mime);
        if let Some(dir) = &keep {
            let ext = if mime == "image/jpeg" { "jpg" } else { "mp4" };
            std::fs::write(dir.join(format!("evidence.{ext}")), &signed).unwrap();
            std::fs::write(dir.join(format!("changed.{ext}")), &changed).unwrap();
            std::fs::write(dir.join(format!("forged.{ext}")), &forged).unwrap();
        }
        for given in [Some(anchor.as_str()), None] {
            let reader = c2pa_read(&changed, mime, given);
            assert_eq!(reader.validation_state(), ValidationState::Invalid);
            let codes = failure_codes(&reader);
            assert!(
                codes
                    .iter()
                    .any(|c| c == "assertion.dataHash.mismatch"
                        || c == "assertion.bmffHash.mismatch"),
                "{mime}: {codes:?}"
            );
            assert_eq!(
                check(&changed, mime, given).unwrap().verdict,
                Verdict::Invalid
            );
        }

        // The author's attestation, taken out and altered the attacker's way, fails.
        let author = assertion
            .author
            .clone()
            .expect("the device's signature travels");
        let observation = &assertion.observation;
        let recorded = &record.by;
        assert_eq!(
            author.check(id.as_str(), observation, &record.sha256, recorded),
            Ok(())
        );
        let mut resigned = author.clone();
        let mut signature = hex::decode(&author_signature(&resigned)).unwrap();
        signature[0] ^= 1;
        set_author_signature(&mut resigned, hex::encode(signature));
        assert!(matches!(
            resigned.check(id.as_str(), observation, &record.sha256, recorded),
            Err(AuthorError::Signature(_))
        ));
        let other_file = "ab".repeat(32);
        assert_eq!(
            author.check(id.as_str(), observation, &other_file, recorded),
            Err(AuthorError::NotRecorded),
            "the signature is over the change recording this file, not any file"
        );
        let other_incident = IncidentId::generate();
        assert!(matches!(
            author.check(
                other_incident.as_str(),
                observation,
                &record.sha256,
                recorded
            ),
            Err(AuthorError::Signature(_))
        ));
        let someone_else = lead.store.identity().device_id;
        assert!(matches!(
            author.check(id.as_str(), observation, &record.sha256, &someone_else),
            Err(AuthorError::NotTheRecordedAuthor { .. })
        ));
    }

    // Volunteers (who may not export evidence) get none; every copy served is audited.
    assert_eq!(
        credentialed(&vol, hub, &id, &sha256(&photo), Copy::Evidence).0,
        403
    );
    assert_eq!(
        hub.query_i64(
            "SELECT count(*) FROM audit WHERE action = 'export' AND endpoint LIKE '%/credentials' AND incident_id = ?1",
            &[&id.as_str()],
        ),
        2,
        "one export audited per copy served, none for the refused one"
    );
}

fn author_signature(author: &testigo_hub::credentials::author::AuthorAttestation) -> String {
    match &author.proof {
        testigo_hub::credentials::author::AuthorProof::History { signature, .. }
        | testigo_hub::credentials::author::AuthorProof::Change { signature } => signature.clone(),
    }
}

fn set_author_signature(
    author: &mut testigo_hub::credentials::author::AuthorAttestation,
    value: String,
) {
    match &mut author.proof {
        testigo_hub::credentials::author::AuthorProof::History { signature, .. }
        | testigo_hub::credentials::author::AuthorProof::Change { signature } => *signature = value,
    }
}

#[test]
fn a_sharing_copy_states_no_location_and_names_no_device() {
    let world = World::new();
    let hub = &world.hub;
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let photo = jpeg_with_gps(320, 240);
    let video = mp4(64 * 1024);
    let screenshot = png();
    let id = captured(
        &world,
        &vol,
        &[
            (write(vol.dir(), "IMG_0002.jpg", &photo), "image/jpeg"),
            (write(vol.dir(), "VID_0002.mp4", &video), "video/mp4"),
            (write(vol.dir(), "SCR_0002.png", &screenshot), "image/png"),
        ],
    );
    let anchor = testigo_hub::credentials::identity_of(
        &hub.db_path,
        testigo_hub::config::DEFAULT_ORGANISATION,
    )
    .unwrap()
    .trust_anchor_pem()
    .to_owned();
    let coordinator = &world.coordinator;

    let (status, shared) = credentialed(coordinator, hub, &id, &sha256(&photo), Copy::Sharing);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&shared));
    let reader = c2pa_read(&shared, "image/jpeg", Some(&anchor));
    assert_eq!(
        reader.validation_state(),
        ValidationState::Trusted,
        "{:?}",
        failure_codes(&reader)
    );
    let manifest = reader.active_manifest().unwrap();
    assert!(
        manifest
            .assertions()
            .iter()
            .all(|a| a.label() != METADATA_LABEL),
        "no location assertion: {:?}",
        manifest
            .assertions()
            .iter()
            .map(|a| a.label())
            .collect::<Vec<_>>()
    );
    let assertion: TestigoAssertion = manifest.find_assertion(ASSERTION).unwrap();
    assert_eq!(assertion.copy, Copy::Sharing);
    assert_eq!(assertion.original.sha256, sha256(&photo));
    assert!(assertion.record.is_none() && assertion.author.is_none());
    let ours = check(&shared, "image/jpeg", Some(&anchor)).unwrap();
    assert_eq!(ours.verdict, Verdict::Trusted);
    assert!(!ours.states_location);
    assert_eq!(ours.author, AuthorCheck::Absent);

    // Nothing in the file says where or who: no GPS tag, coordinate, or device id.
    let device = vol.store.identity().device_id.to_string();
    for needle in [
        &b"GPSLatitude"[..],
        b"GPS",
        b"38,37",
        b"38.627",
        device.as_bytes(),
        b"TestCam",
        b"St. Louis",
    ] {
        assert!(
            !contains(&shared, needle),
            "the sharing copy holds {:?}",
            String::from_utf8_lossy(needle)
        );
    }
    // The evidence copy, by contrast, does state the place.
    let (_, evidence) = credentialed(coordinator, hub, &id, &sha256(&photo), Copy::Evidence);
    assert!(contains(&evidence, b"38,37.620000N"));

    // A PNG the same way: its evidence copy is the original plus a manifest, and its
    // sharing copy is trusted and states no place.
    let (status, evidence) =
        credentialed(coordinator, hub, &id, &sha256(&screenshot), Copy::Evidence);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&evidence));
    let report = check(&evidence, "image/png", Some(&anchor)).unwrap();
    assert_eq!(
        (
            report.verdict,
            report.shows_original,
            report.states_location
        ),
        (Verdict::Trusted, Some(true), true)
    );
    let (_, shared) = credentialed(coordinator, hub, &id, &sha256(&screenshot), Copy::Sharing);
    let report = check(&shared, "image/png", Some(&anchor)).unwrap();
    assert_eq!(
        (
            report.verdict,
            report.shows_original,
            report.states_location
        ),
        (Verdict::Trusted, None, false)
    );

    // A video's container metadata cannot be removed here: no sharing copy.
    let (status, body) = credentialed(coordinator, hub, &id, &sha256(&video), Copy::Sharing);
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
}

#[test]
fn an_identity_that_validators_would_refuse_is_not_imported() {
    let world = World::new();
    let hub = &world.hub;
    let ours = testigo_hub::credentials::identity_of(&hub.db_path, "Hotline").unwrap();
    let other = OrgIdentity::generate("Hotline").unwrap();
    // A chain and key that sign, presented with an anchor that did not issue them.
    let refused = testigo_hub::credentials::import_into(
        &hub.db_path,
        &pem_of(&hub.db_path, "c2pa_chain_pem"),
        &pem_of(&hub.db_path, "c2pa_private_key_pem"),
        other.trust_anchor_pem(),
    );
    assert!(refused.is_err(), "imported under a foreign anchor");
    // A key that is not the certificate's.
    let mismatched = testigo_hub::credentials::import_into(
        &hub.db_path,
        &pem_of(&hub.db_path, "c2pa_chain_pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ours.trust_anchor_pem(),
    );
    assert!(mismatched.is_err());
    // Nothing changed: the hub still signs under its own anchor.
    let after = testigo_hub::credentials::identity_of(&hub.db_path, "Hotline").unwrap();
    assert_eq!(after.trust_anchor_pem(), ours.trust_anchor_pem());
}

fn pem_of(db: &Path, key: &str) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let bytes: Vec<u8> = conn
        .query_row("SELECT value FROM hub_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn damaged_files_are_reported_and_never_crash_the_reader() {
    let world = World::new();
    let hub = &world.hub;
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let photo = jpeg_with_gps(160, 120);
    let video = mp4(48 * 1024);
    let id = captured(
        &world,
        &vol,
        &[
            (write(vol.dir(), "IMG_0003.jpg", &photo), "image/jpeg"),
            (write(vol.dir(), "VID_0003.mp4", &video), "video/mp4"),
        ],
    );
    let anchor = testigo_hub::credentials::identity_of(
        &hub.db_path,
        testigo_hub::config::DEFAULT_ORGANISATION,
    )
    .unwrap()
    .trust_anchor_pem()
    .to_owned();
    for (original, mime) in [(&photo, "image/jpeg"), (&video, "video/mp4")] {
        let (_, signed) = credentialed(
            &world.coordinator,
            hub,
            &id,
            &sha256(original),
            Copy::Evidence,
        );
        // Cut short anywhere, or a byte flipped anywhere (manifest, headers, data): a
        // typed answer each time. A cut file is never trusted. A flipped one is
        // trusted only when the byte lay in the signature's padding (C2PA reserves
        // room there for a time-stamp and leaves it outside the signature, by design),
        // and then it says and shows exactly what the intact file does.
        let intact = check(&signed, mime, Some(&anchor)).unwrap();
        let step = (signed.len() / 40).max(1);
        let mut still_trusted = 0;
        for at in (0..signed.len()).step_by(step) {
            let mut flipped = signed.clone();
            flipped[at] ^= 0x5A;
            for (damaged, cut) in [(&signed[..at], true), (&flipped[..], false)] {
                match check(damaged, mime, Some(&anchor)) {
                    Ok(report) if report.verdict == Verdict::Trusted => {
                        assert!(!cut, "{mime} cut at {at} still trusted");
                        assert_eq!(signed[at], 0, "{mime}: byte {at} is not padding");
                        assert_eq!(
                            (&report.testigo, &report.signer, report.shows_original),
                            (&intact.testigo, &intact.signer, intact.shows_original),
                            "{mime} flipped at {at}"
                        );
                        still_trusted += 1;
                    }
                    Ok(_) => {}
                    Err(e) => assert!(!e.to_string().is_empty()),
                }
                let _ = testigo_hub::credentials::original::without_manifest(damaged, mime);
            }
        }
        eprintln!("{mime}: {still_trusted} of the flipped bytes lay in the signature's padding");
    }
}
