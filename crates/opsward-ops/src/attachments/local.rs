//! The local backend: files under the data directory, `root/ab/abcdef...`.

use super::{is_sha256, sharded, AttachmentError};
use std::{io::Write, path::Path};

/// Written to a temporary file, flushed and renamed into place, so a crash never leaves a
/// partial file under the final name.
pub(super) fn save(root: &Path, sha256: &str, bytes: &[u8]) -> Result<(), AttachmentError> {
    let path = root.join(sharded(sha256));
    if path.is_file() {
        return Ok(());
    }
    let dir = path.parent().expect("sharded path");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{sha256}.{}.partial", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

pub(super) fn read(root: &Path, sha256: &str) -> Result<Vec<u8>, AttachmentError> {
    std::fs::read(root.join(sharded(sha256))).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AttachmentError::Missing(sha256.to_string()),
        _ => AttachmentError::Io(e),
    })
}

pub(super) fn list(root: &Path) -> Result<Vec<String>, AttachmentError> {
    let mut found = Vec::new();
    let shards = match std::fs::read_dir(root) {
        Ok(shards) => shards,
        // Nothing stored yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    for shard in shards {
        let shard = shard?;
        let shard_name = shard.file_name().to_string_lossy().to_string();
        if shard_name.len() != 2 || !shard.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path())? {
            let name = file?.file_name().to_string_lossy().to_string();
            if is_sha256(&name) && name.starts_with(&shard_name) {
                found.push(name);
            }
        }
    }
    Ok(found)
}
