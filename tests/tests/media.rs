//! Photos and video as evidence, end to end over real HTTP: captured offline, synced
//! through a network that cuts connections mid-chunk, previews before full files,
//! resumed after the app is killed, and every bad chunk refused with nothing stored
//! half.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use testigo_core::ids::IncidentId;
use testigo_core::incident::{NewIncident, ObservationKind, Report, ReportSource, Role, Urgency};
use testigo_core::media::protocol::{media_path, upload_path};
use testigo_core::media::{
    self, upload_media, MediaInput, Network, StoredMedia, UploadOptions, UploadPolicy,
    UploadProgress, UploadReport,
};
use testigo_core::store::Store;
use testigo_hub::media::test_backends::Backend;
use testigo_tests::faulty_proxy::FaultyProxy;
use testigo_tests::media::{jpeg_with_gps, mp4, thumbnail};
use testigo_tests::{block_on, rng, Person, TestHub, World};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn field_report(place: &str) -> NewIncident {
    NewIncident {
        report: Report {
            place_text: place.into(),
            point: None,
            reported_at: chrono::Utc::now(),
            description: "Agents in vests at the laundromat".into(),
            urgency: Urgency::Critical,
            source: ReportSource::Field,
        },
        template: None,
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn capture(path: PathBuf, mime: &str, preview: Option<PathBuf>) -> MediaInput {
    MediaInput {
        path,
        mime: mime.into(),
        captured_at: chrono::Utc::now(),
        fix: None,
        preview,
    }
}

/// Chunks small enough that a multi-megabyte file takes many requests.
fn small_chunks() -> UploadOptions {
    UploadOptions {
        chunk_bytes: 64 * 1024,
        ..Default::default()
    }
}

/// Uploads until the queue is done, as the platform's scheduler retries after a cut.
fn upload_until_done(store: &Store, url: &str, network: Network) -> UploadReport {
    let mut total = UploadReport::default();
    for _ in 0..400 {
        match upload_media(
            store,
            Some(url),
            network,
            &UploadPolicy::default(),
            &small_chunks(),
            None,
        ) {
            Ok(report) => {
                total.completed += report.completed;
                total.bytes_sent += report.bytes_sent;
                total.waiting_for_network = report.waiting_for_network;
                total.waiting_for_sync = report.waiting_for_sync;
                return total;
            }
            Err(testigo_core::Error::Sync(_)) => continue,
            Err(e) => panic!("upload failed: {e}"),
        }
    }
    panic!("the upload never finished")
}

fn sync_until_done(person: &Person, url: &str) {
    for _ in 0..100 {
        if testigo_core::sync::sync(&person.store, Some(url)).is_ok() {
            return;
        }
    }
    panic!("{} never synced", person.name)
}

/// GET a file from the hub as `person`: status and bytes.
fn download(person: &Person, hub: &TestHub, id: &IncidentId, hash: &str) -> (u16, Vec<u8>) {
    let api = person.api(hub);
    let response = api
        .client
        .get(format!("{}{}", hub.url, media_path(id.as_str(), hash)))
        .bearer_auth(api.credential.as_deref().unwrap())
        .send()
        .unwrap();
    (
        response.status().as_u16(),
        response.bytes().unwrap().to_vec(),
    )
}

/// A PUT crafted by hand, as an attacker (or a broken app) would send it.
fn put_chunk(
    person: &Person,
    hub: &TestHub,
    id: &IncidentId,
    hash: &str,
    offset: u64,
    bytes: &[u8],
) -> (u16, serde_json::Value) {
    let api = person.api(hub);
    let response = api
        .client
        .put(format!(
            "{}{}?offset={offset}",
            hub.url,
            media_path(id.as_str(), hash)
        ))
        .bearer_auth(api.credential.as_deref().unwrap())
        .body(bytes.to_vec())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().unwrap()).unwrap_or_default(),
    )
}

fn has_gps(jpeg: &[u8]) -> bool {
    match exif::Reader::new().read_from_container(&mut Cursor::new(jpeg)) {
        Ok(exif) => exif
            .fields()
            .any(|f| matches!(f.tag, exif::Tag::GPSLatitude | exif::Tag::GPSLongitude)),
        Err(_) => false,
    }
}

