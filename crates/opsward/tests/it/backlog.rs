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
