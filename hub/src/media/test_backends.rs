//! The media test suite's backends: every media test runs once over the folder beside
//! the database and once over a real S3-compatible server, which
//! `scripts/s3-server.sh` installs and starts (`scripts/test-all.sh` does so before
//! the workspace's tests and names it in [`S3_ENDPOINT_ENV`]).
//!
//! Without a server the S3 half of each test says so and passes, so a plain
//! `cargo test` works anywhere; with [`REQUIRE_S3_ENV`] set (as the test script sets
//! it) it fails instead, so a run that was meant to cover S3 cannot skip it silently.

use std::path::Path;

use futures_util::TryStreamExt;

use super::{MediaLocation, MediaStoreConfig, S3Credentials};

/// The URL of the S3-compatible test server.
pub const S3_ENDPOINT_ENV: &str = "TESTIGO_TEST_S3_ENDPOINT";
/// The bucket the server was started with (default [`DEFAULT_BUCKET`]).
pub const S3_BUCKET_ENV: &str = "TESTIGO_TEST_S3_BUCKET";
/// `1`: a missing server fails the S3 tests instead of skipping them.
pub const REQUIRE_S3_ENV: &str = "TESTIGO_REQUIRE_S3";
pub const DEFAULT_BUCKET: &str = "testigo-test";

/// Declares each named test, a function taking a [`Backend`], once per backend:
/// `over_filesystem::NAME` and `over_s3::NAME`.
#[macro_export]
macro_rules! media_suite {
    ($($test:ident),+ $(,)?) => {
        mod over_filesystem {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::media::test_backends::Backend::Filesystem)
                }
            )+
        }
        mod over_s3 {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::media::test_backends::Backend::S3)
                }
            )+
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Filesystem,
    S3,
}

impl Backend {
    /// The media store settings for one test, or `None` (after a notice) when this
    /// backend cannot run here. Over S3 each call gets a prefix of its own in the
    /// test bucket, so tests running at once never see each other's files.
    pub fn store(self) -> Option<MediaStoreConfig> {
        match self {
            Self::Filesystem => Some(MediaStoreConfig::default()),
            Self::S3 => {
                let endpoint = std::env::var(S3_ENDPOINT_ENV).unwrap_or_default();
                if endpoint.is_empty() {
                    let test = std::thread::current().name().unwrap_or("a test").to_owned();
                    if std::env::var(REQUIRE_S3_ENV).is_ok_and(|v| v == "1") {
                        panic!(
                            "{REQUIRE_S3_ENV}=1 but {S3_ENDPOINT_ENV} is not set: start the test server with `scripts/s3-server.sh start`"
                        );
                    }
                    eprintln!(
                        "NOTICE: {test} did not run over S3: no S3-compatible test server ({S3_ENDPOINT_ENV} is not set; scripts/test-all.sh starts one)"
                    );
                    return None;
                }
                let bucket = std::env::var(S3_BUCKET_ENV)
                    .ok()
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| DEFAULT_BUCKET.to_owned());
                Some(self.s3_store(endpoint, bucket))
            }
        }
    }

    fn s3_store(self, endpoint: String, bucket: String) -> MediaStoreConfig {
        let mut run = [0u8; 8];
        getrandom::fill(&mut run).expect("random prefix");
        MediaStoreConfig {
            location: Some(MediaLocation::S3 {
                bucket,
                prefix: format!("test-{}", hex::encode(run)),
            }),
            s3_endpoint: Some(endpoint),
            s3_region: Some("us-east-1".into()),
            // The test server takes any key; given here so that no test reads the
            // developer's own AWS credentials from the environment.
            s3_credentials: Some(S3Credentials {
                access_key_id: "testigo-test".into(),
                secret_access_key: "testigo-test".into(),
            }),
        }
    }
}

/// The name of every object in the media store of the hub database at `db`, staging
/// included: what a test checks when nothing may be stored half. A folder is walked
/// itself rather than listed through the store, so files the store would not list
/// (its own half-written ones) are seen too.
pub async fn objects(config: &MediaStoreConfig, db: &Path) -> Vec<String> {
    let mut names = match config.location(db) {
        MediaLocation::Folder(dir) => {
            let mut names = Vec::new();
            walk(&dir, &dir, &mut names);
            names
        }
        MediaLocation::S3 { .. } => config
            .open(db)
            .expect("the media store opens")
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("the media store lists"),
    };
    names.sort();
    names
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(name) = path.strip_prefix(root) {
            out.push(name.display().to_string());
        }
    }
}
