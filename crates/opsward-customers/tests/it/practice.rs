//! The customers practice's conditions, deductions and asset facets from live data.

use crate::support::*;
use async_trait::async_trait;
use chrono::{Duration, Months, NaiveTime, TimeZone, Utc};
use opsward_core::{
    contract::{PracticeContract, Severity, Tone},
    work_items::{NewWorkItem, WorkItemError, WorkItemSummary, WorkItems},
    Actor,
};
use opsward_customers::{
    practice::CustomersPractice, reviews, survey_store::SurveyDecision, ActionInput, CustomerInput,
    CustomersStore, ReviewInput, ReviewSchedule, SurveyKind,
};
use opsward_ops::OpsStore;
use opsward_store::Store;
use opsward_testkit::{asset_input, store_test};
use std::sync::Arc;

/// The practice reads no work items; surveys (the only user) are tested with the real
/// backlog in the server's tests.
struct NoWorkItems;

#[async_trait]
impl WorkItems for NoWorkItems {
    async fn file_item(&self, _: &Actor, _: &NewWorkItem) -> Result<i64, WorkItemError> {
        Err(WorkItemError::NotFound("backlog"))
    }
    async fn work_item(&self, _: i64) -> Result<WorkItemSummary, WorkItemError> {
        Err(WorkItemError::NotFound("backlog"))
    }
}

async fn answered(
    customers: &CustomersStore,
    customer_id: i64,
    kind: SurveyKind,
    score: i32,
    at: chrono::DateTime<Utc>,
) {
    let decision = SurveyDecision {
        kind,
        customer_id,
        contact_id: None,
        item_id: None,
        skip_reason: None,
        expires_at: Some(at + Duration::days(14)),
    };
    let survey = customers.record_survey(&decision, None, at).await.unwrap();
    customers
        .answer_survey(survey.id, score, "", at)
        .await
        .unwrap()
        .unwrap();
}

