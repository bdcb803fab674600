use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    channels_keep_secrets_and_failed_results_queue_messages,
    |app: TestApp| async move {
        let (_, admin) = app.user_with_token("boss", Role::Admin).await;
        let http = client();
        let created = http
        .post(app.url("/api/v1/notifications/channels"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ops-hook", "settings": {"type": "webhook", "url": "https://hooks.example.com/T000/B000/XXXXSECRETPATH", "secret": "topsecret"}}))
        .send()
        .await
        .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let channel: Value = created.json().await.unwrap();
        assert_eq!(channel["target"], "https://hooks.example.com");
        // The field's earlier name, `config`, is still accepted.
        let invalid = http
        .post(app.url("/api/v1/notifications/channels"))
        .bearer_auth(&admin)
        .json(&json!({"name": "bad", "config": {"type": "webhook", "url": "ftp://x", "secret": "s"}}))
        .send()
        .await
        .unwrap();
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let said: Value = invalid.json().await.unwrap();
        assert!(said.to_string().contains("settings.url"), "{said}");

        let rule = http
        .post(app.url("/api/v1/notifications/rules"))
        .bearer_auth(&admin)
        .json(&json!({"name": "failures", "channel_id": channel["id"], "events": ["activity.failed"], "global": true}))
        .send()
        .await
        .unwrap();
        assert_eq!(rule.status(), StatusCode::CREATED);

        let activity = app.post_json(&admin, "/api/v1/activities", &json!({"title": "Failover drill", "practice": "resilience", "starts_local": "2026-02-01T10:00:00"})).await;
        let done = http
            .post(app.url(&format!("/api/v1/activities/{}/complete", activity["id"])))
            .bearer_auth(&admin)
            .json(&json!({"result": "failed", "notes": "standby did not take over"}))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::CREATED);
        let outbox: Vec<Value> = http
            .get(app.url("/api/v1/notifications/outbox"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(outbox.len(), 1, "{outbox:?}");
        assert_eq!(
            (outbox[0]["event"].as_str(), outbox[0]["state"].as_str()),
            (Some("activity.failed"), Some("pending"))
        );
        assert!(outbox[0]["subject"]
            .as_str()
            .unwrap()
            .contains("failed result: Failover drill"));

        // Secrets appear in no listing, page or audit entry.
        for path in [
            "/api/v1/notifications/channels",
            "/api/v1/audit?entity_type=notification_channel",
            "/admin/notifications",
            "/api/v1/notifications/outbox",
        ] {
            let text = http
                .get(app.url(path))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                !text.contains("topsecret") && !text.contains("XXXXSECRETPATH"),
                "{path} shows a secret: {text}"
            );
        }
        app.stop().await;
    }
);
