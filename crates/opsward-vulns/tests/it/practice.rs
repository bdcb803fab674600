//! The practice contract on SQLite and PostgreSQL: conditions (overdue KEV findings one
//! each with their backlog proposal, other overdue findings grouped per asset and severity,
//! critical findings due soon, assets not scanned within the interval), hygiene deductions
//! and the facets of one asset, from findings recorded through the practice's own store.

use std::sync::Arc;

use chrono::{Duration, NaiveTime, Utc};
use opsward_core::contract::{Deduction, PracticeContract, ProposedItemType, Severity as Level};
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use opsward_vulns::inventory::Package;
use opsward_vulns::matcher::Match;
use opsward_vulns::practice::VulnerabilitiesPractice;
use opsward_vulns::settings::PortPolicyInput;
use opsward_vulns::threat::parse_kev;
use opsward_vulns::{Severity, VulnStore};

fn actor() -> Actor {
    Actor::user(1, "secops")
}

fn found(id: &str, cve: &str, package: &str, severity: Severity) -> Match {
    Match {
        package: Package::new("crates.io", package, "1.0.0"),
        id: id.into(),
        ids: vec![id.into(), cve.into()],
        advisories: vec![],
        summary: Some(format!("{package} flaw")),
        severity,
        cvss: None,
        fixed: Some("1.0.1".into()),
        informational: None,
    }
}

