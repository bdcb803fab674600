//! Vulnerability findings over HTTP: the list with filters, a finding's page with its
//! vulnerability's affected assets, lifecycle transitions and their refusals. Also the fixture
//! the role matrix uses for these routes.

use crate::{both_backends, client, TestApp};
use opsward_core::{Actor, Role};
use opsward_vulns::inventory::Package;
use opsward_vulns::osv::load_path;
use opsward_vulns::policy::DuePolicy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn actor() -> Actor {
    Actor::system("test")
}

/// smallvec's double free (RUSTSEC-2019-0009) on a new asset; returns the finding's id.
pub async fn fixture_finding(app: &TestApp) -> i64 {
    let name = format!("vuln-host-{}", SEQ.fetch_add(1, Ordering::Relaxed));
    let asset = app
        .state
        .store
        .create_asset(&actor(), &opsward_testkit::asset_input(&name))
        .await
        .unwrap();
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    let run = app
        .state
        .vulns
        .import_osv(&actor(), "fixture", &load_path(&record))
        .await
        .unwrap();
    assert_eq!(run.outcome, "imported");
    let index = app.state.vulns.advisory_index().await.unwrap();
    let matches = index.check(&Package::new("crates.io", "smallvec", "0.6.9"), &mut vec![]);
    app.state
        .vulns
        .record_scan(&actor(), asset.id, &matches, &DuePolicy::default())
        .await
        .unwrap();
    let findings = app
        .state
        .vulns
        .findings(&opsward_vulns::findings::FindingFilter {
            asset_id: Some(asset.id),
            ..Default::default()
        })
        .await
        .unwrap();
    findings[0].id
}

