//! A supplier review's backlog numbers, with real backlog items moving through their states:
//! here because the suppliers crate may not depend on the backlog (not even in its tests).

use chrono::Utc;
use opsward_backlog::{BacklogStore, ItemInput, ItemPatch, ItemState, ItemType};
use opsward_core::{page::PageRequest, practice::Practice, Actor};
use opsward_ops::{EvidenceResult, OpsStore};
use opsward_store::{Store, StoreError};
use opsward_suppliers::{
    ActionInput, LinkInput, LinkRelation, ReviewInput, ReviewOutcome, ScoreInput, SupplierInput,
    SupplierStore,
};
use opsward_testkit::store_test;
use std::sync::Arc;

fn actor() -> Actor {
    Actor::user(1, "buyer")
}

async fn supplier(store: &SupplierStore, name: &str) -> i64 {
    let input = SupplierInput {
        name: name.into(),
        category: "hosting".into(),
        criticality: opsward_core::asset::Criticality::High,
        contacts: vec![],
        notes: String::new(),
        asset_ids: vec![],
        owner_team_id: None,
        owner_person_id: None,
    };
    store.create_supplier(&actor(), &input).await.unwrap().id
}

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

async fn item(backlog: &BacklogStore, title: &str) -> i64 {
    let input = ItemInput {
        item_type: ItemType::Incident,
        title: title.into(),
        description: String::new(),
        impact: 2,
        urgency: 2,
        wsjf: None,
        team_id: None,
        assignee_person_id: None,
        tags: vec![],
        asset_ids: vec![],
    };
    backlog.create_item(&actor(), &input).await.unwrap().id
}

async fn move_to(backlog: &BacklogStore, id: i64, states: &[ItemState]) {
    for s in states {
        let patch = ItemPatch {
            state: Some(*s),
            ..ItemPatch::default()
        };
        backlog.update_item(&actor(), id, &patch).await.unwrap();
    }
}

store_test!(reviews_are_scored_weighted_and_evidenced, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let ops = OpsStore::new(store.as_ref());
    let backlog = BacklogStore::new(store.as_ref());
    let s = supplier(&suppliers, "Acme").await;

    // Backlog items the supplier caused, and one that waited on it and was resolved.
    let outage = item(&backlog, "Outage at Acme").await;
    let waiting = item(&backlog, "Ticket with Acme").await;
    let link = |item_id, relation| LinkInput { item_id, relation };
    suppliers
        .link_item(&actor(), s, &link(outage, LinkRelation::CausedBy))
        .await
        .unwrap();
    suppliers
        .link_item(&actor(), s, &link(outage, LinkRelation::CausedBy))
        .await
        .unwrap();
    suppliers
        .link_item(&actor(), s, &link(waiting, LinkRelation::WaitingOn))
        .await
        .unwrap();
    use ItemState::*;
    move_to(
        &backlog,
        waiting,
        &[Triaged, InProgress, WaitingSupplier, Resolved],
    )
    .await;
    assert_eq!(suppliers.linked_items(s).await.unwrap().len(), 2);
    let err = suppliers
        .link_item(&actor(), s, &link(waiting + 100, LinkRelation::CausedBy))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");

    let mut first = review(s, [4, 4, 3, 2, 5], ReviewOutcome::Satisfactory);
    first.actions = vec![ActionInput {
        title: "Agree an escalation path".into(),
        owner_person_id: None,
        due_date: None,
    }];
    let first = suppliers.record_review(&actor(), &first).await.unwrap();
    // (4*25 + 4*20 + 3*20 + 2*15 + 5*20) / 100
    assert_eq!(first.weighted_score, Some(3.7));
    assert_eq!(first.objective.caused_opened, 1);
    assert_eq!(first.objective.caused_resolved, 0);
    assert_eq!(
        (
            first.objective.waiting_opened,
            first.objective.waiting_resolved
        ),
        (1, 1)
    );
    assert_eq!(first.actions.len(), 1);

    let second = suppliers
        .record_review(
            &actor(),
            &review(s, [2, 3, 2, 2, 3], ReviewOutcome::ImprovementRequired),
        )
        .await
        .unwrap();
    assert_eq!(second.weighted_score, Some(2.4));
    let trend: Vec<_> = suppliers
        .review_history(s)
        .await
        .unwrap()
        .iter()
        .map(|r| r.weighted_score)
        .collect();
    assert_eq!(trend, [Some(3.7), Some(2.4)]);

    // Both reviews are evidence on the supplier's review activity.
    let activity = suppliers
        .get_supplier(s)
        .await
        .unwrap()
        .review_activity_id
        .unwrap();
    let evidence = ops
        .list_evidence(Some(Practice::Suppliers), Some(activity), None, None, 10)
        .await
        .unwrap();
    let mut results: Vec<_> = evidence.iter().map(|e| e.result).collect();
    results.sort_by_key(|r| r.as_str());
    assert_eq!(results, [EvidenceResult::Partial, EvidenceResult::Passed]);
    // The first scheduled review is on the 1st of next month: a review held today is
    // evidence, but it completes no occurrence that has not started (issue 20 item 11).
    assert!(evidence.iter().all(|e| e.occurrence_at.is_none()));
    assert_eq!(
        first.evidence_id,
        evidence
            .iter()
            .find(|e| e.result == EvidenceResult::Passed)
            .map(|e| e.id)
    );

    // Actions are tracked to done, once.
    let action = suppliers
        .set_action_done(&actor(), first.actions[0].id, true)
        .await
        .unwrap();
    assert!(action.done && action.done_by.as_deref() == Some("user:buyer"));
    let again = suppliers
        .set_action_done(&actor(), action.id, true)
        .await
        .unwrap();
    assert_eq!(again.done_at, action.done_at);
    let added = suppliers
        .add_action(
            &actor(),
            second.id,
            &ActionInput {
                title: "Monthly service call".into(),
                owner_person_id: None,
                due_date: None,
            },
        )
        .await
        .unwrap();
    assert!(!added.done);
    let listed = suppliers
        .list_reviews(Some(s), PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items[1].actions.len(), 1);
});
