//! An agent's report over HTTP is matched by the scheduler against the imported advisories:
//! the host detail's pending updates carry the findings they close (`fixes`), and the fleet
//! view lists the updates closing KEV findings first.

use crate::{both_backends, client, TestApp};
use chrono::Utc;
use opsward_core::{Actor, Role};
use opsward_patches::{InstalledPackage, OsRelease, PendingUpdate};
use opsward_vulns::osv::load_path;
use opsward_vulns::threat::parse_kev;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

fn advisory() -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": "DSA-5950-1",
        "modified": "2025-06-01T00:00:00Z",
        "aliases": ["CVE-2025-95001"],
        "summary": "libexample security update",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": "libexample"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.1-1+deb12u1"}]}],
        }],
    })
}

both_backends!(
    a_reported_host_is_matched_and_its_updates_show_what_they_fix,
    |app: TestApp| async move {
        let (_, viewer) = app.user_with_token("watcher", Role::Viewer).await;
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join("DSA-5950-1.json"), advisory().to_string()).unwrap();
        let actor = Actor::system("test");
        app.state
            .vulns
            .import_osv(&actor, "osv", &load_path(temp.path()))
            .await
            .unwrap();
        let kev = json!({"catalogVersion": "t", "count": 1, "vulnerabilities": [{
            "cveID": "CVE-2025-95001", "vendorProject": "example", "product": "libexample",
            "vulnerabilityName": "overflow", "dateAdded": "2025-06-02", "dueDate": "2025-06-23"}]});
        app.state
            .vulns
            .import_kev(&actor, "kev", &parse_kev("kev", &kev.to_string()).unwrap())
            .await
            .unwrap();

        let (host_id, credential) = crate::patches::fixture_host(&app).await;
        let package = InstalledPackage {
            name: "libexample2".into(),
            version: "2.1-1".into(),
            arch: "amd64".into(),
            source: "libexample".into(),
            source_version: "2.1-1".into(),
        };
        let update = PendingUpdate {
            name: "libexample2".into(),
            arch: "amd64".into(),
            installed_version: "2.1-1".into(),
            candidate_version: "2.1-1+deb12u1".into(),
            source: "libexample".into(),
            suites: vec!["bookworm-security".into()],
            security: true,
        };
        let mut report = crate::patches::report(1, vec![package], vec![update]);
        report.os = OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..OsRelease::default()
        };
        let sent = client()
            .post(app.url("/api/v1/patches/reports"))
            .header("X-Opsward-Host", &credential)
            .json(&report)
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::OK);

        // The scheduler matches the host within a few polls.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let (pending, detail) = loop {
            let detail: Value = client()
                .get(app.url(&format!("/api/v1/patches/hosts/{host_id}")))
                .bearer_auth(&viewer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let pending = detail["pending"][0].clone();
            if pending["severity"] == "high" {
                break (pending, detail);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not matched in time: {detail:#}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        // The host's last match: when, on which report, as which ecosystem, and the counts.
        let matched = &detail["vulnerability_match"];
        assert_eq!(matched["ecosystem"], "Debian:12", "{detail:#}");
        assert_eq!(matched["report_sequence"], 1);
        assert_eq!(matched["packages"], 1, "one source package: libexample");
        assert_eq!(matched["matched"], 1);
        assert_eq!(matched["undecided"], 0);
        assert!(matched["asset_id"].as_i64().is_some());
        let matched_at: chrono::DateTime<Utc> =
            serde_json::from_value(matched["scanned_at"].clone()).unwrap();
        assert!(matched_at <= Utc::now());
        let fixes = &pending["fixes"];
        assert_eq!(fixes["kev"], 1, "{pending:#}");
        assert_eq!(fixes["ids"], json!(["CVE-2025-95001", "DSA-5950-1"]));
        assert_eq!(fixes["severity"], "high");
        assert_eq!(fixes["findings"][0]["vulnerability_id"], "DSA-5950-1");
        assert_eq!(fixes["findings"][0]["kev"], true);
        let first_seen: chrono::DateTime<Utc> =
            serde_json::from_value(pending["first_seen_at"].clone()).unwrap();
        let due: chrono::DateTime<Utc> = serde_json::from_value(pending["due_at"].clone()).unwrap();
        assert_eq!(
            due - first_seen,
            chrono::Duration::days(14),
            "high: 14 days"
        );

        let finding_id = fixes["findings"][0]["finding_id"].as_i64().unwrap();
        let finding: Value = client()
            .get(app.url(&format!("/api/v1/vulns/findings/{finding_id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(finding["finding"]["package"], "libexample");
        assert_eq!(finding["finding"]["state"], "open");

        let fleet: Value = client()
            .get(app.url("/api/v1/patches/updates?closes_kev=true"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(fleet.as_array().unwrap().len(), 1, "{fleet:#}");
        assert_eq!(fleet[0]["host_id"], host_id);
        assert_eq!(fleet[0]["name"], "libexample2");
        assert_eq!(fleet[0]["fixes"]["kev"], 1);

        // The host page shows it.
        let page = client()
            .get(app.url(&format!("/patches/hosts/{host_id}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("closes 1 finding, 1 in KEV"), "{page}");
        assert!(page.contains("DSA-5950-1"));
        assert!(
            page.contains(&format!(
                "{} (report 1): 1 package as Debian:12, 1 vulnerability, 0 not evaluated",
                matched_at.format("%Y-%m-%d %H:%M UTC")
            )),
            "{page}"
        );
        app.stop().await;
    }
);
