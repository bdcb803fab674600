//! Human forms (issue 20 item 6): the schedule editor writes the RRULE and reads it back, the
//! schedule is shown in words, channels are added by type with a "send test" that says what
//! happened, and rules pick events from a list.

use crate::{auth::signed_in, both_backends, TestApp};
use axum::{extract::State, http::HeaderMap, routing::post, Router};
use opsward_core::Role;
use opsward_testkit::csrf_token_in;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex};

async fn page(http: &Client, app: &TestApp, path: &str) -> String {
    let r = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

fn editor_fields(csrf: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("csrf_token", csrf),
        ("title", "Restore test"),
        ("practice", "resilience"),
        ("starts_local", "2026-01-01T09:00"),
        ("timezone", "Europe/Berlin"),
        ("frequency", "monthly"),
        ("interval", "6"),
        ("monthly_by", "day"),
        ("month_day", "1"),
        ("nth", "1"),
        ("nth_weekday", "MO"),
        ("rrule", ""),
        ("duration_minutes", "60"),
        ("active", "true"),
    ]
}

both_backends!(
    schedule_editor_writes_the_rule_and_reads_it_back,
    |app: TestApp| async move {
        let http = signed_in(&app, "planner", Role::Admin).await;
        let (_, token) = app.user_with_token("planner-api", Role::Admin).await;
        let form = page(&http, &app, "/calendar/activities/new").await;
        assert!(
            form.contains(r#"<option value="Europe/Berlin">"#),
            "zone list"
        );
        let csrf = csrf_token_in(&form);

        // Preview: the form again with the words and five occurrences; nothing saved.
        let mut fields = editor_fields(&csrf);
        fields.push(("preview", "1"));
        let preview = http
            .post(app.url("/calendar/activities"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(preview.status(), StatusCode::OK);
        let preview = preview.text().await.unwrap();
        assert!(
            preview.contains("every 6 months on the 1st at 09:00 Europe/Berlin"),
            "{preview}"
        );
        let listed = preview.split("<ol>").nth(1).unwrap().split("</ol>").next();
        assert_eq!(listed.unwrap().matches("<li>").count(), 5, "{preview}");
        let none = app.get_json(&token, "/api/v1/activities").await;
        assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");

        // Save: the fields become the rule.
        let saved = http
            .post(app.url("/calendar/activities"))
            .form(&editor_fields(&csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let path = saved.headers()["location"].to_str().unwrap().to_string();
        let id = path.rsplit('/').next().unwrap().to_string();
        let stored = app
            .get_json(&token, &format!("/api/v1/activities/{id}"))
            .await;
        assert_eq!(stored["rrule"], "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1");
        let shown = page(&http, &app, &path).await;
        assert!(shown.contains("every 6 months on the 1st at 09:00 Europe/Berlin"));

        // Edit: the stored rule fills the fields.
        let edit = page(&http, &app, &format!("{path}/edit")).await;
        assert!(
            edit.contains(r#"<option value="monthly" selected>"#),
            "{edit}"
        );
        assert!(edit.contains(r#"name="interval" min="1" max="999" value="6""#));
        assert!(edit.contains(r#"<option value="1" selected>1st</option>"#));
        assert!(edit.contains(r#"<option value="Europe/Berlin" selected>"#));

        // A rule the fields cannot say opens as the advanced text, and is kept as it was.
        let custom = "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1";
        let created = app
            .post_json(
                &token,
                "/api/v1/activities",
                &serde_json::json!({"title": "Last Monday", "practice": "general",
                    "starts_local": "2026-01-26T08:00:00", "timezone": "UTC", "rrule": custom}),
            )
            .await;
        let edit = page(
            &http,
            &app,
            &format!("/calendar/activities/{}/edit", created["id"]),
        )
        .await;
        assert!(edit.contains(r#"<option value="custom" selected>"#));
        assert!(edit.contains(&format!(r#"value="{custom}""#)));
        assert!(edit.contains("<details open>"));
        let detail = page(
            &http,
            &app,
            &format!("/calendar/activities/{}", created["id"]),
        )
        .await;
        assert!(detail.contains(&format!("<code>{custom}</code>")));

        // Weekly on two days, sent by the editor, with a refused interval first.
        let mut weekly: Vec<(&str, &str)> = editor_fields(&csrf)
            .into_iter()
            .filter(|(k, _)| !["frequency", "interval"].contains(k))
            .collect();
        weekly.extend([("frequency", "weekly"), ("day_mo", "on"), ("day_th", "on")]);
        let mut bad = weekly.clone();
        bad.push(("interval", "0"));
        let refused = http.post(app.url(&path)).form(&bad).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("interval must be 1 to 999"));
        weekly.push(("interval", "2"));
        let r = http
            .post(app.url(&path))
            .form(&weekly)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let stored = app
            .get_json(&token, &format!("/api/v1/activities/{id}"))
            .await;
        assert_eq!(stored["rrule"], "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH");
        let shown = page(&http, &app, &path).await;
        assert!(shown.contains("every 2 weeks on Monday and Thursday at 09:00 Europe/Berlin"));
    }
);

/// What a local webhook receiver saw: the signature header of each request.
type Seen = Arc<Mutex<Vec<Option<String>>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(seen): State<Seen>, headers: HeaderMap| async move {
                let signature = headers
                    .get("x-opsward-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                seen.lock().unwrap().push(signature);
                "ok"
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn channel_id(app: &TestApp, token: &str, name: &str) -> i64 {
    let channels = app.get_json(token, "/api/v1/notifications/channels").await;
    channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("no channel {name} in {channels}"))
}

/// Posts "Send test" and returns the flash the next page shows.
async fn send_test(http: &Client, app: &TestApp, csrf: &str, id: i64) -> String {
    let r = http
        .post(app.url(&format!("/admin/notifications/channels/{id}/test")))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/admin/notifications");
    page(http, app, "/admin/notifications").await
}

both_backends!(
    channel_forms_by_type_and_send_test,
    |app: TestApp| async move {
        let http = signed_in(&app, "notifier-admin", Role::Admin).await;
        let (_, token) = app.user_with_token("notifier-api", Role::Admin).await;
        let admin_page = page(&http, &app, "/admin/notifications").await;
        assert!(!admin_page.contains("Settings (JSON"), "no JSON textarea");
        let csrf = csrf_token_in(&admin_page);
        let (url, seen) = receiver().await;

        // Refused with the field named; what was typed comes back except the secret.
        let refused = http
            .post(app.url("/admin/notifications/channels"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "webhook"),
                ("name", "receiver"),
                ("url", url.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = refused.text().await.unwrap();
        assert!(text.contains("signing secret: required"), "{text}");
        assert!(text.contains(&format!(r#"value="{url}""#)));

        let added = http
            .post(app.url("/admin/notifications/channels"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "webhook"),
                ("name", "receiver"),
                ("url", url.as_str()),
                ("secret", "hush-hush"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let id = channel_id(&app, &token, "receiver").await;
        let after = send_test(&http, &app, &csrf, id).await;
        assert!(after.contains("Test message delivered"), "{after}");
        assert!(!after.contains("hush-hush"));
        let seen_now = seen.lock().unwrap().clone();
        assert_eq!(seen_now.len(), 1);
        assert!(seen_now[0].as_deref().is_some_and(|s| !s.is_empty()));

        // A receiver that is not there: the flash says the test failed.
        let added = http
            .post(app.url("/admin/notifications/channels"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "slack"),
                ("name", "nowhere"),
                ("webhook_url", "http://127.0.0.1:9/slack"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), StatusCode::SEE_OTHER);
        let id = channel_id(&app, &token, "nowhere").await;
        let after = send_test(&http, &app, &csrf, id).await;
        assert!(after.contains("Test message failed"), "{after}");

        // Email: several addresses in one field.
        let added = http
            .post(app.url("/admin/notifications/channels"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("kind", "email"),
                ("name", "mail"),
                ("to", "ops@example.com, oncall@example.com"),
                ("from", "opsward@example.com"),
                ("host", "smtp.example.com"),
                ("port", "587"),
                ("security", "starttls"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), StatusCode::SEE_OTHER);

        // Rules pick events from the list.
        assert!(admin_page.contains(r#"name="event" value="activity.overdue""#));
        let rule = http
            .post(app.url("/admin/notifications/rules"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "drills"),
                ("channel_id", &id.to_string()),
                ("event", "activity.overdue"),
                ("event", "activity.failed"),
                ("practice", "resilience"),
                ("min_severity", "info"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            rule.status(),
            StatusCode::SEE_OTHER,
            "{:?}",
            rule.text().await
        );
        let rules: Value = app.get_json(&token, "/api/v1/notifications/rules").await;
        let drills = rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "drills")
            .unwrap();
        assert_eq!(
            drills["events"],
            serde_json::json!(["activity.overdue", "activity.failed"])
        );
        assert_eq!(drills["practice"], "resilience");
    }
);
