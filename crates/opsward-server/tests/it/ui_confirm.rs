//! Deletes ask first (issue 20 item 4): a delete POST without `confirm=yes` deletes nothing
//! and answers a page that says what else the deletion touches; with it, the record goes.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(
    delete_asks_first_and_says_what_else_goes,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("deleter", Role::Operator).await;
        let http = client();
        let asset = app
            .post_json(
                &token,
                "/api/v1/assets",
                &json!({"name": "web-01", "kind": "host", "tags": ["dmz", "linux"]}),
            )
            .await;
        let asset_id = asset["id"].as_i64().unwrap();
        for title in ["Backup check", "Restore test"] {
            app.post_json(
                &token,
                "/api/v1/activities",
                &json!({"title": title, "practice": "resilience",
                    "starts_local": "2026-01-01T10:00:00", "asset_id": asset_id}),
            )
            .await;
        }
        let post = |path: String, confirm: bool| {
            let http = http.clone();
            let token = token.clone();
            let url = app.url(&path);
            async move {
                let form: &[(&str, &str)] = if confirm { &[("confirm", "yes")] } else { &[] };
                http.post(url)
                    .bearer_auth(token)
                    .form(form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let exists = |path: String| {
            let http = http.clone();
            let token = token.clone();
            let url = app.url(&path);
            async move {
                http.get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    == StatusCode::OK
            }
        };

        let asked = post(format!("/assets/{asset_id}/delete"), false).await;
        assert_eq!(asked.status(), StatusCode::OK);
        let page = asked.text().await.unwrap();
        assert!(page.contains("Delete the asset web-01?"), "{page}");
        assert!(page.contains("also removes 2 tags"), "{page}");
        assert!(
            page.contains("unlinks 2 calendar activities, which stay"),
            "{page}"
        );
        assert!(page.contains(r#"name="confirm" value="yes""#), "{page}");
        assert!(exists(format!("/api/v1/assets/{asset_id}")).await);

        let done = post(format!("/assets/{asset_id}/delete"), true).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(done.headers()["location"], "/assets");
        assert!(!exists(format!("/api/v1/assets/{asset_id}")).await);
        app.stop().await;
    }
);

both_backends!(
    no_delete_form_deletes_without_confirmation,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("admin", Role::Admin).await;
        let http = client();
        let id = |v: serde_json::Value| v["id"].as_i64().unwrap();
        let asset = id(app
            .post_json(
                &token,
                "/api/v1/assets",
                &json!({"name": "db-01", "kind": "host"}),
            )
            .await);
        let team = id(app
            .post_json(&token, "/api/v1/teams", &json!({"name": "Platform"}))
            .await);
        let person = id(app
            .post_json(
                &token,
                "/api/v1/people",
                &json!({"name": "Ada", "email": "ada@example.com", "team_id": team}),
            )
            .await);
        let activity = id(app
        .post_json(&token, "/api/v1/activities",
            &json!({"title": "Failover drill", "practice": "resilience", "starts_local": "2026-01-01T10:00:00"}))
        .await);
        // (delete form, what the page must say, the record's API address)
        let cases = [
            (
                format!("/assets/{asset}/delete"),
                "Delete the asset db-01?".to_string(),
                format!("/api/v1/assets/{asset}"),
            ),
            (
                format!("/teams/{team}/delete"),
                "unlinks 1 person, which stay".into(),
                format!("/api/v1/teams/{team}"),
            ),
            (
                format!("/people/{person}/delete"),
                "Delete Ada?".into(),
                format!("/api/v1/people/{person}"),
            ),
            (
                format!("/calendar/activities/{activity}/delete"),
                "Delete the activity Failover drill?".into(),
                format!("/api/v1/activities/{activity}"),
            ),
        ];
        for (form, says, record) in &cases {
            let asked = http
                .post(app.url(form))
                .bearer_auth(&token)
                .form(&[("csrf_token", "ignored-for-bearer")])
                .send()
                .await
                .unwrap();
            assert_eq!(asked.status(), StatusCode::OK, "{form}");
            let page = asked.text().await.unwrap();
            assert!(page.contains(says.as_str()), "{form}: {page}");
            assert!(
                page.contains(&format!(r#"action="{form}""#)),
                "{form}: {page}"
            );
            let still = http
                .get(app.url(record))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(
                still.status(),
                StatusCode::OK,
                "{form} deleted {record} unasked"
            );
        }
        // Confirmed, each goes (people before their team, so the team is free to go).
        for (form, _, record) in cases.iter().rev() {
            let done = http
                .post(app.url(form))
                .bearer_auth(&token)
                .form(&[("confirm", "yes")])
                .send()
                .await
                .unwrap();
            assert_eq!(done.status(), StatusCode::SEE_OTHER, "{form}");
            let gone = http
                .get(app.url(record))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{form}");
        }
        app.stop().await;
    }
);
