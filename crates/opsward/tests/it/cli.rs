use crate::{both_backends, Env, BIN};
use serde_json::Value;

#[test]
fn help_explains_commands_and_exit_codes() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "serve",
        "asset",
        "Exit codes",
        "OPSWARD_DATABASE_URL",
        "--output",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    let usage = std::process::Command::new(BIN)
        .args(["asset", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

both_backends!(asset_commands_and_output_formats, |env: Env| async move {
    env.ok(&["team", "add", "--name", "ops", "--email", "ops@example.com"]);
    env.ok(&[
        "person",
        "add",
        "--name",
        "Ann",
        "--email",
        "ann@example.com",
        "--team",
        "ops",
    ]);
    env.ok(&[
        "asset",
        "add",
        "--name",
        "web-01",
        "--kind",
        "host",
        "--criticality",
        "high",
        "--owner",
        "team:ops",
        "--tag",
        "web",
        "--tag",
        "linux",
    ]);
    env.ok(&[
        "asset",
        "add",
        "--name",
        "api",
        "--kind",
        "service",
        "--owner",
        "person:ann@example.com",
    ]);

    let json: Value = serde_json::from_str(&env.ok(&["asset", "list", "-o", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["tags"], serde_json::json!(["linux", "web"]));
    let csv = env.ok(&["asset", "list", "--kind", "host", "--output", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,name,kind,environment,criticality,tags")
    );
    assert!(lines
        .next()
        .unwrap()
        .contains(",web-01,host,production,high,linux;web"));
    assert!(lines.next().is_none());
    let table = env.ok(&["asset", "list"]);
    assert!(table.starts_with("ID  NAME"), "{table}");

    let shown: Value =
        serde_json::from_str(&env.ok(&["asset", "show", "web-01", "-o", "json"])).unwrap();
    assert_eq!(shown["criticality"], "high");
    env.ok(&[
        "asset",
        "update",
        "web-01",
        "--criticality",
        "critical",
        "--owner",
        "none",
    ]);
    let shown: Value =
        serde_json::from_str(&env.ok(&["asset", "show", "web-01", "-o", "json"])).unwrap();
    assert_eq!(
        (
            shown["criticality"].as_str(),
            shown["owner_team_id"].as_i64()
        ),
        (Some("critical"), None)
    );

    let missing = env.run(&["asset", "show", "nope"], "");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no asset named"));
    let bad_kind = env.run(&["asset", "add", "--name", "x", "--kind", "server"], "");
    assert_eq!(bad_kind.status.code(), Some(2));

    env.ok(&["asset", "rm", "api"]);
    let audit: Value =
        serde_json::from_str(&env.ok(&["audit", "-o", "json", "--entity-type", "asset"])).unwrap();
    let actions: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create", "create"]);
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == crate::cli_actor().as_str()));
});

both_backends!(
    import_reports_lines_and_sets_exit_code,
    |env: Env| async move {
        let file = env.write(
        "assets.csv",
        "name,kind,environment,criticality\nweb-01,host,production,high\nbroken,hots,production,high\nweb-02,host,staging,critical\n",
    );
        let path = file.to_str().unwrap();
        let strict = env.run(&["asset", "import", "--strict", path], "");
        assert_eq!(strict.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&strict.stderr).contains("nothing imported"));
        assert_eq!(env.ok(&["asset", "list", "-o", "json"]).trim(), "[]");

        let lenient = env.run(&["asset", "import", path], "");
        assert_eq!(lenient.status.code(), Some(1), "rows were rejected");
        let stderr = String::from_utf8_lossy(&lenient.stderr);
        assert!(stderr.contains(&format!("{path}:3: kind:")), "{stderr}");
        let listed: Value =
            serde_json::from_str(&env.ok(&["asset", "list", "-o", "json"])).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 2);

        // Export, then import from standard input: nothing changes, exit code 0.
        let exported = env.ok(&["asset", "export"]);
        let again = env.run(&["asset", "import", "-", "-o", "json"], &exported);
        assert_eq!(again.status.code(), Some(0));
        let report: Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(report["unchanged"], 2);

        let not_csv = env.write("bad.csv", "colour,size\nred,big\n");
        let refused = env.run(&["asset", "import", not_csv.to_str().unwrap()], "");
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown column"));
    }
);

#[tokio::test]
async fn config_file_env_and_flags() {
    let env = Env::new(false).await;
    let file = env.write(
        "opsward.toml",
        "db_max_connections = 3\nlisten = \"127.0.0.1:1\"\n",
    );
    let out = env
        .command()
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let typo = env.write("typo.toml", "databse_url = \"x\"\n");
    let out = env
        .command()
        .args(["--config", typo.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("databse_url"));
    let out = env
        .command()
        .env("OPSWARD_DATABASE_URL", "mysql://nope")
        .arg("migrate")
        .output()
        .unwrap();
    // The environment's value is used, and refused with a clear message.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both_backends!(
    calendar_evidence_and_notifications_from_the_cli,
    |env: Env| async move {
        let activity: Value = serde_json::from_str(&env.ok(&[
            "activity",
            "add",
            "--template",
            "patch-window",
            "--start",
            "2026-11-11T22:00",
            "--timezone",
            "Europe/Berlin",
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(
            (activity["title"].as_str(), activity["rrule"].as_str()),
            (Some("Patch window"), Some("FREQ=MONTHLY;BYDAY=2WE"))
        );
        let id = activity["id"].to_string();

        // An overdue occurrence makes `calendar` exit 1, so cron jobs and monitors can act on it.
        let listed = env.run(
            &[
                "calendar",
                "--from",
                "2026-11-01",
                "--to",
                "2026-12-31",
                "-o",
                "json",
            ],
            "",
        );
        assert_eq!(listed.status.code(), Some(1));
        let occurrences: Value = serde_json::from_slice(&listed.stdout).unwrap();
        let first = occurrences[0]["starts_at"].as_str().unwrap().to_string();
        assert_eq!(first, "2026-11-11T21:00:00Z");

        let file = env.write("patched.txt", "web-01 patched\n");
        let done: Value = serde_json::from_str(&env.ok(&[
            "activity",
            "complete",
            &id,
            "--result",
            "passed",
            "--occurrence",
            &first,
            "--attach",
            file.to_str().unwrap(),
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(done["attachments"][0]["filename"], "patched.txt");
        let only_done: Value = serde_json::from_str(&env.ok(&[
            "calendar",
            "--from",
            "2026-11-01",
            "--to",
            "2026-12-01",
            "--state",
            "done",
            "-o",
            "json",
        ]))
        .unwrap();
        assert_eq!(only_done.as_array().unwrap().len(), 1);

        let zip = env.dir.path().join("evidence.zip");
        env.ok(&[
            "evidence",
            "export",
            "--zip",
            "--out",
            zip.to_str().unwrap(),
        ]);
        let bytes = std::fs::read(&zip).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let csv = env.ok(&["evidence", "export"]);
        assert!(
            csv.contains("Patch window") && csv.contains("patched.txt"),
            "{csv}"
        );

        env.ok(&[
            "notify",
            "channel-add",
            "--name",
            "hook",
            "--settings",
            r#"{"type":"webhook","url":"http://127.0.0.1:9/x","secret":"s"}"#,
        ]);
        let test = env.run(&["notify", "channel-test", "1"], "");
        assert_eq!(
            test.status.code(),
            Some(1),
            "a refused connection is reported as a failure"
        );
        let bad = env.run(
            &[
                "notify",
                "channel-add",
                "--name",
                "bad",
                "--settings",
                r#"{"type":"carrier-pigeon"}"#,
            ],
            "",
        );
        assert_eq!(bad.status.code(), Some(2));
    }
);
