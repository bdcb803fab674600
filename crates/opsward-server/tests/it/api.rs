use crate::{both_backends, client, TestApp};
use opsward_core::Role;
use opsward_server::routes::route_table;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

both_backends!(asset_crud_errors_and_audit, |app: TestApp| async move {
    let (_, token) = app.user_with_token("op", Role::Operator).await;
    let http = client();
    let post = |body: Value| {
        http.post(app.url("/api/v1/assets"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let created = post(
        json!({"name": "web-01", "kind": "host", "criticality": "high", "tags": ["Web", "linux"]}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let asset: Value = created.json().await.unwrap();
    assert_eq!(asset["tags"], json!(["linux", "web"]));
    let id = asset["id"].as_i64().unwrap();

    // Error bodies: one shape everywhere.
    let dup = post(json!({"name": "web-01", "kind": "host"}))
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_error(&dup.json().await.unwrap(), "conflict");
    let invalid = post(json!({"name": "", "kind": "host", "environment": "Prod Env"}))
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.unwrap();
    assert_error(&body, "invalid_input");
    assert_eq!(
        body["error"]["details"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    let bad_kind = post(json!({"name": "x", "kind": "server"})).await.unwrap();
    assert_eq!(bad_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&bad_kind.json().await.unwrap(), "invalid_input");
    let not_json = http
        .post(app.url("/api/v1/assets"))
        .bearer_auth(&token)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&not_json.json().await.unwrap(), "unsupported_media_type");
    let bad_path = http
        .get(app.url("/api/v1/assets/abc"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_path.status(), StatusCode::BAD_REQUEST);
    assert_error(&bad_path.json().await.unwrap(), "bad_request");
    let bad_query = http
        .get(app.url("/api/v1/assets?limit=-1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_query.status(), StatusCode::BAD_REQUEST);
    assert_error(&bad_query.json().await.unwrap(), "bad_request");
    let missing = http
        .get(app.url("/api/v1/assets/999999"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_error(&missing.json().await.unwrap(), "not_found");
    let no_route = http
        .get(app.url("/api/v1/nothing-here"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_route.status(), StatusCode::NOT_FOUND);
    assert_error(&no_route.json().await.unwrap(), "not_found");

    let put = http
        .put(app.url(&format!("/api/v1/assets/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "web-01", "kind": "service", "criticality": "critical"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let del = http
        .delete(app.url(&format!("/api/v1/assets/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);

    // Each change has its audit row, attributed to the token.
    let (_, admin) = app.user_with_token("boss", Role::Admin).await;
    let audit = app
        .get_json(
            &admin,
            &format!("/api/v1/audit?entity_type=asset&entity_id={id}"),
        )
        .await;
    let entries = audit["items"].as_array().unwrap();
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    assert!(entries.iter().all(|e| e["actor"] == "token:op/test"));
    assert_eq!(entries[1]["before"]["kind"], "host");
    assert_eq!(entries[1]["after"]["kind"], "service");
    app.stop().await;
});

both_backends!(pagination_import_export, |app: TestApp| async move {
    let (_, token) = app.user_with_token("op", Role::Operator).await;
    let http = client();
    let mut csv = String::from("name,kind,environment,criticality,owner,tags,description\n");
    for i in 0..120 {
        csv.push_str(&format!(
            "host-{i:03},host,production,low,,linux,\"line one\nline two\"\n"
        ));
    }
    csv.push_str("bad-kind,server,production,low,,,\n");
    csv.push_str("bad-owner,host,production,low,team:nobody,,\n");
    let strict = http
        .post(app.url("/api/v1/assets/import?strict=true"))
        .bearer_auth(&token)
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report: Value = strict.json().await.unwrap();
    assert_eq!(report["committed"], false);
    assert_eq!(app.db.store.count_assets().await.unwrap(), 0);

    let lenient = http
        .post(app.url("/api/v1/assets/import"))
        .bearer_auth(&token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(lenient.status(), StatusCode::OK);
    let report: Value = lenient.json().await.unwrap();
    assert_eq!(report["created"], 120);
    // Multi-line quoted fields count: the 121st record starts on line 2 + 120 * 2.
    let lines: Vec<_> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [242, 243]);

    let mut names = Vec::new();
    let mut url = app.url("/api/v1/assets?limit=50&tag=linux");
    loop {
        let page: Value = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = app.url(&format!("/api/v1/assets?limit=50&tag=linux&cursor={c}")),
            None => break,
        }
    }
    assert_eq!(names.len(), 120);
    let garbage = http
        .get(app.url("/api/v1/assets?cursor=zzz"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);

    let export = http
        .get(app.url("/api/v1/assets/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let text = export.text().await.unwrap();
    // The export imports again without changes.
    let again: Value = http
        .post(app.url("/api/v1/assets/import?strict=true"))
        .bearer_auth(&token)
        .body(text)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(120))
    );
    app.stop().await;
});

both_backends!(openapi_covers_every_api_route, |app: TestApp| async move {
    let spec: Value = client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for route in route_table() {
        if !route.path.starts_with("/api/v1/") || route.path == "/api/v1/openapi.json" {
            continue;
        }
        let method = route.method.as_str().to_lowercase();
        assert!(
            spec["paths"][route.path][&method].is_object(),
            "{} {} is missing from the OpenAPI document",
            route.method,
            route.path
        );
    }
    let health = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = client()
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ok");
    let metrics = client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "opsward_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    app.stop().await;
});

// A NUL character anywhere the API takes text is a client error on both backends:
// PostgreSQL cannot store one and answered such requests with a 500 (found by schemathesis).
both_backends!(
    nul_characters_are_refused_not_a_server_error,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("op", Role::Operator).await;
        let http = client();
        for path in [
            "/api/v1/assets?tag=a%00b",
            "/api/v1/certificates?issuer=%00",
        ] {
            let response = http
                .get(app.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            let body: Value = response.json().await.unwrap();
            assert!(
                body["error"]["message"].as_str().unwrap().contains("NUL"),
                "{body}"
            );
        }
        let response = http
            .post(app.url("/api/v1/assets"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(r#"{"name": "web\u0000-01", "kind": "host"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // A backslash followed by the letters u0000 is ordinary text.
        let response = http
            .post(app.url("/api/v1/assets"))
            .bearer_auth(&token)
            .json(&json!({"name": "web\\u0000-01", "kind": "host", "criticality": "low"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let assets = app.get_json(&token, "/api/v1/assets").await;
        assert_eq!(assets["items"][0]["name"], "web\\u0000-01");
    }
);
