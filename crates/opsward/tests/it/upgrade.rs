//! Upgrades: a database that an earlier opsward left at migration 0010 (the first schema
//! with all seven practices), filled the way that version wrote its rows, is upgraded by
//! `opsward migrate` to the current schema on each backend, and today's commands read every
//! row back; what later migrations derive from old rows (since when a host has waited for a
//! reboot) is derived.

use super::{both_backends, Env};
use serde_json::Value;

fn json(env: &Env, args: &[&str]) -> Value {
    let out = env.run(args, "");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "opsward {args:?}: {e}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

both_backends!(
    a_database_from_migration_0010_upgrades_with_its_data,
    |env: Env| async move {
        let url = match &env.database_url {
            Some(url) => url.clone(),
            None => {
                let data = env.dir.path().join("data");
                std::fs::create_dir_all(&data).unwrap();
                format!("sqlite:{}", data.join("opsward.db").display())
            }
        };
        opsward_store::migrate_up_to(&opsward_store::StoreSettings::new(&url), 10)
            .await
            .unwrap();
        opsward_testkit::run_sql_script(&url, include_str!("fixtures/schema_0010.sql")).await;

        env.ok(&["migrate"]);

        let asset = json(&env, &["asset", "show", "db-1", "-o", "json"]);
        assert_eq!(asset["owner"], "team dba", "{asset:#}");
        assert_eq!(asset["tags"], serde_json::json!(["postgres"]));
        assert_eq!(asset["description"], "Primary database");
        assert_eq!(asset["created_at"], "2026-01-05T09:00:00Z");
        let calendar = asset["facets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["title"] == "Calendar")
            .unwrap_or_else(|| panic!("{asset:#}"));
        assert_eq!(calendar["rows"][0]["cells"][0], "Restore test db-1");
        assert_eq!(calendar["rows"][0]["cells"][4], "passed on 2026-01-05");

        let backlog = json(&env, &["backlog", "list", "-o", "json"]);
        assert_eq!(backlog[0]["title"], "Replication lag after nightly vacuum");
        assert_eq!(backlog[0]["state"], "triaged");
        assert_eq!(
            backlog[0]["priority"], "P4",
            "priority is derived from impact 2 and urgency 3 by today's matrix"
        );

        let evidence = json(&env, &["evidence", "list", "-o", "json"]);
        assert_eq!(evidence.as_array().unwrap().len(), 1);
        assert_eq!(evidence[0]["notes"], "Restored in 14 minutes");
        assert_eq!(evidence[0]["occurrence_at"], "2026-01-05T08:00:00Z");

        // Migration 0026 takes a host that needed a reboot to have needed it since its last
        // report: so it is a condition at once, dated from then.
        let conditions = json(&env, &["conditions", "--practice", "patches", "-o", "json"]);
        let reboot = conditions
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "reboot_overdue")
            .unwrap_or_else(|| panic!("{conditions:#}"));
        assert_eq!(reboot["since"], "2026-01-06T09:00:00Z");
        assert_eq!(reboot["asset"], "db-1");

        let audit = json(&env, &["audit", "-o", "json"]);
        assert_eq!(audit[0]["after"]["name"], "db-1");

        // The upgraded database takes new rows (identity columns continue after the old ones),
        // and migrating again changes nothing.
        env.ok(&["asset", "add", "--name", "db-2", "--kind", "host"]);
        env.ok(&["migrate"]);
        let assets = json(&env, &["asset", "list", "-o", "json"]);
        let names: Vec<&str> = assets
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["db-1", "db-2"]);
    }
);
