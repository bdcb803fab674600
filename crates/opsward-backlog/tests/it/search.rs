use crate::items::{actor, input};
use opsward_backlog::{
    search::RANK_WINDOW, BacklogStore, ItemFilter, ItemPatch, ItemState, ItemType,
};
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

/// Every page of `filter`, following the cursor, as ids.
async fn all_pages(backlog: &BacklogStore, filter: &ItemFilter, size: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut page = backlog
        .list_items(filter, PageRequest::first(size))
        .await
        .unwrap();
    loop {
        assert!(page.items.len() <= size as usize);
        ids.extend(page.items.iter().map(|i| i.id));
        let Some(cursor) = page.next_cursor else {
            break;
        };
        page = backlog
            .list_items(
                filter,
                PageRequest::from_params(Some(size), Some(&cursor)).unwrap(),
            )
            .await
            .unwrap();
    }
    ids
}

store_test!(
    full_text_list_pages_in_id_order,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        // 24 items: every second one mentions a full disk, every third is triaged; the words sit
        // in the title or the description so both columns are searched.
        let mut expected_all = Vec::new();
        let mut expected_triaged = Vec::new();
        for n in 0..24 {
            let (title, description) = match n % 4 {
                0 => (format!("disk full on db-{n}"), String::new()),
                1 => (format!("printer {n} jams"), "paper tray".to_string()),
                2 => (format!("alarm {n}"), "the disk is full again".to_string()),
                _ => (format!("full moon {n}"), "no disk here".to_string()),
            };
            let item = backlog
                .create_item(&actor(), &input(ItemType::Problem, &title, &description))
                .await
                .unwrap();
            if n % 3 == 0 {
                backlog
                    .update_item(
                        &actor(),
                        item.id,
                        &ItemPatch {
                            state: Some(ItemState::Triaged),
                            ..ItemPatch::default()
                        },
                    )
                    .await
                    .unwrap();
            }
            // "full moon ... no disk here" has both words too: the list matches all words
            // anywhere in the item, not a phrase.
            if n % 4 != 1 {
                expected_all.push(item.id);
                if n % 3 == 0 {
                    expected_triaged.push(item.id);
                }
            }
        }
        let q = ItemFilter {
            q: Some("Disk FULL".into()),
            ..ItemFilter::default()
        };
        for size in [1, 2, 5, 50] {
            assert_eq!(
                all_pages(&backlog, &q, size).await,
                expected_all,
                "page size {size}"
            );
        }
        let triaged = ItemFilter {
            state: Some(ItemState::Triaged),
            ..q.clone()
        };
        assert_eq!(expected_triaged.len(), 6);
        for size in [1, 4, 50] {
            assert_eq!(
                all_pages(&backlog, &triaged, size).await,
                expected_triaged,
                "page size {size}"
            );
        }
        // A cursor taken from a list without words pages the word list from the same place.
        let plain = backlog
            .list_items(&ItemFilter::default(), PageRequest::first(7))
            .await
            .unwrap();
        let cursor = plain.next_cursor.expect("24 items make more than one page");
        let after = plain.items.last().unwrap().id;
        let rest = backlog
            .list_items(
                &q,
                PageRequest::from_params(Some(50), Some(&cursor)).unwrap(),
            )
            .await
            .unwrap();
        let want: Vec<i64> = expected_all
            .iter()
            .copied()
            .filter(|id| *id > after)
            .collect();
        assert_eq!(rest.items.iter().map(|i| i.id).collect::<Vec<_>>(), want);
        assert!(rest.next_cursor.is_none());
    }
);

store_test!(ranking_scores_the_newest_matches, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    // The oldest item matches best ("raid" in both title and description, nothing else);
    // RANK_WINDOW newer items mention it once among other words.
    let mut inputs = vec![input(ItemType::Problem, "raid raid", "raid")];
    for n in 0..RANK_WINDOW {
        inputs.push(input(
            ItemType::Incident,
            &format!("controller {n} reports a degraded raid after the firmware update"),
            "seen on the nightly check of the storage shelf",
        ));
    }
    let items = backlog.import_items(&actor(), &inputs).await.unwrap();
    let oldest = items[0].id;
    let newest = items.last().unwrap().id;

    let two = backlog.search("raid", 2).await.unwrap();
    // More than RANK_WINDOW items match "raid": only the newest RANK_WINDOW are ranked, so the
    // oldest (the best match overall) is left out, and ties go to the newest.
    assert!(two.iter().all(|i| i.id != oldest));
    assert_eq!(two[0].id, newest);
    // Once fewer items match, the oldest is ranked again and wins.
    let patch = ItemPatch {
        title: Some("controller reports a degraded array".into()),
        ..ItemPatch::default()
    };
    backlog.update_item(&actor(), newest, &patch).await.unwrap();
    let best = backlog.search("raid", 2).await.unwrap();
    assert_eq!(best[0].id, oldest);
    let similar = backlog.similar("raid", "").await.unwrap();
    assert_eq!(similar[0].id, oldest);
});
