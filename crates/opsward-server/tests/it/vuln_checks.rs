//! Weak-TLS, posture and stale-host findings from what the other practices recorded: real
//! certificates served by `openssl s_server` and scanned by the certificates practice, and
//! real agent reports over the patches API. Also the policy API and pages.

use crate::{both_backends, client, TestApp};
use chrono::{Duration as Days, Utc};
use opsward_certs::{
    inventory::SourceKind, rescan::observe_endpoints, scan_endpoints, CheckContext, ScanOptions,
    TrustStore,
};
use opsward_core::{Actor, Role};
use opsward_patches::report::Posture;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct OpensslServer(Child);

impl OpensslServer {
    fn start(port: u16, cert: &Path, key: &Path, extra: &[&str]) -> Self {
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        OpensslServer(child)
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A 1024-bit RSA leaf certificate signed with SHA-1 (rcgen makes neither), by the openssl
/// CLI. (A CA certificate's own signature is not checked, as no one verifies it.)
fn weak_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("weak.pem"), dir.join("weak.key"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (cert, key)
}

/// A current P-256 certificate from rcgen.
fn good_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("good.pem"), dir.join("good.key"));
    std::fs::write(&cert, issued.cert.pem()).unwrap();
    std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

async fn scan_and_store(app: &TestApp, target: &str, asset_id: i64) {
    let options = ScanOptions {
        connect_timeout: Duration::from_secs(2),
        handshake_timeout: Duration::from_secs(2),
        ..ScanOptions::default()
    };
    let reports = scan_endpoints(&[target.to_string()], &options).await;
    let now = Utc::now();
    let observed = observe_endpoints(
        &reports,
        &TrustStore::public_roots(),
        &CheckContext::at(now),
        options.starttls,
    );
    let actor = Actor::system("test");
    app.state
        .certs
        .record_scan(&actor, SourceKind::Endpoint, &observed, now)
        .await
        .unwrap();
    let source = app
        .state
        .certs
        .sources(None)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.location == target)
        .unwrap();
    app.state
        .certs
        .set_source_asset(&actor, source.id, Some(asset_id))
        .await
        .unwrap();
}

