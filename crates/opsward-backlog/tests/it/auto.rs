//! The reconciliation behind automatic items, on both backends: one item per source key
//! however often it runs, severity followed once, a cleared condition commented once, a
//! returning one commented again without a new item, and the same key raced by two
//! concurrent syncs linked once.

use opsward_backlog::{
    auto::{sync, AutoItemSource, Condition},
    BacklogStore, ItemPatch, ItemState, ItemType,
};
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

fn condition(key: &str, urgency: i32) -> Condition {
    Condition {
        source_key: key.into(),
        title: format!("Measure {key} failed"),
        description: "The failover test failed.".into(),
        item_type: ItemType::Problem,
        impact: 2,
        urgency,
        team_id: None,
        asset_ids: vec![],
        link: format!("/resilience/{key}"),
        label: format!("measure {key}"),
    }
}

fn job() -> Actor {
    Actor::system("backlog-auto")
}

const SOURCE: AutoItemSource = AutoItemSource::ResilienceTest;

store_test!(
    one_item_per_key_followed_cleared_and_returned,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let both = [condition("1", 2), condition("2", 2)];
        let first = sync(&backlog, &job(), SOURCE, &both).await.unwrap();
        assert_eq!((first.conditions, first.opened), (2, 2));
        let again = sync(&backlog, &job(), SOURCE, &both).await.unwrap();
        assert_eq!(
            (again.opened, again.reprioritised, again.cleared),
            (0, 0, 0)
        );
        let links = backlog.auto_items(Some(SOURCE), None).await.unwrap();
        assert_eq!(links.len(), 2);
        let items = backlog.all_items().await.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].tags, ["auto", "resilience-test"]);
        assert!(items[0].description.contains("[measure 1](/resilience/1)"));
        assert_eq!(
            backlog
                .auto_item_of(items[1].id)
                .await
                .unwrap()
                .unwrap()
                .source_key,
            "2"
        );
        // Other sources do not see these keys.
        assert!(backlog
            .auto_items(Some(AutoItemSource::Certificate), None)
            .await
            .unwrap()
            .is_empty());

        // A person lowers item 1's priority: it stands while the source's severity is the same.
        let one = links.iter().find(|l| l.source_key == "1").unwrap().item_id;
        backlog
            .update_item(
                &job(),
                one,
                &ItemPatch {
                    urgency: Some(3),
                    ..ItemPatch::default()
                },
            )
            .await
            .unwrap();
        sync(&backlog, &job(), SOURCE, &both).await.unwrap();
        assert_eq!(backlog.get_item(one).await.unwrap().urgency, 3);
        // The source gets worse: the item follows, once.
        let worse = [condition("1", 1), condition("2", 2)];
        let run = sync(&backlog, &job(), SOURCE, &worse).await.unwrap();
        assert_eq!(run.reprioritised, 1);
        assert_eq!(backlog.get_item(one).await.unwrap().urgency, 1);
        let version = backlog.get_item(one).await.unwrap().version;
        sync(&backlog, &job(), SOURCE, &worse).await.unwrap();
        assert_eq!(
            backlog.get_item(one).await.unwrap().version,
            version,
            "nothing to change"
        );

        // Key 2 clears: one comment, once; the item keeps its state.
        let cleared = sync(&backlog, &job(), SOURCE, &worse[..1]).await.unwrap();
        assert_eq!(cleared.cleared, 1);
        let again = sync(&backlog, &job(), SOURCE, &worse[..1]).await.unwrap();
        assert_eq!(again.cleared, 0);
        let two = links.iter().find(|l| l.source_key == "2").unwrap().item_id;
        let comments = backlog.comments(two).await.unwrap();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].author, "system:backlog-auto");
        assert!(comments[0].body.contains("has cleared (measure 2)"));
        let item = backlog.get_item(two).await.unwrap();
        assert_eq!(item.state, ItemState::New);
        assert!(backlog
            .history(two)
            .await
            .unwrap()
            .iter()
            .any(|h| h.action == "comment"));
        let link = backlog.auto_item_of(two).await.unwrap().unwrap();
        assert!(!link.active && link.cleared_at.is_some());

        // Someone closes it; the condition returns: a comment, no new item, still closed.
        for s in [
            ItemState::Triaged,
            ItemState::InProgress,
            ItemState::Resolved,
            ItemState::Closed,
        ] {
            backlog
                .update_item(
                    &job(),
                    two,
                    &ItemPatch {
                        state: Some(s),
                        ..ItemPatch::default()
                    },
                )
                .await
                .unwrap();
        }
        let back = sync(&backlog, &job(), SOURCE, &worse).await.unwrap();
        assert_eq!((back.returned, back.opened), (1, 0));
        assert_eq!(backlog.all_items().await.unwrap().len(), 2);
        assert_eq!(
            backlog.get_item(two).await.unwrap().state,
            ItemState::Closed
        );
        let comments = backlog.comments(two).await.unwrap();
        assert_eq!(comments.len(), 2);
        assert!(comments[1].body.contains("is back"));
        assert!(backlog.auto_item_of(two).await.unwrap().unwrap().active);
    }
);

store_test!(concurrent_syncs_link_each_key_once, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let conditions: Vec<Condition> = (0..10).map(|n| condition(&n.to_string(), 2)).collect();
    let runs = futures_join(&backlog, &conditions).await;
    assert_eq!(runs.iter().sum::<usize>(), 10, "{runs:?}");
    assert_eq!(backlog.auto_items(None, None).await.unwrap().len(), 10);
    assert_eq!(
        backlog.all_items().await.unwrap().len(),
        10,
        "losers rolled their item back"
    );
});

/// Four syncs of the same conditions at once; the items each opened.
async fn futures_join(backlog: &BacklogStore, conditions: &[Condition]) -> Vec<usize> {
    let actor = job();
    let (a, b, c, d) = tokio::join!(
        sync(backlog, &actor, SOURCE, conditions),
        sync(backlog, &actor, SOURCE, conditions),
        sync(backlog, &actor, SOURCE, conditions),
        sync(backlog, &actor, SOURCE, conditions),
    );
    [a, b, c, d]
        .into_iter()
        .map(|r| r.unwrap().opened)
        .collect()
}
