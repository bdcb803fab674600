//! `opsward vuln import` queues host matching, `opsward vuln match-hosts` runs it, and
//! `opsward patch status --host` and `opsward patch updates` show what each update closes.

use crate::{both_backends, Env};
use chrono::{Duration, Utc};
use opsward_core::Actor;
use opsward_patches::{
    report::{HostReport, Posture, ReportKind},
    store::PatchStore,
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};
use serde_json::{json, Value};

fn json_of(env: &Env, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&env.ok(&all)).unwrap()
}

both_backends!(
    cli_shows_the_findings_each_update_closes,
    |env: Env| async move {
        let osv = env.dir.path().join("osv");
        std::fs::create_dir_all(&osv).unwrap();
        let record = json!({
            "id": "DSA-5960-1", "modified": "2025-06-01T00:00:00Z", "aliases": ["CVE-2025-96001"],
            "summary": "zzlib security update",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "zzlib"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.3-2"}]}]}],
        });
        std::fs::write(osv.join("DSA-5960-1.json"), record.to_string()).unwrap();
        let imported = json_of(&env, &["vuln", "import", "osv", osv.to_str().unwrap()]);
        assert_eq!(imported["created"], 1);
        let kev = json!({"catalogVersion": "t", "count": 1, "vulnerabilities": [{
        "cveID": "CVE-2025-96001", "vendorProject": "zz", "product": "zzlib",
        "vulnerabilityName": "overflow", "dateAdded": "2025-06-02", "dueDate": "2099-06-23"}]});
        let kev_file = env.write("kev.json", &kev.to_string());
        env.ok(&["vuln", "import", "kev", kev_file.to_str().unwrap()]);

        let url = env.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite:{}",
                env.dir.path().join("data/opsward.db").display()
            )
        });
        let store = opsward_store::connect(&opsward_store::StoreSettings::new(url))
            .await
            .unwrap();
        // Each import queued a match for a running server's scheduler.
        let jobs = store.list_jobs(None, 100).await.unwrap();
        let queued: Vec<&str> = jobs
            .iter()
            .filter(|j| j.kind == "vulns.host_match")
            .filter_map(|j| j.dedupe_key.as_deref())
            .collect();
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert!(queued
            .iter()
            .all(|k| k.starts_with("vulns.host_match:import:")));

        let patches = PatchStore::new(store.as_ref());
        let actor = Actor::system("test");
        patches
            .create_enrollment_token(&actor, "fleet", "th", Utc::now() + Duration::days(1))
            .await
            .unwrap();
        let host = patches.enroll("th", "db-07", "ch").await.unwrap().unwrap();
        let report = HostReport {
            kind: ReportKind::Full,
            sequence: 1,
            base_sequence: None,
            collected_at: Utc::now(),
            hostname: "db-07".into(),
            os: OsRelease {
                id: "debian".into(),
                version_id: Some("12".into()),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                ..OsRelease::default()
            },
            kernel: Kernel::default(),
            package_manager: Some(PackageManager::Dpkg),
            reboot: RebootRequired::default(),
            uptime_seconds: None,
            posture: Posture::default(),
            packages: vec![InstalledPackage {
                name: "libzz1".into(),
                version: "1:1.3-1".into(),
                arch: "amd64".into(),
                source: "zzlib".into(),
                source_version: "1:1.3-1".into(),
            }],
            removed: vec![],
            language_packages: vec![],
            notes: vec![],
            pending: vec![PendingUpdate {
                name: "libzz1".into(),
                arch: "amd64".into(),
                installed_version: "1:1.3-1".into(),
                candidate_version: "1:1.3-2".into(),
                source: "zzlib".into(),
                suites: vec!["bookworm-security".into()],
                security: true,
            }],
        };
        patches.ingest(host.id, &report).await.unwrap();

        let run = json_of(&env, &["vuln", "match-hosts"]);
        assert_eq!(
            (run["hosts"].as_i64(), run["new"].as_i64()),
            (Some(1), Some(1)),
            "{run}"
        );
        let again = json_of(&env, &["vuln", "match-hosts"]);
        assert_eq!(again["hosts"], 0, "nothing due");

        let status = json_of(&env, &["patch", "status", "--host", "db-07"]);
        let pending = &status[0]["updates"][0];
        assert_eq!(pending["name"], "libzz1");
        assert_eq!(pending["severity"], "medium");
        assert_eq!(pending["fixes"]["kev"], 1);
        assert_eq!(
            pending["fixes"]["ids"],
            json!(["CVE-2025-96001", "DSA-5960-1"])
        );
        assert_eq!(
            pending["fixes"]["findings"][0]["vulnerability_id"],
            "DSA-5960-1"
        );
        let table = env.ok(&["patch", "status", "--host", "db-07"]);
        assert!(
            table.contains("CLOSES") && table.contains("CVE-2025-96001"),
            "{table}"
        );
        let plain = json_of(&env, &["patch", "status"]);
        assert!(plain[0].get("updates").is_none(), "only with --host");

        let updates = json_of(&env, &["patch", "updates", "--closes-kev"]);
        assert_eq!(updates.as_array().unwrap().len(), 1);
        assert_eq!(updates[0]["hostname"], "db-07");
        assert_eq!(
            (updates[0]["closes"].as_i64(), updates[0]["kev"].as_i64()),
            (Some(1), Some(1))
        );
        let csv = env.ok(&["patch", "updates", "-o", "csv"]);
        assert!(csv.starts_with("hostname,package,installed,candidate,security,severity,due_at,overdue,closes,kev,ids\n"), "{csv}");
        assert!(
            csv.contains("db-07,libzz1:amd64,1:1.3-1,1:1.3-2,true,medium,"),
            "{csv}"
        );
    }
);
