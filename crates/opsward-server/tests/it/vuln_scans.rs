//! `POST /api/v1/vulns/scans`: a Cargo.lock sent as JSON and as multipart becomes (and stays)
//! the asset's finding; an unknown asset is a 404, an unparseable file a 422, a viewer a 403.

use crate::{both_backends, client, TestApp};
use opsward_core::{Actor, Role};
use opsward_vulns::osv::load_path;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;

const LOCKFILE: &str = "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"0.6.9\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

both_backends!(scans_are_uploaded_for_an_asset, |app: TestApp| async move {
    let (_, operator) = app.user_with_token("ci", Role::Operator).await;
    let (_, viewer) = app.user_with_token("reader", Role::Viewer).await;
    let actor = Actor::system("test");
    let asset = app
        .state
        .store
        .create_asset(&actor, &opsward_testkit::asset_input("build-1"))
        .await
        .unwrap();
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    app.state
        .vulns
        .import_osv(&actor, "fixture", &load_path(&record))
        .await
        .unwrap();
    let url = app.url("/api/v1/vulns/scans");
    let post = |token: &str, body: Value| client().post(&url).bearer_auth(token).json(&body).send();

    let first = post(
        &operator,
        json!({"asset": "build-1", "filename": "Cargo.lock", "content": LOCKFILE}),
    )
    .await
    .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["asset_id"], asset.id);
    assert_eq!(first["format"], "cargo_lock");
    assert_eq!(
        (
            &first["packages"],
            &first["vulnerabilities"],
            &first["new"],
            &first["fixed"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(0)),
        "{first}"
    );
    let findings = app
        .get_json(
            &operator,
            &format!("/api/v1/vulns/findings?asset={}", asset.id),
        )
        .await;
    assert_eq!(findings.as_array().unwrap().len(), 1, "{findings}");
    assert_eq!(findings[0]["package"], "smallvec");

    // The same file as multipart, the asset by id and the format named: still present.
    let form = reqwest::multipart::Form::new()
        .text("asset", asset.id.to_string())
        .text("format", "cargo_lock")
        .part(
            "file",
            reqwest::multipart::Part::bytes(LOCKFILE.as_bytes().to_vec()).file_name("lock"),
        );
    let again = client()
        .post(&url)
        .bearer_auth(&operator)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (&again["new"], &again["still_present"]),
        (&json!(0), &json!(1)),
        "{again}"
    );

    // Upgraded: the finding is fixed.
    let fixed = post(
        &operator,
        json!({"asset": "build-1", "filename": "Cargo.lock", "content": LOCKFILE.replace("0.6.9", "0.6.10")}),
    )
    .await
    .unwrap();
    let fixed: Value = fixed.json().await.unwrap();
    assert_eq!(
        (&fixed["vulnerabilities"], &fixed["fixed"]),
        (&json!(0), &json!(1)),
        "{fixed}"
    );

    let unknown = post(
        &operator,
        json!({"asset": "nowhere", "filename": "Cargo.lock", "content": LOCKFILE}),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let broken = post(
        &operator,
        json!({"asset": "build-1", "filename": "Cargo.lock", "content": "[[package]\nname = "}),
    )
    .await
    .unwrap();
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let broken: Value = broken.json().await.unwrap();
    assert_eq!(broken["error"]["code"], "unparseable_inventory");
    assert!(
        broken["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Cargo.lock:"),
        "{broken}"
    );
    let unknown_kind = post(
        &operator,
        json!({"asset": "build-1", "filename": "notes.txt", "content": "hello"}),
    )
    .await
    .unwrap();
    assert_eq!(unknown_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let refused = post(
        &viewer,
        json!({"asset": "build-1", "filename": "Cargo.lock", "content": LOCKFILE}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.stop().await;
});
