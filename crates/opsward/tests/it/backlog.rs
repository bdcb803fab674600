//! `opsward backlog` as users run it, on both backends.

use crate::{both_backends, Env};
use serde_json::Value;

both_backends!(backlog_add_list_show_update, |env: Env| async move {
    env.ok(&[
        "person",
        "add",
        "--name",
        "Ann",
        "--email",
        "ann@example.com",
    ]);
    let first: Value = serde_json::from_str(&env.ok(&[
        "-o",
        "json",
        "backlog",
        "add",
        "--type",
        "problem",
        "--title",
        "db-01 disk almost full",
        "--impact",
        "1",
        "--urgency",
        "1",
        "--assignee",
        "ann@example.com",
    ]))
    .unwrap();
    assert_eq!(first["priority"], "P1");
    let id = first["id"].as_i64().unwrap().to_string();

    let second = env.run(
        &[
            "backlog",
            "add",
            "--type",
            "incident",
            "--title",
            "Disk full on db-01",
        ],
        "",
    );
    assert!(second.status.success());
    let warning = String::from_utf8_lossy(&second.stderr);
    assert!(
        warning.contains(&format!(
            "possible duplicate: #{id} [new] db-01 disk almost full"
        )),
        "{warning}"
    );

    let listed = env.ok(&["-o", "csv", "backlog", "list", "--type", "incident"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("Disk full on db-01"));
    let found = env.ok(&["-o", "csv", "backlog", "list", "-q", "almost"]);
    assert!(found.contains("db-01 disk almost full") && !found.contains("Disk full on"));

    let refused = env.run(&["backlog", "update", &id, "--state", "closed"], "");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("allowed next states are triaged"));

    env.ok(&[
        "backlog",
        "update",
        &id,
        "--state",
        "triaged",
        "--comment",
        "on it",
    ]);
    let moved: Value = serde_json::from_str(&env.ok(&[
        "-o",
        "json",
        "backlog",
        "update",
        &id,
        "--state",
        "in_progress",
        "--assignee",
        "none",
    ]))
    .unwrap();
    assert_eq!(moved["state"], "in_progress");
    assert!(moved["assignee_person_id"].is_null());
    let shown = env.ok(&["backlog", "show", &id]);
    assert!(
        shown.contains("in_progress") && shown.contains("on it"),
        "{shown}"
    );
});

