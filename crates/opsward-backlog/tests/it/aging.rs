//! The aging report the database computes equals the one computed from every item, at the
//! bucket edges, for stale and unowned items, on both backends.

use chrono::{Duration, Utc};
use opsward_backlog::{aging::aging, BacklogStore, ItemPatch, ItemState, ItemType};
use opsward_store::{Database, Store};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(database_aging_report_matches_the_rules, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let actor = crate::items::actor();
    let now = Utc::now();
    let person = store
        .create_person(
            &actor,
            &opsward_core::people::PersonInput {
                name: "Ann".into(),
                email: "ann@example.com".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();
    // (created days ago, updated days ago, closed, assigned); fractions sit either side
    // of each bucket edge.
    let shapes: [(f64, f64, bool, bool); 11] = [
        (0.0, 0.0, false, false),
        (-2.0, -2.0, false, true),
        (7.9, 1.0, false, true),
        (8.0, 8.0, false, false),
        (30.99, 20.0, false, true),
        (31.0, 14.0, false, false),
        (90.5, 13.9, false, true),
        (91.0, 40.0, false, false),
        (400.0, 400.0, true, false),
        (400.0, 15.0, false, false),
        (15.0, 15.0, true, true),
    ];
    for (n, (created, updated, closed, assigned)) in shapes.iter().enumerate() {
        let mut input = crate::items::input(ItemType::Problem, &format!("item {n}"), "");
        input.assignee_person_id = assigned.then_some(person.id);
        let item = backlog.create_item(&actor, &input).await.unwrap();
        if *closed {
            for s in [
                ItemState::Triaged,
                ItemState::InProgress,
                ItemState::Resolved,
            ] {
                let patch = ItemPatch {
                    state: Some(s),
                    ..ItemPatch::default()
                };
                backlog.update_item(&actor, item.id, &patch).await.unwrap();
            }
        }
        let at = |days: f64| now - Duration::seconds((days * 86_400.0) as i64);
        match store.database() {
            Database::Sqlite(pool) => {
                sqlx::query(
                    "UPDATE backlog_items SET created_at = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(at(*created))
                .bind(at(*updated))
                .bind(item.id)
                .execute(&pool)
                .await
                .unwrap();
            }
            Database::Postgres(pool) => {
                sqlx::query(
                    "UPDATE backlog_items SET created_at = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(at(*created))
                .bind(at(*updated))
                .bind(item.id)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
    }
    let expected = aging(&backlog.all_items().await.unwrap(), now, 14);
    assert_eq!(expected.open, 9);
    assert_eq!(
        backlog.aging_report(now, 14, usize::MAX).await.unwrap(),
        expected
    );
    // A limit keeps the oldest ids of each list and every total.
    let limited = backlog.aging_report(now, 14, 2).await.unwrap();
    assert!(expected.stale.len() > 2 && expected.unowned.len() > 2);
    assert_eq!(limited, expected.clone().with_ids_limit(2));
    assert_eq!(
        (limited.stale_total, limited.unowned_total),
        (expected.stale.len(), expected.unowned.len())
    );
    let counts = backlog.aging_counts(now, 14).await.unwrap();
    assert_eq!(
        (counts.open, &counts.buckets, counts.stale, counts.unowned),
        (
            expected.open,
            &expected.buckets,
            expected.stale.len(),
            expected.unowned.len()
        )
    );
    assert_eq!(
        backlog.aging_report(now, 1, usize::MAX).await.unwrap(),
        aging(&backlog.all_items().await.unwrap(), now, 1)
    );
});
