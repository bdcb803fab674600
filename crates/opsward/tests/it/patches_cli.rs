//! `opsward patch approve|rings|runs` on the database, with a real server for the agent's side.

use crate::{both_backends, Env};
use opsward_core::Actor;
use opsward_patches::store::PatchStore;
use serde_json::{json, Value};

fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&env.ok(&all)).unwrap()
}

both_backends!(approve_rings_and_runs_from_the_cli, |env: Env| async move {
    let server = env.serve();
    let token = env.ok(&["patch", "enrollment-token", "--name", "fleet"]);
    let client = reqwest::Client::new();
    let enrolled: Value = client
        .post(server.url("/api/v1/patches/enroll"))
        .json(&json!({"token": token.trim(), "hostname": "web-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host_id = enrolled["host_id"].as_i64().unwrap();
    let credential = enrolled["credential"].as_str().unwrap().to_string();

    // Rings and the host's assignment straight in the database the CLI uses.
    let url = env.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite:{}",
            env.dir.path().join("data/opsward.db").display()
        )
    });
    let store = opsward_store::connect(&opsward_store::StoreSettings::new(url))
        .await
        .unwrap();
    let patches = PatchStore::new(store.as_ref());
    let actor = Actor::system("test");
    let mut ids = Vec::new();
    for (name, position, tz) in [("broad", 2, "UTC"), ("canary", 1, "Europe/Berlin")] {
        let input = serde_json::from_value(json!({"name": name, "position": position, "soak_hours": 24,
            "window": {"rrule": "FREQ=WEEKLY;BYDAY=TU", "starts_local": "2026-01-06T02:00:00", "timezone": tz, "minutes": 120}}))
            .unwrap();
        ids.push(patches.create_ring(&actor, &input).await.unwrap().id);
    }
    patches
        .assign_ring(&actor, host_id, Some(ids[1]))
        .await
        .unwrap();

    // Rings in rollout order, the next window in the ring's own zone, the hosts.
    let rings = json_of(&env, &["patch", "rings"]);
    assert_eq!(rings[0]["name"], "canary");
    assert_eq!(rings[0]["hosts"], "web-01");
    assert_eq!(rings[0]["soak_hours"], 24);
    let next = rings[0]["next_window"].as_str().unwrap();
    assert!(next.contains("T02:00:00+0"), "Berlin local 02:00: {next}");
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    assert_eq!(chrono::Datelike::weekday(&next), chrono::Weekday::Tue);
    assert_eq!(rings[1]["name"], "broad");
    assert_eq!(rings[1]["hosts"], "");
    assert!(rings[1]["next_window"]
        .as_str()
        .unwrap()
        .ends_with("T02:00:00+00:00"));
    let csv = env.ok(&["patch", "rings", "-o", "csv"]);
    assert!(csv.starts_with(
        "id,name,position,soak_hours,rrule,timezone,window_minutes,next_window,open_now,hosts,reboot_policy\n"
    ));

    // Approve by ring name: the operator is the actor, and the audit log says so.
    let approval = json_of(
        &env,
        &["patch", "approve", "--ring", "canary", "openssl", "curl"],
    );
    assert_eq!(approval["ring"], "canary");
    assert_eq!(approval["packages"], "openssl curl");
    assert_eq!(approval["state"], "approved");
    assert_eq!(approval["approved_by"], crate::cli_actor().as_str());
    assert_eq!(approval["reboot"], "never", "the ring's policy");
    let approval_id = approval["id"].as_i64().unwrap();
    let stored = patches.list_approvals().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].ring_id, ids[1]);
    assert_eq!(stored[0].packages, ["openssl", "curl"]);
    let audit = json_of(&env, &["audit", "--entity-type", "patch_approval"]);
    assert_eq!(audit[0]["action"], "approve");
    assert_eq!(audit[0]["actor"], crate::cli_actor().as_str());
    assert_eq!(audit[0]["entity_id"], approval_id);

    // Usage and operational errors exit 2 and change nothing.
    let too_long = "x".repeat(201);
    for args in [
        &["patch", "approve", "--ring", "nosuch", "openssl"][..],
        &["patch", "approve", "--ring", "canary"][..],
        &["patch", "approve", "--ring", "canary", &too_long][..],
        &["patch", "approve", "--ring", "canary", "a;reboot"][..],
        &[
            "patch", "approve", "--ring", "canary", "--reboot", "always", "bash",
        ][..],
    ] {
        let out = env.run(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = env.run(&["patch", "approve", "--ring", "nosuch", "openssl"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("canary"));
    assert_eq!(patches.list_approvals().await.unwrap().len(), 1);

    // An approval with its own reboot policy; the ring's stays.
    let rebooting = json_of(
        &env,
        &[
            "patch",
            "approve",
            "--ring",
            "broad",
            "--reboot",
            "if-required",
            "bash",
        ],
    );
    assert_eq!(rebooting["reboot"], "if-required");
    let stored = patches.list_approvals().await.unwrap();
    assert_eq!(
        stored[0].reboot_policy,
        Some(opsward_patches::reboot::RebootPolicy::IfRequired)
    );
    assert_eq!(
        json_of(&env, &["patch", "rings"])[1]["reboot_policy"],
        "never"
    );

    // No runs yet: an empty list, exit 0.
    assert_eq!(json_of(&env, &["patch", "runs"]), json!([]));

    // The agent reports a failed run; `patch runs` shows it and exits 1.
    let now = chrono::Utc::now();
    let reported = client
        .post(server.url("/api/v1/patches/agent/runs"))
        .header("X-Opsward-Host", &credential)
        .json(&json!({"approval_id": approval_id, "run": {
            "command": ["apt-get", "install", "--only-upgrade", "openssl", "curl"],
            "started_at": now, "finished_at": now, "exit_code": 100, "output": "E: broken",
            "upgraded": [{"name": "openssl", "arch": "amd64", "from_version": "3.0.1", "to_version": "3.0.2"}],
            "reboot_required": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(reported.status(), 201, "{}", reported.text().await.unwrap());
    let out = env.run(&["patch", "runs", "-o", "json"], "");
    assert_eq!(out.status.code(), Some(1));
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["hostname"], "web-01");
    assert_eq!(runs[0]["exit_code"], 100);
    assert_eq!(runs[0]["succeeded"], false);
    assert_eq!(runs[0]["approved_by"], crate::cli_actor().as_str());
    assert_eq!(runs[0]["upgraded"], "openssl 3.0.1 -> 3.0.2");
    let filtered = env.run(&["patch", "runs", "--host", "db-", "-o", "json"], "");
    assert_eq!(filtered.status.code(), Some(0));
    assert_eq!(
        serde_json::from_slice::<Value>(&filtered.stdout).unwrap(),
        json!([])
    );
    let table = env.run(&["patch", "runs", "--host", "web"], "");
    assert_eq!(table.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&table.stdout).contains("web-01"));
});
