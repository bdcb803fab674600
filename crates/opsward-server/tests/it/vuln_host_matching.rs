//! Host package inventories from the patch agent matched against OSV advisories, on SQLite and
//! PostgreSQL: Debian binary packages by their source package, findings on the host's asset
//! through their lifecycle, and pending updates linked to the findings they close, with the
//! severity and due date that follow.
//!
//! Lives in the server's tests because it feeds agent reports through the patches practice
//! into the vulnerabilities practice, and only the server depends on both.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Months, Utc};
use opsward_core::Actor;
use opsward_patches::{
    report::{HostReport, Posture, ReportKind},
    store::PatchStore,
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};
use opsward_store::Store;
use opsward_testkit::store_test;
use opsward_vulns::findings::{FindingFilter, FindingState};
use opsward_vulns::hosts::{self, UpdateQuery};
use opsward_vulns::osv::load_path;
use opsward_vulns::threat::parse_kev;
use opsward_vulns::VulnStore;

fn actor() -> Actor {
    Actor::user(1, "secops")
}

/// An OSV record as osv.dev publishes Debian's: ECOSYSTEM ranges on a source package.
fn debian_record(
    id: &str,
    cve: &str,
    source: &str,
    fixed: &str,
    vector: Option<&str>,
) -> serde_json::Value {
    let mut record = serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2025-06-01T00:00:00Z",
        "published": "2025-05-01T00:00:00Z",
        "aliases": [cve],
        "summary": format!("{source} security update"),
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": source, "purl": format!("pkg:deb/debian/{source}?arch=source")},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
        }],
        "references": [{"type": "ADVISORY", "url": format!("https://security-tracker.debian.org/tracker/{id}")}],
    });
    if let Some(v) = vector {
        record["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": v}]);
    }
    record
}

fn write_records(dir: &Path, records: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).unwrap();
    for r in records {
        let id = r["id"].as_str().unwrap();
        std::fs::write(dir.join(format!("{id}.json")), r.to_string()).unwrap();
    }
}

fn deb(name: &str, version: &str, source: &str, source_version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: source.into(),
        source_version: source_version.into(),
    }
}

fn report(
    sequence: i64,
    packages: Vec<InstalledPackage>,
    pending: Vec<PendingUpdate>,
) -> HostReport {
    HostReport {
        kind: ReportKind::Full,
        sequence,
        base_sequence: None,
        collected_at: Utc::now(),
        hostname: "db-01".into(),
        os: OsRelease {
            id: "debian".into(),
            id_like: vec![],
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        },
        kernel: Kernel {
            release: "6.1.0-18-amd64".into(),
            ..Kernel::default()
        },
        package_manager: Some(PackageManager::Dpkg),
        reboot: RebootRequired::default(),
        uptime_seconds: Some(3600),
        posture: Posture::default(),
        packages,
        removed: vec![],
        language_packages: vec![],
        notes: vec![],
        pending,
    }
}

fn update(name: &str, from: &str, to: &str, source: &str, security: bool) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        arch: "amd64".into(),
        installed_version: from.into(),
        candidate_version: to.into(),
        source: source.into(),
        suites: vec![if security {
            "bookworm-security"
        } else {
            "bookworm"
        }
        .into()],
        security,
    }
}

/// CVSS 3.1 base score 9.8.
const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

