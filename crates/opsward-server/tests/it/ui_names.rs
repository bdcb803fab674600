//! Names, not ids; labels, not stored identifiers; history that says from and to (issue
//! 20 item 7). One of each record is seeded with owners, then every page that lists or
//! shows them is read as its visible text (tags and attributes removed: option values and
//! CSS classes may keep the stored forms) and must not show a raw identifier or an
//! "asset 3"-style reference.

use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use reqwest::StatusCode;
use serde_json::json;

/// Stored identifiers that must never be read on a page; each has a label.
const RAW_IDENTIFIERS: &[&str] = &[
    "in_progress",
    "waiting_customer",
    "waiting_supplier",
    "waiting_change",
    "on_track",
    "near_breach",
    "cluster_failover",
    "os_packages",
    "kev_finding",
    "not_sampled",
    "opted_out",
    "no_contact",
];

/// The text a reader sees: tags, attributes and entities' markup dropped.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "team 1", "asset #3", "person 4": a record named by its number.
fn id_references(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let kinds = [
        "team", "asset", "person", "supplier", "measure", "user", "activity", "host", "customer",
    ];
    words
        .windows(2)
        .filter(|w| kinds.contains(&w[0].to_lowercase().as_str()))
        .filter(|w| {
            let n = w[1]
                .trim_start_matches('#')
                .trim_end_matches([',', '.', ':', ';', ')']);
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|w| w.join(" "))
        .collect()
}

both_backends!(pages_show_names_and_labels, |app: TestApp| async move {
    let (_, token) = app.user_with_token("namer", Role::Admin).await;
    let http = client();
    let team = app
        .post_json(&token, "/api/v1/teams", &json!({"name": "Platform"}))
        .await;
    let team_id = team["id"].as_i64().unwrap();
    let person = app
        .post_json(
            &token,
            "/api/v1/people",
            &json!({"name": "Ana Ops", "email": "ana@example.com", "team_id": team_id}),
        )
        .await;
    let person_id = person["id"].as_i64().unwrap();
    let asset = app
        .post_json(&token, "/api/v1/assets", &json!({"name": "web-01", "kind": "host", "criticality": "high", "owner_team_id": team_id}))
        .await;
    let asset_id = asset["id"].as_i64().unwrap();
    // An asset change, so that its history and the audit log have a before and after.
    let changed = http
        .put(app.url(&format!("/api/v1/assets/{asset_id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "web-01", "kind": "host", "criticality": "critical", "owner_team_id": team_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);

    let item = app
        .post_json(
            &token,
            "/api/v1/backlog/items",
            &json!({"item_type": "incident", "title": "Disk almost full on web-01",
            "impact": 1, "urgency": 2, "team_id": team_id, "assignee_person_id": person_id}),
        )
        .await;
    let item_id = item["item"]["id"].as_i64().unwrap();
    for state in ["triaged", "in_progress", "waiting_customer"] {
        let moved = http
            .patch(app.url(&format!("/api/v1/backlog/items/{item_id}")))
            .bearer_auth(&token)
            .json(&json!({"state": state}))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), StatusCode::OK, "to {state}");
    }

    let measure = app
        .post_json(&token, "/api/v1/resilience/measures", &json!({
            "asset_id": asset_id, "kind": "cluster_failover", "title": "Fail over the database cluster",
            "owner_team_id": team_id, "procedure": ["Stop node A"],
            "schedule": {"rrule": "FREQ=WEEKLY", "starts_local": "2026-01-05T09:00:00", "timezone": "Europe/Berlin"}}))
        .await;
    let measure_id = measure["measure"]["id"].as_i64().unwrap();
    let supplier = app
        .post_json(
            &token,
            "/api/v1/suppliers",
            &json!({"name": "Colo GmbH", "criticality": "high"}),
        )
        .await;
    let supplier_id = supplier["id"].as_i64().unwrap();
    app.post_json(&token, "/api/v1/contracts", &json!({"supplier_id": supplier_id, "title": "Colocation", "reference": "C-7",
        "start_date": "2025-01-01", "end_date": "2027-03-31", "notice": {"amount": 1, "unit": "months"},
        "renewal_type": "automatic", "value": "9000", "currency": "EUR"}))
        .await;
    let customer = app
        .post_json(&token, "/api/v1/customers", &json!({"name": "Acme"}))
        .await;
    let customer_id = customer["id"].as_i64().unwrap();

    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        let url = app.url(&path);
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.text().await.unwrap()
        }
    };
    let pages = [
        "/".to_string(),
        "/assets".into(),
        format!("/assets/{asset_id}"),
        "/backlog".into(),
        "/backlog/board".into(),
        format!("/backlog/{item_id}"),
        "/resilience".into(),
        format!("/resilience/{measure_id}"),
        "/suppliers".into(),
        format!("/suppliers/{supplier_id}"),
        "/customers".into(),
        format!("/customers/{customer_id}"),
        "/calendar".into(),
        "/teams".into(),
        "/admin/audit".into(),
        "/admin/users".into(),
    ];
    let mut bodies = std::collections::HashMap::new();
    for path in pages {
        let text = visible_text(&get(path.clone()).await);
        for raw in RAW_IDENTIFIERS {
            if let Some(at) = text.find(raw) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(120)
                    .map_or(0, |(i, _)| i);
                panic!("{path} shows {raw:?}: ...{}", &text[from..at + raw.len()]);
            }
        }
        assert_eq!(id_references(&text), Vec::<String>::new(), "{path}");
        assert!(!text.contains("9000 EUR"), "{path}");
        bodies.insert(path, text);
    }

    let item_page = &bodies[&format!("/backlog/{item_id}")];
    assert!(
        item_page.contains("Waiting for the customer"),
        "{item_page}"
    );
    assert!(
        item_page.contains("changed state from In progress to Waiting for the customer"),
        "{item_page}"
    );
    assert!(!item_page.contains("Version"), "{item_page}");
    let measure_page = &bodies[&format!("/resilience/{measure_id}")];
    assert!(measure_page.contains("Owner Platform"), "{measure_page}");
    let measures = &bodies["/resilience"];
    assert!(measures.contains("web-01"), "{measures}");
    assert!(measures.contains("Cluster failover"), "{measures}");
    let supplier_page = &bodies[&format!("/suppliers/{supplier_id}")];
    assert!(supplier_page.contains("EUR 9,000"), "{supplier_page}");
    let audit = &bodies["/admin/audit"];
    assert!(
        audit.contains("Criticality : High &rarr; Critical"),
        "{audit}"
    );

    // Links to the named records resolve: the team's anchor is on /teams.
    let raw_measure = get(format!("/resilience/{measure_id}")).await;
    assert!(
        raw_measure.contains(&format!(r#"href="/teams#team-{team_id}""#)),
        "{raw_measure}"
    );
    assert!(get("/teams".into())
        .await
        .contains(&format!(r#"id="team-{team_id}""#)));
    let raw_audit = get("/admin/audit".into()).await;
    assert!(
        raw_audit.contains(&format!(r#"href="/assets/{asset_id}""#)),
        "{raw_audit}"
    );
    // The resilience filter picks an asset by name.
    let raw_measures = get("/resilience".into()).await;
    assert!(
        raw_measures.contains(&format!(r#"<option value="{asset_id}">web-01</option>"#)),
        "{raw_measures}"
    );
    app.stop().await;
});
