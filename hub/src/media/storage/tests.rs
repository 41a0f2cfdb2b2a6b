//! The storage rules over both backends (`media_suite!`): each handle made by
//! [`Fixture::instance`] is a hub instance of its own on the same store.

use std::future::Future;
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{Checked, MediaStorage, Upload};
use crate::media::test_backends::{self, Backend};
use crate::media::MediaStoreConfig;

const INCIDENT: &str = "0190f0a8-7d3c-7c2a-9a51-5e3b2a1c4d6e";
const OTHER_INCIDENT: &str = "0190f0a8-7d3c-7c2a-9a51-5e3b2a1c4d6f";

struct Fixture {
    config: MediaStoreConfig,
    db: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    fn new(backend: Backend) -> Option<Self> {
        let config = backend.store()?;
        let dir = TempDir::new().expect("temp dir");
        Some(Self {
            config,
            db: dir.path().join("hub.sqlite"),
            _dir: dir,
        })
    }

    /// A hub instance's handle on the shared store.
    fn instance(&self) -> MediaStorage {
        MediaStorage::new(self.config.open(&self.db).expect("the store opens"))
    }

    async fn objects(&self) -> Vec<String> {
        test_backends::objects(&self.config, &self.db).await
    }
}

fn block_on<F: Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(work)
}

/// Varied bytes, as a photo or a video is.
fn file(len: usize) -> (Vec<u8>, String) {
    let mut x: u32 = 0x2545_F491;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    (bytes, sha)
}

/// Stages `bytes` in chunks of `chunk`, each where the held bytes end, as the hub's
/// upload route does.
async fn stage_all(storage: &MediaStorage, upload: Upload<'_>, bytes: &[u8], chunk: usize) -> u64 {
    let mut held = storage.received(upload).await.unwrap();
    while (held as usize) < bytes.len() {
        let end = (held as usize + chunk).min(bytes.len());
        let part = Bytes::copy_from_slice(&bytes[held as usize..end]);
        held = storage.stage(upload, held, part).await.unwrap();
    }
    held
}

async fn read_back(storage: &MediaStorage, sha: &str) -> Vec<u8> {
    use futures_util::TryStreamExt;
    let (len, stream) = storage.read(sha).await.unwrap();
    let bytes: Vec<Bytes> = stream.try_collect().await.unwrap();
    let bytes = bytes.concat();
    assert_eq!(len, bytes.len() as u64);
    bytes
}

fn chunks_are_acknowledged_and_resume_on_another_instance_and_a_duplicate_is_harmless(
    backend: Backend,
) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        let (bytes, sha) = file(1000);
        let upload = Upload {
            incident: INCIDENT,
            sha256: &sha,
        };
        let first = fixture.instance();
        assert_eq!(first.received(upload).await.unwrap(), 0);
        let held = first
            .stage(upload, 0, Bytes::copy_from_slice(&bytes[..400]))
            .await
            .unwrap();
        assert_eq!(held, 400);
        // The same chunk again, to another instance, with other bytes: the part that
        // was kept stays as it was.
        let second = fixture.instance();
        assert_eq!(second.received(upload).await.unwrap(), 400);
        let again = second
            .stage(upload, 0, Bytes::from(vec![0u8; 300]))
            .await
            .unwrap();
        assert_eq!(again, 400, "a duplicate changes nothing");
        assert_eq!(
            stage_all(&second, upload, &bytes, 256).await,
            1000,
            "the second instance resumed from byte 400"
        );
        assert_eq!(first.check(upload).await.unwrap(), Checked::Stored);
        assert!(first.settle(upload).await.unwrap());
        assert_eq!(read_back(&second, &sha).await, bytes);
        assert_eq!(fixture.objects().await, [format!("{}/{sha}", &sha[..2])]);
    });
}

fn a_wrong_final_hash_leaves_nothing_stored_half(backend: Backend) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        let (mut bytes, sha) = file(700 * 1024);
        bytes[500_000] ^= 0x40;
        let storage = fixture.instance();
        let upload = Upload {
            incident: INCIDENT,
            sha256: &sha,
        };
        stage_all(&storage, upload, &bytes, 256 * 1024).await;
        let Checked::HashMismatch { actual } = storage.check(upload).await.unwrap() else {
            panic!("a flipped bit must not pass");
        };
        assert_eq!(actual, hex::encode(Sha256::digest(&bytes)));
        assert!(!storage.contains(&sha).await.unwrap());
        assert_eq!(storage.received(upload).await.unwrap(), 0, "starts over");
        assert_eq!(fixture.objects().await, Vec::<String>::new());
    });
}

