//! Two people editing one item: the second change based on an old version is refused with
//! a conflict instead of silently overwriting the first.

use crate::items::{actor, input};
use opsward_backlog::{store::BacklogError, BacklogStore, ItemPatch, ItemType};
use opsward_core::Actor;
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

fn retitle(title: &str, version: Option<i64>) -> ItemPatch {
    ItemPatch {
        title: Some(title.into()),
        version,
        ..ItemPatch::default()
    }
}

store_test!(
    stale_version_is_a_conflict,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let item = backlog
            .create_item(&actor(), &input(ItemType::Problem, "Printer jams", ""))
            .await
            .unwrap();
        assert_eq!(item.version, 1);
        // Alice and Bob both opened version 1. Alice saves first.
        let alice = Actor::user(2, "alice");
        let bob = Actor::user(3, "bob");
        let saved = backlog
            .update_item(&alice, item.id, &retitle("Printer jams on tray 2", Some(1)))
            .await
            .unwrap();
        assert_eq!(saved.version, 2);
        let err = backlog
            .update_item(&bob, item.id, &retitle("Printer out of toner", Some(1)))
            .await
            .unwrap_err();
        match &err {
            BacklogError::VersionConflict { id, yours, current } => {
                assert_eq!((*id, *yours, *current), (item.id, 1, 2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert!(err.to_string().contains("changed by someone else"), "{err}");
        let stored = backlog.get_item(item.id).await.unwrap();
        assert_eq!(
            stored.title, "Printer jams on tray 2",
            "Alice's change survives"
        );
        assert_eq!(stored.version, 2);
        // Bob reloads and applies his change on top.
        let merged = backlog
            .update_item(
                &bob,
                item.id,
                &retitle("Printer jams, out of toner", Some(2)),
            )
            .await
            .unwrap();
        assert_eq!(merged.version, 3);
        let history = backlog.history(item.id).await.unwrap();
        let actors: Vec<_> = history.iter().map(|h| h.actor.as_str()).collect();
        assert_eq!(actors, ["user:triager", "user:alice", "user:bob"]);
        // A change that changes nothing keeps the version.
        let same = backlog
            .update_item(
                &bob,
                item.id,
                &retitle("Printer jams, out of toner", Some(3)),
            )
            .await
            .unwrap();
        assert_eq!(same.version, 3);
    }
);

store_test!(concurrent_editors_never_lose_an_update, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    for round in 0..5 {
        let item = backlog
            .create_item(
                &actor(),
                &input(ItemType::Incident, &format!("VPN drops {round}"), ""),
            )
            .await
            .unwrap();
        // Both based on version 1, sent at the same moment on separate connections.
        let (alice, bob) = (Actor::user(2, "alice"), Actor::user(3, "bob"));
        let (pa, pb) = (retitle("by alice", Some(1)), retitle("by bob", Some(1)));
        let (a, b) = tokio::join!(
            backlog.update_item(&alice, item.id, &pa),
            backlog.update_item(&bob, item.id, &pb),
        );
        let (winner, loser) = match (&a, &b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            other => panic!("exactly one editor must win: {other:?}"),
        };
        assert!(
            matches!(
                loser,
                BacklogError::VersionConflict {
                    yours: 1,
                    current: 2,
                    ..
                }
            ),
            "{loser:?}"
        );
        let stored = backlog.get_item(item.id).await.unwrap();
        assert_eq!(stored.title, winner.title);
        assert_eq!(stored.version, 2);
        // Without a version both apply in turn or the later one is refused; never does
        // a write vanish without a trace in the history.
        let (pa, pb) = (retitle("alice again", None), retitle("bob again", None));
        let (a, b) = tokio::join!(
            backlog.update_item(&alice, item.id, &pa),
            backlog.update_item(&bob, item.id, &pb),
        );
        let applied = [&a, &b].iter().filter(|r| r.is_ok()).count();
        let stored = backlog.get_item(item.id).await.unwrap();
        assert_eq!(stored.version, 2 + applied as i64);
        let updates = backlog.history(item.id).await.unwrap().len() - 1;
        assert_eq!(
            updates,
            1 + applied,
            "every applied change is in the history"
        );
    }
});
