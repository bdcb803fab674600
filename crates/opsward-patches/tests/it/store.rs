use chrono::{Duration, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_patches::{
    policy::PatchPolicy,
    report::{HostReport, PackageKey, Posture, ReportKind},
    store::{IngestOutcome, PatchStore},
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

fn operator() -> Actor {
    Actor::user(1, "ops")
}

pub fn package(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: format!("{name}-src"),
        source_version: version.into(),
    }
}

pub fn update(name: &str, from: &str, to: &str, security: bool) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        arch: "amd64".into(),
        installed_version: from.into(),
        candidate_version: to.into(),
        source: format!("{name}-src"),
        suites: vec![if security {
            "stable-security"
        } else {
            "stable"
        }
        .into()],
        security,
    }
}

pub fn full_report(
    sequence: i64,
    packages: Vec<InstalledPackage>,
    pending: Vec<PendingUpdate>,
) -> HostReport {
    HostReport {
        kind: ReportKind::Full,
        sequence,
        base_sequence: None,
        collected_at: Utc::now(),
        hostname: "web-01".into(),
        os: OsRelease {
            id: "debian".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..OsRelease::default()
        },
        kernel: Kernel {
            release: "6.1.0-18-amd64".into(),
            ..Kernel::default()
        },
        package_manager: Some(PackageManager::Dpkg),
        reboot: RebootRequired {
            required: true,
            packages: vec!["libc6".into()],
        },
        uptime_seconds: Some(3600),
        posture: Posture {
            firewall_active: Some(true),
            av_edr_running: None,
            unattended_upgrades: Some(false),
        },
        packages,
        removed: vec![],
        pending,
        language_packages: vec![],
        notes: vec![],
    }
}

