//! Evidence files, stored under the data directory by their SHA-256 so that the same file
//! attached twice is kept once and any later change to a stored file is detected on read.

use sha2::{Digest, Sha256};
use std::{
    io::Write,
    path::{Path, PathBuf},
};

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
}

#[derive(Debug, Clone)]
pub struct AttachmentStore {
    root: PathBuf,
    max_bytes: u64,
}

impl AttachmentStore {
    pub fn new(root: impl Into<PathBuf>, max_bytes: u64) -> Self {
        AttachmentStore {
            root: root.into(),
            max_bytes,
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        valid.then(|| self.root.join(&sha256[..2]).join(sha256))
    }

    /// Store `bytes`; returns the SHA-256 (hex). Written to a temporary file, flushed and
    /// renamed into place, so a crash never leaves a partial file under the final name.
    pub fn save(&self, bytes: &[u8]) -> Result<String, AttachmentError> {
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
        let path = self.path_of(&sha256).expect("hex digest");
        if path.is_file() {
            return Ok(sha256);
        }
        let dir = path.parent().expect("sharded path");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{sha256}.{}.partial", std::process::id()));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(sha256)
    }

    /// Read a stored file back, checking it still has its checksum.
    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, AttachmentError> {
        let path = self
            .path_of(sha256)
            .ok_or_else(|| AttachmentError::Missing(sha256.to_string()))?;
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AttachmentError::Missing(sha256.to_string()),
            _ => AttachmentError::Io(e),
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(AttachmentError::Corrupt(sha256.to_string()));
        }
        Ok(bytes)
    }

    /// The SHA-256 of every stored file, sorted (for backups).
    pub fn list(&self) -> Result<Vec<String>, AttachmentError> {
        let mut found = Vec::new();
        let shards = match std::fs::read_dir(&self.root) {
            Ok(shards) => shards,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => return Err(e.into()),
        };
        for shard in shards {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(shard.path())? {
                let name = file?.file_name().to_string_lossy().to_string();
                // Partial writes (`.<sha>.<pid>.partial`) and strangers are not files.
                if self
                    .path_of(&name)
                    .is_some_and(|p| p.parent() == Some(&shard.path()))
                {
                    found.push(name);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
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

    #[test]
    fn stores_once_checks_size_and_detects_tampering() {
        let dir = tempfile_dir();
        let store = AttachmentStore::new(&dir, 10);
        let sha = store.save(b"evidence").unwrap();
        assert_eq!(store.save(b"evidence").unwrap(), sha);
        assert_eq!(store.read(&sha).unwrap(), b"evidence");
        assert!(matches!(
            store.save(b"far too large"),
            Err(AttachmentError::TooLarge { .. })
        ));
        assert!(matches!(store.save(b""), Err(AttachmentError::Empty)));
        std::fs::write(dir.join(&sha[..2]).join(".partial"), b"x").unwrap();
        assert_eq!(store.list().unwrap(), vec![sha.clone()]);
        std::fs::write(dir.join(&sha[..2]).join(&sha), b"tampered").unwrap();
        assert!(matches!(store.read(&sha), Err(AttachmentError::Corrupt(_))));
        assert!(matches!(
            store.read("../../etc/passwd"),
            Err(AttachmentError::Missing(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
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

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "opsward-attach-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }
}
