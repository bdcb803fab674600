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
