//! The vulnerability store on SQLite and PostgreSQL: incremental, idempotent and atomic
//! imports; findings through their lifecycle, with KEV and EPSS and due dates.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use chrono::{Days, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_store::Store;
use opsward_testkit::store_test;
use opsward_vulns::findings::{FindingFilter, FindingState, Transition};
use opsward_vulns::inventory::Package;
use opsward_vulns::osv::load_path;
use opsward_vulns::policy::DuePolicy;
use opsward_vulns::threat::{parse_epss, parse_kev};
use opsward_vulns::{Severity, VulnStore};

use crate::real_data::shared_data;

fn actor() -> Actor {
    Actor::user(1, "secops")
}

fn copy_real(dir: &Path, ids: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for id in ids {
        std::fs::copy(
            shared_data().join(format!("osv/crates.io/{id}.json")),
            dir.join(format!("{id}.json")),
        )
        .unwrap();
    }
}

const SMALLVEC: [&str; 4] = [
    "RUSTSEC-2018-0003",
    "RUSTSEC-2019-0009",
    "RUSTSEC-2019-0012",
    "RUSTSEC-2021-0003",
];

store_test!(
    osv_imports_are_incremental_idempotent_and_atomic,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("osv");
        copy_real(&dir, &SMALLVEC);

        let first = vulns
            .import_osv(&actor(), "osv", &load_path(&dir))
            .await
            .unwrap();
        assert_eq!(
            (
                first.outcome.as_str(),
                first.created,
                first.updated,
                first.unchanged
            ),
            ("imported", 4, 0, 0)
        );
        let again = vulns
            .import_osv(&actor(), "osv", &load_path(&dir))
            .await
            .unwrap();
        assert_eq!(
            (again.created, again.updated, again.unchanged),
            (0, 0, 4),
            "importing twice changes nothing"
        );

        // One advisory changed upstream: only it is re-written.
        let path = dir.join("RUSTSEC-2019-0009.json");
        let mut record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        record["modified"] = "2030-01-01T00:00:00Z".into();
        record["summary"] = "changed upstream".into();
        std::fs::write(&path, record.to_string()).unwrap();
        let changed = vulns
            .import_osv(&actor(), "osv", &load_path(&dir))
            .await
            .unwrap();
        assert_eq!(
            (changed.created, changed.updated, changed.unchanged),
            (0, 1, 3)
        );
        let index = vulns.advisory_index().await.unwrap();
        assert!(index
            .vulnerabilities
            .iter()
            .any(|v| v.summary.as_deref() == Some("changed upstream")));

        // A truncated zip and a bad record: rejected with file and reason, nothing written.
        let broken = temp.path().join("broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(broken.join("all.zip"), b"PK\x03\x04 truncated").unwrap();
        let mut bad = std::fs::File::create(broken.join("RUSTSEC-2099-0001.json")).unwrap();
        write!(bad, "{{\"id\": \"RUSTSEC-2099-0001\", \"modified\": \"2030-01-01T00:00:00Z\", \"affected\": 1}}").unwrap();
        copy_real(&broken, &["RUSTSEC-2016-0001"]);
        let rejected = vulns
            .import_osv(&actor(), "broken", &load_path(&broken))
            .await
            .unwrap();
        assert_eq!(rejected.outcome, "rejected");
        assert_eq!(rejected.problems.len(), 2, "{:?}", rejected.problems);
        assert!(rejected
            .problems
            .iter()
            .any(|p| p.file.ends_with("all.zip") && p.reason.contains("zip")));
        assert!(rejected
            .problems
            .iter()
            .any(|p| p.file.ends_with("RUSTSEC-2099-0001.json") && p.line == Some(1)));
        let index = vulns.advisory_index().await.unwrap();
        assert_eq!(
            index.advisory_count(),
            4,
            "the good record of a rejected batch is not imported either"
        );

        // A record withdrawn upstream is removed.
        record["withdrawn"] = "2030-01-02T00:00:00Z".into();
        std::fs::write(&path, record.to_string()).unwrap();
        let withdrawn = vulns
            .import_osv(&actor(), "osv", &load_path(&dir))
            .await
            .unwrap();
        assert_eq!((withdrawn.removed, withdrawn.unchanged), (1, 3));

        let runs = vulns.import_runs(10).await.unwrap();
        assert_eq!(runs.len(), 5);
        assert_eq!(runs[1].outcome, "rejected");
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("vuln_import".into()),
                    ..Default::default()
                },
                PageRequest::first(100),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 5);
    }
);

