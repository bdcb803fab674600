//! The practice contract on SQLite and PostgreSQL: hosts out of patch SLA (severity by the
//! worst overdue update's classification), silent agents, hygiene deductions and the patch
//! state facet of the host's asset, from reports ingested through the practice's store.

use std::sync::Arc;

use chrono::{Duration, Utc};
use opsward_core::contract::{Deduction, PracticeContract, Severity as Level};
use opsward_core::Actor;
use opsward_patches::policy::Severity;
use opsward_patches::practice::PatchesPractice;
use opsward_patches::report::{HostReport, Posture, ReportKind};
use opsward_patches::store::{PatchStore, UpdateSeverity};
use opsward_patches::{
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};

fn actor() -> Actor {
    Actor::user(1, "ops")
}

fn report(hostname: &str, pending: Vec<PendingUpdate>) -> HostReport {
    HostReport {
        kind: ReportKind::Full,
        sequence: 1,
        base_sequence: None,
        collected_at: Utc::now(),
        hostname: hostname.into(),
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
        reboot: RebootRequired {
            required: true,
            packages: vec!["linux-image-amd64".into()],
        },
        uptime_seconds: Some(3600),
        posture: Posture::default(),
        packages: pending
            .iter()
            .map(|p| InstalledPackage {
                name: p.name.clone(),
                version: p.installed_version.clone(),
                arch: p.arch.clone(),
                source: p.source.clone(),
                source_version: p.installed_version.clone(),
            })
            .collect(),
        removed: vec![],
        language_packages: vec![],
        notes: vec![],
        pending,
    }
}

fn update(name: &str, security: bool) -> PendingUpdate {
    PendingUpdate {
        name: name.into(),
        arch: "amd64".into(),
        installed_version: "1.0-1".into(),
        candidate_version: "1.0-2".into(),
        source: name.into(),
        suites: vec![if security {
            "bookworm-security"
        } else {
            "bookworm"
        }
        .into()],
        security,
    }
}