fn a_photo_and_a_video_reach_the_dispatcher_through_a_network_that_cuts_mid_chunk(
    backend: Backend,
) {
    let Some(hub) = TestHub::start_over(backend, |_| {}) else {
        return;
    };
    let world = World::on(hub);
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None);
    let vol = world.enrol("volunteer", Role::Volunteer, None);

    // Offline on scene: a photo (with the camera's GPS EXIF) and its thumbnail, and a
    // multi-megabyte video.
    let photo = jpeg_with_gps(640, 480);
    assert!(has_gps(&photo), "the fixture carries GPS tags");
    let preview = thumbnail();
    let video = mp4(3 * 1024 * 1024 + 517);
    let id = vol
        .store
        .create_incident(field_report("Laundromat, 5th and Main"))
        .unwrap();
    vol.store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "agents at the door",
            None,
            None,
            &[
                capture(
                    write(vol.dir(), "IMG_0001.jpg", &photo),
                    "image/jpeg",
                    Some(write(vol.dir(), "thumb.jpg", &preview)),
                ),
                capture(write(vol.dir(), "VID_0001.mp4", &video), "video/mp4", None),
            ],
        )
        .unwrap();

    // Back on a bad mobile network: the sync goes first and never waits for media.
    let proxy = FaultyProxy::start(hub.addr, rng::seed("MEDIA_FAULT_SEED"), 30);
    sync_until_done(&vol, &proxy.url);
    let first = upload_until_done(&vol.store, &proxy.url, Network::Metered);
    assert_eq!(
        first.waiting_for_network, 1,
        "the video waits for Wi-Fi: {first:?}"
    );
    let waiting: Vec<String> = vol
        .store
        .pending_uploads()
        .unwrap()
        .into_iter()
        .map(|m| m.sha256)
        .collect();
    assert_eq!(
        waiting,
        [sha256(&video)],
        "the preview and the photo went on mobile data"
    );

    // The dispatcher sees the preview and the photo before the video arrives.
    desk.sync(hub);
    let (status, got) = download(&desk, hub, &id, &sha256(&preview));
    assert_eq!((status, sha256(&got)), (200, sha256(&preview)));
    assert_eq!(
        download(&desk, hub, &id, &sha256(&video)).0,
        404,
        "not there yet"
    );

    upload_until_done(&vol.store, &proxy.url, Network::Unmetered);
    let counts = proxy.counts();
    eprintln!("faults met: {counts}");
    assert!(
        counts.faults.values().sum::<usize>() > 0,
        "the network did cut: {counts}"
    );

    // The hub's copies are the originals, byte for byte, stored once each.
    for original in [&photo, &preview, &video] {
        let (status, got) = download(&desk, hub, &id, &sha256(original));
        assert_eq!(status, 200);
        assert_eq!(sha256(&got), sha256(original));
    }
    assert_eq!(hub.media_objects().len(), 3, "{:?}", hub.media_objects());
    assert!(vol.store.pending_uploads().unwrap().is_empty());
    let view = desk.view(&id);
    let recorded: Vec<&str> = view.observations[0]
        .attachments
        .iter()
        .map(|a| a.sha256.as_str())
        .collect();
    assert_eq!(recorded, [sha256(&photo), sha256(&video)]);

    // A copy for the press carries no GPS tags; the evidence copy keeps them.
    let mut shared = Vec::new();
    vol.store
        .export_for_sharing(&id, &sha256(&photo), &mut shared)
        .unwrap();
    assert!(!has_gps(&shared), "the sharing copy still has GPS tags");
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&shared))
            .is_err(),
        "no EXIF at all"
    );
    assert!(
        !testigo_tests::contains(&shared, b"GPSLatitude"),
        "XMP location left"
    );
    assert!(
        !testigo_tests::contains(&shared, b"St. Louis"),
        "IPTC city left"
    );
    assert!(shared.starts_with(&[0xFF, 0xD8]) && shared.ends_with(&[0xFF, 0xD9]));
    let (_, from_hub) = download(&desk, hub, &id, &sha256(&photo));
    assert!(has_gps(&from_hub), "the hub keeps the original");
    // The evidence bundle with its media verifies; a one-byte change in a file and a
    // missing file are each named.
    let (status, bundle) = desk.api(hub).get(&format!("/v1/evidence?incidents={id}"));
    assert_eq!(status, 200);
    let bundle = serde_json::to_vec(&bundle).unwrap();
    let listed = testigo_core::evidence::bundle_media(&bundle);
    assert_eq!(
        listed.len(),
        3,
        "photo, its preview and the video: {listed:?}"
    );
    let media_dir = tempfile::tempdir().unwrap();
    for file in &listed {
        let (_, bytes) = download(&desk, hub, &id, &file.sha256);
        std::fs::write(media_dir.path().join(&file.file_name), bytes).unwrap();
    }
    assert!(testigo_core::evidence::verify(&bundle).is_valid());
    let (checked, findings) = testigo_core::evidence::verify_media(&bundle, media_dir.path());
    assert_eq!((checked, findings.len()), (3, 0), "{findings:?}");
    let video_file = media_dir
        .path()
        .join(testigo_core::evidence::media_file_name(
            &sha256(&video),
            "video/mp4",
        ));
    let mut altered = std::fs::read(&video_file).unwrap();
    altered[2_000_000] ^= 1;
    std::fs::write(&video_file, altered).unwrap();
    let photo_name = testigo_core::evidence::media_file_name(&sha256(&photo), "image/jpeg");
    std::fs::remove_file(media_dir.path().join(&photo_name)).unwrap();
    let (_, findings) = testigo_core::evidence::verify_media(&bundle, media_dir.path());
    let named: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.field.as_str(), f.detail.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        named,
        [
            (format!("media/{photo_name}").as_str(), "missing"),
            (
                format!(
                    "media/{}",
                    video_file.file_name().unwrap().to_str().unwrap()
                )
                .as_str(),
                "altered"
            )
        ],
        "{findings:?}"
    );

    let mut refused = Vec::new();
    assert!(
        matches!(
            vol.store
                .export_for_sharing(&id, &sha256(&video), &mut refused),
            Err(testigo_core::Error::Media(
                media::MediaError::UnknownType { .. }
            ))
        ),
        "video metadata cannot be stripped: refused, not shared with it"
    );
}

