//! Backlog import and export over HTTP: a Jira-like CSV through a mapping, line-numbered
//! refusals with nothing stored, dry runs, JSON, and an export that imports again.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(import_and_export, |app: TestApp| async move {
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let import = |body: Value| {
        http.post(app.url("/api/v1/backlog/import"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let count = || async {
        let v = app
            .get_json(&token, "/api/v1/backlog/export?format=json")
            .await;
        v.as_array().unwrap().len()
    };
    let mapping = json!({
        "title": "Summary", "description": "Description", "item_type": "Issue Type",
        "urgency": "Priority", "impact": null, "tags": "Labels",
        "types": {"Bug": "problem", "Story": "improvement"}
    });
    let bad = "Issue key,Summary,Issue Type,Priority,Labels,Description\n\
               OPS-1,Login slow,Bug,High,auth,\n\
               OPS-2,,Bug,High,,\n\
               OPS-3,Portal,Epic,Whenever,,\n";
    let refused = import(json!({"format": "csv", "data": bad, "mapping": mapping}))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    let lines: Vec<(i64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (3, "title".into()),
            (4, "item_type".into()),
            (4, "urgency".into())
        ],
        "{body}"
    );
    assert_eq!(body["imported"], 0);
    assert_eq!(count().await, 0, "nothing half-imported");

    let good = "Issue key,Summary,Issue Type,Priority,Labels,Description\n\
                OPS-1,Login slow,Bug,High,auth,\"after the **09:00** peak\"\n\
                OPS-2,Self-service reset,Story,Low,auth;ux,\n";
    let dry: Value =
        import(json!({"format": "csv", "data": good, "mapping": mapping, "dry_run": true}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        (dry["valid"].as_i64(), dry["imported"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(count().await, 0);
    let done = import(json!({"format": "csv", "data": good, "mapping": mapping}))
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["ids"].as_array().unwrap().len(), 2);

    // JSON: one bad record refuses the batch.
    let json_refused = import(json!({"format": "json", "data": r#"[{"item_type": "risk", "title": "ok"}, {"item_type": "risk", "title": "x", "urgency": 0}]"#}))
        .await
        .unwrap();
    assert_eq!(json_refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = json_refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["line"], 2);
    assert_eq!(count().await, 2);

    // Export as CSV and import it again: two more of the same.
    let csv = http
        .get(app.url("/api/v1/backlog/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("id,item_type,title,description,state"),
        "{csv}"
    );
    assert!(csv.contains("Self-service reset"), "{csv}");
    let again = import(json!({"format": "csv", "data": csv})).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let items = app
        .get_json(&token, "/api/v1/backlog/export?format=json")
        .await;
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[2]["title"], "Login slow");
    assert_eq!(items[2]["description"], "after the **09:00** peak");
    assert_eq!(items[3]["tags"], json!(["auth", "ux"]));
    assert_eq!(items[3]["item_type"], "improvement");
    app.stop().await;
});

both_backends!(bulk_edit_all_or_nothing, |app: TestApp| async move {
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let mut ids = Vec::new();
    for title in ["Fan noise", "UPS self-test failed"] {
        let v = app
            .post_json(
                &token,
                "/api/v1/backlog/items",
                &json!({"item_type": "incident", "title": title}),
            )
            .await;
        ids.push(v["item"]["id"].as_i64().unwrap());
    }
    let bulk = |body: Value| {
        http.post(app.url("/api/v1/backlog/items/bulk"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let refused = bulk(json!({"ids": [ids[0], ids[1], 999_999], "patch": {"state": "triaged"}}))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("item 999999:"),
        "{body}"
    );
    let first = app
        .get_json(&token, &format!("/api/v1/backlog/items/{}", ids[0]))
        .await;
    assert_eq!(first["item"]["state"], "new", "the batch was rolled back");
    let done =
        bulk(json!({"ids": ids, "patch": {"state": "triaged", "urgency": 1, "tags": ["dc"]}}))
            .await
            .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let items: Value = done.json().await.unwrap();
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["state"] == "triaged" && i["tags"] == json!(["dc"])));
    let empty = bulk(json!({"ids": [], "patch": {}})).await.unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
});
