//! Certificates over HTTP, continued: assets' TLS endpoints and thresholds, tag thresholds,
//! scan requests the server runs itself against a real `openssl s_server` (an asset and an
//! address range), and the configured CA bundle for private chains.

use crate::{both_backends, certs::leaf_der, client, TestApp};
use chrono::{Datelike, Duration, Utc};
use opsward_core::{Actor, Role};
use opsward_server::{scheduler::JobRegistry, ServerConfig};
use opsward_testkit::{asset_input, Backend, TestDb};
use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
};

/// `openssl s_server` on a free loopback port, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) fn start(cert: &Path, key: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA (PEM) and a leaf for `localhost` it signed, valid `days_left` more days,
/// written as `leaf.crt`/`leaf.key` in `dir`.
pub(crate) fn private_pki(dir: &Path, days_left: i64) -> (String, Vec<u8>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Corp Private Root");
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    let (from, to) = (
        Utc::now() - Duration::days(2),
        Utc::now() + Duration::days(days_left),
    );
    p.not_before = date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    p.not_after = date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    let key = KeyPair::generate().unwrap();
    let leaf = p.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("leaf.crt"), leaf.pem()).unwrap();
    std::fs::write(dir.join("leaf.key"), key.serialize_pem()).unwrap();
    (ca_pem, leaf.der().to_vec())
}

