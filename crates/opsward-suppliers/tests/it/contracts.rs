use crate::{actor, contract_input, day, supplier};
use opsward_core::page::PageRequest;
use opsward_store::{Store, StoreError};
use opsward_suppliers::{
    notice::NoticePeriod, ContractFilter, ContractStatus, DecisionInput, DecisionKind, RenewalType,
    SupplierStore,
};
use opsward_testkit::store_test;
use std::sync::Arc;

store_test!(tacit_renewal_rolls_forward_exactly_once, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let s = supplier(&suppliers, "Acme").await;
    // Ends 2025-05-31 with three months' notice: the deadline is 2025-02-28.
    let c = suppliers
        .create_contract(
            &actor(),
            &contract_input(s, "2025-05-31", NoticePeriod::months(3)),
        )
        .await
        .unwrap();
    assert_eq!(c.notice_deadline, day("2025-02-28"));
    assert!(suppliers
        .roll_forward(&actor(), day("2025-02-28"))
        .await
        .unwrap()
        .is_empty());

    // Two runs at once (two schedulers): the term rolls once.
    let who = actor();
    let (a, b) = tokio::join!(
        suppliers.roll_forward(&who, day("2025-03-01")),
        suppliers.roll_forward(&who, day("2025-03-01"))
    );
    let rolled: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    assert_eq!(
        (rolled[0].from_end_date, rolled[0].to_end_date),
        (day("2025-05-31"), day("2026-05-31"))
    );
    assert_eq!(rolled[0].kind, "tacit");
    // And again later that day: nothing more.
    assert!(suppliers
        .roll_forward(&actor(), day("2025-03-01"))
        .await
        .unwrap()
        .is_empty());
    let c = suppliers.get_contract(c.id).await.unwrap();
    assert_eq!((c.end_date, c.renewal_count), (day("2026-05-31"), 1));
    assert_eq!(c.notice_deadline, day("2026-02-28"));
    assert_eq!(suppliers.renewals(c.id).await.unwrap().len(), 1);
});

store_test!(leap_day_contracts_keep_their_month_end, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let s = supplier(&suppliers, "Leap").await;
    let mut input = contract_input(s, "2024-02-29", NoticePeriod::months(1));
    input.start_date = day("2023-03-01");
    let c = suppliers.create_contract(&actor(), &input).await.unwrap();
    assert_eq!(c.notice_deadline, day("2024-01-29"));
    let r = suppliers
        .roll_forward(&actor(), day("2024-01-30"))
        .await
        .unwrap();
    assert_eq!(
        r.iter().map(|r| r.to_end_date).collect::<Vec<_>>(),
        [day("2025-02-28")]
    );
    // Nobody ran the job for two years: both missed terms roll, and the leap day returns.
    let r = suppliers
        .roll_forward(&actor(), day("2027-01-28"))
        .await
        .unwrap();
    assert_eq!(
        r.iter()
            .map(|r| (r.from_end_date, r.to_end_date))
            .collect::<Vec<_>>(),
        [
            (day("2025-02-28"), day("2026-02-28")),
            (day("2026-02-28"), day("2027-02-28"))
        ]
    );
    let r = suppliers
        .roll_forward(&actor(), day("2028-01-29"))
        .await
        .unwrap();
    assert_eq!(
        r.iter().map(|r| r.to_end_date).collect::<Vec<_>>(),
        [day("2028-02-29")]
    );
});

store_test!(
    decisions_stop_or_start_a_term,
    |store: Arc<dyn Store>| async move {
        let suppliers = SupplierStore::new(store.as_ref());
        let s = supplier(&suppliers, "Decider").await;
        let auto = suppliers
            .create_contract(
                &actor(),
                &contract_input(s, "2025-12-31", NoticePeriod::days(90)),
            )
            .await
            .unwrap();
        let terminate = DecisionInput {
            decision: DecisionKind::Terminate,
            note: "moving to B".into(),
        };
        let (decision, after) = suppliers
            .decide(&actor(), auto.id, &terminate)
            .await
            .unwrap();
        assert_eq!(decision.term_end_date, day("2025-12-31"));
        assert_eq!(decision.decided_by, "user:buyer");
        assert_eq!(after.term_decision, Some(DecisionKind::Terminate));
        assert!(
            suppliers
                .roll_forward(&actor(), day("2025-11-01"))
                .await
                .unwrap()
                .is_empty(),
            "notice was given: no tacit renewal"
        );

        let mut express = contract_input(s, "2024-12-31", NoticePeriod::months(2));
        express.renewal_type = RenewalType::Express;
        let express = suppliers.create_contract(&actor(), &express).await.unwrap();
        assert!(suppliers
            .roll_forward(&actor(), day("2024-12-01"))
            .await
            .unwrap()
            .is_empty());
        let renew = DecisionInput {
            decision: DecisionKind::Renew,
            note: String::new(),
        };
        let (_, renewed) = suppliers
            .decide(&actor(), express.id, &renew)
            .await
            .unwrap();
        assert_eq!(renewed.end_date, day("2025-12-31"));
        assert_eq!(
            renewed.term_decision, None,
            "the new term has no decision yet"
        );
        assert_eq!(
            renewed.status_on(day("2025-06-01")),
            ContractStatus::Ending,
            "express: ends unless renewed again"
        );
        assert_eq!(
            suppliers.renewals(express.id).await.unwrap()[0].kind,
            "express"
        );
        assert_eq!(suppliers.decisions(express.id).await.unwrap().len(), 1);

        // A new end date starts counting terms from there.
        let mut changed = contract_input(s, "2026-06-30", NoticePeriod::days(90));
        changed.renewal_type = RenewalType::Express;
        let changed = suppliers
            .update_contract(&actor(), express.id, &changed)
            .await
            .unwrap();
        assert_eq!(
            (changed.anchor_end_date, changed.renewal_count),
            (day("2026-06-30"), 0)
        );
    }
);

store_test!(contracts_are_validated_and_filtered, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let s = supplier(&suppliers, "Filtered").await;
    let mut bad = contract_input(s, "2023-07-15", NoticePeriod::months(3));
    bad.currency = None;
    match suppliers.create_contract(&actor(), &bad).await.unwrap_err() {
        StoreError::Invalid(v) => {
            let fields: Vec<_> = v.errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["notice", "currency"]);
        }
        other => panic!("{other:?}"),
    }
    let err = suppliers
        .create_contract(
            &actor(),
            &contract_input(s + 99, "2025-01-01", NoticePeriod::days(30)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    for end in ["2026-01-31", "2026-03-31", "2027-01-01"] {
        suppliers
            .create_contract(&actor(), &contract_input(s, end, NoticePeriod::days(30)))
            .await
            .unwrap();
    }
    let soon = suppliers
        .list_contracts(
            &ContractFilter::expiring_within(day("2026-01-01"), 90),
            PageRequest::first(50),
        )
        .await
        .unwrap();
    let ends: Vec<_> = soon.items.iter().map(|c| c.end_date).collect();
    assert_eq!(ends, [day("2026-01-31"), day("2026-03-31")]);
});