store_test!(
    overdue_reviews_unhappy_customers_and_late_actions_are_conditions,
    |store: Arc<dyn Store>| async move {
        let customers = CustomersStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let practice = CustomersPractice::new(store.clone(), Arc::new(NoWorkItems));
        let now = Utc::now();

        let healthy = practice.assess(now).await.unwrap();
        assert!(healthy.conditions.is_empty() && healthy.deductions.is_empty());

        let asset = store
            .create_asset(&actor(), &asset_input("portal"))
            .await
            .unwrap();
        let acme = customers
            .create_customer(
                &actor(),
                &CustomerInput {
                    name: "Acme".into(),
                    notes: String::new(),
                    owner_team_id: None,
                    owner_person_id: None,
                    asset_ids: vec![asset.id],
                },
            )
            .await
            .unwrap();
        // Monthly reviews from 70 days ago: three have started, none was held.
        let first = (now - Duration::days(70))
            .date_naive()
            .and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        let schedule = ReviewSchedule {
            rrule: "FREQ=MONTHLY".into(),
            starts_local: first,
            timezone: "UTC".into(),
        };
        reviews::schedule(&customers, &ops, &actor(), acme.id, &schedule)
            .await
            .unwrap();
        // CSAT: 1 of 4 satisfied now (25%), below the 80% target. NPS 50 now (1 promoter,
        // 1 passive), 100 before: falling by 50 points.
        for score in [5, 2, 1, 3] {
            answered(
                &customers,
                acme.id,
                SurveyKind::Csat,
                score,
                now - Duration::days(10),
            )
            .await;
        }
        for score in [10, 7] {
            answered(
                &customers,
                acme.id,
                SurveyKind::Nps,
                score,
                now - Duration::days(20),
            )
            .await;
        }
        for score in [10, 10, 10, 9] {
            answered(
                &customers,
                acme.id,
                SurveyKind::Nps,
                score,
                now - Duration::days(100),
            )
            .await;
        }
        // A review held elsewhere with an action due 12 days ago.
        let globex = customer(&customers, "Globex").await;
        let today = now.date_naive();
        let review = ReviewInput {
            period_start: today - Duration::days(90),
            period_end: today,
            held_on: today - Duration::days(30),
            attendees: vec![],
            notes: String::new(),
            actions: vec![
                ActionInput {
                    title: "Send the DR test report".into(),
                    owner_person_id: None,
                    due_on: Some(today - Duration::days(12)),
                },
                ActionInput {
                    title: "Quote for new printers".into(),
                    owner_person_id: None,
                    due_on: Some(today + Duration::days(30)),
                },
            ],
        };
        reviews::record(&customers, &ops, &actor(), globex.id, &review)
            .await
            .unwrap();

        let assessment = practice.assess(now).await.unwrap();
        let kinds: Vec<&str> = assessment
            .conditions
            .iter()
            .map(|c| c.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "service_review_overdue",
                "satisfaction_at_risk",
                "review_action_overdue"
            ]
        );
        let late = &assessment.conditions[0];
        let first_at = Utc.from_utc_datetime(&first);
        assert_eq!(late.severity, Severity::High);
        assert_eq!(
            late.count, 3,
            "three monthly reviews started and none was held"
        );
        assert_eq!(late.due, Some(first_at));
        assert_eq!(late.entity.link, format!("/customers/{}", acme.id));
        assert_eq!(
            (late.asset_id, late.asset_name.as_deref()),
            (Some(asset.id), Some("portal"))
        );
        assert_eq!(
            late.title,
            format!(
                "Service review with Acme is overdue since {} (3 scheduled reviews without a review); hold it and record it",
                first.date()
            )
        );
        assert!(first_at + Months::new(2) <= now && first_at + Months::new(3) > now);

        let unhappy = &assessment.conditions[1];
        assert_eq!(unhappy.severity, Severity::Medium);
        assert_eq!(
            unhappy.title,
            "Acme: CSAT 25% over the last 90 days (4 answers) is below the target of 80%; \
             NPS fell from 100 to 50 against the 90 days before; talk to the customer about what went wrong"
        );

        let action = &assessment.conditions[2];
        assert_eq!(action.severity, Severity::High);
        assert_eq!(action.entity.kind, "review_action");
        assert_eq!(
            action.due,
            Some(
                (today - Duration::days(12))
                    .and_time(NaiveTime::MIN)
                    .and_utc()
            )
        );
        assert_eq!(
            action.title,
            format!(
                "Action from the service review with Globex, \"Send the DR test report\", was due on {} and is not done",
                today - Duration::days(12)
            )
        );

        let deductions: Vec<(u8, &str)> = assessment
            .deductions
            .iter()
            .map(|d| (d.points, d.reason.as_str()))
            .collect();
        assert_eq!(
            deductions,
            [
                (10, format!("1 customer has an overdue service review (oldest missed {})", first.date()).as_str()),
                (5, "1 of 1 customer surveyed in the last 90 days has CSAT or NPS below target (CSAT 80%, NPS 0) or falling"),
                (3, "1 action from service reviews is past due (oldest due 12 days ago)"),
            ]
        );

        let facets = practice.asset_facets(asset.id, now).await.unwrap();
        assert_eq!(facets.len(), 1);
        assert_eq!(facets[0].rows.len(), 1);
        assert_eq!(
            facets[0].rows[0].cells,
            [
                "Acme",
                "25%",
                "50",
                &format!("overdue since {}", first.date())
            ]
        );
        assert_eq!(facets[0].rows[0].tone, Tone::Bad);
        let other = store
            .create_asset(&actor(), &asset_input("intranet"))
            .await
            .unwrap();
        assert!(practice
            .asset_facets(other.id, now)
            .await
            .unwrap()
            .is_empty());

        // Holding the review today completes the latest occurrence: nothing is overdue.
        let held = ReviewInput {
            held_on: today,
            actions: vec![],
            ..review
        };
        reviews::record(&customers, &ops, &actor(), acme.id, &held)
            .await
            .unwrap();
        let after = practice.assess(now).await.unwrap();
        assert!(after
            .conditions
            .iter()
            .all(|c| c.kind != "service_review_overdue"));
    }
);
