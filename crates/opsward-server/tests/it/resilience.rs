//! The resilience register over HTTP: measures with their scheduled tests, results as
//! evidence, state filters and paging, the pages and their forms. Also the fixtures the
//! role matrix uses for these routes.

use crate::{both_backends, client, TestApp};
use opsward_core::{Actor, Role};
use opsward_resilience::register::{MeasureInput, MeasureKind, TestSchedule};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn actor() -> Actor {
    Actor::system("test")
}

/// A fresh asset for a measure to protect.
pub async fn fixture_asset(app: &TestApp) -> i64 {
    let name = format!("host-{}", SEQ.fetch_add(1, Ordering::Relaxed));
    app.db
        .store
        .create_asset(&actor(), &opsward_testkit::asset_input(&name))
        .await
        .unwrap()
        .id
}

/// A monthly RAID measure on a fresh asset.
pub async fn fixture_measure(app: &TestApp) -> i64 {
    let input = MeasureInput {
        asset_id: fixture_asset(app).await,
        kind: MeasureKind::Raid,
        title: "Mirror".into(),
        description: String::new(),
        procedure: vec!["Fail a disk".into()],
        owner_team_id: None,
        owner_person_id: None,
        check: None,
        schedule: TestSchedule {
            rrule: "FREQ=MONTHLY".into(),
            starts_local: "2026-01-05T10:00:00".parse().unwrap(),
            timezone: "UTC".into(),
            duration_minutes: 60,
        },
    };
    app.state
        .resilience
        .create(&actor(), &input)
        .await
        .unwrap()
        .measure
        .id
}

