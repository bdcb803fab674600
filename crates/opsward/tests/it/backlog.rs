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
