//! `opsward backup` and `opsward restore` as a user runs them, and the scheduled backup.

use crate::{both_backends, Env};
use serde_json::Value;
use std::time::{Duration, Instant};

both_backends!(
    backup_restores_on_the_other_backend,
    |env: Env| async move {
        env.ok(&["team", "add", "--name", "ops"]);
        env.ok(&[
            "asset", "add", "--name", "web-01", "--kind", "host", "--owner", "team:ops",
        ]);
        let archive = env.dir.path().join("backup.tar.gz");
        let archive = archive.to_str().unwrap();
        let summary: Value =
            serde_json::from_str(&env.ok(&["-o", "json", "backup", "--to", archive])).unwrap();
        assert!(summary["rows"].as_u64().unwrap() > 2, "{summary}");
        let again = env.run(&["backup", "--to", archive], "");
        assert_eq!(
            again.status.code(),
            Some(2),
            "an existing archive is not overwritten"
        );

        let target = Env::new(env.database_url.is_none()).await;
        let restored = target.run(&["restore", archive], "");
        assert!(
            restored.status.success(),
            "{}",
            String::from_utf8_lossy(&restored.stderr)
        );
        let table = String::from_utf8(restored.stdout).unwrap();
        assert!(
            table.contains("table assets") && table.contains("schema version"),
            "{table}"
        );
        let progress = String::from_utf8(restored.stderr).unwrap();
        assert!(progress.contains("checking sums"), "{progress}");
        assert!(target.ok(&["asset", "list"]).contains("web-01"));

        // The target is no longer empty: refused with exit code 1, and it stays as it is.
        let twice = target.run(&["restore", archive], "");
        assert_eq!(twice.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));
        // No such backup: the command cannot run.
        let missing = target.run(&["restore", "/nonexistent/backup.tar"], "");
        assert_eq!(missing.status.code(), Some(2));
        // A damaged archive: refused.
        let damaged = env.write("damaged.tar", "not a tar archive at all, just text");
        let fresh = Env::new(env.database_url.is_some()).await;
        let out = fresh.run(&["restore", damaged.to_str().unwrap()], "");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
);

#[test]
fn help_explains_backup_and_restore() {
    for (command, needles) in [
        ("backup", &["--to", "VACUUM INTO", "Exit codes", "keep"][..]),
        (
            "restore",
            &["empty", "PostgreSQL", "Exit codes", "1  refused"][..],
        ),
    ] {
        let out = std::process::Command::new(crate::BIN)
            .args([command, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for needle in needles {
            assert!(
                text.contains(needle),
                "{command} --help lacks {needle:?}:\n{text}"
            );
        }
    }
}

/// With `[backup] dir` set, the server writes a backup on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_writes_scheduled_backups() {
    let env = Env::new(false).await;
    let dir = env.dir.path().join("backups");
    let _server = env.serve_with_config(&format!(
        "[backup]\ndir = {:?}\nkeep = 2\nevery_hours = 24\n",
        dir.to_str().unwrap()
    ));
    let started = Instant::now();
    let written = loop {
        let found: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if let Some(done) = found
            .iter()
            .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        {
            break done.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no scheduled backup within 60 s: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let name = written.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("opsward-backup-"), "{name}");
    let target = Env::new(true).await;
    let out = target.run(&["restore", written.to_str().unwrap()], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
