//! The due-date policy as a setting, on both backends: a change reschedules every finding
//! that is not fixed, counting from the day it was first seen or came back after a fix, with
//! an audit row per finding; fixed findings keep the date they were measured against; an
//! invalid policy changes nothing; scans after the change use the new policy.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use opsward_core::{audit::AuditFilter, page::PageRequest, Actor};
use opsward_store::{Store, StoreError};
use opsward_testkit::{asset_input, store_test};
use opsward_vulns::findings::{Finding, FindingFilter, FindingKind, FindingState, Transition};
use opsward_vulns::policy::{DuePolicy, KevDue};
use opsward_vulns::policy_store::{Observed, Scope};
use opsward_vulns::{Severity, VulnStore};

fn actor() -> Actor {
    Actor::user(1, "secops")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(9, 30, 0).unwrap())
}

fn port(asset_id: i64, port: u16, severity: Severity) -> Observed {
    Observed {
        asset_id,
        package: format!("tcp/{port}"),
        problem: format!("exposure:tcp/{port}"),
        seen: "open".into(),
        summary: format!("tcp/{port} is open"),
        severity,
    }
}

async fn by_port(vulns: &VulnStore, asset_id: i64) -> HashMap<String, Finding> {
    vulns
        .findings(&FindingFilter {
            asset_id: Some(asset_id),
            kind: Some(FindingKind::Exposure),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.package.clone(), f))
        .collect()
}

async fn reschedules(store: &dyn Store, finding: i64) -> Vec<(String, String)> {
    store
        .list_audit(
            &AuditFilter {
                entity_type: Some("vuln_finding".into()),
                entity_id: Some(finding),
                action: Some("reschedule".into()),
                ..Default::default()
            },
            PageRequest::first(50),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            let due =
                |v: Option<serde_json::Value>| v.unwrap()["due_date"].as_str().unwrap().to_owned();
            (due(e.before), due(e.after))
        })
        .collect()
}

store_test!(
    a_changed_due_policy_reschedules_open_findings_from_their_start,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let asset = store
            .create_asset(&actor(), &asset_input("edge-1"))
            .await
            .unwrap();
        let a = asset.id;
        let defaults = DuePolicy::default();
        assert_eq!(vulns.due_policy().await.unwrap(), defaults);
        let observe = |observed: Vec<Observed>, on: NaiveDate| {
            let vulns = vulns.clone();
            let policy = defaults.clone();
            async move {
                vulns
                    .observe_at(
                        &actor(),
                        FindingKind::Exposure,
                        &Scope::everything(),
                        &observed,
                        &policy,
                        at(on),
                    )
                    .await
                    .unwrap()
            }
        };
        // 1 January: four ports open. 5 January: 21 and 25 closed (fixed). 1 February: 21 is
        // back (reopened, its clock restarts); 25 stays fixed.
        let jan1 = day(2025, 1, 1);
        observe(
            vec![
                port(a, 23, Severity::Critical),
                port(a, 8080, Severity::High),
                port(a, 21, Severity::Medium),
                port(a, 25, Severity::Low),
            ],
            jan1,
        )
        .await;
        observe(
            vec![
                port(a, 23, Severity::Critical),
                port(a, 8080, Severity::High),
            ],
            day(2025, 1, 5),
        )
        .await;
        let feb1 = day(2025, 2, 1);
        let back = observe(
            vec![
                port(a, 23, Severity::Critical),
                port(a, 8080, Severity::High),
                port(a, 21, Severity::Medium),
            ],
            feb1,
        )
        .await;
        assert_eq!(back.reopened, 1);
        let before = by_port(&vulns, a).await;
        assert_eq!(before["tcp/21"].due_from, feb1);
        assert_eq!(before["tcp/21"].due_date, feb1 + Days::new(90));
        assert_eq!(before["tcp/21"].first_seen.date_naive(), jan1);
        assert_eq!(before["tcp/25"].state, FindingState::Fixed);
        assert_eq!(before["tcp/25"].due_date, jan1 + Days::new(180));
        assert_eq!(before["tcp/8080"].due_date, jan1 + Days::new(30));
        // A false positive is rescheduled too: it has the new date should it be reopened.
        vulns
            .transition(
                &actor(),
                before["tcp/8080"].id,
                &Transition::FalsePositive {
                    reason: "a honeypot".into(),
                },
            )
            .await
            .unwrap();

        // An invalid policy is refused by field and changes nothing.
        let invalid = DuePolicy {
            critical_days: 40,
            ..DuePolicy::default()
        };
        match vulns.set_due_policy(&actor(), &invalid).await {
            Err(StoreError::Invalid(v)) => assert_eq!(v.errors[0].field, "critical_days"),
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(by_port(&vulns, a).await, {
            let mut now = before.clone();
            now.get_mut("tcp/8080").unwrap().state = FindingState::FalsePositive;
            now.get_mut("tcp/8080").unwrap().reason = "a honeypot".into();
            now
        });

        let strict = DuePolicy {
            critical_days: 2,
            high_days: 10,
            medium_days: 20,
            low_days: 60,
            epss_threshold: None,
            kev: KevDue::Earlier,
        };
        let change = vulns.set_due_policy(&actor(), &strict).await.unwrap();
        assert_eq!(change.policy, strict);
        assert_eq!(change.rescheduled, 3, "23, 8080 and 21; 25 is fixed");
        assert_eq!(vulns.due_policy().await.unwrap(), strict);
        assert_eq!(vulns.settings().await.unwrap().due, strict);
        let after = by_port(&vulns, a).await;
        assert_eq!(after["tcp/23"].due_date, jan1 + Days::new(2));
        assert_eq!(after["tcp/8080"].due_date, jan1 + Days::new(10));
        assert_eq!(after["tcp/8080"].state, FindingState::FalsePositive);
        assert_eq!(
            after["tcp/21"].due_date,
            feb1 + Days::new(20),
            "counted from its return"
        );
        assert_eq!(
            after["tcp/25"].due_date,
            jan1 + Days::new(180),
            "fixed: kept"
        );
        assert_eq!(
            reschedules(store.as_ref(), after["tcp/21"].id).await,
            [(
                (feb1 + Days::new(90)).to_string(),
                (feb1 + Days::new(20)).to_string()
            )]
        );
        assert!(reschedules(store.as_ref(), after["tcp/25"].id)
            .await
            .is_empty());

        // Saving the same policy again, or other settings, reschedules nothing.
        assert_eq!(
            vulns
                .set_due_policy(&actor(), &strict)
                .await
                .unwrap()
                .rescheduled,
            0
        );
        let mut settings = vulns.settings().await.unwrap();
        settings.posture.stale_hours = 48;
        assert_eq!(vulns.save_settings(&actor(), &settings).await.unwrap().1, 0);
        assert_eq!(
            reschedules(store.as_ref(), after["tcp/23"].id).await.len(),
            1
        );

        // What is observed from now on gets the policy in force.
        let today = Utc::now();
        let policy = vulns.due_policy().await.unwrap();
        vulns
            .observe_at(
                &actor(),
                FindingKind::Exposure,
                &Scope::assets([a]),
                &[
                    port(a, 23, Severity::Critical),
                    port(a, 21, Severity::Medium),
                    port(a, 8443, Severity::High),
                ],
                &policy,
                today,
            )
            .await
            .unwrap();
        let latest = by_port(&vulns, a).await;
        assert_eq!(
            latest["tcp/8443"].due_date,
            today.date_naive() + Days::new(10)
        );
        assert_eq!(
            latest["tcp/21"].due_date,
            feb1 + Days::new(20),
            "a rescan keeps the start"
        );
    }
);
