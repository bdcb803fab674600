//! Evidence lands where it belongs (issue 20 items 10 and 11): never on an occurrence that
//! has not started, a result without an occurrence completes the one that started most
//! recently, and older missed occurrences stay missed instead of being back-filled.

use chrono::{Duration, DurationRound, Utc};
use opsward_core::{practice::Practice, Actor};
use opsward_ops::{
    ActivityInput, CalendarFilter, EvidenceInput, EvidenceResult, OccurrenceState, OpsStore,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

fn actor() -> Actor {
    Actor::user(1, "auditor")
}

fn result(occurrence_at: Option<chrono::DateTime<Utc>>) -> EvidenceInput {
    EvidenceInput {
        occurrence_at,
        result: EvidenceResult::Passed,
        notes: "done".into(),
        links: Vec::new(),
    }
}

store_test!(
    evidence_is_refused_for_the_future_and_never_back_fills,
    |store: Arc<dyn Store>| async move {
        let ops = OpsStore::new(store.as_ref());
        // Weekly, first four weeks and a day ago (UTC, whole hours): four occurrences have
        // started and the fifth is six days ahead, whatever day the test runs.
        let first = (Utc::now() - Duration::days(29))
            .duration_trunc(Duration::hours(1))
            .unwrap();
        let activity = ops
            .create_activity(
                &actor(),
                &ActivityInput {
                    title: "Restore test".into(),
                    practice: Practice::Resilience,
                    template: None,
                    description: String::new(),
                    rrule: "FREQ=WEEKLY".into(),
                    starts_local: first.naive_utc(),
                    timezone: "UTC".into(),
                    duration_minutes: 60,
                    owner_team_id: None,
                    owner_person_id: None,
                    asset_id: None,
                    active: true,
                },
            )
            .await
            .unwrap();
        let week = |n: i64| first + Duration::weeks(n);
        let latest_started = week(4);
        assert!(latest_started <= Utc::now() && week(5) > Utc::now());

        // The next occurrence has not started: refused, on the occurrence field.
        let refused = ops
            .complete(&actor(), activity.id, &result(Some(week(5))), &[])
            .await;
        match refused {
            Err(StoreError::Invalid(v)) => {
                assert_eq!(v.errors[0].field, "occurrence_at");
                assert!(v.errors[0].message.contains("has not started yet"), "{v}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }

        // A result that names no occurrence is for the one that started most recently.
        let late = ops
            .complete(&actor(), activity.id, &result(None), &[])
            .await
            .unwrap();
        assert_eq!(late.occurrence_at, Some(latest_started));
        // Reported again, it stays there: it never moves back to an older missed week.
        let again = ops
            .complete(&actor(), activity.id, &result(None), &[])
            .await
            .unwrap();
        assert_eq!(again.occurrence_at, Some(latest_started));
        assert_eq!(
            ops.latest_started_occurrence(&activity, Utc::now())
                .await
                .unwrap(),
            Some(latest_started)
        );

        let occurrences = ops
            .occurrences(&CalendarFilter::default(), first, week(6), Utc::now())
            .await
            .unwrap();
        // Labelled missed: every overdue week before the one the late result completed.
        assert_eq!(
            opsward_ops::model::missed(&occurrences, Utc::now()),
            [true, true, true, true, false, false]
        );
        let states: Vec<(chrono::DateTime<Utc>, OccurrenceState)> = occurrences
            .into_iter()
            .map(|o| (o.starts_at, o.state))
            .collect();
        assert_eq!(
            states,
            vec![
                (week(0), OccurrenceState::Overdue),
                (week(1), OccurrenceState::Overdue),
                (week(2), OccurrenceState::Overdue),
                (week(3), OccurrenceState::Overdue),
                (week(4), OccurrenceState::Done),
                (week(5), OccurrenceState::Upcoming),
            ],
            "missed weeks stay missed, the future stays open"
        );

        // An older occurrence chosen explicitly is completed: that is a decision, not silence.
        let chosen = ops
            .complete(&actor(), activity.id, &result(Some(week(1))), &[])
            .await
            .unwrap();
        assert_eq!(chosen.occurrence_at, Some(week(1)));
    }
);