/// Counts acknowledgements and "kills the app" (panics) after a number of them.
struct KillAfter {
    acks: AtomicU64,
    kill_at: u64,
    last_acked: AtomicU64,
}

impl UploadProgress for KillAfter {
    fn progress(&self, _file: &StoredMedia, acked_bytes: u64) {
        self.last_acked.store(acked_bytes, Ordering::SeqCst);
        if self.acks.fetch_add(1, Ordering::SeqCst) + 1 == self.kill_at {
            panic!("the app is killed");
        }
    }
}

fn a_device_killed_mid_upload_resumes_without_resending_acknowledged_chunks(backend: Backend) {
    let Some(hub) = TestHub::start_over(backend, |_| {}) else {
        return;
    };
    let world = World::on(hub);
    let hub = &world.hub;
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let video = mp4(2 * 1024 * 1024);
    let id = vol
        .store
        .create_incident(field_report("Bus stop, Grand Ave"))
        .unwrap();
    vol.store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[capture(
                write(vol.dir(), "v.mp4", &video),
                "video/mp4",
                None,
            )],
        )
        .unwrap();
    vol.sync(hub);
    let killer = Arc::new(KillAfter {
        acks: AtomicU64::new(0),
        kill_at: 10,
        last_acked: AtomicU64::new(0),
    });
    let policy = UploadPolicy {
        urgent: true,
        ..Default::default()
    };
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        upload_media(
            &vol.store,
            Some(&hub.url),
            Network::Metered,
            &policy,
            &small_chunks(),
            Some(killer.as_ref()),
        )
    }));
    assert!(killed.is_err(), "the upload was killed");
    let acked = killer.last_acked.load(Ordering::SeqCst);
    assert_eq!(acked, 10 * 64 * 1024);

    // The app starts again: a new store on the same files.
    let path = vol.store.path().to_path_buf();
    let Person { store, key, .. } = vol;
    drop(store);
    let store = Store::open(&path, &key).unwrap();
    let pending = store.pending_uploads().unwrap();
    let [pending] = pending.as_slice() else {
        panic!("one file pending")
    };
    assert!(
        pending.acked_bytes >= acked - 64 * 1024,
        "progress survived: {pending:?}"
    );
    let resumed = upload_media(
        &store,
        Some(&hub.url),
        Network::Metered,
        &policy,
        &small_chunks(),
        None,
    )
    .unwrap();
    assert_eq!(resumed.completed, 1);
    assert_eq!(
        resumed.bytes_sent,
        video.len() as u64 - acked,
        "only the unacknowledged bytes went again"
    );
    assert!(store.attachments(&id).unwrap()[0].uploaded);
}

