//! Backups that restore: a snapshot of every table (in the store's backend-neutral format),
//! every stored file, and a manifest with their SHA-256 sums and the schema version.
//!
//! A snapshot is a directory (`manifest.json`, `tables/<table>.jsonl`, `files/<sha256>`) or
//! the same as one tar archive (`.tar`, or gzip-compressed `.tar.gz`/`.tgz`). The manifest
//! is written last, so a snapshot cut short has none and is refused.

use crate::attachments::{AttachmentError, AttachmentStore};
use chrono::{DateTime, Utc};
use opsward_store::{
    backup::{self as tables, format::is_identifier, TableCount, TransferError},
    Backend, Database, StoreError, StoreSettings,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

pub use crate::backup_archive::{prune, scheduled_job, BackupSchedule};

pub const FORMAT: &str = "opsward-backup";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Missing, changed or unreadable parts: nothing was restored.
    #[error("the snapshot is damaged: {0}")]
    Damaged(String),
    /// A sound snapshot that does not go here (newer schema, target not empty).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Attachment(#[from] AttachmentError),
}

impl SnapshotError {
    /// The snapshot or the target was refused (as opposed to: the command could not run).
    pub fn is_refusal(&self) -> bool {
        matches!(self, SnapshotError::Damaged(_) | SnapshotError::Refused(_))
    }

    pub(crate) fn io(what: &str, path: &Path, err: std::io::Error) -> Self {
        SnapshotError::Io(format!("cannot {what} {}: {err}", path.display()))
    }
}

