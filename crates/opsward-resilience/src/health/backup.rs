//! Backup freshness: the newest file under a backup directory must be recent enough and
//! large enough. Symbolic links are not followed (no loops, no escaping the directory).

use super::{Report, Verdict};
use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

/// Deepest directory level searched below the root.
pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct Newest {
    pub path: PathBuf,
    pub size: u64,
    pub modified: SystemTime,
}

/// The most recently modified regular file under `root`, and how many files were seen.
/// Unreadable entries are counted and skipped, not fatal.
pub fn newest_file(root: &Path) -> std::io::Result<(Option<Newest>, usize, usize)> {
    let mut newest: Option<Newest> = None;
    let (mut files, mut unreadable) = (0, 0);
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    std::fs::read_dir(root)?; // a missing or unreadable root is an error, not "no backups"
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            unreadable += 1;
            continue;
        };
        for entry in entries {
            let Ok(entry) = entry else {
                unreadable += 1;
                continue;
            };
            let Ok(meta) = entry.path().symlink_metadata() else {
                unreadable += 1;
                continue;
            };
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((entry.path(), depth + 1));
                }
            } else if meta.is_file() {
                files += 1;
                let Ok(modified) = meta.modified() else {
                    continue;
                };
                if newest.as_ref().is_none_or(|n| modified > n.modified) {
                    newest = Some(Newest {
                        path: entry.path(),
                        size: meta.len(),
                        modified,
                    });
                }
            }
        }
    }
    Ok((newest, files, unreadable))
}

/// Passed when the newest file is at most `max_age` old and at least `min_size` bytes.
pub fn check(root: &Path, max_age: Duration, min_size: u64, now: SystemTime) -> Report {
    let mut findings = Vec::new();
    let verdict = match newest_file(root) {
        Err(e) => {
            findings.push(format!("cannot read {}: {e}", root.display()));
            Verdict::Failed
        }
        Ok((None, _, unreadable)) => {
            findings.push(format!(
                "no files under {} ({unreadable} unreadable entries)",
                root.display()
            ));
            Verdict::Failed
        }
        Ok((Some(n), files, unreadable)) => {
            let age = now.duration_since(n.modified).unwrap_or_default();
            findings.push(format!(
                "newest of {files} files: {} ({} bytes, {:.1} h old)",
                n.path.display(),
                n.size,
                age.as_secs_f64() / 3600.0
            ));
            if unreadable > 0 {
                findings.push(format!("{unreadable} entries could not be read"));
            }
            let mut v = Verdict::Passed;
            if age > max_age {
                findings.push(format!(
                    "older than the allowed {:.1} h",
                    max_age.as_secs_f64() / 3600.0
                ));
                v = Verdict::Failed;
            }
            if n.size < min_size {
                findings.push(format!("smaller than the expected {min_size} bytes"));
                v = Verdict::Failed;
            }
            v
        }
    };
    Report {
        check: "backup".into(),
        verdict,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: usize, age: Duration) {
        std::fs::write(path, vec![b'b'; bytes]).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn newest_file_decides() {
        let dir = tempfile_dir();
        let hour = Duration::from_secs(3600);
        std::fs::create_dir_all(dir.join("db/2026")).unwrap();
        touch(&dir.join("db/2026/old.dump"), 5000, 50 * hour);
        touch(&dir.join("db/2026/new.dump"), 5000, 2 * hour);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&dir, dir.join("db/loop")).unwrap();
        let now = SystemTime::now();
        let ok = check(&dir, 26 * hour, 1000, now);
        assert_eq!(ok.verdict, Verdict::Passed, "{ok:?}");
        assert!(ok.findings[0].contains("new.dump"));
        assert_eq!(
            check(&dir, hour, 1000, now).verdict,
            Verdict::Failed,
            "too old"
        );
        assert_eq!(
            check(&dir, 26 * hour, 10_000, now).verdict,
            Verdict::Failed,
            "too small"
        );
        assert_eq!(
            check(&dir.join("missing"), hour, 0, now).verdict,
            Verdict::Failed
        );
        let empty = dir.join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(check(&empty, hour, 0, now).verdict, Verdict::Failed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "opsward-backup-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
