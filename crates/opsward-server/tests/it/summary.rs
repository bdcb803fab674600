//! The dashboard's numbers: `GET /api/v1/summary`, the hygiene gauges on `/metrics`, and the
//! dashboard page, from one calendar with a known number of overdue occurrences.

use crate::{both_backends, client, TestApp};
use chrono::{Duration, Utc};
use opsward_core::{asset::Criticality, Actor, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    summary_metrics_and_dashboard_agree,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("watcher", Role::Operator).await;
        let http = client();
        // One critical asset without an owner.
        let mut asset = opsward_testkit::asset_input("db-critical");
        asset.criticality = Criticality::Critical;
        app.db
            .store
            .create_asset(&Actor::system("test"), &asset)
            .await
            .unwrap();
        // Daily at midnight UTC from three days ago: four occurrences have started (overdue).
        let first = (Utc::now() - Duration::days(3)).date_naive();
        let created = app
            .post_json(
                &token,
                "/api/v1/activities",
                &json!({"title": "Restore <test>", "practice": "resilience", "rrule": "FREQ=DAILY",
            "starts_local": format!("{first}T00:00:00"), "timezone": "UTC"}),
            )
            .await;
        let id = created["id"].as_i64().unwrap();
        let failed = http
            .post(app.url(&format!("/api/v1/activities/{id}/complete")))
            .bearer_auth(&token)
            .json(&json!({"result": "failed", "occurrence_at": format!("{first}T00:00:00Z")}))
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), StatusCode::CREATED);

        let response = http
            .get(app.url("/api/v1/summary"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let summary: Value = response.json().await.unwrap();
        let practice = |name: &str| {
            summary["practices"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["practice"] == name)
                .unwrap()
                .clone()
        };
        let resilience = practice("resilience");
        let reasons: Vec<(i64, String)> = resilience["deductions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["points"].as_i64().unwrap(),
                    d["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        // The practice's own rule first: the critical asset has no measure (5); then the
        // calendar's: 3 overdue × 10; failed ceil(20 × 1/4); 1 unowned activity × 5; 1
        // uncovered critical asset × 5.
        assert_eq!(
            reasons,
            [
                (
                    5,
                    "1 of 1 critical asset has no resilience measure".to_string()
                ),
                (30, "3 occurrences are overdue (oldest 2 days)".to_string()),
                (
                    5,
                    "1 of 4 occurrences in the last 90 days failed".to_string()
                ),
                (5, "1 of 1 activity has no owner".to_string()),
                (
                    5,
                    "1 of 1 critical asset has no resilience activity (restore or failover test)"
                        .to_string()
                ),
            ]
        );
        assert_eq!(resilience["score"], 50);
        assert_eq!(resilience["band"], "fair");
        assert_eq!(resilience["overdue"], 3);
        assert_eq!(resilience["upcoming_30d"], 30);
        // General: nothing scheduled (40) and 1 of 1 asset without an owner (20).
        assert_eq!(practice("general")["score"], 40);
        assert_eq!(summary["practices"].as_array().unwrap().len(), 8);
        assert_eq!(summary["overdue"], 3);
        assert_eq!(summary["next_30_days"]["count"], 30);
        assert_eq!(
            summary["next_30_days"]["occurrences"]
                .as_array()
                .unwrap()
                .len(),
            30
        );
        assert_eq!(summary["next_30_days"]["truncated"], false);
        assert_eq!(
            summary["evidence_30d"],
            json!({"passed": 0, "failed": 1, "partial": 0})
        );
        assert_eq!(
            summary["assets"],
            json!({"total": 1, "without_owner": 1, "critical": 1})
        );
        let days = summary["days"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(
            days[0]["overdue"], 1,
            "today's midnight occurrence: {}",
            days[0]
        );

        let metrics = http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "opsward_practice_hygiene_score{practice=\"resilience\"} 50",
            "opsward_practice_hygiene_score{practice=\"general\"} 40",
            "opsward_practice_hygiene_score{practice=\"certificates\"} 60",
            "opsward_occurrences_overdue{practice=\"resilience\"} 3",
            "opsward_occurrences_overdue{practice=\"patches\"} 0",
            "opsward_occurrences_upcoming_30d{practice=\"resilience\"} 30",
            "opsward_assets 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "{line} missing from:\n{metrics}"
            );
        }

        let page = http
            .get(app.url("/"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("3 occurrences are overdue (oldest 2 days)"),
            "{html}"
        );
        assert!(
            html.contains(r#"href="/calendar?practice=resilience""#),
            "{html}"
        );
        assert!(html.contains(r#"href="/calendar?view=overdue""#), "{html}");
        assert!(
            html.contains(r#"<a href="/calendar">Calendar</a>"#),
            "the calendar is in the navigation: {html}"
        );
        assert!(overdue_page_marks_calendar(&http, &app, &token).await);
        // That link lists the overdue occurrences, the oldest first, and nothing else.
        let overdue = http
            .get(app.url("/calendar?view=overdue"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            overdue
                .matches(r#"<td class="state-overdue">Overdue"#)
                .count(),
            3,
            "{overdue}"
        );
        assert!(
            !overdue.contains(r#"<td class="state-upcoming">"#),
            "{overdue}"
        );
        assert!(
            html.contains(r#"role="img" aria-labelledby="hygiene-chart-title"#),
            "{html}"
        );
        assert!(
            html.contains("Restore &#60;test&#62;"),
            "titles are escaped: {html}"
        );
        assert!(!html.contains("Restore <test>"), "{html}");

        // An hourly activity: the list stops at 200, the count does not.
        http.post(app.url("/api/v1/activities"))
        .bearer_auth(&token)
        .json(&json!({"title": "Hourly check", "practice": "general", "rrule": "FREQ=HOURLY",
            "starts_local": format!("{}T00:00:00", Utc::now().date_naive() + Duration::days(1)), "timezone": "UTC"}))
        .send()
        .await
        .unwrap();
        let summary = app.get_json(&token, "/api/v1/summary").await;
        let listed = summary["next_30_days"]["occurrences"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(listed, 200);
        assert!(summary["next_30_days"]["count"].as_u64().unwrap() > 600);
        assert_eq!(summary["next_30_days"]["truncated"], true);
        app.stop().await;
    }
);

/// The calendar pages mark their navigation entry as the current page.
async fn overdue_page_marks_calendar(http: &reqwest::Client, app: &TestApp, token: &str) -> bool {
    let html = http
        .get(app.url("/calendar"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    html.contains(r#"<a href="/calendar" aria-current="page">Calendar</a>"#)
}
