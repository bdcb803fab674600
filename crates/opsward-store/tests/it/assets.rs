use crate::{actor, asset};
use opsward_core::{
    asset::{AssetFilter, AssetKind, Criticality},
    asset_csv::parse_assets_csv,
    audit::AuditFilter,
    page::PageRequest,
    people::TeamInput,
};
use opsward_store::{Store, StoreError};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(create_update_delete_write_audit_rows, |store: Arc<
    dyn Store,
>| async move {
    let mut input = asset("web-01");
    input.tags = vec!["Web".into(), "linux".into(), "web".into()];
    let created = store.create_asset(&actor(), &input).await.unwrap();
    assert_eq!(created.tags, ["linux", "web"]);

    input.criticality = Criticality::Critical;
    let updated = store
        .update_asset(&actor(), created.id, &input)
        .await
        .unwrap();
    assert_eq!(updated.criticality, Criticality::Critical);
    // An update that changes nothing writes no audit row.
    store
        .update_asset(&actor(), created.id, &input)
        .await
        .unwrap();
    store.delete_asset(&actor(), created.id).await.unwrap();
    assert!(store
        .get_asset(created.id)
        .await
        .unwrap_err()
        .is_not_found());

    let log = store
        .list_audit(
            &AuditFilter {
                entity_type: Some("asset".into()),
                ..Default::default()
            },
            PageRequest::first(50),
        )
        .await
        .unwrap();
    let actions: Vec<_> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    let update = &log.items[1];
    assert_eq!(update.actor, "user:tester");
    assert_eq!(update.before.as_ref().unwrap()["criticality"], "medium");
    assert_eq!(update.after.as_ref().unwrap()["criticality"], "critical");
    assert!(log.items[0].after.is_none());
});

