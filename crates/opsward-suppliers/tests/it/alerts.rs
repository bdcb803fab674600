//! Contract reminders through the notification outbox to a real SMTP server (aiosmtpd).

use crate::{actor, contract_input, day, supplier};
use chrono::{NaiveTime, Utc};
use opsward_notify::{ChannelConfig, EmailConfig, Severity, SmtpSecurity};
use opsward_ops::notifications::{DeliveryPolicy, Notifier, RuleInput};
use opsward_store::Store;
use opsward_suppliers::{
    alerts::check_contracts, notice::NoticePeriod, RenewalType, SupplierStore,
};
use opsward_testkit::{
    smtp::{Mode, SmtpPeer},
    store_test,
};
use std::sync::Arc;

store_test!(notice_reminders_are_mailed_once_per_stage, |store: Arc<
    dyn Store,
>| async move {
    let suppliers = SupplierStore::new(store.as_ref());
    let notifier = Notifier::new(store.as_ref());
    let smtp = SmtpPeer::start(Mode::Plain, None).await;
    let email = ChannelConfig::Email(EmailConfig {
        host: "127.0.0.1".into(),
        port: smtp.port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "opsward@example.com".into(),
        to: vec!["buyers@example.com".into()],
        timeout_secs: 5,
        tls_root_pem: None,
    });
    let channel = notifier
        .create_channel(&actor(), "mail", &email)
        .await
        .unwrap();
    let rule = RuleInput {
        name: "contracts".into(),
        channel_id: channel.id,
        events: vec![
            "contract.notice_due".into(),
            "contract.notice_passed".into(),
            "contract.expiring".into(),
        ],
        practice: None,
        min_severity: Severity::Info,
        owner_team_id: None,
        owner_person_id: None,
        digest: false,
        quiet_hours: None,
        enabled: true,
    };
    notifier.create_rule(&actor(), None, &rule).await.unwrap();

    let s = supplier(&suppliers, "Acme").await;
    // Deadline 2025-02-28 (end 2025-05-31, three months' notice).
    let c = suppliers
        .create_contract(
            &actor(),
            &contract_input(s, "2025-05-31", NoticePeriod::months(3)),
        )
        .await
        .unwrap();
    let mut express = contract_input(s, "2025-03-31", NoticePeriod::days(30));
    express.title = "Printers".into();
    express.renewal_type = RenewalType::Express;
    suppliers.create_contract(&actor(), &express).await.unwrap();

    let run = |today: &str| {
        let (suppliers, notifier) = (suppliers.clone(), notifier.clone());
        let today = day(today);
        async move {
            let now = today.and_time(NaiveTime::MIN).and_utc();
            check_contracts(&suppliers, &notifier, &actor(), today, now)
                .await
                .unwrap()
        }
    };
    // 2024-11-30: 90 days before the colocation deadline; the printers' deadline
    // (2025-03-01) is 91 days away.
    assert_eq!(run("2024-11-30").await.queued, 1);
    assert_eq!(run("2024-12-01").await.queued, 1, "printers reach 90 days");
    assert_eq!(run("2024-12-02").await.queued, 0, "each stage is sent once");
    assert_eq!(run("2025-01-29").await.queued, 1, "colocation at 30 days");
    // The day after the colocation deadline: renewed tacitly, and told so.
    let passed = run("2025-03-01").await;
    assert_eq!(passed.renewed.len(), 1);
    // Colocation: passed (renewed). Printers: 7 days (deadline today), expiring (30 days).
    assert_eq!(passed.queued, 3);
    assert_eq!(run("2025-03-01").await.queued, 0, "and not twice");
    assert_eq!(
        suppliers.get_contract(c.id).await.unwrap().end_date,
        day("2026-05-31")
    );

    let report = notifier
        .deliver_due("w1", Utc::now(), &DeliveryPolicy::default())
        .await
        .unwrap();
    assert_eq!(report.delivered, 6, "{report:?}");
    let mut subjects = Vec::new();
    let mut events = Vec::new();
    for n in 1..=6 {
        let mail = smtp.message(n).await;
        subjects.push(mail.header("Subject").unwrap());
        events.push(mail.header("X-Opsward-Event").unwrap());
    }
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Notice due in 90 days: Colocation (Acme) by 2025-02-28")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Renewed tacitly: Colocation (Acme)")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Contract ends in 30 days: Printers (Acme)")),
        "{subjects:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "contract.notice_due")
            .count(),
        4
    );
});
