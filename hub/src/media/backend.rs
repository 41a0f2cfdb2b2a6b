//! Where the hub keeps media: a folder on this machine (by default `<db>.media`
//! beside the database), or a bucket of an S3-compatible object store that several
//! hub instances share. Both are `object_store` stores, so the rules of an upload
//! (`storage.rs`) are written once, against the one trait, whichever is chosen.
//!
//! ```text
//! testigo hub --media-store /srv/testigo/media
//! testigo hub --media-store s3://hotline-media/hub --s3-endpoint https://minio.lan:9000
//! ```
//!
//! S3 credentials come from the standard AWS environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, a web identity or container role),
//! never from a flag, so they stay out of process listings and shell history.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

use crate::error::{HubError, HubResult};

/// How the media store is chosen: flags of `testigo hub` and `testigo-hub`, each also
/// readable from the environment.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct MediaStoreConfig {
    /// Where media files are kept: a folder, or `s3://BUCKET[/PREFIX]` for an
    /// S3-compatible object store that several hub instances share. Default: the
    /// folder `<db>.media` beside the database.
    #[arg(long = "media-store", env = "TESTIGO_HUB_MEDIA_STORE", value_parser = MediaLocation::parse)]
    pub location: Option<MediaLocation>,
    /// URL of the S3-compatible service (MinIO, Garage, Ceph, a cloud's S3 API). Default:
    /// `AWS_ENDPOINT_URL`, else Amazon S3 itself. An `http://` URL sends the media
    /// unencrypted: only for a service on the hub's own machine or trusted network.
    #[arg(long, env = "TESTIGO_HUB_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region. Default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else
    /// `us-east-1`.
    #[arg(long, env = "TESTIGO_HUB_S3_REGION")]
    pub s3_region: Option<String>,
    /// Credentials given by code that embeds the hub; `None`: the AWS environment.
    #[arg(skip)]
    pub s3_credentials: Option<S3Credentials>,
}

/// Where `--media-store` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaLocation {
    Folder(PathBuf),
    /// A bucket, and the key prefix under which this hub's media live (empty: the
    /// whole bucket), so that one bucket can serve several hotlines' hubs.
    S3 {
        bucket: String,
        prefix: String,
    },
}

impl MediaLocation {
    /// `s3://bucket[/prefix]`, or anything without a scheme as a folder.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !valid_bucket_name(bucket) {
                return Err(format!(
                    "`{bucket}` is not an S3 bucket name (3–63 lower-case letters, digits, dots and hyphens)"
                ));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "`{scheme}://` is not a media store this hub knows: give a folder or s3://BUCKET[/PREFIX]"
            ));
        }
        if text.is_empty() {
            return Err("the media store is empty: give a folder or s3://BUCKET[/PREFIX]".into());
        }
        Ok(Self::Folder(PathBuf::from(text)))
    }
}

impl fmt::Display for MediaLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The rule S3 itself applies, checked here so that a typo fails at start, not at
/// the first upload.
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// An access key pair, for code that embeds the hub (tests); the secret never
/// appears in `Debug` output or logs.
#[derive(Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

impl MediaStoreConfig {
    /// Where the media of the hub database at `db` are kept.
    pub fn location(&self, db: &Path) -> MediaLocation {
        self.location
            .clone()
            .unwrap_or_else(|| MediaLocation::Folder(format!("{}.media", db.display()).into()))
    }

    /// Opens the chosen store. Nothing is sent over the network yet: a bucket that
    /// cannot be reached shows in the first upload's error and the hub's log.
    pub fn open(&self, db: &Path) -> HubResult<Arc<dyn ObjectStore>> {
        let location = self.location(db);
        let fail = |e: &dyn fmt::Display| {
            HubError::internal(format!("cannot open the media store {location}: {e}"))
        };
        match &location {
            MediaLocation::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
                // fsync: an acknowledged chunk and a stored file survive a power cut,
                // as the database's own writes do (synchronous=FULL).
                let store = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| fail(&e))?
                    .with_fsync(true)
                    .with_automatic_cleanup(true);
                Ok(Arc::new(store))
            }
            MediaLocation::S3 { bucket, prefix } => {
                // reqwest is built with rustls but no provider: ring, as everywhere
                // in the project (aws-lc breaks Android cross-builds).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(endpoint) = &self.s3_endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = &self.s3_region {
                    builder = builder.with_region(region);
                }
                if let Some(credentials) = &self.s3_credentials {
                    builder = builder
                        .with_access_key_id(&credentials.access_key_id)
                        .with_secret_access_key(&credentials.secret_access_key);
                }
                let store = builder.build().map_err(|e| fail(&e))?;
                Ok(if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix.as_str()))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_a_folder_or_an_s3_bucket_and_anything_else_is_refused() {
        assert_eq!(
            MediaLocation::parse("/srv/media"),
            Ok(MediaLocation::Folder("/srv/media".into()))
        );
        assert_eq!(
            MediaLocation::parse("s3://hotline-media"),
            Ok(MediaLocation::S3 {
                bucket: "hotline-media".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            MediaLocation::parse("s3://hotline-media/south/hub/"),
            Ok(MediaLocation::S3 {
                bucket: "hotline-media".into(),
                prefix: "south/hub".into()
            })
        );
        for (bad, says) in [
            ("s3://", "not an S3 bucket name"),
            ("s3://Hotline_Media", "not an S3 bucket name"),
            ("s3://-media", "not an S3 bucket name"),
            ("gs://hotline-media", "`gs://` is not a media store"),
            ("", "empty"),
        ] {
            let error = MediaLocation::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn the_default_is_the_folder_beside_the_database() {
        let config = MediaStoreConfig::default();
        assert_eq!(
            config.location(Path::new("/var/lib/testigo/hub.sqlite")),
            MediaLocation::Folder("/var/lib/testigo/hub.sqlite.media".into())
        );
    }

    #[test]
    fn credentials_never_show_their_secret() {
        let credentials = S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKIDEXAMPLE") && !shown.contains("wJalrXUtnFEMI"));
    }
}
