//! The picture of operational risk as the server serves it: `GET /api/v1/conditions` and its
//! filters, the dashboard, the asset overview (API and page), the `opsward_conditions` gauge,
//! a write showing at once, and a failing practice reported beside the others.
//!
//! The practices here are small ones over the asset register (a critical asset without an
//! owner is a condition), registered through the same contract as the built-in ones, so these
//! tests exercise the server's side of the contract on real data and both backends.

use crate::{client, on_both_backends, TestApp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsward_core::{
    asset::{AssetFilter, Criticality},
    contract::{
        Assessment, AssetFacet, Condition, Deduction, EntityRef, FacetRow, PracticeContract,
        PracticeError, Registry, Severity, Tone,
    },
    page::PageRequest,
    practice::Practice,
    Role,
};
use opsward_server::{scheduler::JobRegistry, AppState, ServerConfig};
use opsward_store::Store;
use opsward_testkit::{Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// Critical assets without an owner, as conditions of the general practice.
pub(crate) struct UnownedCritical {
    pub(crate) store: Arc<dyn Store>,
}

#[async_trait]
impl PracticeContract for UnownedCritical {
    fn practice(&self) -> Practice {
        Practice::General
    }

    async fn assess(&self, _now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        let filter = AssetFilter {
            criticality: Some(Criticality::Critical),
            ..Default::default()
        };
        let assets = self
            .store
            .list_assets(&filter, PageRequest::first(500))
            .await
            .map_err(|e| PracticeError::new(Practice::General, e))?;
        let unowned: Vec<_> = assets
            .items
            .into_iter()
            .filter(|a| a.owner_team_id.is_none() && a.owner_person_id.is_none())
            .collect();
        let conditions = unowned
            .iter()
            .map(|a| {
                Condition::new(
                    Practice::General,
                    "critical_asset_unowned",
                    Severity::High,
                    EntityRef {
                        kind: "asset".into(),
                        id: a.id,
                        label: a.name.clone(),
                        link: format!("/assets/{}", a.id),
                    },
                    format!("Critical asset {} has no owner", a.name),
                )
                // The name is left for the server to fill in from the register.
                .with_asset(Some(a.id), None)
                .with_times(Some(a.created_at), Some(a.created_at))
            })
            .collect();
        let deductions = vec![Deduction::new(
            7 * unowned.len() as u32,
            format!("{} critical assets have no owner", unowned.len()),
            Some("/assets?criticality=critical"),
        )];
        Ok(Assessment {
            conditions,
            deductions,
            ..Assessment::default()
        })
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        _now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        let asset = self
            .store
            .get_asset(asset_id)
            .await
            .map_err(|e| PracticeError::new(Practice::General, e))?;
        Ok(vec![AssetFacet {
            practice: Practice::General,
            title: "Ownership check".into(),
            summary: Some(format!("criticality {}", asset.criticality)),
            columns: vec!["Asset".into(), "Owned".into()],
            rows: vec![FacetRow {
                cells: vec![
                    asset.name.clone(),
                    (asset.owner_team_id.is_some() || asset.owner_person_id.is_some()).to_string(),
                ],
                link: Some(format!("/assets/{asset_id}")),
                tone: Tone::Neutral,
            }],
            empty: String::new(),
            more_link: None,
        }])
    }
}

/// A practice whose data source is gone.
struct Broken;

#[async_trait]
impl PracticeContract for Broken {
    fn practice(&self) -> Practice {
        Practice::Suppliers
    }
    async fn assess(&self, _now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        Err(PracticeError::new(
            Practice::Suppliers,
            "the supplier register is unreachable",
        ))
    }
    async fn asset_facets(
        &self,
        _asset_id: i64,
        _now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        Err(PracticeError::new(
            Practice::Suppliers,
            "the supplier register is unreachable",
        ))
    }
}

async fn start(backend: Backend, broken: bool) -> TestApp {
    let db = TestDb::new(backend).await;
    let mut registry = Registry::new();
    registry.register(UnownedCritical {
        store: db.store.clone(),
    });
    if broken {
        registry.register(Broken);
    }
    let state = AppState::with_registry(
        db.store.clone(),
        ServerConfig::default(),
        JobRegistry::empty(),
        registry,
    );
    TestApp::start_state(db, state).await
}

async fn metric(app: &TestApp, line_start: &str) -> Option<String> {
    let body = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.lines()
        .find(|l| l.starts_with(line_start))
        .map(str::to_string)
}

on_both_backends!(conditions_reach_the_api_dashboard_asset_page_and_metrics);
async fn conditions_reach_the_api_dashboard_asset_page_and_metrics(backend: Backend) {
    {
        let app = start(backend, false).await;
        let (_, token) = app.user_with_token("ops", Role::Operator).await;
        let none = app.get_json(&token, "/api/v1/conditions").await;
        assert_eq!(none["total"], 0, "{none}");

        // A write through the API shows in the next answer.
        let created = app
            .post_json(
                &token,
                "/api/v1/assets",
                &json!({"name": "db-1", "kind": "host", "criticality": "critical"}),
            )
            .await;
        let id = created["id"].as_i64().unwrap();
        app.post_json(
            &token,
            "/api/v1/assets",
            &json!({"name": "web-1", "kind": "host", "criticality": "low"}),
        )
        .await;
        let listed = app.get_json(&token, "/api/v1/conditions").await;
        assert_eq!(listed["total"], 1, "{listed}");
        let c = &listed["conditions"][0];
        assert_eq!(c["kind"], "critical_asset_unowned");
        assert_eq!(c["severity"], "high");
        assert_eq!(c["practice"], "general");
        assert_eq!(c["title"], "Critical asset db-1 has no owner");
        assert_eq!(c["asset_id"], id);
        assert_eq!(c["asset_name"], "db-1", "filled in from the register");
        assert_eq!(c["entity"]["link"], format!("/assets/{id}"));
        assert_eq!(
            c["key"],
            format!("general:critical_asset_unowned:asset:{id}")
        );

        // Filters: each one that excludes it, and each one that keeps it.
        for (query, total) in [
            ("practice=general", 1),
            ("practice=certificates", 0),
            ("severity=high", 1),
            ("severity=critical", 0),
            (&format!("asset_id={id}") as &str, 1),
            ("asset_id=999999", 0),
            ("overdue=true", 1),
            ("overdue=false", 0),
            ("team_id=1", 0),
        ] {
            let got = app
                .get_json(&token, &format!("/api/v1/conditions?{query}"))
                .await;
            assert_eq!(got["total"], total, "{query}: {got}");
        }
        let bad = client()
            .get(app.url("/api/v1/conditions?limit=0"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

        // The summary: overdue counts the condition, hygiene takes the practice's deduction.
        let summary = app.get_json(&token, "/api/v1/summary").await;
        assert_eq!(summary["overdue_conditions"], 1, "{summary}");
        assert_eq!(summary["at_risk_total"], 1);
        let general = summary["practices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["practice"] == "general")
            .unwrap();
        assert_eq!(
            general["deductions"][0],
            json!({"points": 7, "reason": "1 critical assets have no owner", "link": "/assets?criticality=critical"})
        );

        // The dashboard lists it, linked, with when the numbers were computed.
        let html = client()
            .get(app.url("/"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!(
                r#"<a href="/assets/{id}">Critical asset db-1 has no owner</a>"#
            )),
            "{html}"
        );
        assert!(html.contains("Numbers computed at"), "{html}");
        assert!(html.contains(
            r#"<a href="/assets?criticality=critical">1 critical assets have no owner</a>"#
        ));

        // The asset overview: API and page.
        let overview = app
            .get_json(&token, &format!("/api/v1/assets/{id}/overview"))
            .await;
        assert_eq!(overview["name"], "db-1", "{overview}");
        assert_eq!(overview["owner"], "nobody");
        assert_eq!(overview["conditions"].as_array().unwrap().len(), 1);
        let titles: Vec<&str> = overview["facets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["Ownership check", "Calendar"]);
        let page = client()
            .get(app.url(&format!("/assets/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Critical asset db-1 has no owner"), "{page}");
        assert!(page.contains("Ownership check"), "{page}");
        assert!(page.contains("No calendar activity is about this asset."));
        let other = app.get_json(&token, "/api/v1/assets/999999/overview").await;
        assert_eq!(other["error"]["code"], "not_found", "{other}");

        // The gauge, per practice and severity, zeros included.
        assert_eq!(
            metric(
                &app,
                "opsward_conditions{practice=\"general\",severity=\"high\"}"
            )
            .await
            .as_deref(),
            Some("opsward_conditions{practice=\"general\",severity=\"high\"} 1")
        );
        assert_eq!(
            metric(
                &app,
                "opsward_conditions{practice=\"certificates\",severity=\"critical\"}"
            )
            .await
            .as_deref(),
            Some("opsward_conditions{practice=\"certificates\",severity=\"critical\"} 0")
        );

        // Giving it an owner clears the condition at once, and the gauge follows.
        let team = app
            .post_json(&token, "/api/v1/teams", &json!({"name": "dba"}))
            .await;
        let updated = app
            .json(
                reqwest::Method::PUT,
                &token,
                &format!("/api/v1/assets/{id}"),
                Some(&json!({"name": "db-1", "kind": "host", "criticality": "critical", "owner_team_id": team["id"]})),
            )
            .await;
        assert_eq!(updated["owner_team_id"], team["id"], "{updated}");
        let cleared = app.get_json(&token, "/api/v1/conditions").await;
        assert_eq!(cleared["total"], 0, "{cleared}");
        assert_eq!(
            metric(
                &app,
                "opsward_conditions{practice=\"general\",severity=\"high\"}"
            )
            .await
            .as_deref(),
            Some("opsward_conditions{practice=\"general\",severity=\"high\"} 0")
        );
        app.stop().await;
    }
}

on_both_backends!(a_failing_practice_is_named_and_the_others_still_show);
async fn a_failing_practice_is_named_and_the_others_still_show(backend: Backend) {
    {
        let app = start(backend, true).await;
        let (_, token) = app.user_with_token("ops", Role::Operator).await;
        let created = app
            .post_json(
                &token,
                "/api/v1/assets",
                &json!({"name": "db-2", "kind": "host", "criticality": "critical"}),
            )
            .await;
        let listed = app.get_json(&token, "/api/v1/conditions").await;
        assert_eq!(listed["total"], 1, "{listed}");
        assert_eq!(
            listed["failures"],
            json!(["suppliers: the supplier register is unreachable"])
        );
        let html = client()
            .get(app.url("/"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Not included: suppliers: the supplier register is unreachable"),
            "{html}"
        );
        let overview: Value = app
            .get_json(
                &token,
                &format!("/api/v1/assets/{}/overview", created["id"]),
            )
            .await;
        assert_eq!(
            overview["facets"].as_array().unwrap().len(),
            2,
            "the working practice and the calendar: {overview}"
        );
        assert!(overview["failures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "suppliers: the supplier register is unreachable"));
        app.stop().await;
    }
}
