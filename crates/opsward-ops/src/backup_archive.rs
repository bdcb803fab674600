//! Snapshots as one archive file, and the scheduled backup job with its retention.

use crate::{
    attachments::AttachmentStore,
    backup::{backup, SnapshotError},
};
use async_trait::async_trait;
use chrono::Utc;
use opsward_core::job::{Job, JobError, JobHandler, JobSpec};
use opsward_store::Store;
use serde::{Deserialize, Serialize};
use std::{
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

/// Write the snapshot directory `dir` as the tar archive `to` (gzip-compressed when `to`
/// ends in `.gz` or `.tgz`): first as `<to>.partial`, renamed once complete.
pub(crate) fn pack(dir: &Path, to: &Path) -> Result<(), SnapshotError> {
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let write = || -> std::io::Result<()> {
        let file = BufWriter::new(std::fs::File::create(&partial)?);
        let name = to.to_string_lossy();
        let out: Box<dyn Write> = if name.ends_with(".gz") || name.ends_with(".tgz") {
            Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            ))
        } else {
            Box::new(file)
        };
        let mut tar = tar::Builder::new(out);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.append_dir_all(".", dir)?;
        let mut out = tar.into_inner()?;
        out.flush()?;
        drop(out);
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, to)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        SnapshotError::io("write", to, e)
    })
}

/// Unpack an archive into a temporary directory (removed when dropped). A truncated or
/// otherwise unreadable archive is damaged.
pub(crate) fn unpack(archive: &Path) -> Result<tempfile::TempDir, SnapshotError> {
    let damaged = |e: std::io::Error| {
        SnapshotError::Damaged(format!("cannot unpack {}: {e}", archive.display()))
    };
    let mut file = BufReader::new(
        std::fs::File::open(archive).map_err(|e| SnapshotError::io("open", archive, e))?,
    );
    let mut magic = [0u8; 2];
    let gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(archive).map_err(|e| SnapshotError::io("open", archive, e))?;
    let input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let dir = tempfile::tempdir().map_err(|e| SnapshotError::Io(e.to_string()))?;
    // `unpack` refuses entries that would land outside `dir`.
    tar::Archive::new(input)
        .unpack(dir.path())
        .map_err(damaged)?;
    Ok(dir)
}

/// Remove all but the newest `keep` backups the scheduled job wrote into `dir`; returns
/// those removed. Other files are left alone.
pub fn prune(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut ours: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX) && n.ends_with(".tar.gz"))
        })
        .collect();
    // The names carry the UTC time as YYYYMMDDTHHMMSSZ: sorting by name sorts by age.
    ours.sort();
    let excess = ours.len().saturating_sub(keep.max(1));
    let removed: Vec<PathBuf> = ours.into_iter().take(excess).collect();
    for path in &removed {
        std::fs::remove_file(path)?;
    }
    Ok(removed)
}

const SCHEDULED_PREFIX: &str = "opsward-backup-";

/// The scheduled backup (`[backup]` in the configuration): off unless `dir` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSchedule {
    /// Where the scheduled backups go (`opsward-backup-<UTC time>.tar.gz`); unset: none.
    pub dir: Option<PathBuf>,
    /// How many to keep; older ones are removed after each new one.
    pub keep: usize,
    /// Hours between backups.
    pub every_hours: u64,
}

impl Default for BackupSchedule {
    fn default() -> Self {
        BackupSchedule {
            dir: None,
            keep: 7,
            every_hours: 24,
        }
    }
}

pub const JOB_KIND: &str = "maintenance.backup";

/// The recurring backup job, when a directory is configured.
pub fn scheduled_job(
    store: &Arc<dyn Store>,
    files: &AttachmentStore,
    schedule: &BackupSchedule,
) -> Option<JobSpec> {
    let dir = schedule.dir.clone()?;
    Some(JobSpec::every(
        JOB_KIND,
        chrono::Duration::hours(schedule.every_hours.max(1) as i64),
        ScheduledBackup {
            store: store.clone(),
            files: files.clone(),
            dir,
            keep: schedule.keep.max(1),
        },
    ))
}

struct ScheduledBackup {
    store: Arc<dyn Store>,
    files: AttachmentStore,
    dir: PathBuf,
    keep: usize,
}

#[async_trait]
impl JobHandler for ScheduledBackup {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        std::fs::create_dir_all(&self.dir)?;
        let name = format!(
            "{SCHEDULED_PREFIX}{}.tar.gz",
            Utc::now().format("%Y%m%dT%H%M%SZ")
        );
        let to = self.dir.join(name);
        let summary = backup(
            &self.store.database(),
            self.store.backend(),
            &self.files,
            &to,
            &|line: &str| tracing::debug!(%line, "backup"),
        )
        .await
        .map_err(|e| JobError::from(e.to_string()))?;
        let removed = prune(&self.dir, self.keep)?;
        tracing::info!(
            location = %summary.location.display(),
            rows = summary.rows,
            files = summary.files,
            removed = removed.len(),
            "backup written"
        );
        Ok(())
    }
}
