//! The resilience register on SQLite and PostgreSQL: measures schedule their tests on the
//! calendar, results are evidence, state follows the calendar, owners are notified.

use chrono::{Duration, Utc};
use opsward_core::{
    audit::AuditFilter, page::PageRequest, people::TeamInput, Actor, ValidationError,
};
use opsward_notify::{ChannelConfig, Severity, WebhookConfig};
use opsward_ops::{
    notifications::{events::check_calendar, Notifier, RuleInput},
    CalendarFilter, EvidenceResult, OpsStore,
};
use opsward_resilience::register::{
    CheckKind, MeasureFilter, MeasureInput, MeasureKind, MeasureState, MeasureStore,
    TestResultInput, TestSchedule,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::{asset_input, store_test};
use std::sync::Arc;

fn actor() -> Actor {
    Actor::user(1, "resilience-lead")
}

/// Weekly tests whose first one started `days_ago` days ago (negative: in the future).
fn weekly_from(days_ago: i64) -> TestSchedule {
    TestSchedule {
        rrule: "FREQ=WEEKLY".into(),
        starts_local: (Utc::now() - Duration::days(days_ago))
            .date_naive()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        timezone: "UTC".into(),
        duration_minutes: 30,
    }
}

fn measure(asset_id: i64, kind: MeasureKind, title: &str, schedule: TestSchedule) -> MeasureInput {
    MeasureInput {
        asset_id,
        kind,
        title: title.into(),
        description: "Two disks in a mirror.".into(),
        procedure: vec![
            "Fail one disk with mdadm --fail".into(),
            "Check the service still answers".into(),
        ],
        owner_team_id: None,
        owner_person_id: None,
        check: Some(CheckKind::Mdstat),
        schedule,
    }
}

fn result(r: EvidenceResult, notes: &str) -> TestResultInput {
    TestResultInput {
        result: r,
        notes: notes.into(),
        links: vec![],
        occurrence_at: None,
    }
}

fn field_of(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(ValidationError { errors }) => {
            errors.into_iter().map(|e| e.field).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

store_test!(
    a_measure_schedules_its_tests_for_its_owner_and_follows_their_results,
    |store: Arc<dyn Store>| async move {
        let measures = MeasureStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "Storage".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let db1 = store
            .create_asset(&actor(), &asset_input("db1"))
            .await
            .unwrap();

        // Three weekly tests have started (15, 8 and 1 days ago) and none has a result.
        let mut input = measure(db1.id, MeasureKind::Raid, "Mirror on db1", weekly_from(15));
        input.owner_team_id = Some(team.id);
        let created = measures.create(&actor(), &input).await.unwrap();
        let activity = ops.get_activity(created.measure.activity_id).await.unwrap();
        assert_eq!(activity.title, "Resilience test: Mirror on db1");
        assert_eq!(activity.practice.as_str(), "resilience");
        assert_eq!(
            (activity.owner_team_id, activity.asset_id),
            (Some(team.id), Some(db1.id))
        );
        assert_eq!(created.measure.procedure.len(), 2);
        assert_eq!(created.state, MeasureState::Overdue);
        assert_eq!(
            created.overdue_since.map(|t| t.date_naive()),
            Some((Utc::now() - Duration::days(15)).date_naive())
        );
        assert!(created.next_test_at.unwrap() > Utc::now());
        assert_eq!(created.last_result, None);

        // The calendar's overdue notification reaches the owning team's rule.
        let channel = notifier
            .create_channel(
                &actor(),
                "storage",
                &ChannelConfig::Webhook(WebhookConfig {
                    url: "http://127.0.0.1:9/hook".into(),
                    secret: "s".into(),
                    timeout_secs: 1,
                }),
            )
            .await
            .unwrap();
        let rule = RuleInput {
            name: "storage team".into(),
            channel_id: channel.id,
            events: vec!["activity.overdue".into(), "activity.failed".into()],
            practice: None,
            min_severity: Severity::Info,
            owner_team_id: Some(team.id),
            owner_person_id: None,
            digest: false,
            quiet_hours: None,
            enabled: true,
        };
        notifier.create_rule(&actor(), None, &rule).await.unwrap();
        check_calendar(&ops, &notifier, Utc::now()).await.unwrap();
        let outbox = notifier.list_outbox(None, 100).await.unwrap();
        assert!(
            outbox
                .iter()
                .any(|e| e.event == "activity.overdue" && e.subject.contains("Mirror on db1")),
            "{outbox:?}"
        );

        // A failed manual test completes the latest open test and notifies the owners.
        let failed = measures
            .record_result(
                &actor(),
                created.measure.id,
                &result(EvidenceResult::Failed, "disk 2 did not resync"),
            )
            .await
            .unwrap();
        assert_eq!(failed.activity_id, Some(activity.id));
        assert_eq!(
            failed.occurrence_at.map(|t| t.date_naive()),
            Some((Utc::now() - Duration::days(1)).date_naive())
        );
        let now = measures.status(created.measure.id).await.unwrap();
        assert_eq!(
            (now.state, now.last_result, now.last_evidence_id),
            (
                MeasureState::Failed,
                Some(EvidenceResult::Failed),
                Some(failed.id)
            )
        );
        assert_eq!(
            now.overdue_since, None,
            "the newest test is done, older misses are history"
        );
        let outbox = notifier.list_outbox(None, 100).await.unwrap();
        assert!(
            outbox.iter().any(|e| e.event == "activity.failed"
                && e.dedupe_key == format!("evidence:{}", failed.id)),
            "{outbox:?}"
        );

        let passed = measures
            .record_result(
                &actor(),
                created.measure.id,
                &result(EvidenceResult::Passed, "resynced after reseat"),
            )
            .await
            .unwrap();
        let detail = measures.detail(created.measure.id).await.unwrap();
        assert_eq!(detail.status.state, MeasureState::Ok);
        assert_eq!(
            detail.evidence.iter().map(|e| e.id).collect::<Vec<_>>(),
            [passed.id, failed.id],
            "newest first"
        );

        // A result for a time that is no scheduled test is refused.
        let mut off = result(EvidenceResult::Passed, "");
        off.occurrence_at = Some(Utc::now() - Duration::hours(3));
        assert_eq!(
            field_of(
                measures
                    .record_result(&actor(), created.measure.id, &off)
                    .await
                    .unwrap_err()
            ),
            ["occurrence_at"]
        );

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("resilience_measure".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(10),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 1, "the create");
    }
);

store_test!(
    measures_are_listed_by_asset_kind_and_state_a_page_at_a_time,
    |store: Arc<dyn Store>| async move {
        let measures = MeasureStore::new(store.as_ref());
        let db1 = store
            .create_asset(&actor(), &asset_input("db1"))
            .await
            .unwrap();
        let san = store
            .create_asset(&actor(), &asset_input("san"))
            .await
            .unwrap();
        let mirror = measures
            .create(
                &actor(),
                &measure(db1.id, MeasureKind::Raid, "Mirror", weekly_from(3)),
            )
            .await
            .unwrap();
        let backup = measures
            .create(
                &actor(),
                &measure(
                    db1.id,
                    MeasureKind::BackupRestore,
                    "Nightly backup",
                    weekly_from(-5),
                ),
            )
            .await
            .unwrap();
        let paths = measures
            .create(
                &actor(),
                &measure(
                    san.id,
                    MeasureKind::Multipath,
                    "Two fabrics",
                    weekly_from(10),
                ),
            )
            .await
            .unwrap();
        measures
            .record_result(
                &actor(),
                paths.measure.id,
                &result(EvidenceResult::Passed, "both paths active"),
            )
            .await
            .unwrap();

        let ids = |filter: MeasureFilter| {
            let measures = measures.clone();
            async move {
                let page = measures
                    .list(&filter, PageRequest::first(50))
                    .await
                    .unwrap();
                page.items.iter().map(|s| s.measure.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            ids(MeasureFilter {
                asset_id: Some(db1.id),
                ..Default::default()
            })
            .await,
            [mirror.measure.id, backup.measure.id]
        );
        assert_eq!(
            ids(MeasureFilter {
                kind: Some(MeasureKind::Multipath),
                ..Default::default()
            })
            .await,
            [paths.measure.id]
        );
        assert_eq!(
            ids(MeasureFilter {
                state: Some(MeasureState::Overdue),
                ..Default::default()
            })
            .await,
            [mirror.measure.id]
        );
        assert_eq!(
            ids(MeasureFilter {
                state: Some(MeasureState::NeverTested),
                ..Default::default()
            })
            .await,
            [backup.measure.id]
        );
        assert_eq!(
            ids(MeasureFilter {
                state: Some(MeasureState::Ok),
                ..Default::default()
            })
            .await,
            [paths.measure.id]
        );
        assert!(ids(MeasureFilter {
            state: Some(MeasureState::Failed),
            ..Default::default()
        })
        .await
        .is_empty());

        let first = measures
            .list(&MeasureFilter::default(), PageRequest::first(2))
            .await
            .unwrap();
        assert_eq!(first.items.len(), 2);
        let next = PageRequest::from_params(Some(2), first.next_cursor.as_deref()).unwrap();
        let second = measures
            .list(&MeasureFilter::default(), next)
            .await
            .unwrap();
        assert_eq!(
            second
                .items
                .iter()
                .map(|s| s.measure.id)
                .collect::<Vec<_>>(),
            [paths.measure.id]
        );
        assert_eq!(second.next_cursor, None);

        // A state filter that skips rows still pages: one overdue-or-not match per page.
        let one = measures
            .list(
                &MeasureFilter {
                    asset_id: Some(db1.id),
                    state: Some(MeasureState::NeverTested),
                    ..Default::default()
                },
                PageRequest::first(1),
            )
            .await
            .unwrap();
        assert_eq!((one.items.len(), one.next_cursor), (1, None));
    }
);

store_test!(
    bad_input_schedules_nothing_and_delete_keeps_the_evidence,
    |store: Arc<dyn Store>| async move {
        let measures = MeasureStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let db1 = store
            .create_asset(&actor(), &asset_input("db1"))
            .await
            .unwrap();
        let resilience_activities = || async {
            ops.list_activities(&CalendarFilter::default(), true)
                .await
                .unwrap()
                .len()
        };

        let unknown_asset = measure(db1.id + 100, MeasureKind::Raid, "Mirror", weekly_from(1));
        assert_eq!(
            field_of(measures.create(&actor(), &unknown_asset).await.unwrap_err()),
            ["asset_id"]
        );
        let mut bad_rule = measure(db1.id, MeasureKind::Raid, "Mirror", weekly_from(1));
        bad_rule.schedule.rrule = "FREQ=SOMETIMES".into();
        assert_eq!(
            field_of(measures.create(&actor(), &bad_rule).await.unwrap_err()),
            ["rrule"]
        );
        assert_eq!(
            resilience_activities().await,
            0,
            "no test scheduled for a measure that was refused"
        );

        let created = measures
            .create(
                &actor(),
                &measure(db1.id, MeasureKind::DrSite, "DR site", weekly_from(1)),
            )
            .await
            .unwrap();
        let evidence = measures
            .record_result(
                &actor(),
                created.measure.id,
                &result(EvidenceResult::Passed, "failover drill"),
            )
            .await
            .unwrap();

        // An update moves the schedule and the activity follows; a bad one changes nothing.
        let mut changed = measure(
            db1.id,
            MeasureKind::DrSite,
            "DR site Frankfurt",
            weekly_from(-2),
        );
        changed.schedule.rrule = "FREQ=MONTHLY;INTERVAL=6".into();
        let updated = measures
            .update(&actor(), created.measure.id, &changed)
            .await
            .unwrap();
        assert_eq!(updated.schedule.rrule, "FREQ=MONTHLY;INTERVAL=6");
        let activity = ops.get_activity(created.measure.activity_id).await.unwrap();
        assert_eq!(
            (activity.title.as_str(), activity.rrule.as_str()),
            (
                "Resilience test: DR site Frankfurt",
                "FREQ=MONTHLY;INTERVAL=6"
            )
        );
        changed.schedule.timezone = "Mars/Olympus".into();
        assert_eq!(
            field_of(
                measures
                    .update(&actor(), created.measure.id, &changed)
                    .await
                    .unwrap_err()
            ),
            ["timezone"]
        );
        assert_eq!(
            measures.measure(created.measure.id).await.unwrap().title,
            "DR site Frankfurt"
        );

        // The asset cannot be deleted from under its measures.
        assert!(matches!(
            store.delete_asset(&actor(), db1.id).await,
            Err(StoreError::Conflict(_))
        ));

        measures.delete(&actor(), created.measure.id).await.unwrap();
        assert!(matches!(
            measures.measure(created.measure.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(
            !ops.get_activity(created.measure.activity_id)
                .await
                .unwrap()
                .active,
            "no more tests scheduled"
        );
        assert_eq!(
            ops.get_evidence(evidence.id).await.unwrap().activity_id,
            Some(created.measure.activity_id)
        );
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("resilience_measure".into()),
                    entity_id: Some(created.measure.id),
                    ..AuditFilter::default()
                },
                PageRequest::first(10),
            )
            .await
            .unwrap();
        let mut actions: Vec<_> = audit.items.iter().map(|a| a.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(actions, ["create", "delete", "update"]);
    }
);
