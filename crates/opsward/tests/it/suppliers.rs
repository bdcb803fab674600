//! `opsward supplier` and `opsward contract` as users run them, on both backends.

use crate::{both_backends, Env};
use serde_json::Value;

both_backends!(
    suppliers_contracts_and_reviews_from_the_cli,
    |env: Env| async move {
        let added: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "supplier",
            "add",
            "--name",
            "Acme",
            "--criticality",
            "high",
            "--category",
            "hosting",
            "--contact-name",
            "Ann",
            "--contact-email",
            "ann@acme.example",
        ]))
        .unwrap();
        assert_eq!(added["contacts"][0]["email"], "ann@acme.example");
        env.ok(&["supplier", "add", "--name", "Beta", "--criticality", "low"]);
        let listed = env.ok(&["-o", "csv", "supplier", "list", "--criticality", "high"]);
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert!(listed.contains(",Acme,hosting,high,"), "{listed}");

        // Ends on the last day of May with three months' notice: the deadline clamps to 28 Feb.
        let contract: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "contract",
            "add",
            "--supplier",
            "Acme",
            "--title",
            "Colocation",
            "--start",
            "2024-06-01",
            "--end",
            "2099-05-31",
            "--notice",
            "3m",
            "--value",
            "48000.00",
            "--currency",
            "eur",
        ]))
        .unwrap();
        assert_eq!(contract["notice_deadline"], "2099-02-28");
        assert_eq!(contract["currency"], "EUR");
        let id = contract["id"].as_i64().unwrap().to_string();
        let soon = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
        env.ok(&[
            "contract",
            "add",
            "--supplier",
            "Beta",
            "--title",
            "Printers",
            "--start",
            "2024-01-01",
            "--end",
            &soon.to_string(),
            "--notice",
            "14d",
            "--renewal",
            "express",
        ]);
        let expiring = env.ok(&["-o", "csv", "contract", "list", "--expiring-within", "90d"]);
        assert!(
            expiring.contains("Printers") && !expiring.contains("Colocation"),
            "{expiring}"
        );
        let bad = env.run(&["contract", "list", "--expiring-within", "soon"], "");
        assert_eq!(bad.status.code(), Some(2));

        let decided: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "contract",
            "decide",
            &id,
            "--decision",
            "terminate",
            "--note",
            "cheaper elsewhere",
        ]))
        .unwrap();
        assert_eq!(decided["term_decision"], "terminate");
        assert_eq!(decided["status"], "ending");

        let review: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "supplier",
            "review",
            "add",
            "--supplier",
            "Acme",
            "--outcome",
            "satisfactory",
            "--score",
            "quality=4",
            "--score",
            "delivery=4",
            "--score",
            "responsiveness=3",
            "--score",
            "cost=2",
            "--score",
            "security=5",
            "--attendee",
            "Ann",
            "--action",
            "Agree SLAs",
        ]))
        .unwrap();
        assert_eq!(review["weighted_score"], 3.7);
        let refused = env.run(
            &[
                "supplier",
                "review",
                "add",
                "--supplier",
                "Acme",
                "--outcome",
                "satisfactory",
                "--score",
                "quality=9",
            ],
            "",
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("score must be 1-5"));

        let action = review["actions"][0]["id"].as_i64().unwrap().to_string();
        let done: Value =
            serde_json::from_str(&env.ok(&["-o", "json", "supplier", "review", "done", &action]))
                .unwrap();
        assert_eq!(done["done"], true);
        assert_eq!(done["done_by"], crate::cli_actor().as_str());
        let shown = env.ok(&["supplier", "show", "Acme"]);
        assert!(
            shown.contains("Colocation") && shown.contains("3.7"),
            "{shown}"
        );
    }
);
