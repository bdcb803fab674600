//! The certificates practice's contract on SQLite and PostgreSQL: one certificate per kind
//! of condition, made through the practice's own store, gives exactly those conditions,
//! deductions, backlog proposals and asset facets; a healthy inventory reports nothing.

use crate::fixtures::TestCa;
use chrono::{DateTime, Duration, Utc};
use opsward_certs::{
    inventory::{CertFilter, OwnerInput, RenewalStatus, RenewalUpdate, SourceKind},
    model::{Problem, Severity as ProblemSeverity},
    practice::CertificatesPractice,
    rescan::observe_files,
    scan_paths, CertStore, CheckContext, TrustStore,
};
use opsward_core::{
    contract::{
        ConditionSource, Deduction, JobContext, PracticeContract, ProposedItemType, Registry,
        Severity, Tone,
    },
    people::TeamInput,
    Actor,
};
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::{path::Path, sync::Arc};

fn actor() -> Actor {
    Actor::user(1, "certadmin")
}

/// Store the leaf in `dir/name.crt` as found by a file scan, with `extra` problems added to
/// what the checks found; the certificate's id.
async fn seed(
    certs: &CertStore,
    dir: &Path,
    ca: &TestCa,
    name: &str,
    to_days: i64,
    extra: Vec<Problem>,
) -> i64 {
    let (path, _) = ca.issue_around_now(&[name], -60, to_days).write(dir, name);
    let mut observed = observe_files(&scan_paths(&[path]), &CheckContext::at(Utc::now()));
    if let Ok(findings) = &mut observed[0].outcome {
        findings[0].problems.extend(extra);
    }
    certs
        .record_scan(&actor(), SourceKind::File, &observed, Utc::now())
        .await
        .unwrap();
    certs
        .list(&CertFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.subject_cn.as_deref() == Some(name))
        .unwrap()
        .id
}

fn at(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(t)
}