store_test!(
    duplicate_names_conflict,
    |store: Arc<dyn Store>| async move {
        store.create_asset(&actor(), &asset("dup")).await.unwrap();
        let err = store
            .create_asset(&actor(), &asset("dup"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        // The failed create left no audit row behind: the change and its audit share a transaction.
        let log = store
            .list_audit(&Default::default(), PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(log.items.len(), 1);
    }
);

store_test!(
    invalid_input_and_missing_owner_are_rejected,
    |store: Arc<dyn Store>| async move {
        let mut bad = asset("ok");
        bad.name = "nul\0byte".into();
        assert!(matches!(
            store.create_asset(&actor(), &bad).await,
            Err(StoreError::Invalid(_))
        ));
        let mut orphan = asset("orphan");
        orphan.owner_team_id = Some(4242);
        assert!(matches!(
            store.create_asset(&actor(), &orphan).await,
            Err(StoreError::Invalid(_))
        ));
    }
);

store_test!(
    filters_and_keyset_pages,
    |store: Arc<dyn Store>| async move {
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
        for i in 0..25 {
            let mut a = asset(&format!("host-{i:02}"));
            if i % 5 == 0 {
                a.kind = AssetKind::Service;
                a.tags = vec!["payments".into()];
                a.owner_team_id = Some(team.id);
                a.description = format!("Payment_{i} 100% critical path");
            }
            store.create_asset(&actor(), &a).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut page = PageRequest::first(10);
        loop {
            let got = store
                .list_assets(&AssetFilter::default(), page)
                .await
                .unwrap();
            seen.extend(got.items.iter().map(|a| a.name.clone()));
            match got.next_cursor {
                Some(c) => page = PageRequest::from_params(Some(10), Some(&c)).unwrap(),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(seen.first().unwrap(), "host-00");

        let services = AssetFilter {
            kind: Some(AssetKind::Service),
            tag: Some("PAYMENTS".into()),
            owner_team_id: Some(team.id),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_assets(&services, PageRequest::first(50))
                .await
                .unwrap()
                .items
                .len(),
            5
        );
        // LIKE wildcards in the search text are matched literally.
        let percent = AssetFilter {
            q: Some("100%".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_assets(&percent, PageRequest::first(50))
                .await
                .unwrap()
                .items
                .len(),
            5
        );
        let underscore = AssetFilter {
            q: Some("t_1".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_assets(&underscore, PageRequest::first(50))
                .await
                .unwrap()
                .items
                .len(),
            2
        );
        let name = AssetFilter {
            q: Some("HOST-1".into()),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_assets(&name, PageRequest::first(50))
                .await
                .unwrap()
                .items
                .len(),
            10
        );
    }
);

const CSV: &str = "name,kind,environment,criticality,owner,tags,description\n\
web-01,host,production,high,team:ops,web;linux,front\n\
web-02,host,production,high,team:nope,,\n\
db-01,hostt,production,high,,,\n\
db-02,host,staging,low,,db,\n";

store_test!(import_reports_bad_rows_and_keeps_good_ones, |store: Arc<
    dyn Store,
>| async move {
    store
        .create_team(
            &actor(),
            &TeamInput {
                name: "ops".into(),
                email: None,
            },
        )
        .await
        .unwrap();
    let parsed = parse_assets_csv(CSV.as_bytes()).unwrap();
    let (good, bad): (Vec<_>, Vec<_>) = parsed.into_iter().partition(|r| r.is_ok());
    let good: Vec<_> = good.into_iter().map(Result::unwrap).collect();
    let bad: Vec<_> = bad.into_iter().map(|r| r.unwrap_err()).collect();

    let strict = store
        .import_assets(&actor(), &good, &bad, true)
        .await
        .unwrap();
    assert!(!strict.committed);
    assert_eq!(store.count_assets().await.unwrap(), 0);

    let report = store
        .import_assets(&actor(), &good, &bad, false)
        .await
        .unwrap();
    assert!(report.committed);
    assert_eq!((report.created, report.updated), (2, 0));
    let lines: Vec<_> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4]);
    assert!(report.errors[0].message.contains("no team named \"nope\""));

    // Importing again changes nothing; an edited row updates.
    let again = store
        .import_assets(&actor(), &good, &[], false)
        .await
        .unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2));
    let export = store.export_assets().await.unwrap();
    assert_eq!(export.len(), 2);
    assert_eq!(export[1].0.name, "web-01");
    assert_eq!(export[1].1.as_ref().unwrap().render(), "team:ops");
});

store_test!(
    strict_import_with_unresolvable_owner_writes_nothing,
    |store: Arc<dyn Store>| async move {
        let parsed = parse_assets_csv(CSV.as_bytes()).unwrap();
        let good: Vec<_> = parsed.into_iter().filter_map(Result::ok).collect();
        let report = store
            .import_assets(&actor(), &good, &[], true)
            .await
            .unwrap();
        assert!(!report.committed);
        assert_eq!(report.errors.len(), 2, "{report:?}"); // both team:ops and team:nope are unknown here
        assert_eq!(store.count_assets().await.unwrap(), 0);
        let log = store
            .list_audit(&Default::default(), PageRequest::first(50))
            .await
            .unwrap();
        assert!(log.items.is_empty());
    }
);

// Issue 19, failure 5: a strict import with parse errors used to stop before checking the
// good rows, so a row with an unknown owner went unreported.
store_test!(strict_import_lists_every_bad_row, |store: Arc<
    dyn Store,
>| async move {
    let csv =
        format!("{CSV},host,,,,,\nmail-01,host,production,high,person:nobody@example.com,,\n");
    let parsed = parse_assets_csv(csv.as_bytes()).unwrap();
    let (good, bad): (Vec<_>, Vec<_>) = parsed.into_iter().partition(|r| r.is_ok());
    let good: Vec<_> = good.into_iter().map(Result::unwrap).collect();
    let bad: Vec<_> = bad.into_iter().map(|r| r.unwrap_err()).collect();
    let report = store
        .import_assets(&actor(), &good, &bad, true)
        .await
        .unwrap();
    assert!(!report.committed);
    let lines: Vec<_> = report.errors.iter().map(|e| e.line).collect();
    // team:ops and team:nope unknown (2, 3), bad kind (4), no name (6), unknown person (7).
    assert_eq!(lines, [2, 3, 4, 6, 7], "{report:?}");
    assert_eq!(store.count_assets().await.unwrap(), 0);
});
