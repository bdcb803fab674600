//! The file store: evidence files, backlog attachments and contract documents, addressed by
//! their SHA-256 so that the same file attached twice is kept once and any later change to a
//! stored file is detected on read. Two backends: the local data directory (the default) and
//! an S3-compatible object store shared by several servers (`[file_store]`, see `s3`).
//! Callers save a file before they write the row that names it, so a crash never leaves a
//! row without its file.

mod local;
pub mod s3;

pub use s3::{FileStoreBackend, FileStoreSettings};
use sha2::{Digest, Sha256};
use std::{path::PathBuf, sync::Arc};

pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("the file is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("stored file {0} is missing")]
    Missing(String),
    #[error("stored file {0} no longer matches its checksum")]
    Corrupt(String),
    #[error("cannot store the file: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed or did not answer in time; `store` names it (no secrets).
    #[error("the file store {store} is unavailable: {reason}")]
    Unavailable { store: String, reason: String },
    #[error("invalid file_store configuration: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
enum Backend {
    Local(PathBuf),
    Object(Arc<s3::ObjectBackend>),
}

/// Where files are kept and how large one may be. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AttachmentStore {
    backend: Backend,
    max_bytes: u64,
}

impl AttachmentStore {
    /// Files under `root` on the local disk.
    pub fn new(root: impl Into<PathBuf>, max_bytes: u64) -> Self {
        AttachmentStore {
            backend: Backend::Local(root.into()),
            max_bytes,
        }
    }

    /// The store `settings` describe; `local_root` is the local backend's directory.
    /// Checks the settings (and reads the credentials file) but does not connect: an
    /// unreachable store shows at the first file, with its name and the reason.
    pub fn from_settings(
        settings: &FileStoreSettings,
        local_root: impl Into<PathBuf>,
        max_bytes: u64,
    ) -> Result<Self, AttachmentError> {
        let backend = match settings.backend {
            FileStoreBackend::Local => Backend::Local(local_root.into()),
            FileStoreBackend::S3 => Backend::Object(Arc::new(s3::ObjectBackend::new(settings)?)),
        };
        Ok(AttachmentStore { backend, max_bytes })
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The same store with another size limit (a restore takes back every file a backup
    /// holds, whatever the limit is now).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The store for messages and logs: a directory, or `s3://bucket/prefix at endpoint`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local(root) => format!("directory {}", root.display()),
            Backend::Object(object) => object.describe().to_string(),
        }
    }

    /// Store `bytes`; returns the SHA-256 (hex). The file is complete under its name or not
    /// there at all: a temporary file flushed and renamed locally, one PUT on S3.
    pub async fn save(&self, bytes: &[u8]) -> Result<String, AttachmentError> {
        let size = bytes.len() as u64;
        if size == 0 {
            return Err(AttachmentError::Empty);
        }
        if size > self.max_bytes {
            return Err(AttachmentError::TooLarge {
                size,
                limit: self.max_bytes,
            });
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        match &self.backend {
            Backend::Local(root) => {
                let (root, bytes, sha) = (root.clone(), bytes.to_vec(), sha256.clone());
                blocking(move || local::save(&root, &sha, &bytes)).await?
            }
            Backend::Object(object) => object.save(&sha256, bytes).await?,
        }
        Ok(sha256)
    }

    /// Read a stored file back, checking it still has its checksum.
    pub async fn read(&self, sha256: &str) -> Result<Vec<u8>, AttachmentError> {
        if !is_sha256(sha256) {
            return Err(AttachmentError::Missing(sha256.to_string()));
        }
        let bytes = match &self.backend {
            Backend::Local(root) => {
                let (root, sha) = (root.clone(), sha256.to_string());
                blocking(move || local::read(&root, &sha)).await?
            }
            Backend::Object(object) => object.read(sha256).await?,
        };
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(AttachmentError::Corrupt(sha256.to_string()));
        }
        Ok(bytes)
    }

    /// The SHA-256 of every stored file, sorted (for backups). Other names under the store
    /// (temporary files, foreign objects) are not files of this store and are left out.
    pub async fn list(&self) -> Result<Vec<String>, AttachmentError> {
        let mut all = match &self.backend {
            Backend::Local(root) => {
                let root = root.clone();
                blocking(move || local::list(&root)).await?
            }
            Backend::Object(object) => object.list().await?,
        };
        all.sort();
        all.dedup();
        Ok(all)
    }
}

/// A lower-case hex SHA-256: the only names a file may be read under (no paths).
pub fn is_sha256(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Where a file lives below the store's root: `ab/abcdef...`, as the local layout has always been.
fn sharded(sha256: &str) -> String {
    format!("{}/{sha256}", &sha256[..2])
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AttachmentError> + Send + 'static,
) -> Result<T, AttachmentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AttachmentError::Io(std::io::Error::other(e.to_string())))?
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// component, without control characters or quotes, at most 200 characters.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_once_checks_size_lists_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let store = AttachmentStore::new(dir.path(), 10);
        assert_eq!(store.list().await.unwrap(), Vec::<String>::new());
        let sha = store.save(b"evidence").await.unwrap();
        assert_eq!(store.save(b"evidence").await.unwrap(), sha);
        let other = store.save(b"other").await.unwrap();
        assert_eq!(store.read(&sha).await.unwrap(), b"evidence");
        let mut both = vec![sha.clone(), other];
        both.sort();
        assert_eq!(store.list().await.unwrap(), both);
        assert!(matches!(
            store.save(b"far too large").await,
            Err(AttachmentError::TooLarge { .. })
        ));
        assert!(matches!(store.save(b"").await, Err(AttachmentError::Empty)));
        std::fs::write(dir.path().join(&sha[..2]).join(&sha), b"tampered").unwrap();
        assert!(matches!(
            store.read(&sha).await,
            Err(AttachmentError::Corrupt(_))
        ));
        assert!(matches!(
            store.read("../../etc/passwd").await,
            Err(AttachmentError::Missing(_))
        ));
        let absent = "0".repeat(64);
        assert!(matches!(
            store.read(&absent).await,
            Err(AttachmentError::Missing(_))
        ));
        // A partial file left by a crash is not a stored file.
        std::fs::write(dir.path().join(&sha[..2]).join(".x.1.partial"), b"x").unwrap();
        assert_eq!(store.list().await.unwrap().len(), 2);
    }

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_filename("C:\\reports\\q1 \"final\".pdf"),
            "q1 final.pdf"
        );
        assert_eq!(clean_filename("..."), "attachment");
    }
}