store_test!(
    each_certificate_condition_its_deduction_and_the_asset_facets,
    |store: Arc<dyn Store>| async move {
        let certs = CertStore::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Practice CA");
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "Web".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let web = store
            .create_asset(&actor(), &asset_input("web-1"))
            .await
            .unwrap();
        let owned = |asset_id| OwnerInput {
            asset_id,
            owner_team_id: Some(team.id),
            owner_person_id: None,
        };

        let expired = seed(&certs, dir.path(), &ca, "expired.example.test", -4, vec![]).await;
        let expiring = seed(&certs, dir.path(), &ca, "expiring.example.test", 9, vec![]).await;
        let renewing = seed(&certs, dir.path(), &ca, "renewing.example.test", 5, vec![]).await;
        let broken = seed(
            &certs,
            dir.path(),
            &ca,
            "broken.example.test",
            200,
            vec![
                Problem::new("weak-key", ProblemSeverity::Critical, "RSA 1024"),
                Problem::new("hostname-mismatch", ProblemSeverity::Critical, "not for x"),
                Problem::new("old-protocol", ProblemSeverity::Warning, "TLS 1.0"),
            ],
        )
        .await;
        // The expiring one is set on web-1 (no owner there); the others are owned.
        certs
            .set_owner(
                &actor(),
                expiring,
                &OwnerInput {
                    asset_id: Some(web.id),
                    ..OwnerInput::default()
                },
            )
            .await
            .unwrap();
        certs
            .set_owner(&actor(), renewing, &owned(None))
            .await
            .unwrap();
        certs
            .set_owner(&actor(), broken, &owned(None))
            .await
            .unwrap();
        let task = certs
            .open_renewal(&actor(), renewing, "by hand", Utc::now())
            .await
            .unwrap()
            .unwrap();
        certs
            .update_renewal(
                &actor(),
                task.id,
                &RenewalUpdate {
                    status: RenewalStatus::InProgress,
                    note: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        // web-1's place: the expiring certificate's file.
        let source = certs
            .sources(None)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.location.ends_with("expiring.example.test.crt"))
            .unwrap();
        certs
            .set_source_asset(&actor(), source.id, Some(web.id))
            .await
            .unwrap();

        // An hour before the expiring one has exactly 9 days left: whole days read cleanly.
        let expiring_at = certs.get(expiring).await.unwrap().not_after;
        let expired_at = certs.get(expired).await.unwrap().not_after;
        let renewing_at = certs.get(renewing).await.unwrap().not_after;
        let now = expiring_at - Duration::days(9) - Duration::hours(1);

        let practice = CertificatesPractice::new(store.clone(), TrustStore::public_roots());
        let assessment = practice.assess(now).await.unwrap();
        // The exporter's gauges come with the assessment (so a scrape reads the kept
        // picture, not the tables): the expired certificate is 1, the expiring one 0.
        let expired_gauges: Vec<&str> = assessment
            .metric_series
            .lines()
            .filter(|l| l.starts_with("x509_cert_expired{"))
            .filter(|l| l.contains("expired.example.test") || l.contains("expiring.example.test"))
            .collect();
        assert_eq!(expired_gauges.len(), 2, "{}", assessment.metric_series);
        assert!(
            expired_gauges
                .iter()
                .all(|l| l.ends_with(if l.contains("subject_CN=\"expired.") {
                    " 1"
                } else {
                    " 0"
                })),
            "{expired_gauges:?}"
        );
        let mut conditions = assessment.conditions.clone();
        conditions.sort_by_key(|c| c.entity.id);
        let summary: Vec<(&str, Severity, &str, i64)> = conditions
            .iter()
            .map(|c| (c.kind.as_str(), c.severity, c.title.as_str(), c.entity.id))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "certificate_expired",
                    Severity::Critical,
                    "TLS certificate for expired.example.test expired 3 days ago and is still served at 1 place",
                    expired
                ),
                (
                    "certificate_expiring",
                    Severity::Medium,
                    "TLS certificate for expiring.example.test expires in 9 days; no renewal in progress",
                    expiring
                ),
                (
                    "renewal_overdue",
                    Severity::High,
                    "Renewal of the TLS certificate for renewing.example.test is overdue: it expires in 5 days",
                    renewing
                ),
                (
                    "certificate_problem",
                    Severity::High,
                    "TLS certificate for broken.example.test has critical problems at 1 place: hostname mismatch, weak key",
                    broken
                ),
            ]
        );
        let [gone, soon, renewal, problem] = &conditions[..] else {
            panic!("{conditions:?}")
        };
        assert_eq!((gone.since, gone.due), (at(expired_at), at(expired_at)));
        assert!(gone.is_overdue(now));
        assert_eq!(
            (soon.since, soon.due),
            (at(expiring_at - Duration::days(30)), at(expiring_at))
        );
        assert_eq!(
            (soon.asset_id, soon.asset_name.as_deref()),
            (Some(web.id), Some("web-1"))
        );
        assert_eq!(soon.entity.link, format!("/certificates/{expiring}"));
        assert_eq!(
            soon.key,
            format!("certificates:certificate_expiring:certificate:{expiring}")
        );
        assert_eq!(renewal.due, at(renewing_at - Duration::days(7)));
        assert_eq!(
            (renewal.owner_team_id, problem.owner_team_id),
            (Some(team.id), Some(team.id))
        );
        assert_eq!((gone.owner_team_id, gone.owner_person_id), (None, None));

        // Today's automatic items: the two unowned ones, with the same text as before.
        assert!(renewal.backlog.is_none() && problem.backlog.is_none());
        let item = soon.backlog.as_ref().unwrap();
        assert_eq!(item.source, "certificate");
        assert_eq!(item.source_key, format!("certificate:{expiring}"));
        assert_eq!(item.item_type, ProposedItemType::Risk);
        assert_eq!(
            item.title,
            "Certificate expiring.example.test expires without a renewal owner"
        );
        assert!(
            item.description.starts_with(&format!(
                "The certificate **expiring.example.test** (issuer Practice CA, serial {}) expires on {} (9 days",
                certs.get(expiring).await.unwrap().serial,
                expiring_at.format("%Y-%m-%d %H:%M UTC")
            )),
            "{}",
            item.description
        );
        assert!(item.description.contains("is served at 1 place(s)"));
        assert_eq!((item.impact, item.urgency), (2, 2));
        assert_eq!(item.asset_ids, [web.id]);
        assert_eq!(item.label, "certificate expiring.example.test");
        let item = gone.backlog.as_ref().unwrap();
        assert_eq!((item.impact, item.urgency), (1, 1), "expired");
        assert!(item.asset_ids.is_empty());

        assert_eq!(
            assessment.deductions,
            [
                Deduction::new(
                    15,
                    "1 certificate still served has expired (oldest 3 days ago)",
                    Some("/certificates?within=0")
                ),
                Deduction::new(
                    5,
                    "1 certificate within 30 days of expiry has no renewal in progress (soonest expires in 9 days)",
                    Some("/certificates?within=30")
                ),
                Deduction::new(
                    5,
                    "1 renewal in progress is past its due date (oldest due 1 day ago)",
                    Some("/certificates?within=7")
                ),
                // ceil(15 × 2 / 4)
                Deduction::new(8, "2 of 4 served certificates have no owner", Some("/certificates")),
                Deduction::new(
                    10,
                    "1 certificate has critical problems where served (hostname mismatch, weak key)",
                    Some("/certificates")
                ),
            ]
        );

        // Once the expiring one's renewal is in progress and it has an owner, it is quiet.
        let task = certs
            .open_renewal(&actor(), expiring, "by hand", Utc::now())
            .await
            .unwrap()
            .unwrap();
        certs
            .update_renewal(
                &actor(),
                task.id,
                &RenewalUpdate {
                    status: RenewalStatus::InProgress,
                    note: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let later = practice.assess(now).await.unwrap();
        let unowned = later
            .conditions
            .iter()
            .find(|c| c.entity.id == expiring)
            .unwrap();
        assert_eq!(
            (unowned.kind.as_str(), unowned.title.as_str()),
            (
                "certificate_unowned",
                "TLS certificate for expiring.example.test expires in 9 days and has no owner"
            ),
            "its automatic item keeps a condition while nobody owns it"
        );
        assert!(unowned.backlog.is_some());
        certs
            .set_owner(&actor(), expiring, &owned(Some(web.id)))
            .await
            .unwrap();
        let later = practice.assess(now).await.unwrap();
        assert!(later.conditions.iter().all(|c| c.entity.id != expiring));

        // web-1: its certificate and its place.
        let facets = practice.asset_facets(web.id, now).await.unwrap();
        assert_eq!(facets.len(), 2, "{facets:?}");
        assert_eq!(facets[0].title, "Certificates");
        assert_eq!(
            facets[0].summary.as_deref(),
            Some("1 certificate, 0 expired, 1 expiring within 30 days")
        );
        assert_eq!(
            facets[0].rows[0].cells,
            [
                "expiring.example.test".to_string(),
                expiring_at.format("%Y-%m-%d").to_string(),
                "9".into(),
                "expires-soon".into(),
                "in progress".into(),
                "1 place".into()
            ]
        );
        assert_eq!(facets[0].rows[0].tone, Tone::Warning);
        assert_eq!(
            facets[0].rows[0].link.as_deref(),
            Some(format!("/certificates/{expiring}").as_str())
        );
        assert_eq!(facets[1].title, "TLS endpoints and certificate files");
        assert_eq!(facets[1].rows.len(), 1);
        assert_eq!(facets[1].rows[0].cells[0], source.location);
        assert_eq!(facets[1].rows[0].cells[1], "file");
        assert_eq!(facets[1].rows[0].cells[2], "expiring.example.test");
        let other = store
            .create_asset(&actor(), &asset_input("bare-1"))
            .await
            .unwrap();
        assert!(practice
            .asset_facets(other.id, now)
            .await
            .unwrap()
            .is_empty());
    }
);

store_test!(
    a_healthy_inventory_reports_nothing_and_the_rescan_job_is_listed,
    |store: Arc<dyn Store>| async move {
        let practice = CertificatesPractice::new(store.clone(), TrustStore::public_roots());
        let empty = practice.assess(Utc::now()).await.unwrap();
        assert!(empty.conditions.is_empty() && empty.deductions.is_empty());

        let certs = CertStore::new(store.as_ref());
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("Healthy CA");
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "Ops".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let id = seed(&certs, dir.path(), &ca, "fine.example.test", 200, vec![]).await;
        certs
            .set_owner(
                &actor(),
                id,
                &OwnerInput {
                    owner_team_id: Some(team.id),
                    ..OwnerInput::default()
                },
            )
            .await
            .unwrap();
        let healthy = practice.assess(Utc::now()).await.unwrap();
        assert_eq!(healthy.conditions, []);
        assert_eq!(healthy.deductions, []);

        let context = JobContext {
            conditions: Arc::new(Registry::new()) as Arc<dyn ConditionSource>,
            public_url: None,
        };
        let jobs = practice.jobs(&context);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, "certs.rescan");
        assert_eq!(jobs[0].every, Some(Duration::minutes(5)));
    }
);
