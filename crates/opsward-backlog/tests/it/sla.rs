//! SLA facts kept by the store (owned, resolved, pauses), the policy, and the scheduled
//! check that notifies near-breach and breach once per item and kind, mailed to a real
//! SMTP server.

use crate::items::{actor, input};
use chrono::{Duration, Utc};
use opsward_backlog::{
    business_hours::{CalendarSpec, WeekSpec},
    sla::{ClockStatus, SlaPolicy, SlaTarget},
    sla_alerts::check_sla,
    BacklogStore, ItemPatch, ItemState, ItemType,
};
use opsward_core::{audit::AuditFilter, page::PageRequest, people::PersonInput};
use opsward_notify::{ChannelConfig, EmailConfig, Severity, SmtpSecurity};
use opsward_ops::notifications::{DeliveryPolicy, Notifier, RuleInput};
use opsward_store::{Store, StoreError};
use opsward_testkit::{
    smtp::{Mode, SmtpPeer},
    store_test,
};
use std::sync::Arc;

fn to(state: ItemState) -> ItemPatch {
    ItemPatch {
        state: Some(state),
        ..ItemPatch::default()
    }
}

/// Around the clock, so the test does not depend on the weekday it runs on.
fn round_the_clock(own_minutes: i64, resolve_minutes: i64) -> SlaPolicy {
    let mut policy = SlaPolicy {
        calendar: CalendarSpec {
            time_zone: "Europe/Berlin".into(),
            week: WeekSpec::every_day(&["00:00-24:00"]),
            holidays: vec![],
        },
        near_breach_percent: 50,
        ..SlaPolicy::default()
    };
    for t in &mut policy.targets {
        *t = SlaTarget {
            priority: t.priority,
            own_minutes,
            resolve_minutes,
        };
    }
    policy
}

store_test!(owning_waiting_and_resolving_are_recorded, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let person = store
        .create_person(
            &actor(),
            &PersonInput {
                name: "Ana".into(),
                email: "ana@example.com".into(),
                team_id: None,
            },
        )
        .await
        .unwrap();
    let item = backlog
        .create_item(&actor(), &input(ItemType::Incident, "Mail delayed", ""))
        .await
        .unwrap();
    assert_eq!((item.owned_at, item.resolved_at), (None, None));
    let item = backlog
        .update_item(
            &actor(),
            item.id,
            &ItemPatch {
                assignee_person_id: Some(Some(person.id)),
                state: Some(ItemState::Triaged),
                ..ItemPatch::default()
            },
        )
        .await
        .unwrap();
    let owned = item.owned_at.expect("owned when assigned");
    // Unassigning and assigning again keeps the first moment.
    for a in [None, Some(person.id)] {
        backlog
            .update_item(
                &actor(),
                item.id,
                &ItemPatch {
                    assignee_person_id: Some(a),
                    ..ItemPatch::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        backlog.get_item(item.id).await.unwrap().owned_at,
        Some(owned)
    );

    for s in [
        ItemState::InProgress,
        ItemState::WaitingCustomer,
        ItemState::InProgress,
        ItemState::WaitingSupplier,
        ItemState::InProgress,
        ItemState::WaitingChange,
        ItemState::Resolved,
    ] {
        backlog
            .update_item(&actor(), item.id, &to(s))
            .await
            .unwrap();
    }
    let pauses = backlog
        .pauses(&[item.id])
        .await
        .unwrap()
        .remove(&item.id)
        .unwrap();
    assert_eq!(
        pauses.len(),
        2,
        "customer, then supplier; waiting on a change counts"
    );
    assert!(pauses.iter().all(|p| p.end.is_some()));
    assert!(pauses[0].end.unwrap() <= pauses[1].start);
    let resolved = backlog.get_item(item.id).await.unwrap();
    assert!(resolved.resolved_at.is_some());
    // Reopened: the resolve clock runs again.
    let reopened = backlog
        .update_item(&actor(), item.id, &to(ItemState::InProgress))
        .await
        .unwrap();
    assert_eq!(reopened.resolved_at, None);
    let closed = {
        backlog
            .update_item(&actor(), item.id, &to(ItemState::Resolved))
            .await
            .unwrap();
        backlog
            .update_item(&actor(), item.id, &to(ItemState::Closed))
            .await
            .unwrap()
    };
    assert!(
        closed.resolved_at.is_some(),
        "closing keeps the resolution time"
    );

    let report = backlog
        .sla_report(&closed, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.own.status, ClockStatus::Met);
    assert_eq!(report.resolve.status, ClockStatus::Met);
    assert_eq!(report.time_zone, "UTC", "the default policy");
});

store_test!(
    policy_is_validated_and_audited,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        assert_eq!(backlog.sla_policy().await.unwrap(), SlaPolicy::default());
        let mut bad = round_the_clock(10, 5);
        bad.calendar.time_zone = "Europe/Atlantis".into();
        match backlog.set_sla_policy(&actor(), &bad).await.unwrap_err() {
            StoreError::Invalid(v) => assert_eq!(v.errors.len(), 6, "{v:?}"),
            other => panic!("{other:?}"),
        }
        let good = round_the_clock(5, 10);
        backlog.set_sla_policy(&actor(), &good).await.unwrap();
        assert_eq!(backlog.sla_policy().await.unwrap(), good);
        let audit = store
            .list_audit(
                &AuditFilter {
                    entity_type: Some("backlog_sla_policy".into()),
                    ..AuditFilter::default()
                },
                PageRequest::first(50),
            )
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 1);
    }
);

