use crate::{actor, supplier};
use chrono::Utc;
use opsward_store::{Store, StoreError};
use opsward_suppliers::{Criterion, ReviewInput, ReviewOutcome, ScoreInput, SupplierStore};
use opsward_testkit::store_test;
use std::sync::Arc;

pub fn scores(values: [i32; 5]) -> Vec<ScoreInput> {
    ["quality", "delivery", "responsiveness", "cost", "security"]
        .iter()
        .zip(values)
        .map(|(c, score)| ScoreInput {
            criterion: c.to_string(),
            score,
        })
        .collect()
}

fn review(supplier_id: i64, values: [i32; 5], outcome: ReviewOutcome) -> ReviewInput {
    ReviewInput {
        supplier_id,
        review_date: Utc::now().date_naive(),
        period_start: None,
        outcome,
        notes: "quarterly".into(),
        attendees: vec!["Ann (Acme)".into(), "Bob".into()],
        scores: scores(values),
        actions: vec![],
    }
}

store_test!(scorecards_follow_the_configured_criteria, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let s = supplier(&suppliers, "Criteria").await;
    let defaults = suppliers.criteria().await.unwrap();
    assert_eq!(defaults.iter().map(|c| c.weight).sum::<i32>(), 100);

    // Missing a criterion or out of range: refused.
    let mut incomplete = review(s, [3, 3, 3, 3, 3], ReviewOutcome::Satisfactory);
    incomplete.scores.pop();
    assert!(matches!(
        suppliers.record_review(&actor(), &incomplete).await,
        Err(StoreError::Invalid(_))
    ));
    let out_of_range = review(s, [6, 3, 3, 3, 3], ReviewOutcome::Satisfactory);
    assert!(matches!(
        suppliers.record_review(&actor(), &out_of_range).await,
        Err(StoreError::Invalid(_))
    ));

    // Two criteria only, quality weighing three times as much.
    let wanted = vec![
        Criterion {
            key: "quality".into(),
            label: "Quality".into(),
            weight: 75,
            position: 1,
            active: true,
        },
        Criterion {
            key: "sla".into(),
            label: "SLA kept".into(),
            weight: 25,
            position: 2,
            active: true,
        },
    ];
    let now = suppliers.set_criteria(&actor(), &wanted).await.unwrap();
    assert_eq!(now.iter().filter(|c| c.active).count(), 2);
    assert_eq!(now.len(), 6, "old criteria stay, inactive");
    let mut input = review(s, [5, 0, 0, 0, 0], ReviewOutcome::Satisfactory);
    input.scores = vec![
        ScoreInput {
            criterion: "quality".into(),
            score: 5,
        },
        ScoreInput {
            criterion: "sla".into(),
            score: 1,
        },
    ];
    let r = suppliers.record_review(&actor(), &input).await.unwrap();
    assert_eq!(r.weighted_score, Some(4.0));
    assert_eq!(
        r.scores
            .iter()
            .find(|s| s.criterion == "sla")
            .unwrap()
            .label,
        "SLA kept"
    );
});