both_backends!(backlog_import_export_and_versions, |env: Env| async move {
    let mapping = env.write(
        "jira.json",
        r#"{"title": "Summary", "item_type": "Issue Type", "urgency": "Priority", "impact": null,
            "tags": "Labels", "description": "Description", "types": {"Bug": "problem", "Story": "improvement"}}"#,
    );
    let bad = env.write(
        "bad.csv",
        "Summary,Issue Type,Priority,Labels,Description\nLogin slow,Bug,High,auth,\n,Bug,Low,,\nPortal,Epic,Low,,\n",
    );
    let refused = env.run(
        &[
            "backlog",
            "import",
            bad.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("bad.csv:3: title:"), "{stderr}");
    assert!(
        stderr.contains("bad.csv:4: item_type: \"Epic\""),
        "{stderr}"
    );
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert_eq!(
        env.ok(&["-o", "csv", "backlog", "list"]).lines().count(),
        1,
        "header only"
    );

    let good = env.write(
        "good.csv",
        "Summary,Issue Type,Priority,Labels,Description\nLogin slow,Bug,High,auth,\nSelf-service reset,Story,Low,auth;ux,\n",
    );
    let dry = env.run(
        &[
            "backlog",
            "import",
            good.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--dry-run",
        ],
        "",
    );
    assert!(dry.status.success());
    assert_eq!(env.ok(&["-o", "csv", "backlog", "list"]).lines().count(), 1);
    env.ok(&[
        "backlog",
        "import",
        good.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    let exported = env.ok(&["backlog", "export"]);
    assert!(exported.starts_with("id,item_type,title"), "{exported}");
    assert_eq!(exported.lines().count(), 3);
    let json: Value =
        serde_json::from_str(&env.ok(&["backlog", "export", "--format", "json"])).unwrap();
    assert_eq!(json[1]["tags"], serde_json::json!(["auth", "ux"]));
    // The export imports again.
    let again = env.write("again.csv", &exported);
    env.ok(&["backlog", "import", again.to_str().unwrap()]);
    assert_eq!(env.ok(&["-o", "csv", "backlog", "list"]).lines().count(), 5);

    // Optimistic versions from the CLI: based on version 1 after it moved to 2.
    env.ok(&[
        "backlog",
        "update",
        "1",
        "--title",
        "Login slow after 09:00",
        "--based-on-version",
        "1",
    ]);
    let stale = env.run(
        &[
            "backlog",
            "update",
            "1",
            "--title",
            "Overwrite",
            "--based-on-version",
            "1",
        ],
        "",
    );
    assert_eq!(stale.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("changed by someone else"));
    let shown = env.ok(&["backlog", "show", "1"]);
    assert!(
        shown.contains("Login slow after 09:00") && shown.contains("resolve"),
        "{shown}"
    );
});

/// The item of `backlog show` (the SLA clocks and comments follow it).
fn first_json(out: &str) -> Value {
    serde_json::Deserializer::from_str(out)
        .into_iter::<Value>()
        .next()
        .expect("a JSON value")
        .expect("valid JSON")
}

both_backends!(
    backlog_bulk_filters_files_watch_review_charts,
    |env: Env| async move {
        let add = |title: &str| -> String {
            let item: Value = serde_json::from_str(&env.ok(&[
                "-o", "json", "backlog", "add", "--type", "problem", "--title", title,
            ]))
            .unwrap();
            item["id"].as_i64().unwrap().to_string()
        };
        let a = add("Cron mails root");
        let b = add("Cron job overlaps");
        let c = add("Stale DNS record");

        // The bulk edit: both or neither.
        let ids = format!("{a},{b}");
        let bulk = env.ok(&[
            "-o", "csv", "backlog", "update", "--ids", &ids, "--state", "triaged", "--tag", "cron",
        ]);
        assert_eq!(bulk.lines().count(), 3, "{bulk}");
        let refused = env.run(
            &[
                "backlog",
                "update",
                "--ids",
                &format!("{a},{c}"),
                "--state",
                "in_progress",
            ],
            "",
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains(&format!("item {c}:")));
        let shown: Value = first_json(&env.ok(&["-o", "json", "backlog", "show", &a]));
        assert_eq!(
            shown["state"], "triaged",
            "the refused batch changed nothing"
        );

        // A shared saved filter, applied by name.
        env.ok(&[
            "backlog", "filter", "save", "cron", "-q", "cron", "--state", "triaged",
        ]);
        let listed = env.ok(&["-o", "csv", "backlog", "list", "--filter", "cron"]);
        assert_eq!(listed.lines().count(), 3, "{listed}");
        assert!(!listed.contains("Stale DNS"));
        assert!(env.ok(&["backlog", "filter", "list"]).contains("cron"));
        let unknown = env.run(&["backlog", "list", "--filter", "nope"], "");
        assert_eq!(unknown.status.code(), Some(2));

        // Files: attach, list, download intact, detach.
        let log = env.write("cron.log", "overlap at 02:00\n");
        let attached: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "backlog",
            "attach",
            &a,
            log.to_str().unwrap(),
        ]))
        .unwrap();
        let file_id = attached[0]["id"].as_i64().unwrap().to_string();
        assert!(env.ok(&["backlog", "attachments", &a]).contains("cron.log"));
        let copy = log.with_file_name("copy.log");
        env.ok(&[
            "backlog",
            "download",
            &file_id,
            "--out",
            copy.to_str().unwrap(),
        ]);
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            "overlap at 02:00\n"
        );
        env.ok(&["backlog", "detach", &file_id]);
        assert!(!env.ok(&["backlog", "attachments", &a]).contains("cron.log"));

        // Watching for a user account.
        env.run(
            &[
                "user",
                "add",
                "--username",
                "ana",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(env
            .ok(&["backlog", "watch", &a, "--user", "ana"])
            .contains("ana"));
        assert!(!env
            .ok(&["backlog", "unwatch", &a, "--user", "ana"])
            .contains("ana"));

        // The review: items to decide on exit with 1; decisions need a review activity.
        let review = env.run(&["-o", "csv", "backlog", "review"], "");
        assert_eq!(review.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&review.stdout).contains("unowned"));
        let decisions = env.write(
        "decisions.json",
        &format!(r#"{{"decisions": [{{"item_id": {c}, "decision": "merge", "into": {a}}}, {{"item_id": {b}, "decision": "reprioritise", "impact": 1, "urgency": 1}}]}}"#),
    );
        let no_activity = env.run(
            &["backlog", "review", "--apply", decisions.to_str().unwrap()],
            "",
        );
        assert_eq!(no_activity.status.code(), Some(2));
        env.ok(&[
            "activity",
            "add",
            "--template",
            "backlog-review",
            "--start",
            "2026-01-01T00:00",
            "--rrule",
            "FREQ=DAILY",
        ]);
        let applied = env.run(
            &[
                "-o",
                "json",
                "backlog",
                "review",
                "--apply",
                decisions.to_str().unwrap(),
            ],
            "",
        );
        assert!(
            applied.status.success(),
            "{}",
            String::from_utf8_lossy(&applied.stderr)
        );
        assert!(
            String::from_utf8_lossy(&applied.stderr).contains("2 decisions applied; evidence #")
        );
        let merged: Value = first_json(&env.ok(&["-o", "json", "backlog", "show", &c]));
        assert_eq!(merged["state"], "closed");

        let weeks = env.ok(&["-o", "csv", "backlog", "charts", "--weeks", "2"]);
        let last = weeks.lines().last().unwrap().to_string();
        // open 2 (a, b), new 0, triaged 2, ..., closed 1, resolved this week 1 (the merge).
        assert!(last.contains(",2,0,2,0,0,0,1,1,"), "{weeks}");
    }
);