/// A measure as the API takes it, with the first test `days_ago` days back.
pub fn measure_json(asset_id: i64, title: &str, days_ago: i64) -> Value {
    let start = (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    json!({
        "asset_id": asset_id, "kind": "cluster_failover", "title": title,
        "procedure": ["Stop node A", "Check the VIP moved to node B", "Start node A"],
        "check": "restore",
        "schedule": {"rrule": "FREQ=WEEKLY", "starts_local": start.format("%Y-%m-%dT%H:%M:%S").to_string(), "timezone": "Europe/Berlin"}
    })
}

both_backends!(
    measures_results_and_state_over_the_api,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("resilience-op", Role::Operator).await;
        let (_, viewer) = app.user_with_token("resilience-viewer", Role::Viewer).await;
        let http = client();
        let post = |path: &str, body: Value| {
            http.post(app.url(path))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };
        let get = |path: &str| {
            let request = http.get(app.url(path)).bearer_auth(&viewer).send();
            async move { request.await.unwrap().json::<Value>().await.unwrap() }
        };
        let asset = fixture_asset(&app).await;

        let created = post(
            "/api/v1/resilience/measures",
            measure_json(asset, "Cluster failover", 10),
        )
        .await
        .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let id = created["measure"]["id"].as_i64().unwrap();
        let activity = created["measure"]["activity_id"].as_i64().unwrap();
        assert_eq!(
            created["state"], "overdue",
            "two weekly tests have passed untested"
        );
        assert_eq!(
            created["measure"]["procedure"][1],
            "Check the VIP moved to node B"
        );
        let in_calendar = get(&format!("/api/v1/activities/{activity}")).await;
        assert_eq!(in_calendar["practice"], "resilience");
        assert_eq!(in_calendar["asset_id"], asset);

        let later = post(
            "/api/v1/resilience/measures",
            measure_json(asset, "Not yet due", -3),
        )
        .await
        .unwrap();
        assert_eq!(later.status(), StatusCode::CREATED);

        // A failed result becomes evidence on the measure's activity.
        let result = post(
            &format!("/api/v1/resilience/measures/{id}/results"),
            json!({"result": "failed", "notes": "VIP stayed on node A"}),
        )
        .await
        .unwrap();
        assert_eq!(result.status(), StatusCode::CREATED);
        let evidence: Value = result.json().await.unwrap();
        assert_eq!(evidence["activity_id"], activity);
        let detail = get(&format!("/api/v1/resilience/measures/{id}")).await;
        assert_eq!(detail["status"]["state"], "failed");
        assert_eq!(detail["status"]["last_result"], "failed");
        assert_eq!(detail["evidence"][0]["id"], evidence["id"]);
        assert_eq!(detail["evidence"][0]["notes"], "VIP stayed on node A");

        let failed = get(&format!(
            "/api/v1/resilience/measures?state=failed&asset={asset}"
        ))
        .await;
        assert_eq!(failed["items"].as_array().unwrap().len(), 1);
        assert_eq!(failed["items"][0]["measure"]["id"], id);
        let never =
            get("/api/v1/resilience/measures?state=never_tested&kind=cluster_failover").await;
        assert_eq!(never["items"][0]["measure"]["title"], "Not yet due");
        let page = get("/api/v1/resilience/measures?limit=1").await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest = get(&format!(
            "/api/v1/resilience/measures?limit=1&cursor={cursor}"
        ))
        .await;
        assert_eq!(rest["items"][0]["measure"]["title"], "Not yet due");
        let bad_state = http
            .get(app.url("/api/v1/resilience/measures?state=fine"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(bad_state.status(), StatusCode::BAD_REQUEST);

        // Errors name the field; viewers cannot write.
        let bad: Value = post(
            "/api/v1/resilience/measures",
            measure_json(asset + 1000, "Nowhere", 1),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(bad["error"]["code"], "invalid_input");
        assert_eq!(bad["error"]["details"][0]["field"], "asset_id");
        let denied = http
            .post(app.url("/api/v1/resilience/measures"))
            .bearer_auth(&viewer)
            .json(&measure_json(asset, "X", 1))
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);

        // Update moves the schedule; delete deactivates the activity and keeps the evidence.
        let mut changed = measure_json(asset, "Cluster failover, both nodes", -1);
        changed["schedule"]["rrule"] = json!("FREQ=MONTHLY;INTERVAL=3");
        let updated = http
            .put(app.url(&format!("/api/v1/resilience/measures/{id}")))
            .bearer_auth(&token)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(updated.status(), StatusCode::OK);
        let updated: Value = updated.json().await.unwrap();
        assert_eq!(updated["schedule"]["rrule"], "FREQ=MONTHLY;INTERVAL=3");
        assert_eq!(
            get(&format!("/api/v1/activities/{activity}")).await["title"],
            "Resilience test: Cluster failover, both nodes"
        );
        let deleted = http
            .delete(app.url(&format!("/api/v1/resilience/measures/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = http
            .get(app.url(&format!("/api/v1/resilience/measures/{id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get(&format!("/api/v1/activities/{activity}")).await["active"],
            false
        );
        assert_eq!(
            get(&format!("/api/v1/evidence/{}", evidence["id"])).await["result"],
            "failed"
        );

        let spec = get("/api/v1/openapi.json").await;
        assert!(spec["paths"]["/api/v1/resilience/measures/{id}/results"]["post"].is_object());
        app.stop().await;
    }
);

both_backends!(
    resilience_pages_add_edit_and_record_without_javascript,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("resilience-page", Role::Operator).await;
        let http = client();
        let asset = fixture_asset(&app).await;
        let page = |path: String| {
            let request = http.get(app.url(&path)).bearer_auth(&token).send();
            async move {
                let response = request.await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                response.text().await.unwrap()
            }
        };
        let form = |title: &str| -> Vec<(&'static str, String)> {
            vec![
                ("asset_id", asset.to_string()),
                ("kind", "backup_restore".into()),
                ("title", title.into()),
                (
                    "procedure",
                    "Restore last night's dump to the scratch host\r\n\r\nRun the row-count check"
                        .into(),
                ),
                ("check", "backup".into()),
                ("rrule", "FREQ=WEEKLY".into()),
                (
                    "starts_local",
                    (chrono::Utc::now() - chrono::Duration::days(9))
                        .format("%Y-%m-%dT09:00")
                        .to_string(),
                ),
                ("timezone", "UTC".into()),
                ("duration_minutes", "45".into()),
            ]
        };
        let new_form = page("/resilience/new".into()).await;
        assert!(new_form.contains("name=\"procedure\"") && new_form.contains("csrf_token"));

        let created = http
            .post(app.url("/resilience"))
            .bearer_auth(&token)
            .form(&form("Nightly dump restore"))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        let location = created.headers()["location"].to_str().unwrap().to_string();
        let detail = page(location.clone()).await;
        assert!(
            detail.contains("<li>Restore last night&#39;s dump to the scratch host</li>")
                || detail.contains("<li>Restore last night&#x27;s dump to the scratch host</li>"),
            "{detail}"
        );
        assert!(detail.contains("<strong>Overdue</strong>"), "{detail}");

        let list = page("/resilience?state=overdue".into()).await;
        assert!(list.contains("Nightly dump restore"), "{list}");
        assert!(
            page("/".into()).await.contains("href=\"/resilience\""),
            "the nav links the register"
        );
        assert!(!page("/resilience?state=ok".into())
            .await
            .contains("Nightly dump restore"));

        let recorded = http
            .post(app.url(&format!("{location}/results")))
            .bearer_auth(&token)
            .form(&[("result", "passed"), ("notes", "restored 1.2 GB in 14 min")])
            .send()
            .await
            .unwrap();
        assert_eq!(recorded.status(), StatusCode::SEE_OTHER);
        let detail = page(location.clone()).await;
        assert!(
            detail.contains("restored 1.2 GB in 14 min") && detail.contains("<strong>OK</strong>"),
            "{detail}"
        );

        // A rejected edit comes back as typed, with the problem named.
        let mut bad = form("Nightly dump restore");
        bad[7].1 = "Mars/Olympus".into();
        let refused = http
            .post(app.url(&location))
            .bearer_auth(&token)
            .form(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = refused.text().await.unwrap();
        assert!(
            text.contains("timezone") && text.contains("Mars/Olympus"),
            "{text}"
        );
        let edit = page(format!("{location}/edit")).await;
        assert!(edit.contains("Run the row-count check"), "{edit}");
        let saved = http
            .post(app.url(&location))
            .bearer_auth(&token)
            .form(&form("Weekly dump restore"))
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        assert!(page(location.clone()).await.contains("Weekly dump restore"));

        let deleted = http
            .post(app.url(&format!("{location}/delete")))
            .bearer_auth(&token)
            .form(&[("confirm", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
        assert!(!page("/resilience".into())
            .await
            .contains("Weekly dump restore"));
        app.stop().await;
    }
);