pub async fn enrolled(patches: &PatchStore, hostname: &str) -> i64 {
    patches
        .create_enrollment_token(
            &operator(),
            "fleet",
            &format!("tok-{hostname}"),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap();
    patches
        .enroll(
            &format!("tok-{hostname}"),
            hostname,
            &format!("cred-{hostname}"),
        )
        .await
        .unwrap()
        .expect("a live token enrolls")
        .id
}

store_test!(
    enrollment_trades_a_live_token_for_a_host_credential,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let live = patches
            .create_enrollment_token(
                &operator(),
                "fleet",
                "hash-live",
                Utc::now() + Duration::days(1),
            )
            .await
            .unwrap();
        patches
            .create_enrollment_token(
                &operator(),
                "old",
                "hash-expired",
                Utc::now() - Duration::seconds(1),
            )
            .await
            .unwrap();
        let revoked = patches
            .create_enrollment_token(
                &operator(),
                "gone",
                "hash-revoked",
                Utc::now() + Duration::days(1),
            )
            .await
            .unwrap();
        patches
            .revoke_enrollment_token(&operator(), revoked.id)
            .await
            .unwrap();

        assert!(patches
            .enroll("hash-expired", "web-01", "c1")
            .await
            .unwrap()
            .is_none());
        assert!(patches
            .enroll("hash-revoked", "web-01", "c1")
            .await
            .unwrap()
            .is_none());
        assert!(patches
            .enroll("nonsense", "web-01", "c1")
            .await
            .unwrap()
            .is_none());
        let host = patches
            .enroll("hash-live", "web-01", "c1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(host.hostname, "web-01");
        assert_eq!(
            patches.authenticate_host("c1").await.unwrap().unwrap().id,
            host.id
        );
        assert!(patches.authenticate_host("c2").await.unwrap().is_none());
        // Reinstalled host: same record, new credential, old one dead.
        let again = patches
            .enroll("hash-live", "web-01", "c2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, host.id);
        assert!(patches.authenticate_host("c1").await.unwrap().is_none());
        assert_eq!(
            patches.authenticate_host("c2").await.unwrap().unwrap().id,
            host.id
        );
        let tokens = patches.list_enrollment_tokens().await.unwrap();
        assert_eq!(tokens.iter().find(|t| t.id == live.id).unwrap().uses, 2);
        assert!(matches!(
            patches.enroll("hash-live", " bad name", "c3").await,
            Err(StoreError::Invalid(_))
        ));

        let audit = store
            .list_audit(&AuditFilter::default(), PageRequest::first(500))
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = audit
            .items
            .iter()
            .map(|a| (a.action.as_str(), a.entity_type.as_str()))
            .collect();
        assert!(actions.contains(&("enroll", "patch_host")));
        assert!(actions.contains(&("re-enroll", "patch_host")));
        assert!(actions.contains(&("revoke", "patch_enrollment_token")));
    }
);

store_test!(
    full_report_then_deltas_keep_the_package_set,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let id = enrolled(&patches, "web-01").await;
        let first = full_report(
            1,
            (0..1200)
                .map(|i| package(&format!("pkg{i:04}"), "1.0-1"))
                .collect(),
            vec![
                update("pkg0001", "1.0-1", "1.0-2", true),
                update("pkg0002", "1.0-1", "2.0-1", false),
            ],
        );
        assert_eq!(
            patches.ingest(id, &first).await.unwrap(),
            IngestOutcome::Applied
        );
        // A retried upload changes nothing.
        assert_eq!(
            patches.ingest(id, &first).await.unwrap(),
            IngestOutcome::Duplicate
        );

        // pkg0001 upgraded, pkg0003 removed, a new package installed.
        let mut packages = first.packages.clone();
        packages[1].version = "1.0-2".into();
        packages.remove(3);
        packages.push(package("newpkg", "0.1-1"));
        let second = full_report(
            2,
            packages,
            vec![update("pkg0002", "1.0-1", "2.0-2", false)],
        );
        let delta = second.delta_from(&first);
        assert_eq!(delta.packages.len(), 2);
        assert_eq!(
            delta.removed,
            vec![PackageKey {
                name: "pkg0003".into(),
                arch: "amd64".into()
            }]
        );
        assert_eq!(first.apply(&delta).packages, {
            let mut p = second.packages.clone();
            p.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
            p
        });
        // A delta on the wrong base is refused; on the right one it applies.
        let mut stale = delta.clone();
        stale.base_sequence = Some(0);
        assert!(matches!(
            patches.ingest(id, &stale).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            patches.ingest(id, &delta).await.unwrap(),
            IngestOutcome::Applied
        );

        let detail = patches.host_detail(id, Utc::now()).await.unwrap();
        let mut expected = second.packages.clone();
        expected.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
        assert_eq!(detail.packages, expected);
        assert_eq!(detail.summary.package_count, 1200);
        assert_eq!(detail.summary.host.kernel, "6.1.0-18-amd64");
        assert!(detail.summary.host.reboot_required);
        assert_eq!(detail.summary.host.posture.firewall_active, Some(true));
        assert_eq!(detail.summary.host.posture.av_edr_running, None);
        // pkg0001's security update was installed: resolved with the version now installed.
        assert_eq!(detail.history.len(), 1);
        assert_eq!(detail.history[0].name, "pkg0001");
        assert_eq!(detail.history[0].to_version, "1.0-2");
        assert!(detail.history[0].security);
        // pkg0002 still pending with a newer candidate, first seen at the first report.
        assert_eq!(detail.pending.len(), 1);
        assert_eq!(detail.pending[0].candidate_version, "2.0-2");
        assert_eq!(
            detail.pending[0].first_seen_at,
            chrono::SubsecRound::trunc_subsecs(first.collected_at, 6)
        );
        assert_eq!(
            detail
                .reports
                .iter()
                .map(|r| r.sequence)
                .collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(detail.reports[0].kind, ReportKind::Delta);
    }
);

store_test!(
    due_dates_follow_the_policy_and_make_hosts_overdue,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        assert_eq!(patches.policy().await.unwrap(), PatchPolicy::default());
        let behind = enrolled(&patches, "db-01").await;
        let fine = enrolled(&patches, "db-02").await;
        let now = Utc::now();
        // First seen 20 days ago: the security update (30 days, severity unknown) is not yet
        // due; the non-security one (one month) is not either. Then tighten the policy.
        let mut old = full_report(
            1,
            vec![package("a", "1"), package("b", "1")],
            vec![update("a", "1", "2", true), update("b", "1", "2", false)],
        );
        old.collected_at = now - Duration::days(20);
        patches.ingest(behind, &old).await.unwrap();
        patches
            .ingest(fine, &full_report(1, vec![package("a", "2")], vec![]))
            .await
            .unwrap();
        let hosts = patches.list_hosts(now).await.unwrap();
        assert!(hosts.iter().all(|h| h.current), "{hosts:?}");
        let d = patches.host_detail(behind, now).await.unwrap();
        let a = d.pending.iter().find(|p| p.name == "a").unwrap();
        assert_eq!(a.due_at - a.first_seen_at, Duration::days(30));
        let b = d.pending.iter().find(|p| p.name == "b").unwrap();
        assert!(b.due_at - b.first_seen_at >= Duration::days(28));

        // 40 days on, both are overdue; db-02 stays current.
        let later = now + Duration::days(20);
        let hosts = patches.list_hosts(later).await.unwrap();
        let db1 = hosts.iter().find(|h| h.host.id == behind).unwrap();
        assert_eq!(
            (db1.overdue_updates, db1.current, db1.security_updates),
            (2, false, 1)
        );
        assert!(hosts.iter().find(|h| h.host.id == fine).unwrap().current);
        let (fleet, trend) = patches.compliance(later).await.unwrap();
        assert_eq!(
            (fleet.hosts, fleet.current_hosts, fleet.overdue_updates),
            (2, 1, 2)
        );
        assert_eq!(fleet.percent_current, 50.0);
        assert_eq!(fleet.mean_hours_to_patch, None);
        assert_eq!(trend.len(), 30);
        assert_eq!(trend.last().unwrap().overdue_updates, 2);
        assert_eq!(trend.first().unwrap().overdue_updates, 0);

        // Installing a: resolved, time to patch = 20 days.
        let mut next = full_report(
            2,
            vec![package("a", "2"), package("b", "1")],
            vec![update("b", "1", "2", false)],
        );
        next.collected_at = now;
        patches.ingest(behind, &next).await.unwrap();
        let (fleet, _) = patches.compliance(now).await.unwrap();
        let hours = fleet.mean_hours_to_patch.unwrap();
        assert!((hours - 480.0).abs() < 0.1, "{hours}");

        // The policy is configurable, validated and audited.
        let strict = PatchPolicy {
            other_security_days: 3,
            ..PatchPolicy::default()
        };
        patches.set_policy(&operator(), &strict).await.unwrap();
        assert_eq!(patches.policy().await.unwrap(), strict);
        assert!(matches!(
            patches
                .set_policy(
                    &operator(),
                    &PatchPolicy {
                        critical_days: 0,
                        ..strict
                    }
                )
                .await,
            Err(StoreError::Invalid(_))
        ));
        let audit = store
            .list_audit(&AuditFilter::default(), PageRequest::first(500))
            .await
            .unwrap();
        assert!(audit.items.iter().any(|a| a.entity_type == "patch_policy"));
        assert!(audit
            .items
            .iter()
            .any(|a| a.action == "report" && a.actor == "host:db-01"));
    }
);
