use chrono::{NaiveDate, TimeZone, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, practice::Practice, Actor};
use opsward_ops::{
    ical, store::NewAttachment, ActivityInput, CalendarFilter, EvidenceInput, EvidenceResult,
    OccurrenceState, OpsStore,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

fn actor() -> Actor {
    Actor::user(1, "planner")
}

fn weekly() -> ActivityInput {
    ActivityInput {
        title: "Patch window".into(),
        practice: Practice::Patches,
        template: Some("patch-window".into()),
        description: "Install updates, then reboot".into(),
        rrule: "rrule:freq=weekly; byday=MO".into(),
        starts_local: NaiveDate::from_ymd_opt(2026, 3, 16)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        timezone: "Europe/Berlin".into(),
        duration_minutes: 120,
        owner_team_id: None,
        owner_person_id: None,
        asset_id: None,
        active: true,
    }
}

store_test!(
    occurrences_states_and_evidence,
    |store: Arc<dyn Store>| async move {
        let ops = OpsStore::new(store.as_ref());
        let activity = ops.create_activity(&actor(), &weekly()).await.unwrap();
        assert_eq!(activity.rrule, "FREQ=WEEKLY;BYDAY=MO");

        let from = Utc.with_ymd_and_hms(2026, 3, 16, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 4, 7, 0, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 0, 0, 0).unwrap();
        let occ = ops
            .occurrences(&CalendarFilter::default(), from, to, now)
            .await
            .unwrap();
        let starts: Vec<_> = occ.iter().map(|o| o.starts_at).collect();
        assert_eq!(starts.len(), 4);
        assert_eq!(
            occ[2].starts_local, "2026-03-30 09:00",
            "local time kept across the DST change"
        );
        assert_eq!(
            occ[2].starts_at,
            Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap()
        );

        let files = [NewAttachment {
            filename: "report.txt".into(),
            content_type: "text/plain".into(),
            size_bytes: 5,
            sha256: "a".repeat(64),
        }];
        let input = EvidenceInput {
            occurrence_at: Some(starts[1]),
            result: EvidenceResult::Passed,
            notes: "all hosts patched".into(),
            links: vec!["https://tickets.example.com/42".into()],
        };
        let evidence = ops
            .complete(&actor(), activity.id, &input, &files)
            .await
            .unwrap();
        assert_eq!(evidence.attachments.len(), 1);
        assert_eq!(evidence.recorded_by, "user:planner");

        let occ = ops
            .occurrences(&CalendarFilter::default(), from, to, now)
            .await
            .unwrap();
        let states: Vec<_> = occ.iter().map(|o| o.state).collect();
        assert_eq!(
            states,
            [
                OccurrenceState::Overdue,
                OccurrenceState::Done,
                OccurrenceState::Overdue,
                OccurrenceState::Upcoming
            ]
        );
        assert_eq!(occ[1].result, Some(EvidenceResult::Passed));

        // Not an occurrence of this activity: refused.
        let wrong = EvidenceInput {
            occurrence_at: Some(starts[1] + chrono::Duration::hours(1)),
            ..input.clone()
        };
        assert!(matches!(
            ops.complete(&actor(), activity.id, &wrong, &[]).await,
            Err(StoreError::Invalid(_))
        ));
        let bad_link = EvidenceInput {
            links: vec!["javascript:alert(1)".into()],
            ..input.clone()
        };
        assert!(matches!(
            ops.complete(&actor(), activity.id, &bad_link, &[]).await,
            Err(StoreError::Invalid(_))
        ));

        let listed = ops
            .list_evidence(Some(Practice::Patches), None, None, None, 100)
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].links, ["https://tickets.example.com/42"]);

        // Deleting the plan keeps the proof.
        ops.delete_activity(&actor(), activity.id).await.unwrap();
        assert_eq!(
            ops.get_evidence(evidence.id).await.unwrap().activity_id,
            None
        );
        let log = store
            .list_audit(&AuditFilter::default(), PageRequest::first(10))
            .await
            .unwrap();
        let actions: Vec<_> = log
            .items
            .iter()
            .map(|e| format!("{} {}", e.action, e.entity_type))
            .collect();
        assert_eq!(
            actions,
            ["delete activity", "create evidence", "create activity"]
        );
    }
);

store_test!(
    invalid_activities_are_rejected,
    |store: Arc<dyn Store>| async move {
        let ops = OpsStore::new(store.as_ref());
        let mut bad = weekly();
        bad.rrule = "FREQ=FORTNIGHTLY".into();
        bad.timezone = "Mars/Base".into();
        match ops.create_activity(&actor(), &bad).await {
            Err(StoreError::Invalid(v)) => assert_eq!(v.errors.len(), 1, "{v:?}"),
            other => panic!("{other:?}"),
        }
        let mut bad = weekly();
        bad.rrule = "FREQ=DAILY;BYHOUR=99".into();
        assert!(matches!(
            ops.create_activity(&actor(), &bad).await,
            Err(StoreError::Invalid(_))
        ));
        let mut orphan = weekly();
        orphan.asset_id = Some(999);
        assert!(matches!(
            ops.create_activity(&actor(), &orphan).await,
            Err(StoreError::Invalid(_))
        ));
    }
);

store_test!(
    ical_feeds_are_revocable,
    |store: Arc<dyn Store>| async move {
        let ops = OpsStore::new(store.as_ref());
        let user = store
            .create_user(
                &actor(),
                &opsward_core::user::NewUser {
                    username: "cal".into(),
                    display_name: "Cal".into(),
                    email: None,
                    role: opsward_core::Role::Viewer,
                    password_hash: "x".into(),
                },
            )
            .await
            .unwrap();
        let feed = ops
            .create_feed(&actor(), user.id, None, "My calendar", "hash-1")
            .await
            .unwrap();
        assert_eq!(
            ops.feed_by_token("hash-1").await.unwrap().unwrap().id,
            feed.id
        );
        ops.revoke_feed(&actor(), feed.id).await.unwrap();
        assert!(ops.feed_by_token("hash-1").await.unwrap().is_none());
        assert!(ops
            .create_feed(&actor(), user.id, Some(4242), "Team", "hash-2")
            .await
            .is_err());

        let activity = ops.create_activity(&actor(), &weekly()).await.unwrap();
        let text = ical::calendar(
            "Ops; team, \"A\"",
            &[activity],
            &[],
            "https://opsward.example.com",
            Utc::now(),
        );
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
        assert!(text.contains("X-WR-CALNAME:Ops\\; team\\, \"A\""));
        assert!(text.contains("DTSTART;TZID=Europe/Berlin:20260316T090000\r\n"));
        assert!(text.contains("RRULE:FREQ=WEEKLY;BYDAY=MO\r\n"));
        assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin"));
    }
);