store_test!(
    breaches_are_notified_once_per_item_and_kind,
    |store: Arc<dyn Store>| async move {
        let backlog = BacklogStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let smtp = SmtpPeer::start(Mode::Plain, None).await;
        let channel = notifier
            .create_channel(
                &actor(),
                "mail",
                &ChannelConfig::Email(EmailConfig {
                    host: "127.0.0.1".into(),
                    port: smtp.port,
                    security: SmtpSecurity::None,
                    username: None,
                    password: None,
                    from: "opsward@example.com".into(),
                    to: vec!["service-desk@example.com".into()],
                    timeout_secs: 5,
                    tls_root_pem: None,
                }),
            )
            .await
            .unwrap();
        notifier
            .create_rule(
                &actor(),
                None,
                &RuleInput {
                    name: "sla".into(),
                    channel_id: channel.id,
                    events: vec![
                        "backlog.sla_near_breach".into(),
                        "backlog.sla_breached".into(),
                    ],
                    practice: None,
                    min_severity: Severity::Info,
                    owner_team_id: None,
                    owner_person_id: None,
                    digest: false,
                    quiet_hours: None,
                    enabled: true,
                },
            )
            .await
            .unwrap();
        // Own within 4 minutes, resolve within 10; near breach at half.
        backlog
            .set_sla_policy(&actor(), &round_the_clock(4, 10))
            .await
            .unwrap();
        let item = backlog
            .create_item(
                &actor(),
                &input(ItemType::Incident, "Payroll export fails", ""),
            )
            .await
            .unwrap();
        let waiting = backlog
            .create_item(
                &actor(),
                &input(ItemType::Problem, "Supplier portal down", ""),
            )
            .await
            .unwrap();
        for s in [
            ItemState::Triaged,
            ItemState::InProgress,
            ItemState::WaitingSupplier,
        ] {
            backlog
                .update_item(&actor(), waiting.id, &to(s))
                .await
                .unwrap();
        }
        let t0 = item.created_at.max(waiting.created_at);
        let at = |minutes: i64| t0 + Duration::minutes(minutes) + Duration::seconds(1);

        let run = check_sla(&backlog, &notifier, at(1)).await.unwrap();
        assert_eq!((run.checked, run.notices), (2, 0));
        // Minute 3: own near breach (3 of 4) for the running item only; the waiting one is
        // paused from (almost) the start.
        let run = check_sla(&backlog, &notifier, at(3)).await.unwrap();
        assert_eq!((run.notices, run.queued), (1, 1));
        assert_eq!(
            check_sla(&backlog, &notifier, at(3)).await.unwrap().notices,
            0,
            "once"
        );
        // Minute 6: own breached, resolve near breach (6 of 10).
        let run = check_sla(&backlog, &notifier, at(6)).await.unwrap();
        assert_eq!((run.notices, run.queued), (2, 2));
        // Minute 11: resolve breached; then nothing more, however often it runs.
        assert_eq!(
            check_sla(&backlog, &notifier, at(11))
                .await
                .unwrap()
                .notices,
            1
        );
        assert_eq!(
            check_sla(&backlog, &notifier, at(60))
                .await
                .unwrap()
                .notices,
            0
        );
        // Resolving stops the check for the item.
        for s in [
            ItemState::Triaged,
            ItemState::InProgress,
            ItemState::Resolved,
        ] {
            backlog
                .update_item(&actor(), item.id, &to(s))
                .await
                .unwrap();
        }
        assert_eq!(
            check_sla(&backlog, &notifier, at(60))
                .await
                .unwrap()
                .checked,
            1
        );
        let notices = backlog.sla_notices(&[item.id, waiting.id]).await.unwrap();
        let kinds: Vec<_> = notices
            .iter()
            .map(|(id, k, _)| (*id == item.id, k.as_str()))
            .collect();
        assert_eq!(kinds.len(), 4);
        assert!(
            kinds.iter().all(|(mine, _)| *mine),
            "the paused item was never notified: {kinds:?}"
        );

        let report = notifier
            .deliver_due(
                "w1",
                Utc::now() + Duration::hours(2),
                &DeliveryPolicy::default(),
            )
            .await
            .unwrap();
        assert_eq!(report.delivered, 4, "{report:?}");
        let mut subjects = Vec::new();
        for n in 1..=4 {
            subjects.push(smtp.message(n).await.header("Subject").unwrap());
        }
        subjects.sort();
        let want = |s: &str| subjects.iter().any(|x| x.starts_with(s));
        assert!(
            want(&format!(
                "SLA breached: time to own of #{} Payroll export fails",
                item.id
            )),
            "{subjects:?}"
        );
        assert!(
            want(&format!("SLA breached: time to resolve of #{}", item.id)),
            "{subjects:?}"
        );
        assert!(
            want(&format!("SLA near breach: time to own of #{}", item.id)),
            "{subjects:?}"
        );
        assert!(
            want(&format!("SLA near breach: time to resolve of #{}", item.id)),
            "{subjects:?}"
        );
    }
);
