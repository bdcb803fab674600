use crate::store::full_report;
use chrono::{Duration, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_patches::{
    install::{InstallRun, Upgraded},
    reboot::{RebootDecision, RebootOutcome, RebootPolicy},
    store::{
        rollout::{ApprovalState, RingInput},
        PatchStore,
    },
    window::MaintenanceWindow,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

fn ring(name: &str, position: i64, soak_hours: i64) -> RingInput {
    RingInput {
        name: name.into(),
        position,
        soak_hours,
        window: MaintenanceWindow {
            rrule: "FREQ=WEEKLY;BYDAY=TU".into(),
            starts_local: "2026-01-06T02:00:00".parse().unwrap(),
            timezone: "Europe/Berlin".into(),
            minutes: 120,
        },
        reboot_policy: Default::default(),
    }
}

fn run(ok: bool) -> InstallRun {
    InstallRun {
        command: vec![
            "apt-get".into(),
            "install".into(),
            "--only-upgrade".into(),
            "openssl".into(),
        ],
        started_at: Utc::now(),
        finished_at: Utc::now(),
        exit_code: Some(if ok { 0 } else { 100 }),
        output: "Setting up openssl (3.0.15-1) ...".into(),
        upgraded: vec![Upgraded {
            name: "openssl".into(),
            arch: "amd64".into(),
            from_version: "3.0.11-1".into(),
            to_version: "3.0.15-1".into(),
        }],
        reboot_required: false,
        reboot: None,
    }
}

async fn host(patches: &PatchStore, name: &str) -> i64 {
    patches
        .create_enrollment_token(
            &Actor::system("t"),
            "t",
            &format!("tok-{name}"),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap();
    let id = patches
        .enroll(&format!("tok-{name}"), name, &format!("cred-{name}"))
        .await
        .unwrap()
        .unwrap()
        .id;
    patches
        .ingest(id, &full_report(1, vec![], vec![]))
        .await
        .unwrap();
    id
}

store_test!(
    approvals_roll_out_ring_by_ring_and_stop_at_a_failure,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let ops = Actor::user(1, "ops");
        let canary = patches
            .create_ring(&ops, &ring("canary", 1, 0))
            .await
            .unwrap();
        let broad = patches
            .create_ring(&ops, &ring("broad", 2, 24))
            .await
            .unwrap();
        let mut bad = ring("bad", 3, 0);
        bad.window.timezone = "Nowhere/Else".into();
        assert!(matches!(
            patches.create_ring(&ops, &bad).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(
            patches
                .list_rings()
                .await
                .unwrap()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["canary", "broad"]
        );

        let c1 = host(&patches, "c1").await;
        let c2 = host(&patches, "c2").await;
        let b1 = host(&patches, "b1").await;
        patches
            .assign_ring(&ops, c1, Some(canary.id))
            .await
            .unwrap();
        patches
            .assign_ring(&ops, c2, Some(canary.id))
            .await
            .unwrap();
        patches.assign_ring(&ops, b1, Some(broad.id)).await.unwrap();

        let approval = patches
            .approve(&ops, canary.id, &["openssl".into()], None)
            .await
            .unwrap();
        assert_eq!(approval.approved_by, "user:ops");
        let now = Utc::now();
        let todo = patches.instructions(c1, now).await.unwrap();
        assert_eq!(todo.ring.as_ref().unwrap().name, "canary");
        assert_eq!(todo.approvals.len(), 1);
        assert!(patches
            .instructions(b1, now)
            .await
            .unwrap()
            .approvals
            .is_empty());
        // A host cannot report a run of another ring's approval.
        assert!(matches!(
            patches.record_run(b1, approval.id, &run(true)).await,
            Err(StoreError::Conflict(_))
        ));

        // c1 done: not yet succeeded (c2 missing), and c1 has nothing left to do.
        let evidence = patches
            .record_run(c1, approval.id, &run(true))
            .await
            .unwrap();
        assert_eq!(
            (evidence.hostname.as_str(), evidence.approved_by.as_str()),
            ("c1", "user:ops")
        );
        assert!(patches
            .instructions(c1, now)
            .await
            .unwrap()
            .approvals
            .is_empty());
        assert_eq!(
            patches.list_approvals().await.unwrap()[0].state,
            ApprovalState::Approved
        );
        patches
            .record_run(c2, approval.id, &run(true))
            .await
            .unwrap();
        let settled = patches.list_approvals().await.unwrap();
        assert_eq!(settled[0].state, ApprovalState::Succeeded);

        // Soak 0 on canary: promoted to broad at once, by the system, exactly once.
        let todo = patches.instructions(b1, Utc::now()).await.unwrap();
        assert_eq!(todo.approvals.len(), 1);
        let promoted = &todo.approvals[0];
        assert_eq!(
            (promoted.approved_by.as_str(), promoted.promoted_from),
            ("system:promotion", Some(approval.id))
        );
        assert!(patches.promote(Utc::now()).await.unwrap().is_empty());

        // A failed install stops the rollout: the approval fails, nothing is promoted further.
        patches
            .record_run(b1, promoted.id, &run(false))
            .await
            .unwrap();
        let all = patches.list_approvals().await.unwrap();
        let b = all.iter().find(|a| a.id == promoted.id).unwrap();
        assert_eq!(b.state, ApprovalState::Failed);
        assert!(patches
            .promote(Utc::now() + Duration::days(30))
            .await
            .unwrap()
            .is_empty());

        // The evidence: every run, who approved, where, what changed.
        let runs = patches.runs(None).await.unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0].hostname, "b1");
        assert!(!runs[0].succeeded);
        assert_eq!(runs[0].run.upgraded[0].to_version, "3.0.15-1");
        assert_eq!(patches.runs(Some(approval.id)).await.unwrap().len(), 2);
    }
);

store_test!(
    promotion_waits_for_the_soak,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let ops = Actor::user(1, "ops");
        let canary = patches
            .create_ring(&ops, &ring("canary", 1, 24))
            .await
            .unwrap();
        patches
            .create_ring(&ops, &ring("broad", 2, 24))
            .await
            .unwrap();
        let c1 = host(&patches, "c1").await;
        patches
            .assign_ring(&ops, c1, Some(canary.id))
            .await
            .unwrap();
        let approval = patches
            .approve(&ops, canary.id, &["bash".into()], None)
            .await
            .unwrap();
        patches
            .record_run(c1, approval.id, &run(true))
            .await
            .unwrap();
        assert!(patches
            .promote(Utc::now() + Duration::hours(23))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            patches
                .promote(Utc::now() + Duration::hours(25))
                .await
                .unwrap()
                .len(),
            1
        );
    }
);

store_test!(
    reboot_policies_per_ring_and_approval_are_stored_audited_and_in_the_evidence,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let ops = Actor::user(1, "ops");
        let canary = patches
            .create_ring(&ops, &ring("canary", 1, 0))
            .await
            .unwrap();
        assert_eq!(canary.reboot_policy, RebootPolicy::Never, "the default");
        let broad = patches
            .create_ring(&ops, &ring("broad", 2, 0))
            .await
            .unwrap();
        let mut change = ring("canary", 1, 0);
        change.reboot_policy = RebootPolicy::IfRequired;
        let canary = patches.update_ring(&ops, canary.id, &change).await.unwrap();
        assert_eq!(canary.reboot_policy, RebootPolicy::IfRequired);
        assert_eq!(
            patches.list_rings().await.unwrap()[0].reboot_policy,
            RebootPolicy::IfRequired
        );
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("patch_ring".into()),
                    ..Default::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        let update = audit.items.iter().find(|a| a.action == "update").unwrap();
        assert_eq!(update.before.as_ref().unwrap()["reboot_policy"], "never");
        assert_eq!(
            update.after.as_ref().unwrap()["reboot_policy"],
            "if-required"
        );

        // Package names are never options or shell syntax.
        for bad in ["-oAPT::Get::Whatever=1", "a;reboot", "a b", "$(id)", ""] {
            assert!(
                matches!(
                    patches.approve(&ops, canary.id, &[bad.into()], None).await,
                    Err(StoreError::Invalid(_))
                ),
                "{bad:?}"
            );
        }

        let c1 = host(&patches, "c1").await;
        let b1 = host(&patches, "b1").await;
        patches
            .assign_ring(&ops, c1, Some(canary.id))
            .await
            .unwrap();
        patches.assign_ring(&ops, b1, Some(broad.id)).await.unwrap();
        // The approval's own policy wins over the ring's for its ring.
        let approval = patches
            .approve(
                &ops,
                canary.id,
                &["openssl".into()],
                Some(RebootPolicy::Never),
            )
            .await
            .unwrap();
        assert_eq!(approval.reboot_policy, Some(RebootPolicy::Never));
        let todo = patches.instructions(c1, Utc::now()).await.unwrap();
        let ring_now = todo.ring.as_ref().unwrap();
        assert_eq!(
            todo.approvals[0].reboot_policy_in(ring_now),
            RebootPolicy::Never
        );
        let inherit = patches
            .approve(&ops, canary.id, &["bash".into()], None)
            .await
            .unwrap();
        assert_eq!(inherit.reboot_policy_in(ring_now), RebootPolicy::IfRequired);
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("patch_approval".into()),
                    ..Default::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        assert!(audit.items.iter().any(
            |a| a.action == "approve" && a.after.as_ref().unwrap()["reboot_policy"] == "never"
        ));

        // The agent's decision is part of the evidence.
        let mut rebooted = run(true);
        rebooted.reboot_required = true;
        rebooted.reboot = Some(RebootOutcome {
            policy: RebootPolicy::IfRequired,
            decision: RebootDecision::Reboot,
            command: vec!["systemctl".into(), "reboot".into()],
        });
        patches.record_run(c1, inherit.id, &rebooted).await.unwrap();
        patches
            .record_run(c1, approval.id, &run(true))
            .await
            .unwrap();
        let runs = patches.runs(Some(inherit.id)).await.unwrap();
        assert_eq!(runs[0].run.reboot, rebooted.reboot);
        assert_eq!(
            patches.runs(Some(approval.id)).await.unwrap()[0].run.reboot,
            None
        );

        // Promotion does not carry an approval's reboot choice: the next ring's policy applies.
        let promoted = patches.instructions(b1, Utc::now()).await.unwrap();
        assert_eq!(promoted.approvals.len(), 2);
        for a in &promoted.approvals {
            assert_eq!(a.reboot_policy, None);
            assert_eq!(
                a.reboot_policy_in(promoted.ring.as_ref().unwrap()),
                RebootPolicy::Never
            );
        }
    }
);