impl From<TransferError> for SnapshotError {
    fn from(err: TransferError) -> Self {
        match err {
            TransferError::Damaged(m) => SnapshotError::Damaged(m),
            TransferError::Refused(m) => SnapshotError::Refused(m),
            TransferError::Io(e) => SnapshotError::Io(e.to_string()),
            TransferError::Store(e) => SnapshotError::Store(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The highest database migration of the snapshot.
    pub schema_version: i64,
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`: where it came from (it restores into either).
    pub source_backend: String,
    pub opsward_version: String,
    pub tables: Vec<ManifestTable>,
    /// The last id handed out per table, so ids of deleted rows are not handed out again.
    pub last_ids: BTreeMap<String, i64>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTable {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub sha256: String,
    pub bytes: u64,
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Read a manifest from outside: every name a plain identifier, every sum a SHA-256, nothing
/// twice, a format this opsward reads.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, SnapshotError> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| SnapshotError::Damaged(format!("bad manifest.json: {e}")))?;
    let damaged = |m: String| Err(SnapshotError::Damaged(m));
    if manifest.format != FORMAT {
        return damaged(format!(
            "not an opsward backup (format {:?})",
            manifest.format
        ));
    }
    if manifest.format_version != FORMAT_VERSION {
        return Err(SnapshotError::Refused(format!(
            "backup format {} is not {FORMAT_VERSION}, the one this opsward reads",
            manifest.format_version
        )));
    }
    let mut names = BTreeSet::new();
    for table in &manifest.tables {
        if !is_identifier(&table.name) || !is_sha256(&table.sha256) || !names.insert(&table.name) {
            return damaged(format!("bad or repeated table {:?}", table.name));
        }
    }
    if manifest.last_ids.keys().any(|t| !names.contains(t)) {
        return damaged("a last id names a table the snapshot does not have".into());
    }
    let mut sums = BTreeSet::new();
    for file in &manifest.files {
        if !is_sha256(&file.sha256) || !sums.insert(&file.sha256) {
            return damaged(format!("bad or repeated file {:?}", file.sha256));
        }
    }
    Ok(manifest)
}

/// What `backup` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub location: PathBuf,
    pub schema_version: i64,
    pub source_backend: String,
    pub tables: usize,
    pub rows: u64,
    pub files: usize,
    pub file_bytes: u64,
}

/// What `restore` restored.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub from: PathBuf,
    pub source_backend: String,
    pub created_at: DateTime<Utc>,
    /// The snapshot's schema version, and the database's after migrating it up.
    pub schema_version: i64,
    pub schema_version_now: i64,
    pub rows: u64,
    pub files: usize,
    pub file_bytes: u64,
    pub tables: Vec<TableCount>,
}

/// Progress of long work, one line at a time (the CLI prints them on standard error).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Whether `path` names an archive (by its extension) rather than a directory.
pub fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Write a snapshot of `db` and `files` to `to` (a new or empty directory, or an archive
/// file). Consistent while the server runs: the tables are one snapshot, and files are
/// listed after it, so every file a row of it names is there (files are written before the
/// rows that name them).
pub async fn backup(
    db: &Database,
    backend: Backend,
    files: &AttachmentStore,
    to: &Path,
    progress: Progress<'_>,
) -> Result<BackupSummary, SnapshotError> {
    let archive = is_archive(to);
    let staging = if archive {
        if to.exists() {
            return Err(SnapshotError::Refused(format!(
                "{} already exists",
                to.display()
            )));
        }
        let mut name = to.as_os_str().to_owned();
        name.push(".partial.d");
        let staging = PathBuf::from(name);
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .map_err(|e| SnapshotError::io("remove", &staging, e))?;
        }
        staging
    } else {
        let occupied = std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some());
        if occupied || to.is_file() {
            return Err(SnapshotError::Refused(format!(
                "{} is not empty: back up into a new directory or an archive file",
                to.display()
            )));
        }
        to.to_path_buf()
    };
    let result = write_snapshot(db, backend, files, &staging, progress).await;
    let summary = match result {
        Ok(summary) if archive => {
            crate::backup_archive::pack(&staging, to)?;
            let _ = std::fs::remove_dir_all(&staging);
            summary
        }
        Ok(summary) => summary,
        Err(e) => {
            if archive {
                let _ = std::fs::remove_dir_all(&staging);
            }
            return Err(e);
        }
    };
    Ok(BackupSummary {
        location: to.to_path_buf(),
        ..summary
    })
}

async fn write_snapshot(
    db: &Database,
    backend: Backend,
    files: &AttachmentStore,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<BackupSummary, SnapshotError> {
    let table_dir = dir.join("tables");
    let file_dir = dir.join("files");
    for d in [&table_dir, &file_dir] {
        std::fs::create_dir_all(d).map_err(|e| SnapshotError::io("create", d, e))?;
    }
    let export = tables::export(db, &table_dir, &|t: &TableCount| {
        progress(&format!("table {}: {} rows", t.table, t.rows))
    })
    .await?;
    let mut manifest_tables = Vec::new();
    for count in &export.tables {
        let (sha256, bytes) = sum_file(&tables::table_file(&table_dir, &count.table))?;
        manifest_tables.push(ManifestTable {
            name: count.table.clone(),
            rows: count.rows,
            bytes,
            sha256,
        });
    }
    let stored = files.list().await?;
    let mut manifest_files = Vec::new();
    for (n, sha256) in stored.iter().enumerate() {
        let content = files.read(sha256).await?;
        let path = file_dir.join(sha256);
        std::fs::write(&path, &content).map_err(|e| SnapshotError::io("write", &path, e))?;
        manifest_files.push(ManifestFile {
            sha256: sha256.clone(),
            bytes: content.len() as u64,
        });
        if (n + 1) % 100 == 0 || n + 1 == stored.len() {
            progress(&format!("files: {} of {}", n + 1, stored.len()));
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        schema_version: export.schema_version,
        created_at: Utc::now(),
        source_backend: backend_name(backend).into(),
        opsward_version: env!("CARGO_PKG_VERSION").into(),
        tables: manifest_tables,
        last_ids: export.last_ids,
        files: manifest_files,
    };
    let path = dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    std::fs::write(&path, text).map_err(|e| SnapshotError::io("write", &path, e))?;
    Ok(BackupSummary {
        location: dir.to_path_buf(),
        schema_version: manifest.schema_version,
        source_backend: manifest.source_backend,
        tables: manifest.tables.len(),
        rows: manifest.tables.iter().map(|t| t.rows).sum(),
        files: manifest.files.len(),
        file_bytes: manifest.files.iter().map(|f| f.bytes).sum(),
    })
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn sum_file(path: &Path) -> Result<(String, u64), SnapshotError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| SnapshotError::Damaged(format!("cannot open {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher)
        .map_err(|e| SnapshotError::Damaged(format!("cannot read {}: {e}", path.display())))?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Restore the snapshot at `from` into the empty database `settings` names and the file
/// store `files` (the local directory or the S3 bucket the configuration names). Every sum is checked before anything is written; the tables go
/// in in one transaction. The database is then migrated to this opsward's schema.
pub async fn restore(
    settings: &StoreSettings,
    files: &AttachmentStore,
    from: &Path,
    progress: Progress<'_>,
) -> Result<RestoreSummary, SnapshotError> {
    let unpacked;
    let dir = if from.is_file() {
        progress("unpacking the archive");
        unpacked = crate::backup_archive::unpack(from)?;
        unpacked.path().to_path_buf()
    } else if from.is_dir() {
        from.to_path_buf()
    } else {
        return Err(SnapshotError::Io(format!(
            "{} does not exist",
            from.display()
        )));
    };
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(|_| {
        SnapshotError::Damaged(format!(
            "{} has no manifest.json: not a backup, or one cut short",
            from.display()
        ))
    })?;
    let manifest = parse_manifest(&text)?;
    if manifest.schema_version > tables::latest_schema_version() {
        return Err(SnapshotError::Refused(format!(
            "the snapshot has schema version {}, newer than this opsward's {}: restore it with \
             the opsward that made it, or a newer one",
            manifest.schema_version,
            tables::latest_schema_version()
        )));
    }
    verify(&dir, &manifest, progress)?;
    let db = tables::open_target(settings, manifest.schema_version).await?;
    tables::check_empty(&db).await?;
    let store = files.clone().with_max_bytes(u64::MAX);
    for (n, file) in manifest.files.iter().enumerate() {
        let content = std::fs::read(dir.join("files").join(&file.sha256))
            .map_err(|e| SnapshotError::Damaged(format!("file {}: {e}", file.sha256)))?;
        if store.save(&content).await? != file.sha256 {
            return Err(SnapshotError::Damaged(format!(
                "file {} changed",
                file.sha256
            )));
        }
        if (n + 1) % 100 == 0 || n + 1 == manifest.files.len() {
            progress(&format!(
                "files: {} of {} restored",
                n + 1,
                manifest.files.len()
            ));
        }
    }
    let expected: Vec<TableCount> = manifest
        .tables
        .iter()
        .map(|t| TableCount {
            table: t.name.clone(),
            rows: t.rows,
        })
        .collect();
    let counts = tables::import(
        &db,
        &dir.join("tables"),
        &expected,
        &manifest.last_ids,
        &|t: &TableCount| progress(&format!("table {}: {} rows restored", t.table, t.rows)),
    )
    .await?;
    let store = opsward_store::connect(settings).await?;
    let now = tables::schema_version(&store.database()).await?;
    Ok(RestoreSummary {
        from: from.to_path_buf(),
        source_backend: manifest.source_backend,
        created_at: manifest.created_at,
        schema_version: manifest.schema_version,
        schema_version_now: now,
        rows: counts.iter().map(|t| t.rows).sum(),
        files: manifest.files.len(),
        file_bytes: manifest.files.iter().map(|f| f.bytes).sum(),
        tables: counts,
    })
}

/// Check every table file and stored file against the manifest's sums and sizes.
fn verify(dir: &Path, manifest: &Manifest, progress: Progress<'_>) -> Result<(), SnapshotError> {
    progress("checking sums");
    for table in &manifest.tables {
        let (sha256, bytes) = sum_file(&tables::table_file(&dir.join("tables"), &table.name))?;
        if sha256 != table.sha256 || bytes != table.bytes {
            return Err(SnapshotError::Damaged(format!(
                "table {} does not match its sum",
                table.name
            )));
        }
    }
    for file in &manifest.files {
        let (sha256, bytes) = sum_file(&dir.join("files").join(&file.sha256))?;
        if sha256 != file.sha256 || bytes != file.bytes {
            return Err(SnapshotError::Damaged(format!(
                "file {} does not match its sum",
                file.sha256
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_manifest_is_read_or_refused(text in ".*") {
            let _ = parse_manifest(text.as_bytes());
        }

        #[test]
        fn manifests_with_odd_names_are_refused(name in ".*", sum in ".*", rows in any::<u64>()) {
            let manifest = serde_json::json!({
                "format": FORMAT, "format_version": 1, "schema_version": 1,
                "created_at": "2026-01-01T00:00:00Z", "source_backend": "sqlite",
                "opsward_version": "0", "last_ids": {},
                "tables": [{"name": name, "rows": rows, "bytes": 1, "sha256": sum}],
                "files": [{"sha256": sum, "bytes": 1}],
            });
            if let Ok(m) = parse_manifest(manifest.to_string().as_bytes()) {
                prop_assert!(is_identifier(&m.tables[0].name));
                prop_assert!(is_sha256(&m.files[0].sha256));
            }
        }
    }

    #[test]
    fn a_newer_format_is_refused_not_called_damaged() {
        let manifest = serde_json::json!({
            "format": FORMAT, "format_version": 2, "schema_version": 1,
            "created_at": "2026-01-01T00:00:00Z", "source_backend": "sqlite",
            "opsward_version": "0", "last_ids": {}, "tables": [], "files": [],
        });
        let err = parse_manifest(manifest.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, SnapshotError::Refused(_)), "{err}");
        assert!(matches!(
            parse_manifest(b"{\"format\": \"zip\"}"),
            Err(SnapshotError::Damaged(_))
        ));
    }
}
