//! `opsward patch rings add|update|delete` and `opsward patch hosts assign` on the database,
//! on both backends: validated, audited as the CLI user, exit 2 on usage or refused changes.

use crate::{both_backends, Env};
use chrono::{Duration, Utc};
use opsward_core::Actor;
use opsward_patches::store::PatchStore;
use serde_json::{json, Value};

fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&env.ok(&all)).unwrap()
}

both_backends!(
    rings_and_host_assignment_from_the_cli,
    |env: Env| async move {
        let url = env.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite:{}",
                env.dir.path().join("data/opsward.db").display()
            )
        });
        // The CLI makes the database; hosts enroll as agents do, straight in the store.
        env.ok(&["patch", "rings"]);
        let store = opsward_store::connect(&opsward_store::StoreSettings::new(url))
            .await
            .unwrap();
        let patches = PatchStore::new(store.as_ref());
        let actor = Actor::system("test");
        patches
            .create_enrollment_token(&actor, "t", "tok", Utc::now() + Duration::days(1))
            .await
            .unwrap();
        for name in ["web-01", "web-02", "db-01"] {
            patches
                .enroll("tok", name, &format!("cred-{name}"))
                .await
                .unwrap()
                .unwrap();
        }

        let canary = json_of(
            &env,
            &[
                "patch",
                "rings",
                "add",
                "canary",
                "--order",
                "1",
                "--rrule",
                "FREQ=WEEKLY;BYDAY=TU",
                "--start",
                "2026-01-06T02:00",
                "--timezone",
                "Europe/Berlin",
                "--minutes",
                "90",
                "--soak-hours",
                "48",
            ],
        );
        assert_eq!(canary["name"], "canary");
        assert_eq!(canary["position"], 1);
        assert_eq!(canary["soak_hours"], 48);
        assert_eq!(canary["window_minutes"], 90);
        assert_eq!(canary["timezone"], "Europe/Berlin");
        assert!(canary["next_window"]
            .as_str()
            .unwrap()
            .contains("T02:00:00+0"));
        let broad = json_of(
            &env,
            &[
                "patch",
                "rings",
                "add",
                "broad",
                "--order",
                "2",
                "--start",
                "2026-01-10 22:00",
            ],
        );
        assert_eq!(
            (broad["rrule"].as_str(), broad["timezone"].as_str()),
            (Some(""), Some("UTC"))
        );
        assert_eq!(
            (
                broad["soak_hours"].as_i64(),
                broad["window_minutes"].as_i64()
            ),
            (Some(24), Some(120))
        );

        // Refused: a duplicate name or order, a bad zone, rule or start, a missing option.
        for args in [
            &[
                "patch",
                "rings",
                "add",
                "canary",
                "--order",
                "3",
                "--start",
                "2026-01-06T02:00",
            ][..],
            &[
                "patch",
                "rings",
                "add",
                "pilot",
                "--order",
                "2",
                "--start",
                "2026-01-06T02:00",
            ][..],
            &[
                "patch",
                "rings",
                "add",
                "pilot",
                "--order",
                "3",
                "--start",
                "2026-01-06T02:00",
                "--timezone",
                "Mars/Base",
            ][..],
            &[
                "patch",
                "rings",
                "add",
                "pilot",
                "--order",
                "3",
                "--start",
                "2026-01-06T02:00",
                "--rrule",
                "FREQ=NEVER",
            ][..],
            &[
                "patch", "rings", "add", "pilot", "--order", "3", "--start", "tuesday",
            ][..],
            &[
                "patch",
                "rings",
                "add",
                "pilot",
                "--start",
                "2026-01-06T02:00",
            ][..],
            &["patch", "rings", "update", "nosuch", "--soak-hours", "1"][..],
            &["patch", "rings", "update", "canary", "--order", "2"][..],
            &["patch", "rings", "delete", "nosuch"][..],
        ] {
            let out = env.run(args, "");
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(!out.stderr.is_empty(), "{args:?}");
        }
        assert_eq!(patches.list_rings().await.unwrap().len(), 2);

        // A change keeps what is not given.
        let changed = json_of(
            &env,
            &[
                "patch",
                "rings",
                "update",
                "canary",
                "--rename",
                "canary-eu",
                "--soak-hours",
                "12",
            ],
        );
        assert_eq!(changed["id"], canary["id"]);
        assert_eq!(changed["name"], "canary-eu");
        assert_eq!(changed["soak_hours"], 12);
        assert_eq!(changed["timezone"], "Europe/Berlin");
        assert_eq!(changed["rrule"], "FREQ=WEEKLY;BYDAY=TU");
        assert_eq!(changed["window_minutes"], 90);

        // Hosts by name; a typo changes nothing.
        let out = env.run(
            &[
                "patch",
                "hosts",
                "assign",
                "--ring",
                "canary-eu",
                "web-01",
                "nosuch",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));
        assert!(patches.ring_members().await.unwrap().is_empty());
        let out = env.run(&["patch", "hosts", "assign", "web-01"], "");
        assert_eq!(out.status.code(), Some(2), "a ring or --none is needed");
        let assigned = json_of(
            &env,
            &[
                "patch",
                "hosts",
                "assign",
                "--ring",
                "canary-eu",
                "web-01",
                "web-02",
            ],
        );
        assert_eq!(
            assigned,
            json!([{"host_id": assigned[0]["host_id"], "hostname": "web-01", "ring": "canary-eu"},
               {"host_id": assigned[1]["host_id"], "hostname": "web-02", "ring": "canary-eu"}])
        );
        env.ok(&["patch", "hosts", "assign", "--ring", "broad", "db-01"]);
        let out = json_of(&env, &["patch", "hosts", "assign", "--none", "web-02"]);
        assert_eq!(out[0]["ring"], Value::Null);
        let rings = json_of(&env, &["patch", "rings", "list"]);
        assert_eq!(rings[0]["name"], "canary-eu");
        assert_eq!(rings[0]["hosts"], "web-01");
        assert_eq!(rings[1]["hosts"], "db-01");

        // Delete: a ring with an approval stays (evidence); one without goes, its hosts in none.
        env.ok(&["patch", "approve", "--ring", "canary-eu", "openssl"]);
        let out = env.run(&["patch", "rings", "delete", "canary-eu"], "");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("evidence"));
        let deleted = json_of(&env, &["patch", "rings", "delete", "broad"]);
        assert_eq!(deleted["name"], "broad");
        assert_eq!(deleted["hosts"], "db-01");
        let members = patches.ring_members().await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].hostname, "web-01");

        let audit = json_of(&env, &["audit", "--entity-type", "patch_ring"]);
        let actions: Vec<(&str, &str)> = audit
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["action"].as_str().unwrap(), a["actor"].as_str().unwrap()))
            .collect();
        for want in ["create", "update", "delete"] {
            assert!(
                actions.contains(&(want, crate::cli_actor().as_str())),
                "{want} in {actions:?}"
            );
        }
        let audit = json_of(&env, &["audit", "--entity-type", "patch_host"]);
        assert!(audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "assign_ring" && a["actor"] == crate::cli_actor().as_str()));
    }
);
