//! Suppliers, contracts and reviews over HTTP: registration with its review schedule,
//! contracts with their notice deadline and decisions, documents, reviews with scorecards
//! and actions, paging and errors. Also the fixtures the role matrix uses for these routes.

use crate::{both_backends, client, TestApp};
use opsward_core::{asset::Criticality, Actor, Role};
use opsward_suppliers::{
    notice::NoticePeriod, store::NewDocument, ActionInput, ContractInput, RenewalType, ReviewInput,
    ReviewOutcome, ScoreInput, SupplierInput,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn actor() -> Actor {
    Actor::system("test")
}

pub fn scores_json() -> Value {
    json!([
        {"criterion": "quality", "score": 4}, {"criterion": "delivery", "score": 3},
        {"criterion": "responsiveness", "score": 5}, {"criterion": "cost", "score": 2},
        {"criterion": "security", "score": 4}
    ])
}

/// A supplier with a unique name.
pub async fn fixture_supplier(app: &TestApp) -> i64 {
    let name = format!("supplier-{}", SEQ.fetch_add(1, Ordering::Relaxed));
    let input = SupplierInput {
        name,
        category: "hosting".into(),
        criticality: Criticality::High,
        contacts: vec![],
        notes: String::new(),
        asset_ids: vec![],
        owner_team_id: None,
        owner_person_id: None,
    };
    app.state
        .suppliers
        .create_supplier(&actor(), &input)
        .await
        .unwrap()
        .id
}

pub fn contract_json(supplier_id: i64) -> Value {
    json!({
        "supplier_id": supplier_id, "title": "Colocation", "reference": "C-7",
        "start_date": "2025-01-01", "end_date": "2026-03-31",
        "notice": {"amount": 1, "unit": "months"}, "renewal_type": "automatic",
        "value": "12000.00", "currency": "EUR"
    })
}

pub async fn fixture_contract(app: &TestApp) -> i64 {
    let supplier_id = fixture_supplier(app).await;
    let input = ContractInput {
        supplier_id,
        title: "Support".into(),
        reference: String::new(),
        start_date: "2025-01-01".parse().unwrap(),
        end_date: "2027-12-31".parse().unwrap(),
        notice: NoticePeriod::months(3),
        renewal_type: RenewalType::Express,
        renewal_term_months: 12,
        value: None,
        currency: None,
        owner_team_id: None,
        owner_person_id: None,
    };
    app.state
        .suppliers
        .create_contract(&actor(), &input)
        .await
        .unwrap()
        .id
}

pub async fn fixture_document(app: &TestApp) -> i64 {
    let contract = fixture_contract(app).await;
    let sha256 = app
        .state
        .attachments
        .save(b"signed contract")
        .await
        .unwrap();
    let doc = NewDocument {
        filename: "contract.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 15,
        sha256,
    };
    app.state
        .suppliers
        .add_document(&actor(), contract, &doc)
        .await
        .unwrap()
        .id
}

/// A recorded review with one open action: (review id, action id).
pub async fn fixture_review(app: &TestApp) -> (i64, i64) {
    let supplier_id = fixture_supplier(app).await;
    let scores: Vec<ScoreInput> = serde_json::from_value(scores_json()).unwrap();
    let input = ReviewInput {
        supplier_id,
        review_date: chrono::Utc::now().date_naive(),
        period_start: None,
        outcome: ReviewOutcome::Satisfactory,
        notes: String::new(),
        attendees: vec![],
        scores,
        actions: vec![ActionInput {
            title: "Agree SLAs".into(),
            owner_person_id: None,
            due_date: None,
        }],
    };
    let review = app
        .state
        .suppliers
        .record_review(&actor(), &input)
        .await
        .unwrap();
    (review.id, review.actions[0].id)
}

/// A backlog item to link.
pub async fn fixture_item(app: &TestApp) -> i64 {
    let input =
        serde_json::from_value(json!({"item_type": "incident", "title": "supplier outage"}))
            .unwrap();
    app.state
        .backlog
        .create_item(&actor(), &input)
        .await
        .unwrap()
        .id
}

both_backends!(suppliers_contracts_and_reviews, |app: TestApp| async move {
    let (_, token) = app.user_with_token("buyer", Role::Operator).await;
    let (_, viewer) = app.user_with_token("reader", Role::Viewer).await;
    let http = client();
    let post = |path: &str, body: Value| {
        http.post(app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let created = post(
        "/api/v1/suppliers",
        json!({"name": "Acme", "criticality": "critical", "category": "hosting",
        "contacts": [{"name": "Ann", "email": "ann@acme.example", "role": "account manager"}]}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let supplier: Value = created.json().await.unwrap();
    let id = supplier["id"].as_i64().unwrap();
    let activity = supplier["review_activity_id"].as_i64().unwrap();
    let activity = app
        .get_json(&viewer, &format!("/api/v1/activities/{activity}"))
        .await;
    assert_eq!(activity["rrule"], "FREQ=MONTHLY;INTERVAL=3");
    assert_eq!(activity["practice"], "suppliers");

    let dup = post(
        "/api/v1/suppliers",
        json!({"name": "Acme", "criticality": "low"}),
    )
    .await
    .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let bad: Value = post(
        "/api/v1/suppliers",
        json!({"name": "", "criticality": "low"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(bad["error"]["code"], "invalid_input");
    assert_eq!(bad["error"]["details"][0]["field"], "name");

    // Contract: the notice deadline is computed in calendar months.
    let contract = post("/api/v1/contracts", contract_json(id)).await.unwrap();
    assert_eq!(contract.status(), StatusCode::CREATED);
    let contract: Value = contract.json().await.unwrap();
    assert_eq!(contract["notice_deadline"], "2026-02-28");
    let cid = contract["id"].as_i64().unwrap();
    let decided = post(
        &format!("/api/v1/contracts/{cid}/decisions"),
        json!({"decision": "terminate", "note": "moving"}),
    )
    .await
    .unwrap();
    assert_eq!(decided.status(), StatusCode::CREATED);
    let decided: Value = decided.json().await.unwrap();
    assert_eq!(decided["contract"]["term_decision"], "terminate");
    let wrong = post(
        &format!("/api/v1/contracts/{cid}/decisions"),
        json!({"decision": "maybe"}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.7 signed".to_vec()).file_name("signed.pdf"),
    );
    let uploaded = http
        .post(app.url(&format!("/api/v1/contracts/{cid}/documents")))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let docs: Value = uploaded.json().await.unwrap();
    let doc = docs[0]["id"].as_i64().unwrap();
    let file = http
        .get(app.url(&format!("/api/v1/contracts/documents/{doc}")))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-1.7 signed");
    let detail = app
        .get_json(&viewer, &format!("/api/v1/contracts/{cid}"))
        .await;
    assert_eq!(detail["decisions"][0]["decided_by"], "token:buyer/test");
    assert_eq!(detail["documents"][0]["filename"], "signed.pdf");

    // Reviews and their trend.
    for (score, outcome) in [(4, "satisfactory"), (2, "improvement_required")] {
        let scores: Vec<Value> = ["quality", "delivery", "responsiveness", "cost", "security"]
            .iter()
            .map(|c| json!({"criterion": c, "score": score}))
            .collect();
        let r = post("/api/v1/supplier-reviews", json!({"supplier_id": id, "review_date": "2026-01-15",
            "outcome": outcome, "scores": scores, "attendees": ["Ann"], "actions": [{"title": "Follow up"}]})).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let missing = post(
        "/api/v1/supplier-reviews",
        json!({"supplier_id": id, "review_date": "2026-01-15",
        "outcome": "satisfactory", "scores": [{"criterion": "quality", "score": 4}]}),
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let detail = app
        .get_json(&viewer, &format!("/api/v1/suppliers/{id}"))
        .await;
    let trend: Vec<f64> = detail["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["weighted_score"].as_f64().unwrap())
        .collect();
    assert_eq!(trend, [4.0, 2.0]);
    assert_eq!(detail["contracts"][0]["id"], cid);
    let evidence = detail["reviews"][0]["evidence_id"].as_i64().unwrap();
    let evidence = app
        .get_json(&viewer, &format!("/api/v1/evidence/{evidence}"))
        .await;
    assert_eq!(evidence["practice"], "suppliers");
    assert_eq!(evidence["result"], "passed");

    let action = detail["reviews"][1]["actions"][0]["id"].as_i64().unwrap();
    let done = http
        .patch(app.url(&format!("/api/v1/supplier-reviews/actions/{action}")))
        .bearer_auth(&token)
        .json(&json!({"done": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        done.json::<Value>().await.unwrap()["done_by"],
        "token:buyer/test"
    );

    // Viewers read, but do not write.
    let denied = http
        .post(app.url("/api/v1/suppliers"))
        .bearer_auth(&viewer)
        .json(&json!({"name": "X", "criticality": "low"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // Paging.
    for n in 0..3 {
        post(
            "/api/v1/suppliers",
            json!({"name": format!("Paged {n}"), "criticality": "low"}),
        )
        .await
        .unwrap();
    }
    let page = app.get_json(&viewer, "/api/v1/suppliers?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(
            &viewer,
            &format!("/api/v1/suppliers?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
    let expiring = app
        .get_json(&viewer, "/api/v1/contracts?expiring_within_days=3660")
        .await;
    assert!(expiring["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["end_date"].as_str().unwrap() >= "2026"));
    let bad_cursor = http
        .get(app.url("/api/v1/contracts?cursor=nope"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_cursor.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
});

both_backends!(supplier_pages_record_a_review, |app: TestApp| async move {
    let (_, token) = app.user_with_token("page-buyer", Role::Operator).await;
    let http = client();
    let id = fixture_supplier(&app).await;
    let form: Vec<(&str, String)> = vec![
        ("review_date", "2026-02-01".into()),
        ("outcome", "satisfactory".into()),
        ("score_quality", "5".into()),
        ("score_delivery", "4".into()),
        ("score_responsiveness", "4".into()),
        ("score_cost", "3".into()),
        ("score_security", "5".into()),
        ("attendees", "Ann, Bob".into()),
        ("action", "Share the roadmap".into()),
    ];
    let posted = http
        .post(app.url(&format!("/suppliers/{id}/reviews")))
        .bearer_auth(&token)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(app.url(&format!("/suppliers/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Scorecard trend of"), "{page}");
    assert!(page.contains("<strong>4.30</strong>"), "{page}");
    assert!(page.contains("Share the roadmap"));
    let incomplete = &form[..3];
    let refused = http
        .post(app.url(&format!("/suppliers/{id}/reviews")))
        .bearer_auth(&token)
        .form(incomplete)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("delivery is not scored"));

    // Edit: a new criticality moves the review schedule; linking an item shows it.
    let edited = http
        .post(app.url(&format!("/suppliers/{id}/edit")))
        .bearer_auth(&token)
        .form(&[
            ("name", "Renamed Hosting"),
            ("category", "hosting"),
            ("criticality", "critical"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let supplier = app.state.suppliers.get_supplier(id).await.unwrap();
    assert_eq!(supplier.name, "Renamed Hosting");
    let activity = app
        .state
        .ops
        .get_activity(supplier.review_activity_id.unwrap())
        .await
        .unwrap();
    assert!(
        activity.rrule.contains("INTERVAL=3"),
        "critical: quarterly, got {}",
        activity.rrule
    );
    let item = fixture_item(&app).await;
    let linked = http
        .post(app.url(&format!("/suppliers/{id}/links")))
        .bearer_auth(&token)
        .form(&[
            ("item_id", item.to_string()),
            ("relation", "waiting_on".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(app.url(&format!("/suppliers/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("#{item} supplier outage")), "{page}");
    let bad = http
        .post(app.url(&format!("/suppliers/{id}/edit")))
        .bearer_auth(&token)
        .form(&[("name", "x"), ("criticality", "apocalyptic")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A contract document attached from the page is listed with a download link.
    let contract = app
        .state
        .suppliers
        .create_contract(
            &opsward_core::Actor::system("test"),
            &serde_json::from_value(json!({
                "supplier_id": id, "title": "Hosting 2026", "start_date": "2026-01-01", "end_date": "2026-12-31",
                "notice": {"amount": 3, "unit": "months"}, "renewal_type": "automatic"
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"%PDF-1.4 signed".to_vec()).file_name("signed.pdf"),
    );
    let uploaded = http
        .post(app.url(&format!("/contracts/{}/documents", contract.id)))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(app.url(&format!("/suppliers/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">signed.pdf</a>"), "{page}");
    app.stop().await;
});
