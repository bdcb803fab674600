use crate::items::{actor, input};
use opsward_backlog::{BacklogStore, ItemFilter, ItemPatch, ItemType};
use opsward_core::page::PageRequest;
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::Arc;

async fn seed(backlog: &BacklogStore) -> [i64; 3] {
    let mut ids = [0; 3];
    for (n, (title, description)) in [
        (
            "db-01 disk almost full",
            "The data volume of the primary database grows 2 GB a day",
        ),
        ("Printer on floor 3 jams", "Paper tray keeps jamming"),
        (
            "Certificate for intranet expires",
            "Renew before the disk backup of db-02 moves",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        ids[n] = backlog
            .create_item(&actor(), &input(ItemType::Problem, title, description))
            .await
            .unwrap()
            .id;
    }
    ids
}

store_test!(search_finds_by_words_in_any_order, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let [disk, printer, _] = seed(&backlog).await;
    let found = backlog.search("disk full on db-01", 10).await.unwrap();
    let ids: Vec<_> = found.iter().map(|i| i.id).collect();
    assert_eq!(ids, [disk]);
    let found = backlog.search("printers jamming", 10).await.unwrap();
    assert_eq!(
        found.iter().map(|i| i.id).collect::<Vec<_>>(),
        [printer],
        "stemmed"
    );
    assert!(backlog
        .search("\"unbalanced NEAR(", 10)
        .await
        .unwrap()
        .is_empty());
    assert!(backlog.search("the on", 10).await.unwrap().is_empty());

    let q = ItemFilter {
        q: Some("database".into()),
        ..ItemFilter::default()
    };
    let page = backlog
        .list_items(&q, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), [disk]);
});

store_test!(search_follows_edits, |store: Arc<dyn Store>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let [_, printer, _] = seed(&backlog).await;
    let patch = ItemPatch {
        title: Some("Scanner on floor 3 jams".into()),
        ..ItemPatch::default()
    };
    backlog
        .update_item(&actor(), printer, &patch)
        .await
        .unwrap();
    assert!(backlog.search("printer", 10).await.unwrap().is_empty());
    assert_eq!(backlog.search("scanner", 10).await.unwrap()[0].id, printer);
});

store_test!(similar_ranks_possible_duplicates, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let [disk, printer, cert] = seed(&backlog).await;
    let similar = backlog.similar("Disk full on db-01", "").await.unwrap();
    let ids: Vec<_> = similar.iter().map(|i| i.id).collect();
    assert_eq!(
        ids,
        [disk, cert],
        "best match first, unrelated items left out"
    );
    assert!(!ids.contains(&printer));

    for n in 0..8 {
        backlog
            .create_item(
                &actor(),
                &input(ItemType::Incident, &format!("disk alarm {n}"), ""),
            )
            .await
            .unwrap();
    }
    assert_eq!(backlog.similar("disk", "").await.unwrap().len(), 5);
    assert!(backlog.similar("", "").await.unwrap().is_empty());
});