// `opsward backlog auto-items run|list`: a failed resilience test opens one item, however
// often it runs; exit code 1 while a condition holds; `[backlog_auto]` in the config file
// turns a source off.
both_backends!(auto_items_from_the_cli, |env: Env| async move {
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
        "--rrule",
        "FREQ=DAILY",
        "--start",
        &first,
        "-o",
        "json",
    ]))
    .unwrap();
    let id = added["id"].as_i64().unwrap().to_string();
    let nothing = env.run(&["backlog", "auto-items", "run"], "");
    assert_eq!(nothing.status.code(), Some(0), "{nothing:?}");
    env.ok(&[
        "resilience",
        "measure",
        "result",
        &id,
        "--result",
        "failed",
        "--notes",
        "sdb1 gone",
    ]);

    for round in 0..2 {
        let run = env.run(&["-o", "json", "backlog", "auto-items", "run"], "");
        assert_eq!(run.status.code(), Some(1), "a condition holds: {run:?}");
        let sources: Vec<Value> = serde_json::from_slice(&run.stdout).unwrap();
        let resilience = sources
            .iter()
            .find(|s| s["source"] == "resilience_test")
            .unwrap();
        assert_eq!(resilience["conditions"], 1);
        assert_eq!(resilience["opened"], if round == 0 { 1 } else { 0 });
    }
    let listed = env.run(
        &["-o", "csv", "backlog", "auto-items", "list", "--active"],
        "",
    );
    assert_eq!(listed.status.code(), Some(1));
    let csv = String::from_utf8(listed.stdout).unwrap();
    assert!(
        csv.starts_with("item_id,source,source_key,active,label,link"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains(&format!(
            ",resilience_test,resilience_measure:{id},true,resilience measure Mirror on db-01,/resilience/{id},"
        )),
        "{csv}"
    );
    let items = env.ok(&["-o", "csv", "backlog", "list"]);
    assert_eq!(items.lines().count(), 2, "one item: {items}");
    assert!(
        items.contains("Resilience test failed: Mirror on db-01"),
        "{items}"
    );

    let config = env.write("auto.toml", "[backlog_auto]\nresilience_tests = false\n");
    let off = env.run(
        &[
            "--config",
            config.to_str().unwrap(),
            "-o",
            "json",
            "backlog",
            "auto-items",
            "run",
        ],
        "",
    );
    assert_eq!(off.status.code(), Some(0), "{off:?}");
    let sources: Vec<Value> = serde_json::from_slice(&off.stdout).unwrap();
    assert!(
        sources.iter().all(|s| s["source"] != "resilience_test"),
        "{sources:?}"
    );
    let bad = env.write("bad.toml", "[backlog_auto]\ninterval_minutes = 0\n");
    let refused = env.run(
        &[
            "--config",
            bad.to_str().unwrap(),
            "backlog",
            "auto-items",
            "run",
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(2));
    let unknown = env.run(&["backlog", "auto-items", "list", "--source", "nope"], "");
    assert_eq!(unknown.status.code(), Some(2));
});
