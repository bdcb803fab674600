//! The backlog board and edit form over HTTP: hostile Markdown is neutralised on the item
//! page, edits keep versions, the board moves cards (htmx and plain posts) and refuses
//! stale or illegal moves with the reason.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(edit_markdown_and_board, |app: TestApp| async move {
    let (_, token) = app.user_with_token("triager", Role::Operator).await;
    let http = client();
    let created = app
        .post_json(
            &token,
            "/api/v1/backlog/items",
            &json!({"item_type": "problem", "title": "Queue backs up"}),
        )
        .await;
    let id = created["item"]["id"].as_i64().unwrap();
    let hostile = "**Steps**\n\n<script>alert('x')</script>\n\n[runbook](javascript:alert(1))\n\n<img src=x onerror=alert(1)>";
    let saved = http
        .post(app.url(&format!("/backlog/{id}/edit")))
        .bearer_auth(&token)
        .form(&[
            ("title", "Queue backs up at night"),
            ("item_type", "problem"),
            ("impact", "1"),
            ("urgency", "2"),
            ("tags", "mq, night"),
            ("description", hostile),
            ("version", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(app.url(&format!("/backlog/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let description = page
        .split(r#"id="description">"#)
        .nth(1)
        .and_then(|d| d.split("</dd>").next())
        .unwrap();
    assert!(
        description.contains("<strong>Steps</strong>"),
        "{description}"
    );
    assert!(!description.contains("<script"), "{description}");
    assert!(!description.contains("javascript:"), "{description}");
    assert!(!description.contains("onerror"), "{description}");
    // The raw text is still what the edit form shows, escaped.
    assert!(page.contains("&#60;script&#62;alert("), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    // A second save based on version 1 is refused: someone (we) saved version 2.
    let stale = http
        .post(app.url(&format!("/backlog/{id}/edit")))
        .bearer_auth(&token)
        .form(&[
            ("title", "Overwrite"),
            ("item_type", "problem"),
            ("impact", "3"),
            ("urgency", "3"),
            ("tags", ""),
            ("description", ""),
            ("version", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(stale
        .text()
        .await
        .unwrap()
        .contains("changed by someone else"));
    let item = app
        .get_json(&token, &format!("/api/v1/backlog/items/{id}"))
        .await;
    assert_eq!(item["item"]["title"], "Queue backs up at night");
    assert_eq!(item["item"]["priority"], "P2");
    assert_eq!(item["item"]["tags"], json!(["mq", "night"]));

    // The board: the item sits in `new`; an htmx move answers with the board.
    let board = http
        .get(app.url("/backlog/board"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let new_column = board.split(r#"id="column-new""#).nth(1).unwrap();
    let new_column = new_column.split("</section>").next().unwrap();
    assert!(new_column.contains(&format!("card-{id}")), "{board}");
    let moved = http
        .post(app.url(&format!("/backlog/board/{id}")))
        .bearer_auth(&token)
        .header("HX-Request", "true")
        .form(&[("state", "triaged"), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let board = moved.text().await.unwrap();
    let triaged = board.split(r#"id="column-triaged""#).nth(1).unwrap();
    let triaged = triaged.split("</section>").next().unwrap();
    assert!(triaged.contains(&format!("card-{id}")), "{board}");
    // Illegal and stale moves: the board with the reason, 200 for htmx, 4xx for a form.
    let illegal = http
        .post(app.url(&format!("/backlog/board/{id}")))
        .bearer_auth(&token)
        .header("HX-Request", "true")
        .form(&[("state", "closed"), ("version", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(illegal.status(), StatusCode::OK);
    assert!(illegal
        .text()
        .await
        .unwrap()
        .contains("allowed next states are in_progress"));
    let stale = http
        .post(app.url(&format!("/backlog/board/{id}")))
        .bearer_auth(&token)
        .form(&[("state", "in_progress"), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let plain = http
        .post(app.url(&format!("/backlog/board/{id}")))
        .bearer_auth(&token)
        .form(&[("state", "in_progress"), ("version", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    app.stop().await;
});
