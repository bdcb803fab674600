//! Imports are all or nothing, on both backends; an export imports again.

use crate::items::{actor, input};
use opsward_backlog::{
    transfer::{read_csv, write_csv, ColumnMapping},
    BacklogStore, ItemType,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(
    import_is_all_or_nothing,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let mut batch = vec![
            input(
                ItemType::Problem,
                "Disk latency on san-2",
                "spikes at 02:00",
            ),
            input(ItemType::Risk, "Single DNS provider", ""),
            input(ItemType::Incident, "Wifi drops in room 4", ""),
        ];
        // The last one names a team that does not exist: it fails after two were inserted
        // inside the transaction, and those two must vanish with it.
        batch[2].team_id = Some(999);
        let (record, err) = backlog.import_items(&actor(), &batch).await.unwrap_err();
        assert_eq!(record, 2);
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        assert!(
            backlog.all_items().await.unwrap().is_empty(),
            "nothing half-imported"
        );
        assert!(
            backlog.search("latency", 10).await.unwrap().is_empty(),
            "nor in the search index"
        );

        batch[2].team_id = None;
        let items = backlog.import_items(&actor(), &batch).await.unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(
            backlog.history(items[0].id).await.unwrap()[0].action,
            "create"
        );
        assert_eq!(backlog.search("latency", 10).await.unwrap().len(), 1);

        // Export, then import the export: the same items again.
        let exported = write_csv(&backlog.all_items().await.unwrap()).unwrap();
        let again = read_csv(&exported, &ColumnMapping::default()).unwrap();
        let titles: Vec<_> = again.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Disk latency on san-2",
                "Single DNS provider",
                "Wifi drops in room 4"
            ]
        );
        assert_eq!(again[0].description, "spikes at 02:00");
        assert_eq!(
            (again[0].impact, again[0].urgency, again[1].item_type),
            (2, 1, ItemType::Risk)
        );
    }
);

store_test!(
    bulk_edit_is_all_or_nothing,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let mut ids = Vec::new();
        for t in [
            "Fan noise in rack 3",
            "UPS self-test failed",
            "Badge reader slow",
        ] {
            ids.push(
                backlog
                    .create_item(&actor(), &input(ItemType::Incident, t, ""))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let triage = opsward_backlog::ItemPatch {
            state: Some(opsward_backlog::ItemState::Triaged),
            urgency: Some(3),
            ..Default::default()
        };
        // The last item goes first so that the batch fails on its second item, after one
        // change was already written inside the transaction.
        backlog
            .update_item(&actor(), ids[2], &triage)
            .await
            .unwrap();
        let order = [ids[0], ids[2], ids[1]];
        let to_progress = opsward_backlog::ItemPatch {
            state: Some(opsward_backlog::ItemState::InProgress),
            ..Default::default()
        };
        let (failed, err) = backlog
            .bulk_update(&actor(), &order, &to_progress)
            .await
            .unwrap_err();
        assert_eq!(failed, ids[0], "new cannot move to in_progress: {err}");
        let (failed, _) = backlog
            .bulk_update(&actor(), &[ids[2], ids[0]], &to_progress)
            .await
            .unwrap_err();
        assert_eq!(failed, ids[0]);
        assert_eq!(
            backlog.get_item(ids[2]).await.unwrap().state,
            opsward_backlog::ItemState::Triaged,
            "the first item's move was rolled back with the batch"
        );
        let done = backlog
            .bulk_update(&actor(), &ids[..2], &triage)
            .await
            .unwrap();
        assert!(done
            .iter()
            .all(|i| i.state == opsward_backlog::ItemState::Triaged && i.urgency == 3));
        assert_eq!(backlog.history(ids[0]).await.unwrap().len(), 2);
    }
);