store_test!(patch_conditions_deductions_and_facets, |store: Arc<
    dyn Store,
>| async move {
    let practice = PatchesPractice::new(store.clone());
    let patches = PatchStore::new(store.as_ref());
    let empty = practice.assess(Utc::now()).await.unwrap();
    assert!(empty.conditions.is_empty() && empty.deductions.is_empty());

    let asset = store
        .create_asset(&actor(), &asset_input("db-1"))
        .await
        .unwrap();
    patches
        .create_enrollment_token(&actor(), "fleet", "token", Utc::now() + Duration::days(1))
        .await
        .unwrap();
    let db1 = patches
        .enroll("token", "db-1", "cred-1")
        .await
        .unwrap()
        .unwrap();
    let web1 = patches
        .enroll("token", "web-1", "cred-2")
        .await
        .unwrap()
        .unwrap();
    patches
        .ingest(
            db1.id,
            &report(
                "db-1",
                vec![
                    update("openssl", true),
                    update("curl", true),
                    update("vim", false),
                ],
            ),
        )
        .await
        .unwrap();
    patches
        .ingest(web1.id, &report("web-1", vec![update("bash", false)]))
        .await
        .unwrap();
    // openssl fixes a critical vulnerability: due in 7 days instead of 30.
    patches
        .set_update_severities(
            &actor(),
            db1.id,
            &[UpdateSeverity {
                name: "openssl".into(),
                arch: "amd64".into(),
                severity: Some(Severity::Critical),
            }],
        )
        .await
        .unwrap();
    let detail = patches.host_detail(db1.id, Utc::now()).await.unwrap();
    let due = |name: &str| {
        detail
            .pending
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .due_at
    };

    // Fresh reports, nothing due: a healthy fleet.
    let now = Utc::now();
    let healthy = practice.assess(now).await.unwrap();
    assert!(healthy.conditions.is_empty(), "{:?}", healthy.conditions);
    assert!(healthy.deductions.is_empty(), "{:?}", healthy.deductions);

    // Ten days on: openssl is overdue on db-1 (critical), and both agents went silent.
    let later = now + Duration::days(10);
    let a = practice.assess(later).await.unwrap();
    let got: Vec<(&str, Level, &str, u32, Option<i64>)> = a
        .conditions
        .iter()
        .map(|c| {
            (
                c.kind.as_str(),
                c.severity,
                c.title.as_str(),
                c.count,
                c.asset_id,
            )
        })
        .collect();
    assert_eq!(
            got,
            vec![
                (
                    "host_out_of_sla",
                    Level::Critical,
                    "db-1 is out of patch SLA: 1 update overdue (1 critical), the oldest due 3 days ago",
                    1,
                    Some(asset.id)
                ),
                (
                    "agent_silent",
                    Level::High,
                    "db-1's agent has not reported for 10 days (expected every 1 hour)",
                    1,
                    Some(asset.id)
                ),
                (
                    "agent_silent",
                    Level::High,
                    "web-1's agent has not reported for 10 days (expected every 1 hour)",
                    1,
                    None
                ),
                (
                    "reboot_overdue",
                    Level::Medium,
                    "db-1 has needed a reboot for 10 days (policy: within 7 days)",
                    1,
                    Some(asset.id)
                ),
                (
                    "reboot_overdue",
                    Level::Medium,
                    "web-1 has needed a reboot for 10 days (policy: within 7 days)",
                    1,
                    None
                ),
            ]
        );
    assert_eq!(
        a.conditions[0].entity.link,
        format!("/patches/hosts/{}", db1.id)
    );
    assert_eq!(a.conditions[0].due, Some(due("openssl")));
    assert_eq!(
        a.deductions,
        vec![
            Deduction::new(
                15,
                "1 of 2 hosts is out of patch SLA (oldest due 3 days ago)",
                Some("/patches?overdue=1")
            ),
            Deduction::new(
                1,
                "1 pending security update is past the patch policy's due date",
                Some("/patches?overdue=1")
            ),
            Deduction::new(
                20,
                "2 of 2 hosts have not reported for more than 2 hours (two report intervals)",
                Some("/patches")
            ),
            Deduction::new(
                10,
                "2 of 2 hosts have needed a reboot for more than 7 days (the patch policy)",
                Some("/patches")
            ),
        ]
    );

    // 40 days on: curl (security, 30 days) and the monthly updates are overdue too.
    let b = practice.assess(now + Duration::days(40)).await.unwrap();
    let sla: Vec<(&str, Level, u32)> = b
        .conditions
        .iter()
        .filter(|c| c.kind == "host_out_of_sla")
        .map(|c| (c.entity.label.as_str(), c.severity, c.count))
        .collect();
    assert_eq!(
        sla,
        [("db-1", Level::Critical, 3), ("web-1", Level::Low, 1)]
    );

    // The asset page: db-1's patch state.
    let facets = practice.asset_facets(asset.id, now).await.unwrap();
    assert_eq!(facets.len(), 1);
    let f = &facets[0];
    assert_eq!(f.title, "Patch state");
    let summary = f.summary.as_deref().unwrap();
    assert!(
        summary.starts_with("Debian GNU/Linux 12 (bookworm) 6.1.0-18-amd64; last report "),
        "{summary}"
    );
    assert!(
        summary.ends_with(&format!(
            "; 3 pending, 2 security, 0 overdue, oldest due {}; reboot required since {}",
            due("openssl").date_naive(),
            Utc::now().date_naive()
        )),
        "{summary}"
    );
    assert_eq!(f.rows.len(), 3);
    assert_eq!(
        f.rows[0].cells[0], "openssl",
        "security first, soonest due first"
    );
    assert_eq!(f.rows[0].cells[3], "critical");
    assert_eq!(f.more_link, Some(format!("/patches/hosts/{}", db1.id)));
    let other = store
        .create_asset(&actor(), &asset_input("no-host"))
        .await
        .unwrap();
    assert!(practice
        .asset_facets(other.id, now)
        .await
        .unwrap()
        .is_empty());

    // web-1 rebooted: its next report clears the flag, and with it the condition. A later
    // report that needs a reboot again starts a new wait.
    let mut rebooted = report("web-1", vec![update("bash", false)]);
    rebooted.sequence = 2;
    rebooted.reboot = RebootRequired::default();
    patches.ingest(web1.id, &rebooted).await.unwrap();
    let waiting = |a: &opsward_core::contract::Assessment| -> Vec<String> {
        a.conditions
            .iter()
            .filter(|c| c.kind == "reboot_overdue")
            .map(|c| c.entity.label.clone())
            .collect()
    };
    assert_eq!(waiting(&practice.assess(later).await.unwrap()), ["db-1"]);
    let before_again = Utc::now();
    let mut again = report("web-1", vec![update("bash", false)]);
    again.sequence = 3;
    patches.ingest(web1.id, &again).await.unwrap();
    let assessed = practice.assess(later).await.unwrap();
    let since = |label: &str| {
        assessed
            .conditions
            .iter()
            .find(|c| c.kind == "reboot_overdue" && c.entity.label == label)
            .and_then(|c| c.since)
            .unwrap()
    };
    assert!(
        since("web-1") >= before_again,
        "web-1's wait starts again at the report that needs a reboot again"
    );
    assert!(since("db-1") < before_again, "db-1 has waited all along");
});
