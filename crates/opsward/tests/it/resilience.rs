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
