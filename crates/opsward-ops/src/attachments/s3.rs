//! The S3-compatible backend (`[file_store] backend = "s3"`) through the `object_store`
//! crate: one bucket (and a key prefix) that several servers share. Credentials come from the
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) or from a
//! file in the AWS shared-credentials format (`credentials_file`, its `[default]` profile).

use super::{is_sha256, sharded, AttachmentError};
use futures_util::TryStreamExt;
use object_store::{
    aws::{AmazonS3Builder, AwsCredential},
    path::Path as ObjectPath,
    ClientOptions, ObjectStore, PutPayload, RetryConfig, StaticCredentialProvider,
};
use serde::{Deserialize, Serialize};
use std::{fmt, path::PathBuf, sync::Arc, time::Duration};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStoreBackend {
    /// `data_dir/attachments` on this server's disk.
    #[default]
    Local,
    /// An S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, ...).
    S3,
}

/// `[file_store]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileStoreSettings {
    pub backend: FileStoreBackend,
    pub bucket: String,
    /// Keys are `prefix/ab/abcdef...`; empty for the bucket's root.
    pub prefix: String,
    /// `https://s3.example.org` for a store other than AWS; `http://` is allowed (loopback,
    /// a private network), for AWS leave it unset.
    pub endpoint: Option<String>,
    /// Default: `AWS_REGION` or `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// AWS shared-credentials file whose `[default]` profile holds the keys; without it they
    /// come from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub credentials_file: Option<PathBuf>,
    /// How long one operation (a file saved, read or listed) may take, retries included.
    pub timeout_seconds: u64,
}

impl Default for FileStoreSettings {
    fn default() -> Self {
        FileStoreSettings {
            backend: FileStoreBackend::Local,
            bucket: String::new(),
            prefix: String::new(),
            endpoint: None,
            region: None,
            credentials_file: None,
            timeout_seconds: 30,
        }
    }
}

/// Keys of an S3 account. The secret never reaches a log or a message.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The `[default]` profile (or the keys before any profile) of an AWS shared-credentials
/// file: `aws_access_key_id`, `aws_secret_access_key` and optionally `aws_session_token`.
/// Other keys and profiles are skipped; errors name the line, never a value.
pub fn parse_credentials(text: &str) -> Result<S3Credentials, String> {
    let (mut key_id, mut secret, mut token) = (None, None, None);
    let mut in_default = true;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(profile) = line.strip_prefix('[') {
            let profile = profile
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: a profile header is `[name]`", number + 1))?;
            in_default = profile.trim() == "default";
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected `key = value`", number + 1))?;
        if !in_default {
            continue;
        }
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        match key.trim() {
            "aws_access_key_id" => key_id = value,
            "aws_secret_access_key" => secret = value,
            "aws_session_token" => token = value,
            _ => {}
        }
    }
    match (key_id, secret) {
        (Some(key_id), Some(secret)) => Ok(S3Credentials {
            key_id,
            secret,
            token,
        }),
        _ => Err("the [default] profile needs aws_access_key_id and aws_secret_access_key".into()),
    }
}

/// An S3 bucket as the file store.
#[derive(Debug)]
pub(super) struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    timeout: Duration,
    describe: String,
}

impl ObjectBackend {
    pub(super) fn new(settings: &FileStoreSettings) -> Result<Self, AttachmentError> {
        let bad = |m: String| AttachmentError::Config(m);
        if settings.bucket.trim().is_empty() {
            return Err(bad("backend \"s3\" needs a bucket".into()));
        }
        let prefix = settings.prefix.trim_matches('/').to_string();
        if !prefix.is_empty() {
            ObjectPath::parse(&prefix).map_err(|e| bad(format!("prefix {prefix:?}: {e}")))?;
        }
        let timeout = Duration::from_secs(settings.timeout_seconds.clamp(1, 3600));
        let credentials = match &settings.credentials_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    bad(format!(
                        "cannot read credentials_file {}: {e}",
                        path.display()
                    ))
                })?;
                parse_credentials(&text)
                    .map_err(|e| bad(format!("credentials_file {}: {e}", path.display())))?
            }
            None => credentials_from_env().ok_or_else(|| {
                bad(
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                     or credentials_file"
                        .into(),
                )
            })?,
        };
        let region = settings
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(settings.bucket.trim())
            .with_region(&region)
            .with_credentials(Arc::new(StaticCredentialProvider::new(AwsCredential {
                key_id: credentials.key_id,
                secret_key: credentials.secret,
                token: credentials.token,
            })))
            // Connect and per-request limits, and few retries: the whole operation is bounded
            // by `timeout` as well (see `bounded`).
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5).min(timeout))
                    .with_timeout(timeout),
            )
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: timeout,
                ..RetryConfig::default()
            });
        if let Some(endpoint) = settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
            if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
                return Err(bad(format!("endpoint {endpoint:?} is not an http(s) URL")));
            }
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| bad(e.to_string()))?;
        let describe = format!(
            "s3://{}/{prefix} at {}",
            settings.bucket.trim(),
            settings
                .endpoint
                .as_deref()
                .filter(|e| !e.is_empty())
                .unwrap_or("AWS")
        );
        Ok(ObjectBackend {
            store: Arc::new(store),
            prefix,
            timeout,
            describe,
        })
    }

    pub(super) fn describe(&self) -> &str {
        &self.describe
    }

    fn key(&self, sha256: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(sharded(sha256))
        } else {
            ObjectPath::from(format!("{}/{}", self.prefix, sharded(sha256)))
        }
    }

    /// `work` within the timeout; its errors and the timeout as `Unavailable`, naming the store.
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> Result<T, AttachmentError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(|e| self.unavailable(e.to_string())),
            Err(_) => {
                Err(self.unavailable(format!("no answer within {} s", self.timeout.as_secs())))
            }
        }
    }

    fn unavailable(&self, reason: String) -> AttachmentError {
        AttachmentError::Unavailable {
            store: self.describe.clone(),
            reason,
        }
    }

    /// One PUT: S3 makes an object visible whole or not at all. A file already there (same
    /// name, so same bytes) is not sent again.
    pub(super) async fn save(&self, sha256: &str, bytes: &[u8]) -> Result<(), AttachmentError> {
        let key = self.key(sha256);
        match self
            .bounded(async {
                match self.store.head(&key).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?
        {
            true => Ok(()),
            false => self
                .bounded(self.store.put(&key, PutPayload::from(bytes.to_vec())))
                .await
                .map(|_| ()),
        }
    }

    pub(super) async fn read(&self, sha256: &str) -> Result<Vec<u8>, AttachmentError> {
        let key = self.key(sha256);
        let fetched = tokio::time::timeout(self.timeout, async {
            self.store.get(&key).await?.bytes().await
        })
        .await;
        match fetched {
            Ok(Ok(bytes)) => Ok(bytes.to_vec()),
            Ok(Err(object_store::Error::NotFound { .. })) => {
                Err(AttachmentError::Missing(sha256.to_string()))
            }
            Ok(Err(e)) => Err(self.unavailable(e.to_string())),
            Err(_) => {
                Err(self.unavailable(format!("no answer within {} s", self.timeout.as_secs())))
            }
        }
    }

    pub(super) async fn list(&self) -> Result<Vec<String>, AttachmentError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let objects: Vec<_> = self
            .bounded(self.store.list(prefix.as_ref()).try_collect())
            .await?;
        Ok(objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_string();
                (is_sha256(&name) && self.key(&name) == meta.location).then_some(name)
            })
            .collect())
    }
}