store_test!(
    findings_follow_their_lifecycle_with_kev_and_epss,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let asset = store
            .create_asset(&actor(), &opsward_testkit::asset_input("build-01"))
            .await
            .unwrap();
        let temp = tempfile::tempdir().unwrap();
        copy_real(&temp.path().join("osv"), &SMALLVEC);
        vulns
            .import_osv(&actor(), "osv", &load_path(&temp.path().join("osv")))
            .await
            .unwrap();
        // RUSTSEC-2019-0009 is CVE-2019-15551: put it in KEV (due in 3 days) and give it an EPSS.
        let kev_due = Utc::now().date_naive() + Days::new(3);
        let kev = serde_json::json!({"catalogVersion": "test", "count": 1, "vulnerabilities": [{
        "cveID": "CVE-2019-15551", "vendorProject": "smallvec", "product": "smallvec",
        "vulnerabilityName": "double free", "dateAdded": "2025-01-01", "dueDate": kev_due.to_string(),
        "knownRansomwareCampaignUse": "Unknown"}]});
        let catalog = parse_kev("kev.json", &kev.to_string()).unwrap();
        assert_eq!(
            vulns
                .import_kev(&actor(), "kev.json", &catalog)
                .await
                .unwrap()
                .created,
            1
        );
        let epss = parse_epss("epss.csv", "#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2019-15551,9.7e-01,0.999\n").unwrap();
        vulns
            .import_epss(&actor(), "epss.csv", &epss)
            .await
            .unwrap();

        let index = vulns.advisory_index().await.unwrap();
        let mut undecided = vec![];
        let matches = index.check(
            &Package::new("crates.io", "smallvec", "0.6.9"),
            &mut undecided,
        );
        assert!(matches.len() >= 3, "{matches:#?}");
        let policy = DuePolicy::default();
        let outcome = vulns
            .record_scan(&actor(), asset.id, &matches, &policy)
            .await
            .unwrap();
        assert_eq!(
            outcome.new,
            matches.iter().filter(|m| m.informational.is_none()).count()
        );

        let all = vulns
            .findings(&FindingFilter {
                asset_id: Some(asset.id),
                ..Default::default()
            })
            .await
            .unwrap();
        let double_free = all
            .iter()
            .find(|f| f.vulnerability_id == "RUSTSEC-2019-0009")
            .unwrap();
        assert!(double_free.kev);
        assert_eq!(double_free.due_date, kev_due, "KEV due date wins");
        assert_eq!(double_free.epss_score, Some(0.97));
        assert_eq!(double_free.severity, Severity::Critical);
        assert!(double_free.ids.contains(&"CVE-2019-15551".to_owned()));
        assert_eq!(double_free.fixed_version.as_deref(), Some("0.6.10"));
        let other = all.iter().find(|f| !f.kev).unwrap();
        assert_eq!(
            other.due_date,
            other.first_seen.date_naive() + Days::new(u64::from(policy.days_for(other.severity)))
        );
        let kev_only = vulns
            .findings(&FindingFilter {
                kev: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(kev_only.len(), 1);
        assert!(vulns
            .findings(&FindingFilter {
                overdue: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty());

        // Acknowledge, then accept the risk; a fixed finding cannot be acknowledged.
        let id = double_free.id;
        let acked = vulns
            .transition(&actor(), id, &Transition::Acknowledge)
            .await
            .unwrap();
        assert_eq!(acked.state, FindingState::Acknowledged);
        let until = Utc::now().date_naive() + Days::new(30);
        let accepted = vulns
            .transition(
                &actor(),
                id,
                &Transition::AcceptRisk {
                    reason: "not reachable".into(),
                    approver: "ciso".into(),
                    until,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (
                accepted.state,
                accepted.approver.as_deref(),
                accepted.accepted_until
            ),
            (FindingState::AcceptedRisk, Some("ciso"), Some(until))
        );
        assert!(vulns
            .transition(
                &actor(),
                id,
                &Transition::AcceptRisk {
                    reason: " ".into(),
                    approver: "x".into(),
                    until
                }
            )
            .await
            .is_err());

        // Upgraded: the next scan finds nothing, so every finding is fixed.
        let outcome = vulns
            .record_scan(&actor(), asset.id, &[], &policy)
            .await
            .unwrap();
        assert_eq!(outcome.fixed, all.len());
        let fixed = vulns.finding(id).await.unwrap();
        assert_eq!(fixed.state, FindingState::Fixed);
        assert!(fixed.fixed_at.is_some());
        assert!(vulns
            .transition(&actor(), id, &Transition::Acknowledge)
            .await
            .is_err());

        // Downgraded again: it comes back open.
        let outcome = vulns
            .record_scan(&actor(), asset.id, &matches, &policy)
            .await
            .unwrap();
        assert_eq!(outcome.reopened, all.len());
        let back = vulns.finding(id).await.unwrap();
        assert_eq!((back.state, back.fixed_at), (FindingState::Open, None));

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("vuln_finding".into()),
                    entity_id: Some(id),
                    ..Default::default()
                },
                PageRequest::first(100),
            )
            .await
            .unwrap();
        let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
        for action in ["open", "acknowledge", "accept_risk", "fixed", "reopen"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
    }
);
