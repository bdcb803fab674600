use opsward_backlog::{
    priority::{Priority, WsjfInput},
    store::BacklogError,
    BacklogStore, CommentInput, ItemFilter, ItemInput, ItemPatch, ItemState, ItemType,
};
use opsward_core::{
    audit::AuditFilter,
    page::PageRequest,
    people::{PersonInput, TeamInput},
    Actor,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

pub fn actor() -> Actor {
    Actor::user(1, "triager")
}

pub fn input(item_type: ItemType, title: &str, description: &str) -> ItemInput {
    ItemInput {
        item_type,
        title: title.into(),
        description: description.into(),
        impact: 2,
        urgency: 1,
        wsjf: None,
        team_id: None,
        assignee_person_id: None,
        tags: vec![],
        asset_ids: vec![],
    }
}

fn to(state: ItemState) -> ItemPatch {
    ItemPatch {
        state: Some(state),
        ..ItemPatch::default()
    }
}

store_test!(
    create_move_and_history,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "ops".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let person = store
            .create_person(
                &actor(),
                &PersonInput {
                    name: "Ana".into(),
                    email: "ana@example.com".into(),
                    team_id: None,
                },
            )
            .await
            .unwrap();
        let mut new = input(
            ItemType::Problem,
            "Backups slow",
            "Nightly backup runs into business hours",
        );
        new.team_id = Some(team.id);
        new.tags = vec!["Backup".into(), "backup".into()];
        let item = backlog.create_item(&actor(), &new).await.unwrap();
        assert_eq!(item.state, ItemState::New);
        assert_eq!(item.priority, Priority::P2);
        assert_eq!(item.tags, ["backup"]);

        let refused = backlog
            .update_item(&actor(), item.id, &to(ItemState::Resolved))
            .await;
        match refused {
            Err(BacklogError::Transition(e)) => {
                assert!(e.to_string().contains("new to resolved"), "{e}")
            }
            other => panic!("expected a refused transition, got {other:?}"),
        }

        backlog
            .update_item(&actor(), item.id, &to(ItemState::Triaged))
            .await
            .unwrap();
        let assign = ItemPatch {
            state: Some(ItemState::InProgress),
            assignee_person_id: Some(Some(person.id)),
            urgency: Some(3),
            ..ItemPatch::default()
        };
        let moved = backlog
            .update_item(&actor(), item.id, &assign)
            .await
            .unwrap();
        assert_eq!(moved.assignee_person_id, Some(person.id));
        assert_eq!(moved.priority, Priority::P4);
        assert_eq!(backlog.get_item(item.id).await.unwrap(), moved);

        let missing = ItemPatch {
            team_id: Some(Some(9999)),
            ..ItemPatch::default()
        };
        assert!(matches!(
            backlog.update_item(&actor(), item.id, &missing).await,
            Err(BacklogError::Store(StoreError::Invalid(_)))
        ));

        let comment = backlog
            .add_comment(
                &actor(),
                item.id,
                &CommentInput {
                    body: "Vendor says: upgrade agent".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(comment.author, "user:triager");
        assert_eq!(backlog.comments(item.id).await.unwrap(), [comment]);

        let history = backlog.history(item.id).await.unwrap();
        let actions: Vec<_> = history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions, ["create", "update", "update", "comment"]);
        assert_eq!(history[2].changes["state"]["before"], "triaged");
        assert_eq!(history[2].changes["state"]["after"], "in_progress");
        assert_eq!(history[2].changes["urgency"]["after"], 3);
        assert!(
            history[2].changes.get("title").is_none(),
            "unchanged fields are not history"
        );

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("backlog_item".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(
            audit.items.len(),
            3,
            "create and two updates; refused changes leave no trace"
        );
    }
);

store_test!(
    closed_is_final_and_no_op_patch_writes_nothing,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let item = backlog
            .create_item(&actor(), &input(ItemType::Incident, "Printer offline", ""))
            .await
            .unwrap();
        for s in [
            ItemState::Triaged,
            ItemState::InProgress,
            ItemState::WaitingSupplier,
            ItemState::Resolved,
        ] {
            backlog
                .update_item(&actor(), item.id, &to(s))
                .await
                .unwrap();
        }
        let reopened = backlog
            .update_item(&actor(), item.id, &to(ItemState::InProgress))
            .await
            .unwrap();
        assert_eq!(reopened.state, ItemState::InProgress);
        backlog
            .update_item(&actor(), item.id, &to(ItemState::Resolved))
            .await
            .unwrap();
        let closed = backlog
            .update_item(&actor(), item.id, &to(ItemState::Closed))
            .await
            .unwrap();
        assert!(matches!(
            backlog
                .update_item(&actor(), item.id, &to(ItemState::InProgress))
                .await,
            Err(BacklogError::Transition(_))
        ));

        let before = backlog.history(item.id).await.unwrap().len();
        let same = backlog
            .update_item(&actor(), item.id, &to(ItemState::Closed))
            .await
            .unwrap();
        assert_eq!(same, closed, "updated_at kept");
        assert_eq!(backlog.history(item.id).await.unwrap().len(), before);
    }
);

store_test!(wsjf_and_validation, |store: Arc<dyn Store>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let mut improvement = input(ItemType::Improvement, "Automate renewals", "");
    improvement.wsjf = Some(WsjfInput {
        business_value: 8,
        time_criticality: 3,
        risk_reduction: 5,
        job_size: 2,
    });
    let item = backlog.create_item(&actor(), &improvement).await.unwrap();
    assert_eq!(item.wsjf_score, Some(8.0));
    assert_eq!(
        backlog.get_item(item.id).await.unwrap().wsjf,
        improvement.wsjf
    );

    let mut risk = input(ItemType::Risk, "Single DNS server", "");
    risk.wsjf = improvement.wsjf;
    risk.asset_ids = vec![4242];
    assert!(matches!(
        backlog.create_item(&actor(), &risk).await,
        Err(StoreError::Invalid(_))
    ));
    risk.wsjf = None;
    let err = backlog.create_item(&actor(), &risk).await.unwrap_err();
    assert!(err.to_string().contains("asset_ids"), "{err}");
    assert!(matches!(
        backlog.get_item(9999).await,
        Err(StoreError::NotFound(_))
    ));
});

store_test!(list_filters_and_pages, |store: Arc<dyn Store>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    for n in 0..5 {
        let t = if n % 2 == 0 {
            ItemType::Risk
        } else {
            ItemType::Problem
        };
        backlog
            .create_item(&actor(), &input(t, &format!("Item {n}"), ""))
            .await
            .unwrap();
    }
    let first = backlog
        .list_items(&ItemFilter::default(), PageRequest::first(3))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let next = PageRequest::from_params(Some(3), first.next_cursor.as_deref()).unwrap();
    let second = backlog
        .list_items(&ItemFilter::default(), next)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert!(second.next_cursor.is_none());
    assert!(second.items[0].id > first.items[2].id);

    let risks = ItemFilter {
        item_type: Some(ItemType::Risk),
        ..ItemFilter::default()
    };
    let page = backlog
        .list_items(&risks, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    let triaged = ItemFilter {
        state: Some(ItemState::Triaged),
        ..ItemFilter::default()
    };
    assert!(backlog
        .list_items(&triaged, PageRequest::first(50))
        .await
        .unwrap()
        .items
        .is_empty());

    let all = backlog.all_items().await.unwrap();
    let report = opsward_backlog::aging::aging(&all, chrono::Utc::now(), 14);
    assert_eq!(report.buckets.days_0_7, 5);
    assert_eq!(report.unowned.len(), 5);
});