fn a_file_larger_than_a_compose_part_is_stored_whole_and_once(backend: Backend) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        // Over two parts of the stored file's multipart write.
        let (bytes, sha) = file(2 * super::COMPOSE_PART + 12_345);
        let storage = fixture.instance();
        let upload = Upload {
            incident: INCIDENT,
            sha256: &sha,
        };
        stage_all(&storage, upload, &bytes, 256 * 1024).await;
        assert_eq!(storage.check(upload).await.unwrap(), Checked::Stored);
        assert!(storage.settle(upload).await.unwrap());
        // Another incident's volunteer sends the same file: it is checked for that
        // incident and not stored a second time.
        let other = Upload {
            incident: OTHER_INCIDENT,
            sha256: &sha,
        };
        stage_all(&storage, other, &bytes, 256 * 1024).await;
        assert_eq!(storage.check(other).await.unwrap(), Checked::Stored);
        assert!(storage.settle(other).await.unwrap());
        assert_eq!(fixture.objects().await, [format!("{}/{sha}", &sha[..2])]);
        assert_eq!(
            hex::encode(Sha256::digest(read_back(&storage, &sha).await)),
            sha
        );
    });
}

fn two_instances_checking_the_same_upload_at_once_store_it_once(backend: Backend) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        let (bytes, sha) = file(300 * 1024);
        let (first, second) = (fixture.instance(), fixture.instance());
        let upload = Upload {
            incident: INCIDENT,
            sha256: &sha,
        };
        stage_all(&first, upload, &bytes, 64 * 1024).await;
        let (a, b) = tokio::join!(first.check(upload), second.check(upload));
        assert_eq!((a.unwrap(), b.unwrap()), (Checked::Stored, Checked::Stored));
        let (a, b) = tokio::join!(first.settle(upload), second.settle(upload));
        assert!(a.unwrap() && b.unwrap());
        assert_eq!(read_back(&second, &sha).await, bytes);
        assert_eq!(fixture.objects().await, [format!("{}/{sha}", &sha[..2])]);
    });
}

fn a_part_that_does_not_join_up_is_not_counted(backend: Backend) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        let (bytes, sha) = file(1000);
        let storage = fixture.instance();
        let upload = Upload {
            incident: INCIDENT,
            sha256: &sha,
        };
        // Left by a discard that raced a chunk on another instance.
        let orphan = Bytes::copy_from_slice(&bytes[600..]);
        assert_eq!(storage.stage(upload, 600, orphan).await.unwrap(), 0);
        storage
            .stage(upload, 0, Bytes::copy_from_slice(&bytes[..500]))
            .await
            .unwrap();
        assert_eq!(storage.received(upload).await.unwrap(), 500);
        storage.discard(upload).await;
        assert_eq!(fixture.objects().await, Vec::<String>::new());
    });
}

fn a_file_put_back_from_a_copy_must_hash_to_its_name(backend: Backend) {
    let Some(fixture) = Fixture::new(backend) else {
        return;
    };
    block_on(async {
        let (bytes, sha) = file(90_000);
        let dir = TempDir::new().unwrap();
        let copy = dir.path().join("copy");
        std::fs::write(&copy, [&bytes[..], b"!"].concat()).unwrap();
        let storage = fixture.instance();
        assert!(matches!(
            storage.store_from_file(&sha, &copy).await.unwrap(),
            Checked::HashMismatch { .. }
        ));
        assert_eq!(fixture.objects().await, Vec::<String>::new());
        std::fs::write(&copy, &bytes).unwrap();
        assert_eq!(
            storage.store_from_file(&sha, &copy).await.unwrap(),
            Checked::Stored
        );
        let back = dir.path().join("back");
        storage.copy_to_file(&sha, &back).await.unwrap();
        assert_eq!(std::fs::read(back).unwrap(), bytes);
        storage.remove(&sha).await;
        assert!(!storage.contains(&sha).await.unwrap());
    });
}

crate::media_suite!(
    chunks_are_acknowledged_and_resume_on_another_instance_and_a_duplicate_is_harmless,
    a_wrong_final_hash_leaves_nothing_stored_half,
    a_file_larger_than_a_compose_part_is_stored_whole_and_once,
    two_instances_checking_the_same_upload_at_once_store_it_once,
    a_part_that_does_not_join_up_is_not_counted,
    a_file_put_back_from_a_copy_must_hash_to_its_name,
);
