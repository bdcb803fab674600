//! Automatic backlog items: each practice's condition, made through that practice's real
//! API or store, opens exactly one linked item however often the job runs; a cleared
//! condition comments once; two servers running the job at once on one PostgreSQL database
//! still open one item per condition.

use crate::{both_backends, client, TestApp};
use chrono::{Days, Utc};
use opsward_core::{people::TeamInput, Actor, Role};
use opsward_server::{scheduler::JobRegistry, ServerConfig};
use opsward_testkit::TestDb;
use opsward_vulns::{inventory::Package, osv::load_path, policy::DuePolicy, threat::parse_kev};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;

fn actor() -> Actor {
    Actor::system("test")
}

/// Ids of the objects whose conditions the test made.
struct Sources {
    certificate: i64,
    asset: i64,
    measure: i64,
    supplier: i64,
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let r = client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

/// One condition per practice: an unowned certificate expiring in 5 days, a KEV finding
/// due yesterday, a measure whose test failed, a supplier whose review scored 2 of 5.
async fn make_conditions(app: &TestApp, token: &str) -> Sources {
    // Certificates: an upload through the API.
    let r = post(
        app,
        token,
        "/api/v1/certificates/scans",
        crate::certs::upload_json("expiring-auto.example.test", 5),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let certificate = app
        .state
        .certs
        .list(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.subject_cn.as_deref() == Some("expiring-auto.example.test"))
        .unwrap()
        .id;

    // Vulnerabilities: OSV and a KEV entry due yesterday, then a scan of the asset.
    let asset = app
        .state
        .store
        .create_asset(&actor(), &opsward_testkit::asset_input("db-auto-01"))
        .await
        .unwrap()
        .id;
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    app.state
        .vulns
        .import_osv(&actor(), "fixture", &load_path(&record))
        .await
        .unwrap();
    let due = Utc::now().date_naive() - Days::new(1);
    let kev = json!({"catalogVersion": "test", "count": 1, "vulnerabilities": [{
        "cveID": "CVE-2019-15551", "vendorProject": "smallvec", "product": "smallvec",
        "vulnerabilityName": "double free", "dateAdded": "2025-01-01", "dueDate": due.to_string(),
        "knownRansomwareCampaignUse": "Unknown"}]});
    let catalog = parse_kev("kev.json", &kev.to_string()).unwrap();
    app.state
        .vulns
        .import_kev(&actor(), "kev.json", &catalog)
        .await
        .unwrap();
    let index = app.state.vulns.advisory_index().await.unwrap();
    let matches = index.check(&Package::new("crates.io", "smallvec", "0.6.9"), &mut vec![]);
    app.state
        .vulns
        .record_scan(&actor(), asset, &matches, &DuePolicy::default())
        .await
        .unwrap();

    // Resilience: a measure tested weekly since 10 days ago, its last test failed.
    let r = post(
        app,
        token,
        "/api/v1/resilience/measures",
        crate::resilience::measure_json(asset, "Cluster failover", 10),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let measure = r.json::<Value>().await.unwrap()["measure"]["id"]
        .as_i64()
        .unwrap();
    let r = post(
        app,
        token,
        &format!("/api/v1/resilience/measures/{measure}/results"),
        json!({"result": "failed", "notes": "VIP stayed on node A"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Suppliers: a review scoring 2 of 5 on every criterion.
    let supplier = crate::suppliers::fixture_supplier(app).await;
    supplier_review(app, token, supplier, "2026-01-15", 2).await;
    Sources {
        certificate,
        asset,
        measure,
        supplier,
    }
}

async fn supplier_review(app: &TestApp, token: &str, supplier: i64, day: &str, score: i32) {
    let scores: Vec<Value> = ["quality", "delivery", "responsiveness", "cost", "security"]
        .iter()
        .map(|c| json!({"criterion": c, "score": score}))
        .collect();
    let outcome = if score < 3 {
        "improvement_required"
    } else {
        "satisfactory"
    };
    let r = post(
        app,
        token,
        "/api/v1/supplier-reviews",
        json!({"supplier_id": supplier, "review_date": day, "outcome": outcome, "scores": scores}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn run(app: &TestApp, token: &str) -> Value {
    let r = post(app, token, "/api/v1/backlog/auto-items/run", json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn sum(run: &Value, field: &str) -> i64 {
    run["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[field].as_i64().unwrap())
        .sum()
}

both_backends!(
    each_practice_condition_keeps_one_item_and_a_cleared_one_comments_once,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("auto-op", Role::Operator).await;
        let src = make_conditions(&app, &token).await;

        // The scheduled job (started with the server) may run at any moment too: whatever
        // runs, each condition has one item.
        let first = run(&app, &token).await;
        assert_eq!(sum(&first, "conditions"), 4, "{first}");
        let second = run(&app, &token).await;
        assert_eq!(sum(&second, "opened"), 0, "a rerun opens nothing: {second}");
        let links: Vec<Value> = serde_json::from_value(
            get(&app, &token, "/api/v1/backlog/auto-items?active=true").await,
        )
        .unwrap();
        let keys: Vec<&str> = links
            .iter()
            .map(|l| l["source_key"].as_str().unwrap())
            .collect();
        let measure_key = format!("resilience_measure:{}", src.measure);
        let supplier_key = format!("supplier:{}", src.supplier);
        let certificate_key = format!("certificate:{}", src.certificate);
        for key in [&certificate_key, &measure_key, &supplier_key] {
            assert_eq!(
                keys.iter().filter(|k| *k == key).count(),
                1,
                "{key} in {keys:?}"
            );
        }
        assert_eq!(links.len(), 4, "{keys:?}");
        let items = app.state.backlog.all_items().await.unwrap();
        assert_eq!(items.len(), 4, "one item per condition");
        let by_source = |source: &str| {
            let link = links.iter().find(|l| l["source"] == source).unwrap();
            let item_id = link["item_id"].as_i64().unwrap();
            (
                link.clone(),
                items.iter().find(|i| i.id == item_id).unwrap().clone(),
            )
        };
        let (kev_link, kev_item) = by_source("kev_finding");
        assert_eq!(kev_item.priority.to_string(), "P1", "critical and overdue");
        assert_eq!(kev_item.asset_ids, [src.asset]);
        assert!(kev_link["link"]
            .as_str()
            .unwrap()
            .starts_with("/vulns/findings/"));
        let (cert_link, cert_item) = by_source("certificate");
        assert_eq!(cert_item.item_type.as_str(), "risk");
        assert_eq!(cert_item.priority.to_string(), "P2", "5 days left");
        assert_eq!(
            cert_link["link"],
            format!("/certificates/{}", src.certificate)
        );
        let (_, measure_item) = by_source("resilience_test");
        assert_eq!(measure_item.item_type.as_str(), "problem");
        assert_eq!(measure_item.asset_ids, [src.asset]);
        let (_, supplier_item) = by_source("supplier_review");
        assert_eq!(
            supplier_item.priority.to_string(),
            "P2",
            "high criticality, score 2"
        );

        // The item page links to the source.
        let page = client()
            .get(app.url(&format!("/backlog/{}", measure_item.id)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("href=\"/resilience/{}\"", src.measure)),
            "{page}"
        );
        assert!(page.contains("condition holds"));

        // A person resolves the KEV item while the finding is still overdue: the job leaves
        // it resolved.
        for state in ["triaged", "in_progress", "resolved"] {
            let r = client()
                .patch(app.url(&format!("/api/v1/backlog/items/{}", kev_item.id)))
                .bearer_auth(&token)
                .json(&json!({ "state": state }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        let third = run(&app, &token).await;
        assert_eq!(
            (sum(&third, "opened"), sum(&third, "cleared")),
            (0, 0),
            "{third}"
        );
        assert_eq!(
            app.state
                .backlog
                .get_item(kev_item.id)
                .await
                .unwrap()
                .state
                .as_str(),
            "resolved"
        );

        // Clear every condition through its practice.
        let team = app
            .state
            .store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "pki".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let r = client()
            .put(app.url(&format!("/api/v1/certificates/{}/owner", src.certificate)))
            .bearer_auth(&token)
            .json(&json!({"owner_team_id": team.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        app.state
            .vulns
            .record_scan(&actor(), src.asset, &[], &DuePolicy::default())
            .await
            .unwrap();
        let r = post(
            &app,
            &token,
            &format!("/api/v1/resilience/measures/{}/results", src.measure),
            json!({"result": "passed", "notes": "failover worked"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        supplier_review(&app, &token, src.supplier, "2026-02-15", 4).await;

        // The server's own scheduled run may notice some of the cleared conditions first, so
        // the count of this run is at most 4; the single comment per item below is the proof.
        let cleared = run(&app, &token).await;
        assert!(sum(&cleared, "cleared") <= 4, "{cleared}");
        assert_eq!(sum(&cleared, "conditions"), 0);
        let again = run(&app, &token).await;
        assert_eq!(sum(&again, "cleared"), 0, "cleared once: {again}");
        for item in &items {
            let comments = app.state.backlog.comments(item.id).await.unwrap();
            assert_eq!(comments.len(), 1, "one comment on #{}", item.id);
            assert!(
                comments[0].body.contains("has cleared"),
                "{}",
                comments[0].body
            );
            let now = app.state.backlog.get_item(item.id).await.unwrap();
            let expected = if now.id == kev_item.id {
                "resolved"
            } else {
                "new"
            };
            assert_eq!(now.state.as_str(), expected, "the job never moves an item");
        }
        let audit = app
            .state
            .store
            .list_audit(
                &opsward_core::audit::AuditFilter {
                    entity_type: Some("backlog_auto_item".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(100),
            )
            .await
            .unwrap();
        assert!(audit.items.len() >= 8, "opened and cleared are audited");

        // The supplier scores badly again: the same item gets one more comment, no new item.
        supplier_review(&app, &token, src.supplier, "2026-03-15", 1).await;
        let back = run(&app, &token).await;
        assert_eq!(
            (sum(&back, "returned"), sum(&back, "opened")),
            (1, 0),
            "{back}"
        );
        assert_eq!(app.state.backlog.all_items().await.unwrap().len(), 4);
        let comments = app.state.backlog.comments(supplier_item.id).await.unwrap();
        assert_eq!(comments.len(), 2);
        assert!(comments[1].body.contains("is back"));
        let reprioritised = app.state.backlog.get_item(supplier_item.id).await.unwrap();
        assert_eq!(
            reprioritised.priority.to_string(),
            "P1",
            "score 1 is more urgent"
        );
        app.stop().await;
    }
);

both_backends!(
    disabled_sources_are_not_checked,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("auto-op", Role::Operator).await;
        make_conditions(&app, &token).await;
        let settings = opsward_backlog::auto::AutoSettings {
            kev_findings: false,
            supplier_reviews: false,
            ..Default::default()
        };
        let run = opsward_backlog::auto::run_auto_items(
            &app.state.backlog,
            app.state.picture.registry(),
            &settings,
            &actor(),
            Utc::now(),
        )
        .await;
        let sources: Vec<&str> = run
            .sources
            .iter()
            .map(|s| s.source.unwrap().as_str())
            .collect();
        // Only the enabled sources were checked (the server's own scheduled run, with every
        // source on, may open items meanwhile, so stored links are not the measure here).
        assert_eq!(sources, ["certificate", "resilience_test"]);
        assert_eq!(run.conditions(), 2, "{run:?}");
        app.stop().await;
    }
);

/// Two servers on one PostgreSQL database run the job at the same moment, several times:
/// the unique link per condition lets one of them open each item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_at_once_open_one_item_per_condition_on_postgres() {
    let first = TestApp::start(opsward_testkit::Backend::Postgres).await;
    let (_, token) = first.user_with_token("auto-op", Role::Operator).await;
    make_conditions(&first, &token).await;
    let db = TestDb::open(&first.db.url).await;
    let jobs = JobRegistry::for_server(&db.store, &ServerConfig::default());
    let second = TestApp::start_with(db, ServerConfig::default(), jobs).await;
    for _ in 0..3 {
        let (a, b, c, d) = tokio::join!(
            run(&first, &token),
            run(&second, &token),
            run(&first, &token),
            run(&second, &token)
        );
        let opened: i64 = [a, b, c, d].iter().map(|r| sum(r, "opened")).sum();
        assert!(opened <= 4, "{opened}");
    }
    let links = first.state.backlog.auto_items(None, None).await.unwrap();
    assert_eq!(links.len(), 4, "{links:?}");
    let items = first.state.backlog.all_items().await.unwrap();
    assert_eq!(items.len(), 4, "no duplicate, no orphan item");
    second.stop().await;
    first.stop().await;
}