fn codes(cert: &Value) -> Vec<String> {
    cert["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    assets_thresholds_and_scan_requests_over_http,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("certscan", Role::Operator).await;
        let (_, viewer) = app.user_with_token("certsee", Role::Viewer).await;
        let http = client();
        let dir = tempfile::tempdir().unwrap();
        // 45 days left: only an asset threshold of 60 days calls it "expires soon".
        private_pki(dir.path(), 45);
        let server = Server::start(&dir.path().join("leaf.crt"), &dir.path().join("leaf.key"));
        let mut input = asset_input("edge-1");
        input.tags = vec!["dmz".into()];
        let asset = app
            .db
            .store
            .create_asset(&Actor::system("test"), &input)
            .await
            .unwrap();

        let put = |path: String, body: Value, token: String| {
            let http = http.clone();
            let url = app.url(&path);
            async move {
                http.put(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = put(
            format!("/api/v1/certificates/assets/{}", asset.id),
            json!({"hostname": "localhost", "ports": [server.port], "thresholds": [7, 60]}),
            viewer.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = put(
            format!("/api/v1/certificates/assets/{}", asset.id),
            json!({"hostname": "localhost", "thresholds": [0]}),
            token.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = put(
            format!("/api/v1/certificates/assets/{}", asset.id),
            json!({"hostname": "localhost", "ports": [server.port], "thresholds": [7, 60]}),
            token.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let saved: Value = r.json().await.unwrap();
        assert_eq!(saved["thresholds"], json!([60, 7]));
        assert_eq!(saved["tags"], json!(["dmz"]));
        let r = put(
            "/api/v1/certificates/tag-thresholds".into(),
            json!({"tag": "dmz", "thresholds": [21]}),
            token.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!([{"tag": "dmz", "thresholds": [21]}])
        );

        // The server scans the asset (SNI localhost on its port) and a range around it.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = http
            .post(app.url("/api/v1/certificates/scan-requests"))
            .bearer_auth(&token)
            .json(&json!({"assets": ["EDGE-1"], "targets": [format!("127.0.0.1/32:{},{closed}", server.port)]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let stored: Value = r.json().await.unwrap();
        assert_eq!(
            stored["scan"]["sources"], 2,
            "the silent port is left out: {stored}"
        );
        assert_eq!(stored["scan"]["errors"], 0);
        let targets: Value = http
            .get(app.url("/api/v1/certificates/scan-targets"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kinds: Vec<_> = targets
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["kind"].as_str().unwrap(),
                    t["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("asset", asset.id.to_string()),
                ("range", "127.0.0.1/32".to_string())
            ]
        );
        let list: Value = http
            .get(app.url("/api/v1/certificates"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let cert = &list.as_array().unwrap()[0];
        assert_eq!(cert["current_sightings"], 2);
        let problems = codes(cert);
        assert!(
            problems.contains(&"expires-soon".to_string()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"untrusted-chain".to_string()),
            "no CA bundle: {problems:?}"
        );
        // The expiring problem is at the asset's endpoint only (the range's is plain).
        let detail: Value = http
            .get(app.url(&format!("/api/v1/certificates/{}", cert["id"])))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for s in detail["sightings"].as_array().unwrap() {
            let soon = s["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["code"] == "expires-soon");
            assert_eq!(soon, s["source"]["asset_id"] == json!(asset.id), "{s}");
        }
        // Bad requests name the field.
        for (body, field) in [
            (json!({"targets": ["10.0.0.0/8:443"]}), "targets[0]"),
            (json!({"assets": ["nope"]}), "assets[0]"),
            (json!({}), "targets"),
        ] {
            let r = http
                .post(app.url("/api/v1/certificates/scan-requests"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert!(r.text().await.unwrap().contains(field), "{body}");
        }
        let audit = app
            .db
            .store
            .list_audit(
                &opsward_core::audit::AuditFilter {
                    entity_type: Some("certificate_asset_settings".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 1, "the refused changes are not audited");
    }
);

async fn with_trust(backend: Backend, trust: opsward_certs::TrustStore) -> TestApp {
    let attachments = std::env::temp_dir().join("opsward-cert-trust-test");
    TestApp::start_with(
        TestDb::new(backend).await,
        ServerConfig {
            attachments_dir: attachments,
            cert_trust: trust,
            ..ServerConfig::default()
        },
        JobRegistry::empty(),
    )
    .await
}

async fn configured_bundle_trusts_a_private_chain(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, leaf) = private_pki(dir.path(), 200);
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    let mut trust = opsward_certs::TrustStore::public_roots();
    trust.add_pem_file(&dir.path().join("ca.pem")).unwrap();
    let upload = json!({
        "kind": "endpoint",
        "sources": [{"location": "localhost:8443", "certificates_der_hex": [hex::encode(&leaf)]}]
    });
    let mut verdicts = Vec::new();
    for trust in [opsward_certs::TrustStore::public_roots(), trust] {
        let app = with_trust(backend, trust).await;
        let (_, token) = app.user_with_token("bundle", Role::Operator).await;
        let r = client()
            .post(app.url("/api/v1/certificates/scans"))
            .bearer_auth(&token)
            .json(&upload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let list = app.state.certs.list(&Default::default()).await.unwrap();
        verdicts.push(list[0].problems.iter().any(|p| p.code == "untrusted-chain"));
        app.stop().await;
    }
    assert_eq!(
        verdicts,
        [true, false],
        "untrusted without the bundle, trusted with it"
    );
    // A leaf from another CA stays untrusted with the bundle.
    let other = leaf_der("other.example.test", 100);
    let app = with_trust(backend, {
        let mut t = opsward_certs::TrustStore::public_roots();
        t.add_pem_file(&dir.path().join("ca.pem")).unwrap();
        t
    })
    .await;
    let observed = opsward_certs::rescan::observe_upload(
        &serde_json::from_value(json!({
            "kind": "endpoint",
            "sources": [{"location": "other.example.test:443", "certificates_der_hex": [hex::encode(&other)]}]
        }))
        .unwrap(),
        &app.state.config.cert_trust,
        &opsward_certs::CheckContext::at(Utc::now()),
        &Default::default(),
    )
    .unwrap();
    let problems = &observed[0].outcome.as_ref().unwrap()[0].problems;
    assert!(problems.iter().any(|p| p.code == "untrusted-chain"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_bundle_trusts_a_private_chain_sqlite() {
    configured_bundle_trusts_a_private_chain(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_bundle_trusts_a_private_chain_postgres() {
    configured_bundle_trusts_a_private_chain(Backend::Postgres).await;
}
