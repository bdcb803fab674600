use super::support::*;
use chrono::{NaiveDate, Utc};
use opsward_backlog::BacklogStore;
use opsward_customers::{reviews, ActionInput, CustomersStore, ReviewInput, ReviewSchedule};
use opsward_ops::{EvidenceResult, OpsStore};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(
    a_recorded_review_completes_its_calendar_occurrence_and_tracks_actions,
    |store: Arc<dyn Store>| async move {
        let customers = CustomersStore::new(store.as_ref());
        let backlog = BacklogStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let acme = customer(&customers, "Acme").await;
        let ana = contact(&customers, &acme, "Ana").await;
        resolved_item(&backlog, &customers, &ana, "Printer jams").await;

        let today = Utc::now().date_naive();
        let schedule = ReviewSchedule {
            rrule: "FREQ=MONTHLY;INTERVAL=3".into(),
            // Yesterday, so that an occurrence has started whatever the time of day: a
            // review recorded now completes the latest started one, never a future one.
            starts_local: (today - chrono::Duration::days(1))
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            timezone: "Europe/Berlin".into(),
        };
        let scheduled = reviews::schedule(&customers, &ops, &actor(), acme.id, &schedule)
            .await
            .unwrap();
        let activity_id = scheduled.review_activity_id.expect("a calendar activity");
        assert_eq!(
            ops.get_activity(activity_id).await.unwrap().title,
            "Service review: Acme"
        );

        let period_start = today - chrono::Duration::days(90);
        let pack = reviews::pack(&customers, &backlog, acme.id, period_start, today)
            .await
            .unwrap();
        assert_eq!((pack.raised, pack.resolved, pack.open_now), (1, 1, 0));
        assert_eq!(
            pack.sla_percent,
            Some(100.0),
            "resolved the same day, P5 target 90 days"
        );

        let input = ReviewInput {
            period_start,
            period_end: today,
            held_on: today,
            attendees: vec!["Ana (Acme)".into(), "Sam (Service desk)".into()],
            notes: "Printer fleet ageing.".into(),
            actions: vec![ActionInput {
                title: "Quote for new printers".into(),
                owner_person_id: None,
                due_on: NaiveDate::from_ymd_opt(2030, 1, 31),
            }],
        };
        let review = reviews::record(&customers, &ops, &actor(), acme.id, &input)
            .await
            .unwrap();
        let evidence = ops.get_evidence(review.evidence_id.unwrap()).await.unwrap();
        assert_eq!(evidence.activity_id, Some(activity_id));
        assert_eq!(evidence.result, EvidenceResult::Passed);
        assert!(
            evidence.occurrence_at.is_some(),
            "it completes the occurrence that started yesterday"
        );
        assert!(evidence.notes.contains("Quote for new printers"));

        let pack = reviews::pack(&customers, &backlog, acme.id, period_start, today)
            .await
            .unwrap();
        assert_eq!(pack.open_actions.len(), 1);
        customers
            .set_action_done(&actor(), review.actions[0].id, true)
            .await
            .unwrap();
        let pack = reviews::pack(&customers, &backlog, acme.id, period_start, today)
            .await
            .unwrap();
        assert!(pack.open_actions.is_empty());
        assert_eq!(pack.previous_reviews, 1);

        let bad = ReviewInput {
            period_end: period_start - chrono::Duration::days(1),
            ..input
        };
        assert!(reviews::record(&customers, &ops, &actor(), acme.id, &bad)
            .await
            .is_err());
    }
);
