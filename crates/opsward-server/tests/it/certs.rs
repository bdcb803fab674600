//! Certificates over HTTP: uploaded scans stored and checked by the server, the list with
//! its filters, the detail with where the certificate is deployed and its renewal task, the
//! x509-certificate-exporter gauges on /metrics, and the pages. Also the fixtures the role
//! matrix uses for these routes.

use crate::{both_backends, client, TestApp};
use chrono::{Datelike, Duration, Utc};
use opsward_core::{Actor, Role};
use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// DER of a leaf for `name`, from a fresh CA, valid from 10 days ago for `days_left` more days.
pub fn leaf_der(name: &str, days_left: i64) -> Vec<u8> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Server Test CA");
    let issuer = Issuer::new(ca, KeyPair::generate().unwrap());
    let mut p = CertificateParams::new(vec![name.to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    let (from, to) = (
        Utc::now() - Duration::days(10),
        Utc::now() + Duration::days(days_left),
    );
    p.not_before = date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    p.not_after = date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    p.signed_by(&KeyPair::generate().unwrap(), &issuer)
        .unwrap()
        .der()
        .to_vec()
}

/// An upload of one file holding a fresh certificate.
pub fn upload_json(name: &str, days_left: i64) -> Value {
    json!({
        "kind": "file",
        "sources": [{
            "location": format!("/etc/ssl/{name}.pem"),
            "certificates_der_hex": [hex(&leaf_der(name, days_left))],
        }]
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored certificate (seen in one file) for routes with `{id}`.
pub async fn fixture_certificate(app: &TestApp) -> i64 {
    let name = format!(
        "fixture-{}.example.test",
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let upload: opsward_certs::inventory::ScanUpload =
        serde_json::from_value(upload_json(&name, 200)).unwrap();
    let now = Utc::now();
    let observed = opsward_certs::rescan::observe_upload(
        &upload,
        &opsward_certs::TrustStore::public_roots(),
        &opsward_certs::CheckContext::at(now),
        &std::collections::HashMap::new(),
    )
    .unwrap();
    app.state
        .certs
        .record_scan(&Actor::system("test"), upload.kind, &observed, now)
        .await
        .unwrap();
    app.state
        .certs
        .list(&opsward_certs::inventory::CertFilter {
            issuer: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.subject_cn.as_deref() == Some(name.as_str()))
        .unwrap()
        .id
}

both_backends!(
    uploaded_scans_are_stored_listed_and_renewed,
    |app: TestApp| async move {
        let (_, token) = app.user_with_token("certop", Role::Operator).await;
        let (_, viewer) = app.user_with_token("certview", Role::Viewer).await;
        let http = client();
        let soon = hex(&leaf_der("soon.example.test", 5));
        let later = hex(&leaf_der("later.example.test", 200));
        let upload = json!({
            "kind": "file",
            "sources": [
                {"location": "/etc/ssl/a.pem", "certificates_der_hex": [soon]},
                {"location": "/etc/ssl/b.pem", "certificates_der_hex": [soon, later]},
                {"location": "/etc/ssl/broken.pem", "error": "truncated or malformed PEM"},
            ]
        });
        let r = http
            .post(app.url("/api/v1/certificates/scans"))
            .bearer_auth(&token)
            .json(&upload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let stored: Value = r.json().await.unwrap();
        assert_eq!(stored["scan"]["sources"], 3);
        assert_eq!(stored["scan"]["errors"], 1);
        assert_eq!(stored["scan"]["new_certificates"], 2);
        // The renewal task is opened by this upload or by the scheduler's pass, whichever runs
        // the renewal rules first; the detail below shows it.
        assert!(stored["renewals_opened"].as_u64().unwrap() <= 1);

        // A viewer cannot upload; a bad certificate is a 422 naming it.
        let r = http
            .post(app.url("/api/v1/certificates/scans"))
            .bearer_auth(&viewer)
            .json(&upload)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let bad = json!({"kind": "file", "sources": [{"location": "/x.pem", "certificates_der_hex": ["zz"]}]});
        let r = http
            .post(app.url("/api/v1/certificates/scans"))
            .bearer_auth(&token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("sources[0].certificates_der_hex[0]"));
        // The same place twice in one upload is refused by name, not a storage conflict.
        let twice = json!({"kind": "file", "sources": [
            {"location": "/etc/ssl/twice.pem", "error": "unreadable"},
            {"location": "/etc/ssl/twice.pem", "error": "unreadable"},
        ]});
        let r = http
            .post(app.url("/api/v1/certificates/scans"))
            .bearer_auth(&token)
            .json(&twice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("is already sources[0]"));

        let list: Vec<Value> = http
            .get(app.url("/api/v1/certificates?expiring_within_days=30"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["subject_cn"], "soon.example.test");
        assert_eq!(list[0]["current_sightings"], 2);
        let id = list[0]["id"].as_i64().unwrap();
        let all: Vec<Value> = http
            .get(app.url("/api/v1/certificates?sort=expiry_desc"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0]["subject_cn"], "later.example.test");
        let critical: Vec<Value> = http
            .get(app.url("/api/v1/certificates?problem=expires-soon"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(critical.len(), 1);
        let r = http
            .get(app.url("/api/v1/certificates?limit=0"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        // Detail: where it is deployed, its renewal task, its PEM.
        let detail: Value = http
            .get(app.url(&format!("/api/v1/certificates/{id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let places: Vec<&str> = detail["sightings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["source"]["location"].as_str().unwrap())
            .collect();
        assert_eq!(places, ["/etc/ssl/a.pem", "/etc/ssl/b.pem"]);
        assert_eq!(detail["renewal"]["status"], "open");
        assert!(detail["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----\n"));

        let r = http
            .put(app.url(&format!("/api/v1/certificates/{id}/renewal")))
            .bearer_auth(&token)
            .json(&json!({"status": "in_progress", "note": "CSR sent"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let task: Value = r.json().await.unwrap();
        assert_eq!(
            (task["status"].as_str(), task["note"].as_str()),
            (Some("in_progress"), Some("CSR sent"))
        );

        // The exporter's gauges, one per certificate per place.
        let metrics = http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let soon_series: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("x509_cert_not_after{subject_CN=\"soon.example.test\""))
            .collect();
        assert_eq!(soon_series.len(), 2, "{metrics}");
        assert!(soon_series
            .iter()
            .any(|l| l.contains("source=\"/etc/ssl/a.pem\"")));
        assert!(metrics.contains(
            "x509_cert_expired{subject_CN=\"later.example.test\",issuer_CN=\"Server Test CA\""
        ));

        // Pages: the list with its timeline, the detail with its renewal form.
        let page = http
            .get(app.url("/certificates?within=30"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("<svg")
                && page.contains("soon.example.test")
                && !page.contains("later.example.test")
        );
        let page = http
            .get(app.url(&format!("/certificates/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("/etc/ssl/b.pem")
                && page.contains("in_progress")
                && page.contains("name=\"csrf_token\"")
        );
        let r = http
            .post(app.url(&format!("/certificates/{id}/renewal")))
            .bearer_auth(&token)
            .form(&[("status", "done"), ("note", "deployed by hand")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection());
        let detail: Value = http
            .get(app.url(&format!("/api/v1/certificates/{id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["renewal"]["status"], "done");
        assert_eq!(detail["renewal"]["closed_by"], "token:certop/test");

        // Settings are an administrator's.
        let r = http
            .put(app.url("/api/v1/certificates/settings"))
            .bearer_auth(&token)
            .json(&json!({"thresholds": [20], "rescan_interval_minutes": 60}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
);
