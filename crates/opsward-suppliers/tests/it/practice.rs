//! The suppliers practice's conditions, deductions and asset facets from live data.

use crate::{actor, contract_input, reviews::scores, supplier_input};
use chrono::{Duration, NaiveTime, Utc};
use opsward_core::{
    asset::Criticality,
    contract::{PracticeContract, ProposedItemType, Severity, Tone},
};
use opsward_store::Store;
use opsward_suppliers::{
    notice::NoticePeriod, practice::SuppliersPractice, DecisionInput, DecisionKind, ReviewInput,
    ReviewOutcome, SupplierStore,
};
use opsward_testkit::{asset_input, store_test};
use std::sync::Arc;

store_test!(
    notice_deadlines_overdue_reviews_and_low_scores_are_conditions,
    |store: Arc<dyn Store>| async move {
        let suppliers = SupplierStore::new(store.as_ref());
        let practice = SuppliersPractice::new(store.clone(), 3.0);
        let now = Utc::now();
        let today = now.date_naive();

        let healthy = practice.assess(now).await.unwrap();
        assert!(healthy.conditions.is_empty() && healthy.deductions.is_empty());

        let asset = store
            .create_asset(&actor(), &asset_input("colo-rack"))
            .await
            .unwrap();
        let mut input = supplier_input("Acme", Criticality::High);
        input.asset_ids = vec![asset.id];
        let acme = suppliers.create_supplier(&actor(), &input).await.unwrap();
        // Notice of 30 days on a term ending in 35 days: the deadline is in 5 days.
        let mut near = contract_input(
            acme.id,
            &(today + Duration::days(35)).to_string(),
            NoticePeriod::days(30),
        );
        near.start_date = today - Duration::days(300);
        let near = suppliers.create_contract(&actor(), &near).await.unwrap();
        // Express contract ending in 10 days with 20 days' notice: passed 10 days ago.
        let mut passed = contract_input(
            acme.id,
            &(today + Duration::days(10)).to_string(),
            NoticePeriod::days(20),
        );
        passed.start_date = today - Duration::days(300);
        passed.title = "Remote hands".into();
        passed.renewal_type = opsward_suppliers::RenewalType::Express;
        let passed = suppliers.create_contract(&actor(), &passed).await.unwrap();
        // Far away: no condition.
        let mut far = contract_input(
            acme.id,
            &(today + Duration::days(200)).to_string(),
            NoticePeriod::days(30),
        );
        far.start_date = today - Duration::days(300);
        suppliers.create_contract(&actor(), &far).await.unwrap();
        // Scored below 2 today on the default criteria.
        let review = ReviewInput {
            supplier_id: acme.id,
            review_date: today,
            period_start: None,
            outcome: ReviewOutcome::Unsatisfactory,
            notes: String::new(),
            attendees: vec![],
            scores: scores([1, 2, 2, 2, 1]),
            actions: vec![],
        };
        let reviewed = suppliers.record_review(&actor(), &review).await.unwrap();
        let score = reviewed.weighted_score.unwrap();
        assert!(score < 2.0, "{score}");
        // Reviewed 13 months ago with a good score: a medium supplier is overdue (yearly).
        let beta = suppliers
            .create_supplier(&actor(), &supplier_input("Beta", Criticality::Medium))
            .await
            .unwrap();
        let old = today - Duration::days(400);
        let old_review = ReviewInput {
            supplier_id: beta.id,
            review_date: old,
            scores: scores([4, 4, 4, 4, 4]),
            outcome: ReviewOutcome::Satisfactory,
            ..review.clone()
        };
        suppliers
            .record_review(&actor(), &old_review)
            .await
            .unwrap();

        let assessment = practice.assess(now).await.unwrap();
        let kinds: Vec<(&str, Severity)> = assessment
            .conditions
            .iter()
            .map(|c| (c.kind.as_str(), c.severity))
            .collect();
        assert_eq!(
            kinds,
            [
                ("notice_deadline_near", Severity::High),
                ("notice_deadline_passed", Severity::High),
                ("supplier_score_low", Severity::High),
                ("supplier_review_overdue", Severity::Medium),
            ]
        );
        let soon = &assessment.conditions[0];
        assert_eq!(soon.entity.id, near.id);
        assert_eq!(soon.entity.link, format!("/suppliers/{}", acme.id));
        assert_eq!(
            (soon.asset_id, soon.asset_name.as_deref()),
            (Some(asset.id), Some("colo-rack"))
        );
        let deadline = today + Duration::days(5);
        assert_eq!(
            soon.due,
            Some(
                (deadline + Duration::days(1))
                    .and_time(NaiveTime::MIN)
                    .and_utc()
            )
        );
        assert_eq!(
            soon.title,
            format!(
                "Notice on Colocation (Acme) is due in 5 days (by {deadline}) and no renew or terminate decision is recorded; without notice it renews for 12 months"
            )
        );
        let late = &assessment.conditions[1];
        assert_eq!(late.entity.id, passed.id);
        assert_eq!(
            late.title,
            format!(
                "Notice deadline for Remote hands (Acme) passed on {} with no decision; it ends on {} unless renewed",
                today - Duration::days(10),
                today + Duration::days(10)
            )
        );
        assert!(late.is_overdue(now));

        let low = &assessment.conditions[2];
        let proposal = low.backlog.as_ref().expect("a backlog proposal");
        assert_eq!(proposal.source, "supplier_review");
        assert_eq!(proposal.source_key, format!("supplier:{}", acme.id));
        assert_eq!(proposal.item_type, ProposedItemType::Risk);
        assert_eq!(
            proposal.title,
            format!("Supplier Acme scored {score:.1} of 5 in its review")
        );
        assert_eq!((proposal.impact, proposal.urgency), (1, 1));
        assert_eq!(proposal.asset_ids, vec![asset.id]);
        assert_eq!(
            proposal.label,
            format!("supplier Acme, review of {today} scored {score:.2}")
        );

        let overdue = &assessment.conditions[3];
        let due = opsward_suppliers::notice::shift_months(old, 12);
        assert_eq!(overdue.due, Some(due.and_time(NaiveTime::MIN).and_utc()));
        assert_eq!(
            overdue.title,
            format!("Review of Beta (medium criticality, every 12 months) is overdue since {due}; last reviewed {old}")
        );

        let deductions: Vec<(u8, String)> = assessment
            .deductions
            .iter()
            .map(|d| (d.points, d.reason.clone()))
            .collect();
        let overdue_days = (today - due).num_days();
        assert_eq!(
            deductions,
            [
                (10, format!("1 contract has passed its notice deadline with no renew or terminate decision (earliest {})", today - Duration::days(10))),
                (5, format!("1 contract has a notice deadline within 30 days and no renew or terminate decision (next {deadline})")),
                (10, format!("1 of 2 suppliers is overdue for review (oldest due {overdue_days} days ago)")),
                (5, format!("1 supplier scored below 3.0 of 5 in its latest review (lowest {score:.2})")),
            ]
        );

        let facets = practice.asset_facets(asset.id, now).await.unwrap();
        assert_eq!(facets.len(), 1);
        assert_eq!(
            facets[0].rows[0].cells,
            [
                "Acme".to_string(),
                "high".into(),
                format!("{score:.2}"),
                deadline.to_string(),
                "3".into()
            ]
        );
        assert_eq!(facets[0].rows[0].tone, Tone::Bad);
        let other = store
            .create_asset(&actor(), &asset_input("spare"))
            .await
            .unwrap();
        assert!(practice
            .asset_facets(other.id, now)
            .await
            .unwrap()
            .is_empty());

        // Deciding clears the notice conditions.
        for c in [near.id, passed.id] {
            let decision = DecisionInput {
                decision: DecisionKind::Terminate,
                note: String::new(),
            };
            suppliers.decide(&actor(), c, &decision).await.unwrap();
        }
        let after = practice.assess(now).await.unwrap();
        assert!(after
            .conditions
            .iter()
            .all(|c| !c.kind.starts_with("notice_")));
    }
);