store_test!(
    host_packages_become_findings_and_updates_close_them,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let patches = PatchStore::new(store.as_ref());
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("Debian");
        write_records(
            &dir,
            &[
                // libfoo1 and foo-tools are built from `foo`; the fix is the release after a `~rc`.
                debian_record(
                    "DSA-5900-1",
                    "CVE-2025-90001",
                    "foo",
                    "1:2.0-1",
                    Some(CRITICAL),
                ),
                // bar is installed at exactly the fixed version: not affected.
                debian_record("DSA-5901-1", "CVE-2025-90002", "bar", "1.5-2", None),
                // qux's epoch makes the installed 1:1.0-1 newer than the fix 2.0-1.
                debian_record("DLA-4000-1", "CVE-2025-90003", "qux", "2.0-1", None),
                // Another release's advisory for foo never applies to a Debian 12 host.
                {
                    let mut r =
                        debian_record("DSA-5902-1", "CVE-2025-90004", "foo", "1:9.0-1", None);
                    r["affected"][0]["package"]["ecosystem"] = "Debian:11".into();
                    r
                },
            ],
        );
        let run = vulns
            .import_osv(&actor(), "Debian", &load_path(&dir))
            .await
            .unwrap();
        assert_eq!(
            (run.outcome.as_str(), run.created),
            ("imported", 4),
            "{:?}",
            run.problems
        );
        let kev_due = Utc::now().date_naive() + Duration::days(5);
        let kev = serde_json::json!({"catalogVersion": "test", "count": 1, "vulnerabilities": [{
            "cveID": "CVE-2025-90001", "vendorProject": "foo", "product": "foo",
            "vulnerabilityName": "foo heap overflow", "dateAdded": "2025-05-02", "dueDate": kev_due.to_string(),
        }]});
        vulns
            .import_kev(
                &actor(),
                "kev.json",
                &parse_kev("kev.json", &kev.to_string()).unwrap(),
            )
            .await
            .unwrap();

        // The agent enrolls and sends its first report.
        patches
            .create_enrollment_token(
                &actor(),
                "fleet",
                "token-hash",
                Utc::now() + Duration::days(1),
            )
            .await
            .unwrap();
        let host = patches
            .enroll("token-hash", "db-01", "credential-hash")
            .await
            .unwrap()
            .unwrap();
        let installed = vec![
            deb("libfoo1", "1:2.0~rc1-1+b1", "foo", "1:2.0~rc1-1"),
            deb("foo-tools", "1:2.0~rc1-1+b1", "foo", "1:2.0~rc1-1"),
            deb("bar", "1.5-2", "bar", "1.5-2"),
            deb("qux", "1:1.0-1", "qux", "1:1.0-1"),
        ];
        let pending = vec![
            update("libfoo1", "1:2.0~rc1-1+b1", "1:2.0-1", "foo", true),
            update("foo-tools", "1:2.0~rc1-1+b1", "1:2.0-1", "foo", true),
            update("bar", "1.5-2", "1.5-3", "bar", false),
        ];
        patches
            .ingest(host.id, &report(1, installed.clone(), pending))
            .await
            .unwrap();

        let first = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!(
            (first.hosts, first.new, first.fixed),
            (1, 1, 0),
            "{first:?}"
        );
        let asset = store.get_asset_by_name("db-01").await.unwrap();
        let findings = vulns
            .findings(&FindingFilter {
                asset_id: Some(asset.id),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let finding = &findings[0];
        assert_eq!(
            (
                finding.ecosystem.as_str(),
                finding.package.as_str(),
                finding.installed_version.as_str()
            ),
            ("Debian:12", "foo", "1:2.0~rc1-1"),
            "matched by the source package and its version"
        );
        assert_eq!(finding.vulnerability_id, "DSA-5900-1");
        assert_eq!(finding.ids, ["DSA-5900-1", "CVE-2025-90001"]);
        assert_eq!(finding.fixed_version.as_deref(), Some("1:2.0-1"));
        assert_eq!(finding.severity, opsward_vulns::Severity::Critical);
        assert!(finding.kev);
        assert_eq!(
            finding.due_date, kev_due,
            "the KEV due date wins, as for every finding"
        );

        // Nothing new: nothing is due.
        let again = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!(again.hosts, 0);

        // Each update of foo's binaries closes the finding; bar's closes nothing.
        let (detail, scan) = hosts::host_detail(store.as_ref(), host.id, Utc::now())
            .await
            .unwrap();
        let scan = scan.unwrap();
        assert_eq!(
            (scan.ecosystem.as_str(), scan.asset_id, scan.report_sequence),
            ("Debian:12", Some(asset.id), Some(1))
        );
        assert_eq!((scan.packages, scan.matched), (3, 1));
        let libfoo = detail.pending.iter().find(|p| p.name == "libfoo1").unwrap();
        let ids: Vec<i64> = libfoo.fixes.findings.iter().map(|f| f.finding_id).collect();
        assert_eq!(ids, [finding.id]);
        assert_eq!(libfoo.fixes.kev, 1);
        assert_eq!(libfoo.fixes.ids, ["CVE-2025-90001", "DSA-5900-1"]);
        use opsward_patches::policy::Severity as UpdateSeverity;
        assert_eq!(libfoo.severity, Some(UpdateSeverity::Critical));
        assert_eq!(libfoo.fixes.severity, Some(UpdateSeverity::Critical));
        assert_eq!(
            libfoo.due_at,
            libfoo.first_seen_at + Duration::days(7),
            "critical: 7 days by the policy"
        );
        let bar = detail.pending.iter().find(|p| p.name == "bar").unwrap();
        assert!(bar.fixes.findings.is_empty());
        assert_eq!(bar.severity, None);
        assert_eq!(
            bar.due_at,
            bar.first_seen_at
                .checked_add_months(Months::new(1))
                .unwrap()
        );

        // The fleet view: updates closing KEV findings first.
        let kev_updates = hosts::fleet_updates(
            store.as_ref(),
            &UpdateQuery {
                closes_kev: true,
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();
        let names: Vec<&str> = kev_updates.iter().map(|u| u.update.name.as_str()).collect();
        assert_eq!(names, ["foo-tools", "libfoo1"]);
        let all = hosts::fleet_updates(store.as_ref(), &UpdateQuery::default(), Utc::now())
            .await
            .unwrap();
        assert_eq!(all.last().unwrap().update.name, "bar");

        // A configured policy applies the next time severities are graded.
        let mut policy = patches.policy().await.unwrap();
        policy.critical_days = 3;
        patches.set_policy(&actor(), &policy).await.unwrap();

        // The next report has foo upgraded: the finding is fixed, the updates are gone.
        let upgraded = vec![
            deb("libfoo1", "1:2.0-1", "foo", "1:2.0-1"),
            deb("foo-tools", "1:2.0-1", "foo", "1:2.0-1"),
            installed[2].clone(),
            installed[3].clone(),
        ];
        let full = report(
            2,
            upgraded,
            vec![update("bar", "1.5-2", "1.5-3", "bar", false)],
        );
        let base = report(1, installed.clone(), vec![]);
        patches
            .ingest(host.id, &full.delta_from(&base))
            .await
            .unwrap();
        let second = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!(
            (second.hosts, second.new, second.fixed),
            (1, 0, 1),
            "{second:?}"
        );
        let fixed = vulns.finding(finding.id).await.unwrap();
        assert_eq!(fixed.state, FindingState::Fixed);
        assert!(fixed.fixed_at.is_some());

        // Downgraded again (a restored snapshot): the finding reopens, the update is back and
        // is graded by the policy as it is now.
        let back = report(
            3,
            installed.clone(),
            vec![update("libfoo1", "1:2.0~rc1-1+b1", "1:2.0-1", "foo", true)],
        );
        patches.ingest(host.id, &back).await.unwrap();
        let third = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!((third.hosts, third.reopened), (1, 1), "{third:?}");
        assert_eq!(
            vulns.finding(finding.id).await.unwrap().state,
            FindingState::Open
        );
        let (detail, _) = hosts::host_detail(store.as_ref(), host.id, Utc::now())
            .await
            .unwrap();
        let libfoo = detail.pending.iter().find(|p| p.name == "libfoo1").unwrap();
        assert_eq!(libfoo.fixes.findings.len(), 1);
        assert_eq!(libfoo.due_at, libfoo.first_seen_at + Duration::days(3));

        // A lockfile scan of the same asset leaves the host's OS package findings alone.
        let outcome = vulns
            .record_scan(
                &actor(),
                asset.id,
                &[],
                &opsward_vulns::policy::DuePolicy::default(),
            )
            .await
            .unwrap();
        assert_eq!(outcome.fixed, 0);
        assert_eq!(
            vulns.finding(finding.id).await.unwrap().state,
            FindingState::Open
        );

        // A newer import makes the host due again.
        vulns
            .import_osv(&actor(), "Debian", &load_path(&dir))
            .await
            .unwrap();
        let after_import = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!((after_import.hosts, after_import.still_present), (1, 1));

        // Every match, severity change and finding transition is in the audit log.
        let audit = store
            .list_audit(
                &opsward_core::audit::AuditFilter {
                    entity_type: Some("patch_host".into()),
                    ..Default::default()
                },
                opsward_core::page::PageRequest::first(500),
            )
            .await
            .unwrap();
        let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
        assert!(
            actions.contains(&"vuln_match") && actions.contains(&"update_severity"),
            "{actions:?}"
        );
    }
);

store_test!(
    a_host_without_an_osv_ecosystem_is_noted_not_matched,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        patches
            .create_enrollment_token(&actor(), "fleet", "t", Utc::now() + Duration::days(1))
            .await
            .unwrap();
        let host = patches.enroll("t", "arch-01", "c").await.unwrap().unwrap();
        let mut r = report(1, vec![deb("zlib", "1.3-1", "zlib", "1.3-1")], vec![]);
        r.os = OsRelease {
            id: "arch".into(),
            version_id: None,
            pretty_name: "Arch Linux".into(),
            ..OsRelease::default()
        };
        patches.ingest(host.id, &r).await.unwrap();
        let run = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!((run.hosts, run.new), (1, 0));
        let (_, scan) = hosts::host_detail(store.as_ref(), host.id, Utc::now())
            .await
            .unwrap();
        let scan = scan.unwrap();
        assert_eq!(scan.ecosystem, "");
        assert!(scan.note.contains("arch"), "{}", scan.note);
        assert!(
            store.get_asset_by_name("arch-01").await.is_err(),
            "no asset for nothing to record"
        );
    }
);

store_test!(
    the_machines_own_dpkg_database_matches_by_source_package,
    |store: Arc<dyn Store>| async move {
        use opsward_patches::inventory::{dpkg, host as os};
        let installed = dpkg::read_status(Path::new(dpkg::STATUS_FILE)).unwrap();
        let release = os::os_release(Path::new("/")).unwrap();
        let ecosystem = hosts::osv_ecosystem(
            &release.id,
            release.version_id.as_deref().unwrap_or_default(),
        )
        .unwrap_or_else(|why| panic!("this test needs a Debian or Ubuntu machine: {why}"));
        // A binary built from a differently named source package (libc6 from glibc), if any.
        let chosen = installed
            .iter()
            .find(|p| {
                p.source != p.name && p.source_version.starts_with(|c: char| c.is_ascii_digit())
            })
            .or_else(|| installed.first())
            .unwrap()
            .clone();
        let source = chosen.source.as_str();
        let other = installed
            .iter()
            .find(|p| {
                p.source != source && p.source_version.starts_with(|c: char| c.is_ascii_digit())
            })
            .unwrap()
            .clone();
        // Fixed just above the installed source version: affected. Fixed just below (`~`
        // sorts before the end of the version): not affected.
        let above = format!("{}+1", chosen.source_version);
        let below = format!("{}~0", other.source_version);
        let mut records = vec![
            debian_record("DSA-9990-1", "CVE-2099-0001", source, &above, None),
            debian_record("DSA-9991-1", "CVE-2099-0002", &other.source, &below, None),
        ];
        for r in &mut records {
            r["affected"][0]["package"]["ecosystem"] = ecosystem.name.clone().into();
        }
        let temp = tempfile::tempdir().unwrap();
        write_records(temp.path(), &records);
        let vulns = VulnStore::new(store.as_ref());
        let run = vulns
            .import_osv(&actor(), "generated", &load_path(temp.path()))
            .await
            .unwrap();
        assert_eq!(run.created, 2, "{:?}", run.problems);

        let patches = PatchStore::new(store.as_ref());
        patches
            .create_enrollment_token(&actor(), "fleet", "t", Utc::now() + Duration::days(1))
            .await
            .unwrap();
        let host = patches
            .enroll("t", "this-machine", "c")
            .await
            .unwrap()
            .unwrap();
        let mut r = report(1, installed.clone(), vec![]);
        r.os = release.clone();
        patches.ingest(host.id, &r).await.unwrap();
        let done = hosts::match_due_hosts(store.as_ref(), &actor(), false)
            .await
            .unwrap();
        assert_eq!(done.new, 1, "{done:?}");
        let asset = store.get_asset_by_name("this-machine").await.unwrap();
        let findings = vulns
            .findings(&FindingFilter {
                asset_id: Some(asset.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let found: Vec<(&str, &str, &str)> = findings
            .iter()
            .map(|f| {
                (
                    f.vulnerability_id.as_str(),
                    f.package.as_str(),
                    f.installed_version.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [("DSA-9990-1", source, chosen.source_version.as_str())]
        );
        let (_, scan) = hosts::host_detail(store.as_ref(), host.id, Utc::now())
            .await
            .unwrap();
        let sources: std::collections::BTreeSet<_> = installed
            .iter()
            .map(|p| (&p.source, &p.source_version))
            .collect();
        assert_eq!(scan.unwrap().packages, sources.len() as i64);
        eprintln!(
            "{} installed packages ({} source packages) on {}: {} {} matched, {} {} not",
            installed.len(),
            sources.len(),
            ecosystem.name,
            source,
            chosen.source_version,
            other.source,
            other.source_version
        );
    }
);
