use crate::{actor, supplier_input};
use opsward_core::{
    asset::Criticality, audit::AuditFilter, page::PageRequest, people::TeamInput,
    practice::Practice,
};
use opsward_ops::OpsStore;
use opsward_store::{Store, StoreError};
use opsward_suppliers::{Contact, SupplierFilter, SupplierStore};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(
    a_supplier_is_registered_with_its_review_schedule,
    |store: Arc<dyn Store>| async move {
        let suppliers = SupplierStore::new(store.as_ref());
        let ops = OpsStore::new(store.as_ref());
        let asset = store
            .create_asset(&actor(), &opsward_testkit::asset_input("fw-01"))
            .await
            .unwrap();
        let team = store
            .create_team(
                &actor(),
                &TeamInput {
                    name: "buyers".into(),
                    email: None,
                },
            )
            .await
            .unwrap();
        let mut input = supplier_input("  Acme Hosting ", Criticality::Critical);
        input.asset_ids = vec![asset.id, asset.id];
        input.owner_team_id = Some(team.id);
        input.contacts = vec![Contact {
            name: "Ann".into(),
            email: "ann@acme.example".into(),
            phone: "+44 20 7946 0000".into(),
            role: "account manager".into(),
        }];
        let s = suppliers.create_supplier(&actor(), &input).await.unwrap();
        assert_eq!(s.name, "Acme Hosting");
        assert_eq!(s.asset_ids, vec![asset.id]);
        assert_eq!(s.contacts[0].role, "account manager");

        let activity = ops
            .get_activity(s.review_activity_id.unwrap())
            .await
            .unwrap();
        assert_eq!(activity.practice, Practice::Suppliers);
        assert_eq!(activity.rrule, "FREQ=MONTHLY;INTERVAL=3");
        assert_eq!(activity.owner_team_id, Some(team.id));

        // Lower criticality: reviews become yearly.
        input.criticality = Criticality::Low;
        let s = suppliers
            .update_supplier(&actor(), s.id, &input)
            .await
            .unwrap();
        let activity = ops
            .get_activity(s.review_activity_id.unwrap())
            .await
            .unwrap();
        assert_eq!(activity.rrule, "FREQ=YEARLY");

        // Unknown assets and duplicate names are refused; nothing is scheduled for them.
        let mut bad = supplier_input("Other", Criticality::Low);
        bad.asset_ids = vec![asset.id + 1000];
        let err = suppliers.create_supplier(&actor(), &bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
        let err = suppliers
            .create_supplier(&actor(), &supplier_input("Acme Hosting", Criticality::Low))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        let activities = ops
            .list_activities(&Default::default(), true)
            .await
            .unwrap();
        assert_eq!(
            activities.len(),
            1,
            "failed registrations leave no activity behind"
        );

        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("supplier".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(10),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 2, "create and update are audited");

        // Deleting keeps the activity (its evidence still names it) but stops scheduling it.
        suppliers.delete_supplier(&actor(), s.id).await.unwrap();
        assert!(suppliers
            .get_supplier(s.id)
            .await
            .unwrap_err()
            .is_not_found());
        assert!(!ops.get_activity(activity.id).await.unwrap().active);
    }
);

store_test!(
    suppliers_are_filtered_and_paged,
    |store: Arc<dyn Store>| async move {
        let suppliers = SupplierStore::new(store.as_ref());
        for (name, c) in [
            ("Acme 50% Cloud", Criticality::Critical),
            ("Beta Networks", Criticality::High),
            ("Gamma Print", Criticality::Low),
        ] {
            suppliers
                .create_supplier(&actor(), &supplier_input(name, c))
                .await
                .unwrap();
        }
        let by = |f: SupplierFilter| {
            let suppliers = suppliers.clone();
            async move {
                suppliers
                    .list_suppliers(&f, PageRequest::first(50))
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            by(SupplierFilter {
                criticality: Some(Criticality::High),
                ..Default::default()
            })
            .await,
            ["Beta Networks"]
        );
        assert_eq!(
            by(SupplierFilter {
                q: Some("50%".into()),
                ..Default::default()
            })
            .await,
            ["Acme 50% Cloud"]
        );
        assert_eq!(
            by(SupplierFilter {
                q: Some("NET".into()),
                ..Default::default()
            })
            .await,
            ["Beta Networks"]
        );
        assert_eq!(
            by(SupplierFilter {
                category: Some("Hosting".into()),
                ..Default::default()
            })
            .await
            .len(),
            3
        );
        let first = suppliers
            .list_suppliers(&SupplierFilter::default(), PageRequest::first(2))
            .await
            .unwrap();
        assert_eq!(first.items.len(), 2);
        let cursor = first.next_cursor.unwrap();
        let rest = suppliers
            .list_suppliers(
                &SupplierFilter::default(),
                PageRequest::from_params(Some(2), Some(&cursor)).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(rest.next_cursor.is_none());
    }
);