async fn findings(app: &TestApp, token: &str, query: &str) -> Vec<(String, String, String)> {
    let found: Vec<Value> = client()
        .get(app.url(&format!("/api/v1/vulns/findings?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found: Vec<_> = found
        .iter()
        .map(|f| {
            (
                f["package"].as_str().unwrap().to_string(),
                f["vulnerability_id"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

both_backends!(
    weak_tls_is_a_finding_until_the_endpoint_serves_a_good_certificate,
    |app: TestApp| async move {
        let (_, viewer) = app.user_with_token("tls-viewer", Role::Viewer).await;
        let dir = tempfile::tempdir().unwrap();
        let asset = app
            .db
            .store
            .create_asset(
                &Actor::system("test"),
                &opsward_testkit::asset_input("mail-1"),
            )
            .await
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = format!("localhost:{port}");
        let (cert, key) = weak_certificate(dir.path());
        let weak = OpensslServer::start(port, &cert, &key, &["-cipher", "DEFAULT:@SECLEVEL=0"]);
        scan_and_store(&app, &target, asset.id).await;
        opsward_vulns::practice::jobs::run_checks(app.db.store.as_ref())
            .await
            .unwrap();
        let query = format!("kind=tls&asset={}", asset.id);
        let package = format!("tls/{target}");
        // At security level 0 openssl also accepts TLS 1.0 (and 1.1): the old protocol is a
        // finding of its own, less severe than the breakable certificate.
        assert_eq!(
            findings(&app, &viewer, &query).await,
            vec![
                (package.clone(), "tls:old-protocol".into(), "open".into()),
                (package.clone(), "tls:weak-key".into(), "open".into()),
                (package.clone(), "tls:weak-signature".into(), "open".into()),
            ]
        );
        let listed: Vec<Value> = client()
            .get(app.url(&format!("/api/v1/vulns/findings?{query}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let old = listed
            .iter()
            .find(|f| f["vulnerability_id"] == "tls:old-protocol")
            .unwrap();
        assert_eq!(old["severity"], "medium");
        let summary = old["summary"].as_str().unwrap();
        assert!(
            summary.starts_with(&format!("{target} accepts TLSv1.0 (")),
            "{summary}"
        );

        // The endpoint serves a good certificate over TLS 1.2+ only now: all are fixed at the
        // next check.
        drop(weak);
        let (cert, key) = good_certificate(dir.path());
        let _good = OpensslServer::start(port, &cert, &key, &[]);
        scan_and_store(&app, &target, asset.id).await;
        opsward_vulns::practice::jobs::run_checks(app.db.store.as_ref())
            .await
            .unwrap();
        assert_eq!(
            findings(&app, &viewer, &query).await,
            vec![
                (package.clone(), "tls:old-protocol".into(), "fixed".into()),
                (package.clone(), "tls:weak-key".into(), "fixed".into()),
                (package, "tls:weak-signature".into(), "fixed".into()),
            ]
        );
        app.stop().await;
    }
);

async fn enroll(app: &TestApp, hostname: &str) -> String {
    let (_, token) = crate::patches::fixture_enrollment_token(app).await;
    let enrolled: Value = client()
        .post(app.url("/api/v1/patches/enroll"))
        .json(&json!({"token": token, "hostname": hostname}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    enrolled["credential"].as_str().unwrap().to_string()
}

async fn report(app: &TestApp, credential: &str, sequence: i64, posture: Posture) {
    let mut report = crate::patches::report(sequence, vec![], vec![]);
    report.posture = posture;
    let response = client()
        .post(app.url("/api/v1/patches/reports"))
        .header("X-Opsward-Host", credential)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

both_backends!(
    posture_and_stale_host_findings_follow_agent_reports,
    |app: TestApp| async move {
        let (_, admin) = app.user_with_token("posture-admin", Role::Admin).await;
        let store = app.db.store.clone();
        let actor = Actor::system("test");
        let asset = store
            .create_asset(&actor, &opsward_testkit::asset_input("kiosk-7"))
            .await
            .unwrap();
        let credential = enroll(&app, "kiosk-7.example.com").await;
        report(
            &app,
            &credential,
            1,
            Posture {
                firewall_active: Some(false),
                av_edr_running: Some(true),
                unattended_upgrades: None,
            },
        )
        .await;
        let vulns = &app.state.vulns;
        let check = |at| opsward_vulns::posture::check_all(vulns, store.as_ref(), &actor, at);
        let outcome = check(Utc::now()).await.unwrap();
        assert_eq!(outcome.posture.new, 2);
        let query = format!("asset={}&kind=posture", asset.id);
        assert_eq!(
            findings(&app, &admin, &query).await,
            vec![
                (
                    "posture/auto_updates".into(),
                    "posture:auto_updates".into(),
                    "open".into()
                ),
                (
                    "posture/firewall".into(),
                    "posture:firewall".into(),
                    "open".into()
                ),
            ]
        );

        // Kiosks (tag `appliance`) need no automatic updates: that finding is fixed.
        let mut settings: Value = client()
            .get(app.url("/api/v1/vulns/settings"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        settings["posture"]["tags"] = json!({"appliance": {"auto_updates": false}});
        let saved = client()
            .put(app.url("/api/v1/vulns/settings"))
            .bearer_auth(&admin)
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), StatusCode::OK);
        let mut input = opsward_testkit::asset_input("kiosk-7");
        input.tags = vec!["appliance".into()];
        store.update_asset(&actor, asset.id, &input).await.unwrap();
        check(Utc::now()).await.unwrap();
        assert_eq!(
            findings(&app, &admin, &query).await,
            vec![
                (
                    "posture/auto_updates".into(),
                    "posture:auto_updates".into(),
                    "fixed".into()
                ),
                (
                    "posture/firewall".into(),
                    "posture:firewall".into(),
                    "open".into()
                ),
            ]
        );

        // 25 hours on without a report, the host is stale; a new report (firewall on now)
        // fixes that and the firewall finding.
        let stale = check(Utc::now() + Days::hours(25)).await.unwrap();
        assert_eq!(stale.stale_host.new, 1);
        let query = format!("asset={}&kind=stale_host", asset.id);
        assert_eq!(
            findings(&app, &admin, &query).await,
            vec![(
                "host/kiosk-7.example.com".into(),
                "stale_host".into(),
                "open".into()
            )]
        );
        report(
            &app,
            &credential,
            2,
            Posture {
                firewall_active: Some(true),
                av_edr_running: Some(true),
                unattended_upgrades: None,
            },
        )
        .await;
        let fresh = check(Utc::now()).await.unwrap();
        assert_eq!((fresh.stale_host.fixed, fresh.posture.fixed), (1, 1));

        // Bad settings are refused with the field named.
        settings["posture"]["stale_hours"] = json!(0);
        let refused = client()
            .put(app.url("/api/v1/vulns/settings"))
            .bearer_auth(&admin)
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        assert!(body.to_string().contains("posture.stale_hours"), "{body}");
        app.stop().await;
    }
);

/// A tag's allowed-ports policy, for the role matrix: its id.
pub async fn fixture_port_policy(app: &TestApp, tag: &str) -> i64 {
    app.state
        .vulns
        .set_port_policy(
            &Actor::system("test"),
            &opsward_vulns::settings::PortPolicyInput {
                asset_id: None,
                tag: Some(tag.into()),
                allowed: "22".into(),
                scan_ports: None,
                address: None,
            },
        )
        .await
        .unwrap()
        .id
}

both_backends!(
    policy_pages_and_the_asset_tab_show_and_set_policies,
    |app: TestApp| async move {
        let (_, operator) = app.user_with_token("policy-op", Role::Operator).await;
        let store = app.db.store.clone();
        let actor = Actor::system("test");
        let asset = store
            .create_asset(&actor, &opsward_testkit::asset_input("edge-9"))
            .await
            .unwrap();
        // An exposure recorded through the API shows on the asset's page, by kind.
        let recorded: Value = client()
            .post(app.url(&format!("/api/v1/vulns/assets/{}/exposure", asset.id)))
            .bearer_auth(&operator)
            .json(&json!({"scanned": "1-10000", "open": [22, 8080]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            recorded["exposures"],
            json!([8080]),
            "the default allows 22 and 443"
        );
        let bad = client()
            .post(app.url(&format!("/api/v1/vulns/assets/{}/exposure", asset.id)))
            .bearer_auth(&operator)
            .json(&json!({"scanned": "1-100", "open": [8080]}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = client()
            .get(app.url(&format!("/assets/{}", asset.id)))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"vulnerabilities\""), "{page}");
        assert!(page.contains("exposure:tcp/8080"), "{page}");
        assert!(
            page.contains("the default; not scanned on schedule"),
            "{page}"
        );

        // The asset's own policy through its page's form; the tag's through the policy page.
        let policies: Vec<Value> = client()
            .put(app.url("/api/v1/vulns/port-policies"))
            .bearer_auth(&operator)
            .json(&json!({"asset_id": asset.id, "allowed": "22,8080", "address": "127.0.0.1"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .map(|p| vec![p])
            .unwrap();
        assert_eq!(policies[0]["allowed"], "22,8080");
        let targets: Vec<Value> = client()
            .get(app.url("/api/v1/vulns/exposure/targets?name=edge-9"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(targets[0]["address"], "127.0.0.1");
        assert_eq!(targets[0]["has_policy"], true);
        let policy_page = client()
            .get(app.url("/vulns/policy"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(policy_page.contains("asset edge-9"), "{policy_page}");
        let refused = client()
            .put(app.url("/api/v1/vulns/port-policies"))
            .bearer_auth(&operator)
            .json(&json!({"tag": "web", "allowed": "http"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let findings = client()
            .get(app.url("/vulns?kind=exposure"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(findings.contains("tcp/8080"), "{findings}");
        app.stop().await;
    }
);

both_backends!(
    the_due_policy_is_set_by_api_and_form_and_reschedules_findings,
    |app: TestApp| async move {
        let (_, admin) = app.user_with_token("due-admin", Role::Admin).await;
        let (_, operator) = app.user_with_token("due-op", Role::Operator).await;
        let asset = app
            .db
            .store
            .create_asset(
                &Actor::system("test"),
                &opsward_testkit::asset_input("edge-due"),
            )
            .await
            .unwrap();
        // One open high finding (tcp/8080, the default allows 22 and 443) seen today.
        let recorded = client()
            .post(app.url(&format!("/api/v1/vulns/assets/{}/exposure", asset.id)))
            .bearer_auth(&operator)
            .json(&json!({"scanned": "1-10000", "open": [8080]}))
            .send()
            .await
            .unwrap();
        assert_eq!(recorded.status(), StatusCode::OK);
        let due = |app: &TestApp, token: String| {
            let url = app.url(&format!(
                "/api/v1/vulns/findings?asset={}&kind=exposure",
                asset.id
            ));
            async move {
                let list: Value = client()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let list = list.get("items").cloned().unwrap_or(list);
                let first = &list.as_array().unwrap()[0];
                (
                    first["severity"].as_str().unwrap().to_owned(),
                    first["due_date"].as_str().unwrap().to_owned(),
                )
            }
        };
        let today = Utc::now().date_naive();
        let (severity, before) = due(&app, admin.clone()).await;
        let days = |d: u64| (today + chrono::Days::new(d)).to_string();
        let severity_days: u64 = match severity.as_str() {
            "critical" => 7,
            "high" => 30,
            "medium" => 90,
            _ => 180,
        };
        assert_eq!(before, days(severity_days));

        let policy: Value = client()
            .get(app.url("/api/v1/vulns/due-policy"))
            .bearer_auth(&operator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            policy,
            json!({"critical_days": 7, "high_days": 30, "medium_days": 90, "low_days": 180,
                   "epss_threshold": 0.1, "kev": "catalog"})
        );
        // Operators may read it, only administrators change it; a bad one names its field.
        let strict = json!({"critical_days": 3, "high_days": 3, "medium_days": 3, "low_days": 3,
                            "epss_threshold": null, "kev": "earlier"});
        let forbidden = client()
            .put(app.url("/api/v1/vulns/due-policy"))
            .bearer_auth(&operator)
            .json(&strict)
            .send()
            .await
            .unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        let refused = client()
            .put(app.url("/api/v1/vulns/due-policy"))
            .bearer_auth(&admin)
            .json(&json!({"high_days": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["details"][0]["field"], "high_days", "{body}");
        let saved: Value = client()
            .put(app.url("/api/v1/vulns/due-policy"))
            .bearer_auth(&admin)
            .json(&strict)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(saved["rescheduled"], 1, "{saved}");
        assert_eq!(saved["policy"], strict);
        assert_eq!(due(&app, admin.clone()).await.1, days(3));

        // The policy page's form, from a browser session: CSRF required, then saved and
        // shown with the number rescheduled.
        crate::auth::add_user(&app, "due-browser", Role::Admin).await;
        let http = crate::auth::browser();
        crate::auth::login(&app, &http, "due-browser", crate::auth::PASSWORD).await;
        let page = http
            .get(app.url("/vulns/policy"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"due-critical\""), "{page}");
        assert!(page.contains("value=\"earlier\" selected"), "{page}");
        let csrf = opsward_testkit::csrf_token_in(&page);
        let form = |csrf: Option<&str>| {
            let mut fields = vec![
                ("critical_days", "5"),
                ("high_days", "12"),
                ("medium_days", "40"),
                ("low_days", "100"),
                ("epss_threshold", "0.2"),
                ("kev", "catalog"),
            ];
            fields.extend(csrf.map(|c| ("csrf_token", c)));
            fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        };
        let forged = http
            .post(app.url("/vulns/policy/due"))
            .form(&form(None))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let posted = http
            .post(app.url("/vulns/policy/due"))
            .form(&form(Some(&csrf)))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::SEE_OTHER);
        let location = posted.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(location, "/vulns/policy?rescheduled=1#due-dates");
        let shown = http
            .get(app.url(&location))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            shown.contains("Saved: 1 finding(s) rescheduled."),
            "{shown}"
        );
        let expected = days(match severity.as_str() {
            "critical" => 5,
            "high" => 12,
            "medium" => 40,
            _ => 100,
        });
        assert_eq!(due(&app, admin.clone()).await.1, expected);
        // A form that does not parse is shown again with its error, and changes nothing.
        let mut bad = form(Some(&csrf));
        bad[0].1 = "soon".into();
        let again = http
            .post(app.url("/vulns/policy/due"))
            .form(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(again
            .text()
            .await
            .unwrap()
            .contains("critical_days: soon is not a number of days"));
        assert_eq!(due(&app, admin.clone()).await.1, expected);
        app.stop().await;
    }
);
