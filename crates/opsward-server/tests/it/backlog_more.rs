//! Watchers, attachments, saved filters, the list's bulk form, the review and the report
//! over HTTP (API and pages), on both backends.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn new_item(app: &TestApp, token: &str, title: &str) -> (i64, i64) {
    let created: Value = client()
        .post(app.url("/api/v1/backlog/items"))
        .bearer_auth(token)
        .json(&json!({"item_type": "problem", "title": title}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["item"]["id"].as_i64().unwrap(),
        created["item"]["version"].as_i64().unwrap(),
    )
}

both_backends!(watch_and_attach_over_http, |app: TestApp| async move {
    let (viewer, viewer_token) = app.user_with_token("watcher", Role::Viewer).await;
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let (id, _) = new_item(&app, &token, "Printer queue stuck").await;
    let watchers = app
        .json(
            reqwest::Method::PUT,
            &viewer_token,
            &format!("/api/v1/backlog/items/{id}/watchers/me"),
            None,
        )
        .await;
    assert_eq!(watchers[0]["user_id"], json!(viewer.id));
    let page = http
        .get(app.url(&format!("/backlog/{id}")))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Stop watching"), "{page}");
    // The page's form stops it.
    let stop = http
        .post(app.url(&format!("/backlog/{id}/unwatch")))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), StatusCode::SEE_OTHER);
    let left = app
        .get_json(
            &viewer_token,
            &format!("/api/v1/backlog/items/{id}/watchers"),
        )
        .await;
    assert_eq!(left, json!([]));

    // Attachments: a viewer may not upload; an operator may; the bytes come back intact.
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"lpstat: queue stuck\n".to_vec())
                .file_name("../lpstat.txt")
                .mime_str("text/plain")
                .unwrap(),
        )
    };
    let refused = http
        .post(app.url(&format!("/api/v1/backlog/items/{id}/attachments")))
        .bearer_auth(&viewer_token)
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let stored: Value = http
        .post(app.url(&format!("/api/v1/backlog/items/{id}/attachments")))
        .bearer_auth(&token)
        .multipart(form())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file_id = stored[0]["id"].as_i64().unwrap();
    assert_eq!(stored[0]["filename"], "lpstat.txt");
    assert_eq!(stored[0]["content_type"], "text/plain");
    let download = http
        .get(app.url(&format!("/api/v1/backlog/attachments/{file_id}")))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        b"lpstat: queue stuck\n"
    );
    let page = http
        .get(app.url(&format!("/backlog/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(
        "/api/v1/backlog/attachments/{file_id}\">lpstat.txt"
    )));
    let deleted = http
        .post(app.url(&format!("/backlog/attachments/{file_id}/delete")))
        .bearer_auth(&token)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let list = app
        .get_json(&token, &format!("/api/v1/backlog/items/{id}/attachments"))
        .await;
    assert_eq!(list, json!([]));
    let missing = http
        .get(app.url(&format!("/api/v1/backlog/attachments/{file_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
});

both_backends!(saved_filters_and_bulk_form, |app: TestApp| async move {
    let (_, viewer_token) = app.user_with_token("reader", Role::Viewer).await;
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let (a, va) = new_item(&app, &token, "Backup window overruns").await;
    let (b, vb) = new_item(&app, &token, "Backup target full").await;
    let (c, _) = new_item(&app, &token, "Badge reader offline").await;
    // A viewer may keep a private filter but not share one.
    let shared = http
        .post(app.url("/api/v1/backlog/filters"))
        .bearer_auth(&viewer_token)
        .json(&json!({"name": "backups", "shared": true, "filter": {"q": "backup"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), StatusCode::FORBIDDEN);
    let saved = http
        .post(app.url("/backlog/filters"))
        .bearer_auth(&token)
        .form(&[
            ("name", "backups"),
            ("q", "backup"),
            ("state", "new"),
            ("shared", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()["location"], "/backlog?filter=backups");
    let listed = app
        .get_json(&viewer_token, "/api/v1/backlog/items?filter=backups")
        .await;
    let ids: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a, b]);
    let page = http
        .get(app.url("/backlog?filter=backups"))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Backup target full") && !page.contains("Badge reader"),
        "{page}"
    );
    assert!(page.contains(r#"<option value="backups" selected>backups (shared)</option>"#));
    let unknown = http
        .get(app.url("/api/v1/backlog/items?filter=nope"))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let filters = app.get_json(&viewer_token, "/api/v1/backlog/filters").await;
    let filter_id = filters[0]["id"].as_i64().unwrap();
    // Shared by the operator: the viewer cannot delete it.
    let not_theirs = http
        .delete(app.url(&format!("/api/v1/backlog/filters/{filter_id}")))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(not_theirs.status(), StatusCode::FORBIDDEN);

    // The bulk form: ticked rows as id:version; a stale version refuses everything.
    let item_a = format!("{a}:{va}");
    let item_b_stale = format!("{b}:{}", vb - 1);
    let stale = http
        .post(app.url("/backlog/bulk"))
        .bearer_auth(&token)
        .form(&[
            ("item", item_a.as_str()),
            ("item", item_b_stale.as_str()),
            ("state", "triaged"),
            ("urgency", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale.text().await.unwrap().contains("nothing was changed"));
    let item_b = format!("{b}:{vb}");
    let done = http
        .post(app.url("/backlog/bulk"))
        .bearer_auth(&token)
        .form(&[
            ("item", item_a.as_str()),
            ("item", item_b.as_str()),
            ("state", "triaged"),
            ("urgency", "1"),
            ("tags", "backup"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    for (id, want) in [(a, "triaged"), (b, "triaged"), (c, "new")] {
        let item = app
            .get_json(&token, &format!("/api/v1/backlog/items/{id}"))
            .await;
        assert_eq!(item["item"]["state"], want, "item {id}");
    }
    let audit = app
        .db
        .store
        .list_audit(
            &opsward_core::audit::AuditFilter {
                entity_type: Some("backlog_item".into()),
                action: Some("update".into()),
                ..Default::default()
            },
            opsward_core::page::PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 2, "one audit entry per item changed");
    // The list page shows the bulk form to operators only.
    let as_viewer = http
        .get(app.url("/backlog"))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!as_viewer.contains(r#"id="bulk""#));
    let deleted = http
        .post(app.url(&format!("/backlog/filters/{filter_id}/delete")))
        .bearer_auth(&token)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
});

both_backends!(review_and_report_pages, |app: TestApp| async move {
    let (_, token) = app.user_with_token("reviewer", Role::Operator).await;
    let http = client();
    let (a, _) = new_item(&app, &token, "Legacy FTP server").await;
    let (b, _) = new_item(&app, &token, "Wiki search broken").await;
    let list = app
        .get_json(&token, "/api/v1/backlog/review?stale_days=30&top=5")
        .await;
    assert_eq!(list["entries"].as_array().unwrap().len(), 2);
    assert!(list["entries"][0]["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("unowned")));
    let no_activity = http
        .post(app.url("/api/v1/backlog/review"))
        .bearer_auth(&token)
        .json(&json!({"decisions": [{"item_id": a, "decision": "close"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_activity.status(), StatusCode::CONFLICT);
    let activity = app
        .post_json(
            &token,
            "/api/v1/activities",
            &json!({"title": "Backlog review", "practice": "backlog", "template": "backlog-review",
            "rrule": "FREQ=DAILY", "starts_local": "2026-01-01T00:00:00", "timezone": "UTC"}),
        )
        .await;
    let page = http
        .get(app.url("/backlog/review"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("name=\"decision_{a}\"")), "{page}");
    assert!(page.contains(&format!("/calendar/activities/{}", activity["id"])));
    let applied = http
        .post(app.url("/backlog/review"))
        .bearer_auth(&token)
        .form(&[
            (format!("decision_{a}"), "close".to_string()),
            (format!("note_{a}"), "nobody uses FTP".to_string()),
            (format!("decision_{b}"), "keep".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::SEE_OTHER);
    let location = applied.headers()["location"].to_str().unwrap().to_string();
    let evidence_id = location.rsplit('=').next().unwrap();
    let evidence = app
        .get_json(&token, &format!("/api/v1/evidence/{evidence_id}"))
        .await;
    assert_eq!(evidence["activity_id"], activity["id"]);
    let notes = evidence["notes"].as_str().unwrap();
    assert!(
        notes.contains(&format!("#{a} Legacy FTP server: close: nobody uses FTP")),
        "{notes}"
    );
    assert!(
        notes.contains(&format!("#{b} Wiki search broken: keep")),
        "{notes}"
    );
    let closed = app
        .get_json(&token, &format!("/api/v1/backlog/items/{a}"))
        .await;
    assert_eq!(closed["item"]["state"], "closed");

    let charts = app.get_json(&token, "/api/v1/backlog/charts?weeks=4").await;
    let week = &charts["weeks"][3];
    assert_eq!(
        (week["open"].as_i64(), week["states"]["closed"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        week["resolved"], 1,
        "closed straight from new by the review"
    );
    let bad = http
        .get(app.url("/api/v1/backlog/charts?weeks=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let report = http
        .get(app.url("/backlog/report?weeks=4"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(report.matches("<svg").count(), 5, "five charts");
    for id in [
        "backlog-size",
        "backlog-flow",
        "backlog-ages",
        "backlog-throughput",
        "backlog-sla",
    ] {
        assert!(report.contains(id), "{id}");
    }
    assert!(!report.contains("style="), "the CSP forbids inline styles");
});
