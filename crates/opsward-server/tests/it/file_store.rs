//! Two servers on one database and one S3 bucket (moto on loopback): a file uploaded through
//! one server downloads through the other, on both backends.

use crate::{client, on_both_backends, TestApp};
use opsward_core::Role;
use opsward_ops::attachments::{AttachmentStore, FileStoreBackend, FileStoreSettings};
use opsward_server::{scheduler::JobRegistry, ServerConfig};
use opsward_testkit::{s3::S3Server, Backend, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A server whose local file directory is `local` (its own, which must stay unused).
async fn server_on(db: TestDb, settings: &FileStoreSettings, local: &std::path::Path) -> TestApp {
    let store = AttachmentStore::from_settings(settings, local, 1024 * 1024).unwrap();
    let config = ServerConfig {
        attachments_dir: local.to_path_buf(),
        file_store: Some(store),
        ..ServerConfig::default()
    };
    let jobs = JobRegistry::for_server(&db.store, &config);
    TestApp::start_with(db, config, jobs).await
}

async fn two_servers_share_files_through_s3(backend: Backend) {
    let s3 = S3Server::start(&["shared"]).await;
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, opsward_testkit::s3::CREDENTIALS).unwrap();
    let settings = FileStoreSettings {
        backend: FileStoreBackend::S3,
        bucket: "shared".into(),
        prefix: "opsward".into(),
        endpoint: Some(s3.endpoint.clone()),
        credentials_file: Some(credentials),
        timeout_seconds: 10,
        ..FileStoreSettings::default()
    };
    let first_db = TestDb::new(backend).await;
    let url = first_db.url.clone();
    let (local_a, local_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = server_on(first_db, &settings, local_a.path()).await;
    let b = server_on(TestDb::open(&url).await, &settings, local_b.path()).await;
    let (_, token) = a.user_with_token("operator", Role::Operator).await;
    let http = client();

    let created: Value = http
        .post(a.url("/api/v1/backlog/items"))
        .bearer_auth(&token)
        .json(&json!({"item_type": "problem", "title": "Disk full on host-a"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = created["item"]["id"].as_i64().unwrap();
    let content = b"df -h: /var 100%\n".to_vec();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content.clone())
            .file_name("df.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let uploaded = http
        .post(a.url(&format!("/api/v1/backlog/items/{item}/attachments")))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(uploaded.status().is_success(), "{}", uploaded.status());
    let stored: Value = uploaded.json().await.unwrap();
    let file_id = stored[0]["id"].as_i64().unwrap();
    let sha256 = stored[0]["sha256"].as_str().unwrap().to_string();

    // Through the other server: same bytes, checked against the checksum on the way out.
    let download = http
        .get(b.url(&format!("/api/v1/backlog/attachments/{file_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["x-checksum-sha256"], sha256.as_str());
    assert_eq!(download.bytes().await.unwrap().as_ref(), content.as_slice());
    assert_eq!(b.state.attachments.list().await.unwrap(), vec![sha256]);
    // Neither server kept it on its own disk.
    for local in [&local_a, &local_b] {
        assert_eq!(std::fs::read_dir(local.path()).unwrap().count(), 0);
    }
}

on_both_backends!(two_servers_share_files_through_s3);