fn credentials_from_env() -> Option<S3Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(S3Credentials {
        key_id: var("AWS_ACCESS_KEY_ID")?,
        secret: var("AWS_SECRET_ACCESS_KEY")?,
        token: var("AWS_SESSION_TOKEN"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn credentials_file_default_profile() {
        let text = "# keys\n[other]\naws_access_key_id = NOT\n\n[default]\n\
                    aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key=s3cr3t/+=\n\
                    region = eu-west-1\n";
        let creds = parse_credentials(text).unwrap();
        assert_eq!(creds.key_id, "AKIDEXAMPLE");
        assert_eq!(creds.secret, "s3cr3t/+=");
        assert_eq!(creds.token, None);
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        let err = parse_credentials("[default]\naws_access_key_id = A\n").unwrap_err();
        assert!(err.contains("aws_secret_access_key"), "{err}");
        let err = parse_credentials("[default\n").unwrap_err();
        assert!(err.starts_with("line 1"), "{err}");
        let err = parse_credentials("aws_secret_access_key\n").unwrap_err();
        assert!(
            err.starts_with("line 1") && !err.contains("aws_secret"),
            "{err}"
        );
    }

    #[test]
    fn s3_settings_are_checked_before_any_request() {
        let settings = |bucket: &str, endpoint: &str| FileStoreSettings {
            backend: FileStoreBackend::S3,
            bucket: bucket.into(),
            endpoint: Some(endpoint.into()),
            credentials_file: Some("/nonexistent/opsward-credentials".into()),
            ..FileStoreSettings::default()
        };
        let err = ObjectBackend::new(&settings("", "http://127.0.0.1:9")).unwrap_err();
        assert!(err.to_string().contains("needs a bucket"), "{err}");
        let err = ObjectBackend::new(&settings("b", "http://127.0.0.1:9")).unwrap_err();
        assert!(
            err.to_string().contains("cannot read credentials_file"),
            "{err}"
        );
        let mut bad_endpoint = settings("b", "ftp://127.0.0.1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(&file, "aws_access_key_id=a\naws_secret_access_key=b\n").unwrap();
        bad_endpoint.credentials_file = Some(file);
        let err = ObjectBackend::new(&bad_endpoint).unwrap_err();
        assert!(err.to_string().contains("not an http(s) URL"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text: an answer, never a panic, and an error never repeats a value.
        #[test]
        fn credentials_parser_takes_any_text(text in "(?s).{0,300}") {
            if let Err(message) = parse_credentials(&text) {
                prop_assert!(message.len() < 120);
            }
        }

        /// Keys written in any order, spacing and profile position are read back.
        #[test]
        fn credentials_round_trip(
            id in "[A-Z0-9]{1,20}",
            secret in "[A-Za-z0-9/+=]{1,40}",
            pad in "[ \t]{0,3}",
            other_first in any::<bool>(),
        ) {
            let other = "[backup]\naws_access_key_id = X\naws_secret_access_key = Y\n";
            let default = format!(
                "[default]\naws_secret_access_key{pad}={pad}{secret}\naws_access_key_id = {id}\n"
            );
            let text = if other_first { format!("{other}{default}") } else { format!("{default}{other}") };
            let creds = parse_credentials(&text).unwrap();
            prop_assert_eq!(creds.key_id, id);
            prop_assert_eq!(creds.secret, secret);
        }
    }
}
