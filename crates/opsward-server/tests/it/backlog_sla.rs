//! Backlog service levels and edit conflicts over HTTP: the policy (admin only, checked),
//! the clocks on an item and in the list, the at-risk overview, and 409 on a stale version
//! in the API and on the page.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn round_the_clock() -> Value {
    json!({
        "calendar": {"time_zone": "Europe/Berlin", "week": {
            "mon": ["00:00-24:00"], "tue": ["00:00-24:00"], "wed": ["00:00-24:00"], "thu": ["00:00-24:00"],
            "fri": ["00:00-24:00"], "sat": ["00:00-24:00"], "sun": ["00:00-24:00"]}},
        "targets": [{"priority": "P2", "own_minutes": 120, "resolve_minutes": 600}],
        "near_breach_percent": 80
    })
}

both_backends!(sla_policy_and_clocks, |app: TestApp| async move {
    let (_, admin) = app.user_with_token("boss", Role::Admin).await;
    let (_, operator) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let put = |token: &str, body: Value| {
        http.put(app.url("/api/v1/backlog/sla/policy"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let default = app.get_json(&operator, "/api/v1/backlog/sla/policy").await;
    assert_eq!(default["calendar"]["time_zone"], "UTC");
    assert_eq!(default["targets"].as_array().unwrap().len(), 5);

    assert_eq!(
        put(&operator, round_the_clock()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let mut bad = round_the_clock();
    bad["calendar"]["time_zone"] = json!("Europe/Gondor");
    bad["calendar"]["week"]["mon"] = json!(["17:00-09:00"]);
    let refused = put(&admin, bad).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    let messages = body["error"]["details"].to_string();
    assert!(
        messages.contains("Europe/Gondor")
            && messages.contains("mon: \\\"17:00-09:00\\\" ends before it starts"),
        "{messages}"
    );
    assert_eq!(
        put(&admin, round_the_clock()).await.unwrap().status(),
        StatusCode::OK
    );

    // P2 (impact 1, urgency 2) has a target; P5 none.
    let create = |title: &str, impact: i32, urgency: i32| {
        http.post(app.url("/api/v1/backlog/items"))
            .bearer_auth(&operator)
            .json(&json!({"item_type": "incident", "title": title, "impact": impact, "urgency": urgency}))
            .send()
    };
    let p2: Value = create("Mail queue stuck", 1, 2)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p5: Value = create("Rename a share", 3, 3)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (p2, p5) = (
        p2["item"]["id"].as_i64().unwrap(),
        p5["item"]["id"].as_i64().unwrap(),
    );
    let detail = app
        .get_json(&operator, &format!("/api/v1/backlog/items/{p2}"))
        .await;
    let sla = &detail["sla"];
    assert_eq!(sla["time_zone"], "Europe/Berlin");
    assert_eq!(sla["own"]["status"], "on_track");
    assert_eq!(sla["own"]["target_minutes"], 120);
    assert_eq!(sla["resolve"]["target_minutes"], 600);
    assert!(sla["resolve"]["due_at"].is_string());
    let detail = app
        .get_json(&operator, &format!("/api/v1/backlog/items/{p5}"))
        .await;
    assert_eq!(detail["sla"], Value::Null, "no target for P5");

    let overview = app.get_json(&operator, "/api/v1/backlog/sla").await;
    assert_eq!(overview["at_risk"], json!([]));
    assert_eq!(overview["percent_met"], Value::Null);

    let page = http
        .get(app.url(&format!("/backlog/{p2}")))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Service level") && page.contains("Time to resolve"),
        "{page}"
    );
    assert!(
        page.contains("CET") || page.contains("CEST"),
        "due time in Berlin: {page}"
    );
    let list = http
        .get(app.url("/backlog"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(r#"<td class="sla-on_track""#), "{list}");
    app.stop().await;
});

both_backends!(stale_edits_are_conflicts, |app: TestApp| async move {
    let (_, alice) = app.user_with_token("alice", Role::Operator).await;
    let (_, bob) = app.user_with_token("bob", Role::Operator).await;
    let http = client();
    let created = app
        .post_json(
            &alice,
            "/api/v1/backlog/items",
            &json!({"item_type": "problem", "title": "Slow logins"}),
        )
        .await;
    let id = created["item"]["id"].as_i64().unwrap();
    assert_eq!(created["item"]["version"], 1);
    let patch = |token: &str, body: Value| {
        http.patch(app.url(&format!("/api/v1/backlog/items/{id}")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let first = patch(
        &alice,
        json!({"version": 1, "title": "Slow logins after 09:00"}),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = patch(&bob, json!({"version": 1, "title": "Logins slow"}))
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "version_conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 1, it is now at version 2"),
        "{body}"
    );
    // The page: a move from a page showing version 1 is refused with the reason.
    let stale = http
        .post(app.url(&format!("/backlog/{id}/state")))
        .bearer_auth(&bob)
        .form(&[("state", "triaged"), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let text = stale.text().await.unwrap();
    assert!(text.contains("changed by someone else"), "{text}");
    let item = app
        .get_json(&bob, &format!("/api/v1/backlog/items/{id}"))
        .await;
    assert_eq!(item["item"]["title"], "Slow logins after 09:00");
    assert_eq!(item["item"]["state"], "new");
    assert_eq!(item["item"]["version"], 2);
    let fresh = http
        .post(app.url(&format!("/backlog/{id}/state")))
        .bearer_auth(&bob)
        .form(&[("state", "triaged"), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::SEE_OTHER);
    app.stop().await;
});