fn bad_chunks_are_refused_with_a_clear_error_and_nothing_is_stored_half(backend: Backend) {
    // A hub that takes at most 1 MiB per file.
    let Some(hub) = TestHub::start_over(backend, |config| config.max_media_mb = 1) else {
        return;
    };
    let world = World::on(hub);
    let hub = &world.hub;
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let stranger = world.enrol("stranger", Role::Volunteer, None);
    let photo = jpeg_with_gps(320, 240);
    let big = mp4(1024 * 1024 + 1);
    let id = vol
        .store
        .create_incident(field_report("Corner store"))
        .unwrap();
    vol.store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[
                capture(write(vol.dir(), "p.jpg", &photo), "image/jpeg", None),
                capture(write(vol.dir(), "big.mp4", &big), "video/mp4", None),
            ],
        )
        .unwrap();
    vol.sync(hub);
    let hash = sha256(&photo);
    let half = photo.len() / 2;

    // An incident the device cannot see: the same answer as for one that does not exist.
    let (status, body) = put_chunk(&stranger, hub, &id, &hash, 0, &photo[..1000]);
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["reason"], "no such incident for this device");
    // A hash the incident does not record.
    let (status, _) = put_chunk(&vol, hub, &id, &sha256(b"other"), 0, b"other");
    assert_eq!(status, 404);
    // A chunk past the recorded size.
    let (status, body) = put_chunk(&vol, hub, &id, &hash, 0, &[photo.clone(), vec![0]].concat());
    assert_eq!(status, 400, "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("past the recorded size"),
        "{body}"
    );
    // A chunk that leaves a hole.
    let (status, body) = put_chunk(&vol, hub, &id, &hash, 10, &photo[10..100]);
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("out_of_order")),
        "{body}"
    );
    // A file over the hub's maximum.
    let (status, body) = put_chunk(&vol, hub, &id, &sha256(&big), 0, &big[..1000]);
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    assert!(
        hub.media_objects().is_empty(),
        "nothing was stored: {:?}",
        hub.media_objects()
    );

    // The right bytes, half of them twice: the duplicate is harmless.
    assert_eq!(
        put_chunk(&vol, hub, &id, &hash, 0, &photo[..half]).1["received"],
        half
    );
    assert_eq!(
        put_chunk(&vol, hub, &id, &hash, 0, &photo[..half]).1["received"],
        half
    );
    // Then a wrong second half: the whole file's hash fails and the upload is discarded.
    let mut wrong = photo[half..].to_vec();
    wrong[7] ^= 0xFF;
    let (status, body) = put_chunk(&vol, hub, &id, &hash, half as u64, &wrong);
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("hash_mismatch")),
        "{body}"
    );
    assert!(
        hub.media_objects().is_empty(),
        "the wrong bytes were not kept: {:?}",
        hub.media_objects()
    );
    assert_eq!(download(&vol, hub, &id, &hash).0, 404);
    let api = vol.api(hub);
    let (_, status) = api.get(&upload_path(id.as_str(), &hash));
    assert_eq!(status["received"], 0, "the upload starts again from zero");

    // The right file counts; sent again it is not stored twice.
    put_chunk(&vol, hub, &id, &hash, 0, &photo[..half]);
    let (status, body) = put_chunk(&vol, hub, &id, &hash, half as u64, &photo[half..]);
    assert_eq!(
        (status, body["complete"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let (status, body) = put_chunk(&vol, hub, &id, &hash, 0, &photo);
    assert_eq!(
        (status, body["complete"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(hub.media_objects().len(), 1, "{:?}", hub.media_objects());
    assert_eq!(sha256(&download(&vol, hub, &id, &hash).1), hash);
    // The stranger may not fetch it either.
    assert_eq!(download(&stranger, hub, &id, &hash).0, 404);
}

fn an_archived_incident_takes_its_media_along_and_the_hub_keeps_none(backend: Backend) {
    let Some(hub) = TestHub::start_over(backend, |_| {}) else {
        return;
    };
    let world = World::on(hub);
    let hub = &world.hub;
    let desk = world.enrol("dispatcher", Role::Dispatcher, None);
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let photo = jpeg_with_gps(320, 240);
    let id = vol
        .store
        .create_incident(field_report("Gravois Ave"))
        .unwrap();
    vol.store
        .add_observation_with_media(
            &id,
            ObservationKind::Note,
            "",
            None,
            None,
            &[capture(
                write(vol.dir(), "p.jpg", &photo),
                "image/jpeg",
                None,
            )],
        )
        .unwrap();
    vol.sync(hub);
    upload_until_done(&vol.store, &hub.url, Network::Metered);
    assert_eq!(hub.media_objects().len(), 1, "{:?}", hub.media_objects());
    let (status, _) = desk
        .api(hub)
        .post(&format!("/v1/incidents/{id}/close"), serde_json::json!({}));
    assert_eq!(status, 200);

    let archive = tempfile::tempdir().unwrap();
    let mut config = testigo_hub::HubConfig::with_db(&hub.db_path);
    config.archive_dir = Some(archive.path().to_path_buf());
    config.archive_after_days = Some(0);
    config.media = hub.media.clone();
    let archiver = testigo_hub::Hub::open(config).unwrap();
    assert_eq!(
        block_on(archiver.archive_now()).unwrap(),
        std::slice::from_ref(&id)
    );

    let bundle = std::fs::read(archive.path().join(format!("{id}.json"))).unwrap();
    let (checked, findings) =
        testigo_core::evidence::verify_media(&bundle, &archive.path().join(format!("{id}.media")));
    assert_eq!((checked, findings.len()), (1, 0), "{findings:?}");
    assert!(hub.media_objects().is_empty(), "{:?}", hub.media_objects());
}

fn two_hub_instances_on_one_store_take_one_upload_together(backend: Backend) {
    let Some(hub) = TestHub::start_over(backend, |_| {}) else {
        return;
    };
    let world = World::on(hub);
    let first = &world.hub;
    // Another instance behind the same address: the same database and media store,
    // nothing else shared.
    let second = first.another_instance();
    let vol = world.enrol("volunteer", Role::Volunteer, None);
    let video = mp4(1024 * 1024 + 77);
    let hash = sha256(&video);
    let mut ids = Vec::new();
    for place in ["Bus depot", "Clinic parking lot"] {
        let id = vol.store.create_incident(field_report(place)).unwrap();
        vol.store
            .add_observation_with_media(
                &id,
                ObservationKind::Note,
                "",
                None,
                None,
                &[capture(
                    write(vol.dir(), "v.mp4", &video),
                    "video/mp4",
                    None,
                )],
            )
            .unwrap();
        ids.push(id);
    }
    vol.sync(first);

    // A balancer sends the chunks to either instance, and each retry to the other one.
    let chunk = 256 * 1024;
    let instances = [first, &second];
    for (i, start) in (0..video.len()).step_by(chunk).enumerate() {
        let end = (start + chunk).min(video.len());
        let bytes = &video[start..end];
        let (to, retry) = (instances[i % 2], instances[(i + 1) % 2]);
        let (status, body) = put_chunk(&vol, to, &ids[0], &hash, start as u64, bytes);
        assert_eq!(
            (status, body["received"].as_u64()),
            (200, Some(end as u64)),
            "{body}"
        );
        let (status, again) = put_chunk(&vol, retry, &ids[0], &hash, start as u64, bytes);
        assert_eq!(status, 200, "a retry elsewhere is harmless: {again}");
        assert_eq!(again["received"].as_u64(), Some(end as u64), "{again}");
        let (_, resumes) = vol.api(retry).get(&upload_path(ids[0].as_str(), &hash));
        assert_eq!(resumes["received"].as_u64(), Some(end as u64), "{resumes}");
    }
    for hub in instances {
        let (status, got) = download(&vol, hub, &ids[0], &hash);
        assert_eq!((status, sha256(&got)), (200, hash.clone()));
    }

    // The same video for the second incident, through the second instance: checked
    // for that incident, and still stored once.
    let (status, body) = put_chunk(&vol, &second, &ids[1], &hash, 0, &video[..chunk]);
    assert_eq!(
        (status, body["complete"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    assert_eq!(
        upload_until_done(&vol.store, &second.url, Network::Unmetered).completed,
        2
    );
    assert_eq!(download(&vol, first, &ids[1], &hash).0, 200);
    assert_eq!(
        first.media_objects().len(),
        1,
        "{:?}",
        first.media_objects()
    );
}

testigo_hub::media_suite!(
    a_photo_and_a_video_reach_the_dispatcher_through_a_network_that_cuts_mid_chunk,
    a_device_killed_mid_upload_resumes_without_resending_acknowledged_chunks,
    bad_chunks_are_refused_with_a_clear_error_and_nothing_is_stored_half,
    an_archived_incident_takes_its_media_along_and_the_hub_keeps_none,
    two_hub_instances_on_one_store_take_one_upload_together,
);