store_test!(
    vulnerability_conditions_deductions_and_facets,
    |store: Arc<dyn Store>| async move {
        let practice = VulnerabilitiesPractice::new(store.clone());
        let vulns = VulnStore::new(store.as_ref());
        let now = Utc::now();
        let today = now.date_naive();

        let healthy = practice.assess(now).await.unwrap();
        assert!(healthy.conditions.is_empty(), "{:?}", healthy.conditions);
        assert!(healthy.deductions.is_empty(), "{:?}", healthy.deductions);

        let db = store
            .create_asset(&actor(), &asset_input("db-1"))
            .await
            .unwrap();
        let web = store
            .create_asset(&actor(), &asset_input("web-1"))
            .await
            .unwrap();
        assert!(practice.asset_facets(db.id, now).await.unwrap().is_empty());

        // CVE-2026-0004 is known exploited and was due three days ago.
        let kev_due = today - Duration::days(3);
        let kev = serde_json::json!({"catalogVersion": "t", "count": 1, "vulnerabilities": [{
            "cveID": "CVE-2026-0004", "vendorProject": "k", "product": "k",
            "vulnerabilityName": "k flaw", "dateAdded": "2026-01-01", "dueDate": kev_due.to_string(),
        }]});
        vulns
            .import_kev(
                &actor(),
                "kev.json",
                &parse_kev("kev.json", &kev.to_string()).unwrap(),
            )
            .await
            .unwrap();
        let policy = vulns.due_policy().await.unwrap();
        let db_matches = [
            found("RUSTSEC-1", "CVE-2026-0001", "crit", Severity::Critical),
            found("RUSTSEC-2", "CVE-2026-0002", "high-a", Severity::High),
            found("RUSTSEC-3", "CVE-2026-0003", "high-b", Severity::High),
            found("RUSTSEC-4", "CVE-2026-0004", "known", Severity::High),
        ];
        vulns
            .record_scan(&actor(), db.id, &db_matches, &policy)
            .await
            .unwrap();
        let web_matches = [found(
            "RUSTSEC-5",
            "CVE-2026-0005",
            "crit2",
            Severity::Critical,
        )];
        vulns
            .record_scan(&actor(), web.id, &web_matches, &policy)
            .await
            .unwrap();
        let known = vulns
            .findings(&Default::default())
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.vulnerability_id == "RUSTSEC-4")
            .unwrap();
        let crit_due = today + Duration::days(7);
        let day = |d: chrono::NaiveDate| d.and_time(NaiveTime::MIN).and_utc();

        // Now: the KEV finding is overdue; both assets' critical findings are due in 7 days.
        let a = practice.assess(now).await.unwrap();
        let summary: Vec<(&str, Level, &str, u32)> = a
            .conditions
            .iter()
            .map(|c| (c.kind.as_str(), c.severity, c.title.as_str(), c.count))
            .collect();
        let kev_title = format!(
            "Known-exploited RUSTSEC-4 in known 1.0.0 on db-1 was due {kev_due}; fixed in 1.0.1"
        );
        let soon_db = format!("1 critical finding on db-1 is due in 7 days ({crit_due})");
        let soon_web = format!("1 critical finding on web-1 is due in 7 days ({crit_due})");
        assert_eq!(
            summary,
            vec![
                (
                    "kev_finding_overdue",
                    Level::Critical,
                    kev_title.as_str(),
                    1
                ),
                (
                    "critical_findings_due_soon",
                    Level::High,
                    soon_db.as_str(),
                    1
                ),
                (
                    "critical_findings_due_soon",
                    Level::High,
                    soon_web.as_str(),
                    1
                ),
            ]
        );
        let kev_condition = &a.conditions[0];
        assert_eq!(
            kev_condition.entity.link,
            format!("/vulns/findings/{}", known.id)
        );
        assert_eq!(
            (kev_condition.asset_id, kev_condition.asset_name.as_deref()),
            (Some(db.id), Some("db-1"))
        );
        assert_eq!(kev_condition.due, Some(day(kev_due)));
        let proposal = kev_condition.backlog.as_ref().unwrap();
        assert_eq!(proposal.source, "kev_finding");
        assert_eq!(proposal.source_key, format!("kev_finding:{}", known.id));
        assert_eq!(proposal.item_type, ProposedItemType::Risk);
        assert_eq!(
            proposal.title,
            "Overdue known-exploited vulnerability RUSTSEC-4 in known 1.0.0"
        );
        assert_eq!((proposal.impact, proposal.urgency), (1, 1));
        assert_eq!(proposal.asset_ids, vec![db.id]);
        assert_eq!(proposal.label, format!("finding {} (RUSTSEC-4)", known.id));
        assert!(proposal.description.starts_with(&format!(
            "RUSTSEC-4 (RUSTSEC-4, CVE-2026-0004) is in CISA's Known Exploited Vulnerabilities catalog and was due on {kev_due}."
        )));
        assert_eq!(a.conditions[1].due, Some(day(crit_due)));
        assert_eq!(
            a.deductions,
            vec![
                Deduction::new(
                    2,
                    format!("1 high finding is overdue (oldest due {kev_due})"),
                    Some("/vulns?overdue=1&severity=high")
                ),
                Deduction::new(
                    4,
                    "1 finding in CISA's Known Exploited Vulnerabilities catalog is still open",
                    Some("/vulns?kev=1&state=open")
                ),
            ]
        );

        // 31 days after `now` (30 whole days after the scans, which came later): everything is
        // overdue and neither asset was scanned again.
        let later = now + Duration::days(31);
        let b = practice.assess(later).await.unwrap();
        let mut kinds: Vec<(&str, Level, String, u32)> = b
            .conditions
            .iter()
            .map(|c| (c.kind.as_str(), c.severity, c.title.clone(), c.count))
            .collect();
        kinds.sort();
        let high_due = today + Duration::days(30);
        assert_eq!(
            kinds,
            vec![
                ("asset_not_scanned", Level::Medium, "db-1 has not been scanned for vulnerabilities for 30 days (scan interval 7 days)".to_string(), 1),
                ("asset_not_scanned", Level::Medium, "web-1 has not been scanned for vulnerabilities for 30 days (scan interval 7 days)".to_string(), 1),
                ("findings_overdue", Level::Critical, format!("1 critical finding on db-1 is overdue (oldest due {crit_due})"), 1),
                ("findings_overdue", Level::Critical, format!("1 critical finding on web-1 is overdue (oldest due {crit_due})"), 1),
                ("findings_overdue", Level::High, format!("2 high findings on db-1 are overdue (oldest due {high_due})"), 2),
                ("kev_finding_overdue", Level::Critical, kev_title.clone(), 1),
            ]
        );
        assert_eq!(
            b.deductions,
            vec![
                Deduction::new(
                    10,
                    format!("2 critical findings are overdue (oldest due {crit_due})"),
                    Some("/vulns?overdue=1&severity=critical")
                ),
                Deduction::new(
                    6,
                    format!("3 high findings are overdue (oldest due {kev_due})"),
                    Some("/vulns?overdue=1&severity=high")
                ),
                Deduction::new(
                    4,
                    "1 finding in CISA's Known Exploited Vulnerabilities catalog is still open",
                    Some("/vulns?kev=1&state=open")
                ),
                Deduction::new(
                    15,
                    "2 of 2 scanned assets have not been scanned for more than 7 days",
                    Some("/vulns")
                ),
            ]
        );

        // The asset page: db-1's findings, the KEV one first, then by severity.
        let facets = practice.asset_facets(db.id, now).await.unwrap();
        assert_eq!(facets.len(), 1, "no exposure facet without a policy");
        let findings = &facets[0];
        assert_eq!(findings.title, "Vulnerability findings");
        assert_eq!(
            findings.summary.as_deref(),
            Some("4 findings open, 1 overdue, 1 in CISA's KEV catalog")
        );
        let first: Vec<&str> = findings.rows.iter().map(|r| r.cells[0].as_str()).collect();
        assert_eq!(first, ["RUSTSEC-4", "RUSTSEC-1", "RUSTSEC-2", "RUSTSEC-3"]);
        assert_eq!(findings.rows[0].cells[4], "yes");
        assert_eq!(
            findings.rows[0].link,
            Some(format!("/vulns/findings/{}", known.id))
        );
        assert_eq!(findings.more_link.as_deref(), Some("/vulns?asset=db-1"));

        vulns
            .set_port_policy(
                &actor(),
                &PortPolicyInput {
                    asset_id: Some(db.id),
                    tag: None,
                    allowed: "22,443".into(),
                    scan_ports: None,
                    address: None,
                },
            )
            .await
            .unwrap();
        let facets = practice.asset_facets(db.id, now).await.unwrap();
        assert_eq!(facets.len(), 2);
        assert_eq!(facets[1].title, "Exposure");
        assert_eq!(
            facets[1].summary.as_deref(),
            Some("Allowed ports: 22,443; 0 open ports not allowed")
        );

        // A new scan of both assets clears the scan-interval conditions.
        vulns
            .record_scan(&actor(), db.id, &db_matches, &policy)
            .await
            .unwrap();
        vulns
            .record_scan(&actor(), web.id, &web_matches, &policy)
            .await
            .unwrap();
        let c = practice.assess(now + Duration::days(1)).await.unwrap();
        assert!(c.conditions.iter().all(|c| c.kind != "asset_not_scanned"));
    }
);

store_test!(
    vulnerability_jobs_keep_their_kinds_and_intervals,
    |store: Arc<dyn Store>| async move {
        let practice = VulnerabilitiesPractice::new(store);
        let context = opsward_core::contract::JobContext {
            conditions: Arc::new(opsward_core::contract::Registry::new()),
            public_url: None,
        };
        let jobs: Vec<(String, Option<i64>)> = practice
            .jobs(&context)
            .iter()
            .map(|j| (j.kind.clone(), j.every.map(|d| d.num_minutes())))
            .collect();
        assert_eq!(
            jobs,
            [
                ("vulns.host_match".to_string(), Some(5)),
                ("vulns.exposure".to_string(), Some(5)),
                ("vulns.checks".to_string(), Some(5)),
                ("vulns.feeds".to_string(), Some(5)),
            ]
        );
    }
);
