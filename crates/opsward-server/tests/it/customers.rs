//! Customer engagement over HTTP: the register, surveys answered through the public
//! endpoint and page (tampering, reuse, bad scores), satisfaction figures, review packs,
//! reviews as evidence and their actions.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(
    surveys_reviews_and_satisfaction,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("account", Role::Operator).await;
        let (_, admin) = app.user_with_token("boss", Role::Admin).await;
        let http = client();
        let post = |path: &str, body: Value| {
            http.post(app.url(path))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };
        let created = post("/api/v1/customers", json!({"name": "Acme"}))
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let customer: Value = created.json().await.unwrap();
        let id = customer["id"].as_i64().unwrap();
        let duplicate = post("/api/v1/customers", json!({"name": "Acme"}))
            .await
            .unwrap();
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);
        let bad_email = post(
            &format!("/api/v1/customers/{id}/contacts"),
            json!({"name": "Ana", "email": "not-an-address"}),
        )
        .await
        .unwrap();
        assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let contact: Value = post(
            &format!("/api/v1/customers/{id}/contacts"),
            json!({"name": "Ana", "email": "ana@acme.example"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let item: Value = post(
            "/api/v1/backlog/items",
            json!({"item_type": "incident", "title": "VPN drops"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let item_id = item["item"]["id"].as_i64().unwrap();
        let link = post(
            &format!("/api/v1/customers/{id}/items"),
            json!({"item_id": item_id, "contact_id": contact["id"]}),
        )
        .await
        .unwrap();
        assert_eq!(link.status(), StatusCode::OK);
        for state in ["triaged", "in_progress", "resolved"] {
            let r = http
                .patch(app.url(&format!("/api/v1/backlog/items/{item_id}")))
                .bearer_auth(&token)
                .json(&json!({"state": state}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }

        // Settings are for administrators; a survey needs an email channel.
        let hook = http
        .post(app.url("/api/v1/notifications/channels"))
        .bearer_auth(&admin)
        .json(&json!({"name": "hook", "settings": {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "s"}}))
        .send()
        .await
        .unwrap();
        let hook: Value = hook.json().await.unwrap();
        let mail = app.post_json(&admin, "/api/v1/notifications/channels", &json!({"name": "mail", "settings": {"type": "email", "host": "127.0.0.1", "port": 9, "security": "none", "from": "desk@example.com", "to": ["ops@example.com"]}})).await;
        let mut settings: Value = http
            .get(app.url("/api/v1/surveys/settings"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            settings.get("signing_key").is_none(),
            "the key never leaves the database"
        );
        settings["csat_delay_minutes"] = json!(0);
        settings["channel_id"] = hook["id"].clone();
        let put = |body: Value, who: &str| {
            http.put(app.url("/api/v1/surveys/settings"))
                .bearer_auth(who.to_string())
                .json(&body)
                .send()
        };
        assert_eq!(
            put(settings.clone(), &token).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            put(settings.clone(), &admin).await.unwrap().status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "webhooks cannot address a customer"
        );
        settings["channel_id"] = mail["id"].clone();
        assert_eq!(
            put(settings.clone(), &admin).await.unwrap().status(),
            StatusCode::OK
        );

        let run: Value = post("/api/v1/surveys/run", json!({}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(run["sent"], 1, "{run}");
        let surveys = app.get_json(&token, "/api/v1/surveys?state=sent").await;
        let survey = &surveys[0];
        let (_, key) = app.state.customers.settings().await.unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(survey["expires_at"].as_str().unwrap())
            .unwrap()
            .to_utc();
        let token_for = |id: i64| opsward_customers::link::sign(&key, id, expires);
        let genuine = token_for(survey["id"].as_i64().unwrap());
        let forged = token_for(survey["id"].as_i64().unwrap() + 1000);
        let forged = format!("{}.{}", survey["id"], forged.split_once('.').unwrap().1);

        // The public page shows the question without an account; opening it answers nothing.
        let page = http
            .get(app.url(&format!("/survey/{genuine}?score=5")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("id=\"score-5\" checked") && html.contains("survey-form"),
            "{html}"
        );
        let tampered = http
            .get(app.url(&format!("/survey/{forged}")))
            .send()
            .await
            .unwrap();
        assert_eq!(tampered.status(), StatusCode::FORBIDDEN);
        let no_score = http
            .post(app.url(&format!("/survey/{genuine}")))
            .form(&[("comment", "hm")])
            .send()
            .await
            .unwrap();
        assert_eq!(no_score.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let answer = |t: &str, score: i32| {
            http.post(app.url("/api/v1/surveys/answer"))
                .json(&json!({"token": t, "score": score, "comment": "Slow."}))
                .send()
        };
        assert_eq!(
            answer(&forged, 2).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            answer(&genuine, 9).await.unwrap().status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "CSAT is 1-5"
        );
        let answered = answer(&genuine, 2).await.unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        let answered: Value = answered.json().await.unwrap();
        let followup = answered["followup_item_id"]
            .as_i64()
            .expect("a low score opens a follow-up");
        let again = answer(&genuine, 5).await.unwrap();
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["error"]["code"], "already_answered");
        let item = app
            .get_json(&token, &format!("/api/v1/backlog/items/{followup}"))
            .await;
        assert!(
            item["item"]["description"]
                .as_str()
                .unwrap()
                .contains("Slow."),
            "{item}"
        );

        let stats = app
            .get_json(&token, &format!("/api/v1/satisfaction?customer={id}"))
            .await;
        assert_eq!(
            (
                stats["csat_percent"].as_f64(),
                stats["answers"].as_i64(),
                stats["response_rate"].as_f64()
            ),
            (Some(0.0), Some(1), Some(100.0)),
            "{stats}"
        );
        assert_eq!(stats["latest_comments"][0]["comment"], "Slow.");

        // Review: schedule, pack, record (evidence), action to done. The schedule starts
        // yesterday so that its first occurrence has started whatever the time of day: a
        // review recorded now completes the latest started occurrence, never a future one.
        let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let scheduled = http
        .put(app.url(&format!("/api/v1/customers/{id}/review-schedule")))
        .bearer_auth(&token)
        .json(&json!({"rrule": "FREQ=MONTHLY;INTERVAL=3", "starts_local": format!("{yesterday}T09:00:00")}))
        .send()
        .await
        .unwrap();
        assert_eq!(scheduled.status(), StatusCode::OK);
        let pack = app
            .get_json(&token, &format!("/api/v1/customers/{id}/review-pack"))
            .await;
        assert_eq!(
            (pack["raised"].as_i64(), pack["resolved"].as_i64()),
            (Some(1), Some(1)),
            "{pack}"
        );
        let backwards = http
            .get(app.url(&format!(
                "/api/v1/customers/{id}/review-pack?from=2026-02-01&to=2026-01-01"
            )))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(backwards.status(), StatusCode::BAD_REQUEST);
        let today = chrono::Utc::now().date_naive();
        let review: Value = post(
        &format!("/api/v1/customers/{id}/reviews"),
        json!({"period_start": today - chrono::Duration::days(90), "period_end": today, "held_on": today, "attendees": ["Ana"], "actions": [{"title": "Replace the VPN concentrator"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
        let evidence = app
            .get_json(
                &token,
                &format!("/api/v1/evidence/{}", review["evidence_id"]),
            )
            .await;
        assert_eq!(evidence["practice"], "customers", "{evidence}");
        assert!(
            evidence["occurrence_at"].is_string(),
            "it completes today's review: {evidence}"
        );
        let action = review["actions"][0]["id"].as_i64().unwrap();
        let done = app
            .json(
                reqwest::Method::PUT,
                &token,
                &format!("/api/v1/review-actions/{action}"),
                Some(&json!({"done": true})),
            )
            .await;
        assert!(done["done_at"].is_string());

        // The review pack page prints with its chart.
        let cookie_less = http
            .get(app.url(&format!("/customers/{id}/review-pack")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(cookie_less.status(), StatusCode::OK);
        let html = cookie_less.text().await.unwrap();
        assert!(
            html.contains("Service review: Acme") && html.contains("<svg"),
            "{html}"
        );
    }
);

both_backends!(
    customer_edit_form_records_the_assets_used,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("account-editor", Role::Operator).await;
        let http = client();
        let asset = app
            .db
            .store
            .create_asset(
                &opsward_core::Actor::system("test"),
                &opsward_testkit::asset_input("mail-gw"),
            )
            .await
            .unwrap();
        let customer = app
            .post_json(&token, "/api/v1/customers", &json!({"name": "Globex"}))
            .await;
        let id = customer["id"].as_i64().unwrap();
        let edit = |assets: String| {
            http.post(app.url(&format!("/customers/{id}/edit")))
                .bearer_auth(&token)
                .form(&[
                    ("name", "Globex Corp".to_string()),
                    ("notes", "key account".to_string()),
                    ("asset_ids", assets),
                ])
                .send()
        };
        assert_eq!(
            edit(format!("{}", asset.id)).await.unwrap().status(),
            StatusCode::SEE_OTHER
        );
        let stored = app.state.customers.customer(id).await.unwrap();
        assert_eq!(
            (stored.name.as_str(), stored.asset_ids.clone()),
            ("Globex Corp", vec![asset.id])
        );
        assert_eq!(
            edit("nine".into()).await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            edit("999999".into()).await.unwrap().status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown asset"
        );
        let page = http
            .get(app.url(&format!("/customers/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("href=\"/assets/{}\"", asset.id)),
            "{page}"
        );
    }
);
