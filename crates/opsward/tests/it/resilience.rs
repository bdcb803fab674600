//! `opsward resilience check ...` as an operator or a cron job runs it: the verdict as JSON,
//! exit codes scripts can rely on, and evidence recorded on the measure's calendar activity.

use crate::{both_backends, Env};
use serde_json::Value;

const DEGRADED_MDSTAT: &str = "Personalities : [raid1]
md0 : active raid1 sdb1[1](F) sda1[0]
      1046528 blocks super 1.2 [2/1] [U_]

unused devices: <none>
";

const HEALTHY_MDSTAT: &str = "Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      1046528 blocks super 1.2 [2/2] [UU]

unused devices: <none>
";

both_backends!(
    raid_checks_record_evidence_on_their_activity,
    |env: Env| async move {
        let healthy = env.write("mdstat-ok", HEALTHY_MDSTAT);
        let degraded = env.write("mdstat-bad", DEGRADED_MDSTAT);
        let ok = env.run(
            &[
                "resilience",
                "check",
                "mdstat",
                "--file",
                healthy.to_str().unwrap(),
                "-o",
                "json",
            ],
            "",
        );
        assert_eq!(ok.status.code(), Some(0));
        let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
        assert_eq!(report["verdict"], "passed");

        let first = (chrono::Utc::now() - chrono::Duration::days(2))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let activity: Value = serde_json::from_str(&env.ok(&[
            "activity",
            "add",
            "--title",
            "RAID check db-01",
            "--practice",
            "resilience",
            "--rrule",
            "FREQ=DAILY",
            "--start",
            &first,
            "-o",
            "json",
        ]))
        .unwrap();
        let id = activity["id"].as_i64().unwrap().to_string();
        let bad = env.run(
            &[
                "resilience",
                "check",
                "mdstat",
                "--file",
                degraded.to_str().unwrap(),
                "--activity",
                &id,
                "-o",
                "json",
            ],
            "",
        );
        assert_eq!(
            bad.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
        let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
        assert_eq!(report["verdict"], "failed");
        assert!(
            report["findings"][0]
                .as_str()
                .unwrap()
                .contains("failed members sdb1"),
            "{report}"
        );
        assert!(report["evidence_id"].is_i64());

        let evidence: Value = serde_json::from_str(&env.ok(&[
            "evidence",
            "list",
            "--practice",
            "resilience",
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(evidence[0]["result"], "failed");
        assert_eq!(evidence[0]["activity_id"].to_string(), id);
        assert!(
            evidence[0]["occurrence_at"].is_string(),
            "today's occurrence is completed: {evidence}"
        );
        assert!(
            evidence[0]["notes"].as_str().unwrap().contains("[U_]")
                || evidence[0]["notes"].as_str().unwrap().contains("U_")
        );
    }
);

#[test]
fn backup_and_restore_checks_and_bad_input() {
    let env = futures_free_env();
    let dir = env.dir.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("db.dump"), vec![0u8; 2048]).unwrap();
    let fresh = env.run(
        &[
            "resilience",
            "check",
            "backup",
            dir.to_str().unwrap(),
            "--max-age",
            "1h",
            "--min-size",
            "1000",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fresh.stdout)
    );
    let small = env.run(
        &[
            "resilience",
            "check",
            "backup",
            dir.to_str().unwrap(),
            "--min-size",
            "1000000",
        ],
        "",
    );
    assert_eq!(small.status.code(), Some(1));
    let restore = env.run(
        &[
            "resilience",
            "check",
            "restore",
            "--command",
            "echo 12 tables restored",
            "--expect",
            "12 tables",
            "-o",
            "json",
        ],
        "",
    );
    assert_eq!(restore.status.code(), Some(0));
    let garbage = env.write("mdstat-garbage", "md0 - what\n");
    let bad = env.run(
        &[
            "resilience",
            "check",
            "mdstat",
            "--file",
            garbage.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "unreadable input is an operational error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
    let unit = env.run(
        &[
            "resilience",
            "check",
            "backup",
            dir.to_str().unwrap(),
            "--max-age",
            "5 weeks",
        ],
        "",
    );
    assert_eq!(unit.status.code(), Some(2));
}

fn futures_free_env() -> Env {
    Env {
        dir: tempfile::tempdir().unwrap(),
        database_url: None,
    }
}

#[test]
#[allow(clippy::zombie_processes)] // killed and waited for at the end, whatever happens
fn the_monkey_from_the_command_line_respects_its_leash() {
    let env = futures_free_env();
    let mut victim = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let pidfile = env.write("victim.pid", &victim.id().to_string());
    let config = env.write(
        "monkey.toml",
        &format!(
            "[[windows]]\nstart = \"00:00\"\nend = \"00:00\"\n[[targets]]\nname = \"victim\"\nopt_in = true\nkind = \"pidfile\"\npidfile = \"{}\"\n",
            pidfile.display()
        ),
    );
    let dry: Value = serde_json::from_str(&env.ok(&[
        "resilience",
        "monkey",
        config.to_str().unwrap(),
        "--leashed",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(dry["outcome"], "leashed");
    assert_eq!(dry["faults"][0]["done"], false);
    assert!(
        victim.try_wait().unwrap().is_none(),
        "alive after a leashed run"
    );
    let real: Value = serde_json::from_str(&env.ok(&[
        "resilience",
        "monkey",
        config.to_str().unwrap(),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(real["faults"][0]["done"], true, "{real}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while victim.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the opted-in process was not killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = victim.kill();
    let _ = victim.wait();
    let bad = env.write("bad.toml", "probability = 7\n");
    assert_eq!(
        env.run(&["resilience", "monkey", bad.to_str().unwrap()], "")
            .status
            .code(),
        Some(2)
    );
}

/// A host without database access reports through the API with a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_reports_its_check_through_the_server() {
    let env = Env::new(false).await;
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "host-01",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = env.run(
        &["token", "create", "--username", "host-01", "--name", "cron"],
        "",
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let first = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let activity: Value = serde_json::from_str(&env.ok(&[
        "activity",
        "add",
        "--title",
        "RAID db-02",
        "--practice",
        "resilience",
        "--rrule",
        "FREQ=DAILY",
        "--start",
        &first,
        "-o",
        "json",
    ]))
    .unwrap();
    let id = activity["id"].to_string();
    let server = env.serve();
    let degraded = env.write("mdstat", DEGRADED_MDSTAT);
    let base = server.url("");
    // No database here: point the command at an unreachable one to prove it is not used.
    let out = bare()
        .args(["--database-url", "postgres://nobody@127.0.0.1:9/none"])
        .args([
            "resilience",
            "check",
            "mdstat",
            "--file",
            degraded.to_str().unwrap(),
            "--activity",
            &id,
            "-o",
            "json",
        ])
        .args(["--server", base.trim_end_matches('/')])
        .env("OPSWARD_TOKEN", &token)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["evidence_id"].is_i64(), "{report}");
    let evidence: Value = serde_json::from_str(&env.ok(&[
        "evidence",
        "list",
        "--practice",
        "resilience",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(evidence[0]["result"], "failed");
    assert!(evidence[0]["occurrence_at"].is_string(), "{evidence}");
    assert_eq!(evidence[0]["recorded_by"], "token:host-01/cron");

    let refused = bare()
        .args([
            "resilience",
            "check",
            "mdstat",
            "--file",
            degraded.to_str().unwrap(),
            "--activity",
            &id,
        ])
        .args([
            "--server",
            base.trim_end_matches('/'),
            "--token",
            "ow_wrong",
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The binary with none of the developer's or CI's OPSWARD_* settings.
fn bare() -> std::process::Command {
    let mut cmd = std::process::Command::new(crate::BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OPSWARD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The agent runs every check its file lists and reports each through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_runs_its_checks_and_reports_them() {
    let env = Env::new(false).await;
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "agent",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success());
    let token = env.run(
        &["token", "create", "--username", "agent", "--name", "db-03"],
        "",
    );
    let token_file = env.write(
        "agent.token",
        String::from_utf8(token.stdout).unwrap().trim(),
    );
    let first = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let mut ids = Vec::new();
    for title in ["RAID db-03", "Backups db-03"] {
        let a: Value = serde_json::from_str(&env.ok(&[
            "activity",
            "add",
            "--title",
            title,
            "--practice",
            "resilience",
            "--rrule",
            "FREQ=DAILY",
            "--start",
            &first,
            "-o",
            "json",
        ]))
        .unwrap();
        ids.push(a["id"].as_i64().unwrap());
    }
    let backups = env.dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::write(backups.join("db.dump"), vec![1u8; 4096]).unwrap();
    let mdstat = env.write("mdstat", DEGRADED_MDSTAT);
    let server = env.serve();
    let config = env.write(
        "agent.toml",
        &format!(
            "server = \"{}\"\ntoken_file = \"{}\"\n\n[[checks]]\nkind = \"mdstat\"\nfile = \"{}\"\nactivity = {}\nevery = \"1h\"\n\n[[checks]]\nkind = \"backup\"\ndir = \"{}\"\nmax_age = \"1d\"\nmin_size = 1000\nactivity = {}\nevery = \"6h\"\n",
            server.url("").trim_end_matches('/'),
            token_file.display(),
            mdstat.display(),
            ids[0],
            backups.display(),
            ids[1],
        ),
    );
    let out = bare()
        .args(["agent", config.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the RAID check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evidence: Value = serde_json::from_str(&env.ok(&[
        "evidence",
        "list",
        "--practice",
        "resilience",
        "-o",
        "json",
    ]))
    .unwrap();
    let mut results: Vec<(i64, String)> = evidence
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["activity_id"].as_i64().unwrap(),
                e["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    results.sort();
    assert_eq!(
        results,
        [
            (ids[0], "failed".to_string()),
            (ids[1], "passed".to_string())
        ]
    );

    let typo = env.write("typo.toml", "server = \"http://127.0.0.1:9\"\n[[checks]]\nkind = \"raid\"\nactivity = 1\nevery = \"1h\"\n");
    let refused = bare()
        .env("OPSWARD_TOKEN", "x")
        .args(["agent", typo.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown check kind"));
}

// `opsward resilience measure ...` with its `--output` forms and exit codes, and a RAID
// check recorded on the measure's activity becoming the measure's last result.
both_backends!(
    measures_are_registered_listed_and_judged_by_their_checks,
    |env: Env| async move {
        env.ok(&["team", "add", "--name", "storage"]);
        env.ok(&["asset", "add", "--name", "db-01", "--kind", "host"]);
        let first = (chrono::Utc::now() - chrono::Duration::days(3))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let added: Value = serde_json::from_str(&env.ok(&[
            "resilience",
            "measure",
            "add",
            "--asset",
            "db-01",
            "--kind",
            "raid",
            "--title",
            "Mirror on db-01",
            "--team",
            "storage",
            "--check",
            "mdstat",
            "--step",
            "Read /proc/mdstat",
            "--step",
            "Fail sdb1 with mdadm and watch the resync",
            "--rrule",
            "FREQ=DAILY",
            "--start",
            &first,
            "-o",
            "json",
        ]))
        .unwrap();
        let id = added["id"].as_i64().unwrap().to_string();
        let activity = added["activity_id"].as_i64().unwrap().to_string();
        assert_eq!(added["state"], "overdue", "{added}");
        assert_eq!(added["check"], "mdstat");

        // An overdue measure makes `list` exit 1 so cron can alert on it.
        let listed = env.run(&["resilience", "measure", "list", "-o", "csv"], "");
        assert_eq!(listed.status.code(), Some(1));
        let csv = String::from_utf8(listed.stdout).unwrap();
        assert!(csv.starts_with("id,asset_id,kind,title,state,"), "{csv}");
        assert!(csv.contains(",raid,Mirror on db-01,overdue,"), "{csv}");

        // The host check fails the RAID on the measure's activity...
        let degraded = env.write("mdstat-degraded", DEGRADED_MDSTAT);
        let check = env.run(
            &[
                "resilience",
                "check",
                "mdstat",
                "--file",
                degraded.to_str().unwrap(),
                "--activity",
                &activity,
                "-o",
                "json",
            ],
            "",
        );
        assert_eq!(
            check.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        // ...and the measure's last result is that failure.
        let shown: Value =
            serde_json::from_str(&env.ok(&["resilience", "measure", "show", &id, "-o", "json"]))
                .unwrap();
        assert_eq!(shown["status"]["state"], "failed", "{shown}");
        assert_eq!(shown["status"]["last_result"], "failed");
        assert!(
            shown["evidence"][0]["notes"]
                .as_str()
                .unwrap()
                .contains("mdstat"),
            "{shown}"
        );
        let failed: Value = serde_json::from_str(
            &String::from_utf8(
                env.run(
                    &[
                        "resilience",
                        "measure",
                        "list",
                        "--state",
                        "failed",
                        "-o",
                        "json",
                    ],
                    "",
                )
                .stdout,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(failed[0]["id"].to_string(), id);

        // A manual passed result after the repair; the table shows procedure and history.
        let result: Value = serde_json::from_str(&env.ok(&[
            "resilience",
            "measure",
            "result",
            &id,
            "--result",
            "passed",
            "--notes",
            "sdb replaced, resync done",
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(result["result"], "passed");
        let table = env.ok(&["resilience", "measure", "show", &id]);
        assert!(
            table.contains("2. Fail sdb1 with mdadm and watch the resync"),
            "{table}"
        );
        assert!(
            table.contains("sdb replaced, resync done") && table.contains("failed"),
            "{table}"
        );
        let ok = env.run(&["resilience", "measure", "list", "--asset", "db-01"], "");
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains(" ok "));

        let bad = env.run(
            &[
                "resilience",
                "measure",
                "add",
                "--asset",
                "db-01",
                "--kind",
                "tape",
                "--title",
                "x",
                "--start",
                &first,
            ],
            "",
        );
        assert_eq!(bad.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("raid"),
            "the choices are listed"
        );
    }
);
