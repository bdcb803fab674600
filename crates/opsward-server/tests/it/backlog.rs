//! The backlog over HTTP: filing with duplicate suggestions, the workflow, comments and
//! history, filtered and paged lists, search, and the aging report.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both_backends!(file_triage_and_resolve, |app: TestApp| async move {
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let (_, viewer) = app.user_with_token("reader", Role::Viewer).await;
    let http = client();

    let first = http
        .post(app.url("/api/v1/backlog/items"))
        .bearer_auth(&token)
        .json(&json!({"item_type": "problem", "title": "db-01 disk almost full", "impact": 1, "urgency": 2, "tags": ["storage"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["item"]["priority"], "P2");
    assert_eq!(first["item"]["state"], "new");
    assert_eq!(first["possible_duplicates"], json!([]));
    let id = first["item"]["id"].as_i64().unwrap();

    let second = app.post_json(&token, "/api/v1/backlog/items", &json!({"item_type": "incident", "title": "Disk full on db-01", "description": "alerts since 02:00"})).await;
    assert_eq!(second["possible_duplicates"][0]["id"], id);
    assert_eq!(second["possible_duplicates"].as_array().unwrap().len(), 1);

    let patch = |body: Value| {
        http.patch(app.url(&format!("/api/v1/backlog/items/{id}")))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let illegal = patch(json!({"state": "closed"})).await.unwrap();
    assert_eq!(illegal.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = illegal.json().await.unwrap();
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert_eq!(
        body["error"]["message"],
        "cannot move an item from new to closed: allowed next states are triaged"
    );
    let bad_field = patch(json!({"impact": 7})).await.unwrap();
    assert_eq!(bad_field.status(), StatusCode::UNPROCESSABLE_ENTITY);

    for state in ["triaged", "in_progress", "waiting_change", "resolved"] {
        let r = patch(json!({"state": state})).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "to {state}");
    }
    let renamed: Value = patch(json!({"title": "db-01 data volume full", "urgency": 1}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["priority"], "P1");

    let comment = http
        .post(app.url(&format!("/api/v1/backlog/items/{id}/comments")))
        .bearer_auth(&token)
        .json(&json!({"body": "Grew 40 GB after the log level change"}))
        .send()
        .await
        .unwrap();
    assert_eq!(comment.status(), StatusCode::CREATED);
    let empty = http
        .post(app.url(&format!("/api/v1/backlog/items/{id}/comments")))
        .bearer_auth(&token)
        .json(&json!({"body": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let detail = app
        .get_json(&viewer, &format!("/api/v1/backlog/items/{id}"))
        .await;
    assert_eq!(detail["item"]["state"], "resolved");
    assert_eq!(detail["next_states"], json!(["in_progress", "closed"]));
    assert_eq!(detail["comments"][0]["author"], "token:triager/test");
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["create", "update", "update", "update", "update", "update", "comment"]
    );
    assert_eq!(
        detail["history"][5]["changes"]["title"]["before"],
        "db-01 disk almost full"
    );

    let viewer_patch = http
        .patch(app.url(&format!("/api/v1/backlog/items/{id}")))
        .bearer_auth(&viewer)
        .json(&json!({"state": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(viewer_patch.status(), StatusCode::FORBIDDEN);
    let missing = http
        .get(app.url("/api/v1/backlog/items/999999"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
});

both_backends!(list_filters_search_and_aging, |app: TestApp| async move {
    let (_, token) = app.user_with_token("lister", Role::Operator).await;
    let http = client();
    for (item_type, title) in [
        ("risk", "Single DNS resolver"),
        ("improvement", "Automate certificate renewal"),
        ("risk", "Backup server out of support"),
        ("problem", "Printer queue stalls"),
    ] {
        let r = http
            .post(app.url("/api/v1/backlog/items"))
            .bearer_auth(&token)
            .json(&json!({"item_type": item_type, "title": title}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let get = |query: &str| {
        http.get(app.url(&format!("/api/v1/backlog/items?{query}")))
            .bearer_auth(&token)
            .send()
    };
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    let risks: Value = get("type=risk").await.unwrap().json().await.unwrap();
    assert_eq!(
        titles(&risks),
        ["Single DNS resolver", "Backup server out of support"]
    );
    let found: Value = get("q=certificates+renewal")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&found), ["Automate certificate renewal"]);
    let none: Value = get("state=closed").await.unwrap().json().await.unwrap();
    assert!(titles(&none).is_empty());

    let page1: Value = get("limit=3").await.unwrap().json().await.unwrap();
    assert_eq!(titles(&page1).len(), 3);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = get(&format!("limit=3&cursor={cursor}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&page2), ["Printer queue stalls"]);
    assert!(page2["next_cursor"].is_null());
    assert_eq!(
        get("state=sleeping").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get("cursor=zz").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );

    let aging = app
        .get_json(&token, "/api/v1/backlog/aging?stale_days=30")
        .await;
    assert_eq!(aging["open"], 4);
    assert_eq!(
        aging["buckets"],
        json!({"0-7": 4, "8-30": 0, "31-90": 0, "90+": 0})
    );
    assert_eq!(aging["stale"], json!([]));
    assert_eq!(aging["unowned"].as_array().unwrap().len(), 4);
    assert_eq!(aging["unowned_total"], 4);
    let limited = app
        .get_json(&token, "/api/v1/backlog/aging?stale_days=30&ids_limit=1")
        .await;
    assert_eq!(limited["unowned"], json!([aging["unowned"][0]]));
    assert_eq!(limited["unowned_total"], 4);
    let too_many = http
        .get(app.url("/api/v1/backlog/aging?ids_limit=1000001"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);

    let page = http
        .get(app.url("/backlog?type=risk&q=dns"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Single DNS resolver"), "{html}");
    assert!(!html.contains("Backup server out of support"));
    let text = html.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("4 open: 4 up to a week old"), "{text}");
    let bad = http
        .get(app.url("/backlog?state=sleeping"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(bad.text().await.unwrap().contains("is not a backlog state"));
    app.stop().await;
});

both_backends!(
    the_item_page_moves_through_the_workflow,
    |app: TestApp| async move {
        let (_, token) = app
            .user_with_token("triager", opsward_core::Role::Operator)
            .await;
        let http = crate::client();
        let created = http
            .post(app.url("/backlog"))
            .bearer_auth(&token)
            .form(&[
                ("item_type", "problem"),
                ("title", "Backups on db-01 fail every night"),
                ("description", ""),
                ("impact", "1"),
                ("urgency", "2"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), reqwest::StatusCode::SEE_OTHER);
        let again = http
            .post(app.url("/backlog"))
            .bearer_auth(&token)
            .form(&[
                ("item_type", "incident"),
                ("title", "db-01 backups failing"),
                ("description", ""),
                ("impact", "3"),
                ("urgency", "3"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), reqwest::StatusCode::SEE_OTHER);
        let location = again.headers()["location"].to_str().unwrap().to_string();
        assert!(location.ends_with("?similar=1"), "{location}");
        let again = http
            .get(app.url(&location))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            again.contains("Possibly the same as:")
                && again.contains("Backups on db-01 fail every night"),
            "{again}"
        );
        let list: serde_json::Value = http
            .get(app.url("/api/v1/backlog/items"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = list["items"][0]["id"].as_i64().unwrap();

        // Not allowed from `new`: refused with the reason on the page, nothing changes.
        let refused = http
            .post(app.url(&format!("/backlog/{id}/state")))
            .bearer_auth(&token)
            .form(&[("state", "closed")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused
            .text()
            .await
            .unwrap()
            .contains("allowed next states are triaged"));
        let moved = http
            .post(app.url(&format!("/backlog/{id}/state")))
            .bearer_auth(&token)
            .form(&[("state", "triaged")])
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), reqwest::StatusCode::SEE_OTHER);
        http.post(app.url(&format!("/backlog/{id}/comments")))
            .bearer_auth(&token)
            .form(&[("body", "restore test scheduled")])
            .send()
            .await
            .unwrap();
        let page = http
            .get(app.url(&format!("/backlog/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("<dd>Triaged</dd>")
                && page.contains("changed state")
                && page.contains("commented: <p>restore test scheduled</p>"),
            "{page}"
        );
        app.stop().await;
    }
);