both_backends!(findings_over_the_api_and_pages, |app: TestApp| async move {
    let (_, operator) = app.user_with_token("secops", Role::Operator).await;
    let (_, viewer) = app.user_with_token("reader", Role::Viewer).await;
    let http = client();
    let first = fixture_finding(&app).await;
    let second = fixture_finding(&app).await;

    let listed: Vec<Value> = http
        .get(app.url("/api/v1/vulns/findings?severity=critical&state=open"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["vulnerability_id"], "RUSTSEC-2019-0009");
    assert!(listed[0]["ids"]
        .as_array()
        .unwrap()
        .contains(&json!("CVE-2019-15551")));
    let none: Vec<Value> = http
        .get(app.url("/api/v1/vulns/findings?kev=true"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());

    let detail: Value = http
        .get(app.url(&format!("/api/v1/vulns/findings/{first}")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["same_vulnerability"].as_array().unwrap().len(),
        2,
        "both assets are affected"
    );

    let transition = |id: i64, body: Value, token: String| {
        http.post(app.url(&format!("/api/v1/vulns/findings/{id}/transitions")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let refused = transition(first, json!({"action": "acknowledge"}), viewer.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let acked = transition(first, json!({"action": "acknowledge"}), operator.clone())
        .await
        .unwrap();
    assert_eq!(acked.status(), StatusCode::OK);
    let again = transition(first, json!({"action": "acknowledge"}), operator.clone())
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let accepted: Value = transition(
        first,
        json!({"action": "accept_risk", "reason": "not reachable", "approver": "ciso", "until": "2030-01-01"}),
        operator.clone(),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        (accepted["state"].as_str(), accepted["approver"].as_str()),
        (Some("accepted_risk"), Some("ciso"))
    );

    // Pages: the list filters by asset name, the finding page shows every id and both assets.
    let page = http
        .get(app.url("/vulns?severity=critical"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("RUSTSEC-2019-0009") && page.contains("vuln-host-"),
        "{page}"
    );
    let page = http
        .get(app.url(&format!("/vulns/findings/{second}")))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("CVE-2019-15551") && page.contains("GHSA-mm7v-vpv8-xfc3"),
        "{page}"
    );
    assert!(page.contains("0.6.10"), "the fix is shown");
    assert!(
        page.contains("Accepted risk"),
        "the other asset's finding is listed: {page}"
    );
    let posted = http
        .post(app.url(&format!("/vulns/findings/{second}")))
        .bearer_auth(&operator)
        .form(&[
            ("action", "false_positive"),
            ("reason", "feature not compiled in"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let bad = http
        .post(app.url(&format!("/vulns/findings/{second}")))
        .bearer_auth(&operator)
        .form(&[
            ("action", "accept_risk"),
            ("reason", "x"),
            ("approver", "y"),
            ("until", "someday"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let runs: Vec<Value> = http
        .get(app.url("/api/v1/vulns/imports"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
});

/// Text of a page fetched with `token`.
async fn page_text(app: &TestApp, path: &str, token: &str) -> String {
    let response = client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

both_backends!(
    burn_down_and_overdue_on_the_dashboard,
    |app: TestApp| async move {
        let (_, viewer) = app.user_with_token("reader", Role::Viewer).await;
        let today = chrono::Utc::now().date_naive().format("%-d %b").to_string();
        let nothing = page_text(&app, "/vulns", &viewer).await;
        assert!(
            nothing.contains(r#"id="burndown-chart-title""#),
            "{nothing}"
        );
        assert!(
            nothing.contains("open findings: ") && nothing.contains(&format!("{today} 0<")),
            "no findings yet: {nothing}"
        );
        assert!(
            nothing.contains(r#"href="/vulns" aria-current="page""#),
            "the nav links the list: {nothing}"
        );
        let dashboard = page_text(&app, "/", &viewer).await;
        assert!(
            dashboard.contains(r#"id="vulns-overdue-count">0<"#),
            "{dashboard}"
        );

        // CISA says CVE-2019-15551 was due in 2020: the finding is overdue from the start.
        let kev = opsward_vulns::threat::KevCatalog {
            version: "test".into(),
            entries: vec![opsward_vulns::threat::KevEntry {
                cve: "CVE-2019-15551".into(),
                vendor: "servo".into(),
                product: "smallvec".into(),
                name: "double free".into(),
                date_added: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                due_date: chrono::NaiveDate::from_ymd_opt(2020, 1, 22).unwrap(),
                ransomware: "Unknown".into(),
            }],
        };
        app.state
            .vulns
            .import_kev(&actor(), "test", &kev)
            .await
            .unwrap();
        let first = fixture_finding(&app).await;
        let _second = fixture_finding(&app).await;
        let third = fixture_finding(&app).await;
        let listed = page_text(&app, "/vulns", &viewer).await;
        assert!(listed.contains(&format!("{today} 3<")), "{listed}");
        let dashboard = page_text(&app, "/", &viewer).await;
        assert!(
            dashboard.contains(r#"id="vulns-overdue-count">3<"#),
            "{dashboard}"
        );

        // Closing two (accepted, false positive) burns the line down; reopening one brings it back.
        let change = |id: i64, change: opsward_vulns::findings::Transition| {
            let app = &app;
            async move {
                app.state
                    .vulns
                    .transition(&actor(), id, &change)
                    .await
                    .unwrap()
            }
        };
        change(
            first,
            opsward_vulns::findings::Transition::AcceptRisk {
                reason: "not reachable".into(),
                approver: "ciso".into(),
                until: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            },
        )
        .await;
        change(
            third,
            opsward_vulns::findings::Transition::FalsePositive {
                reason: "not compiled in".into(),
            },
        )
        .await;
        let listed = page_text(&app, "/vulns", &viewer).await;
        assert!(listed.contains(&format!("{today} 1<")), "{listed}");
        change(first, opsward_vulns::findings::Transition::Reopen).await;
        let listed = page_text(&app, "/vulns", &viewer).await;
        assert!(listed.contains(&format!("{today} 2<")), "{listed}");
        let dashboard = page_text(&app, "/", &viewer).await;
        assert!(
            dashboard.contains(r#"id="vulns-overdue-count">2<"#),
            "{dashboard}"
        );
    }
);
