//! Evidence for an occurrence that has not started is refused by the API (422) and by the
//! activity page's form, which says why (issue 20 item 10).

use crate::{both_backends, client, TestApp};
use chrono::{Duration, DurationRound, Utc};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    evidence_for_the_future_is_refused,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("recorder", Role::Operator).await;
        let http = client();
        let first = (Utc::now() - Duration::days(1))
            .duration_trunc(Duration::hours(1))
            .unwrap();
        let activity = app
            .post_json(
                &token,
                "/api/v1/activities",
                &json!({"title": "Supplier review", "practice": "suppliers", "rrule": "FREQ=WEEKLY",
                    "timezone": "UTC",
                    "starts_local": first.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string()}),
            )
            .await;
        let id = activity["id"].as_i64().unwrap();
        let next_week = (first + Duration::weeks(1)).to_rfc3339();

        let api = http
            .post(app.url(&format!("/api/v1/activities/{id}/complete")))
            .bearer_auth(&token)
            .json(&json!({"occurrence_at": next_week, "result": "passed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(api.text().await.unwrap().contains("has not started yet"));

        let form = reqwest::multipart::Form::new()
            .text("occurrence_at", next_week.clone())
            .text("result", "passed");
        let ui = http
            .post(app.url(&format!("/calendar/activities/{id}/complete")))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(ui.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = ui.text().await.unwrap();
        assert!(page.contains("has not started yet"), "{page}");
        assert!(
            page.contains("not started yet</span>"),
            "no Done form for next week: {page}"
        );

        // Nothing was recorded; a result now lands on the occurrence that started yesterday.
        let done = app
            .post_json(
                &token,
                &format!("/api/v1/activities/{id}/complete"),
                &json!({"result": "passed"}),
            )
            .await;
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(done["occurrence_at"].as_str().unwrap()).unwrap(),
            first
        );
        app.stop().await;
    }
);
