//! Overdue findings through the notification outbox to a real SMTP server (aiosmtpd): once
//! per finding while it stays overdue, again when it becomes overdue anew.

use std::sync::Arc;

use chrono::{Duration, Utc};
use opsward_core::Actor;
use opsward_notify::{ChannelConfig, EmailConfig, Severity as Level, SmtpSecurity};
use opsward_ops::notifications::{DeliveryPolicy, Notifier, RuleInput};
use opsward_store::Store;
use opsward_testkit::{
    asset_input,
    smtp::{Mode, SmtpPeer},
    store_test,
};
use opsward_vulns::findings::FindingKind;
use opsward_vulns::overdue::notify_overdue;
use opsward_vulns::policy::DuePolicy;
use opsward_vulns::policy_store::{Observed, Scope};
use opsward_vulns::{Severity, VulnStore};

fn actor() -> Actor {
    Actor::system("scheduler")
}

store_test!(
    overdue_findings_are_mailed_once_per_overdue_transition,
    |store: Arc<dyn Store>| async move {
        let vulns = VulnStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let smtp = SmtpPeer::start(Mode::Plain, None).await;
        let email = ChannelConfig::Email(EmailConfig {
            host: "127.0.0.1".into(),
            port: smtp.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "opsward@example.com".into(),
            to: vec!["secops@example.com".into()],
            timeout_secs: 5,
            tls_root_pem: None,
        });
        let channel = notifier
            .create_channel(&actor(), "mail", &email)
            .await
            .unwrap();
        let rule = RuleInput {
            name: "overdue findings".into(),
            channel_id: channel.id,
            events: vec!["vulnerability.overdue".into()],
            practice: None,
            min_severity: Level::Info,
            owner_team_id: None,
            owner_person_id: None,
            digest: false,
            quiet_hours: None,
            enabled: true,
        };
        notifier.create_rule(&actor(), None, &rule).await.unwrap();

        let asset = store
            .create_asset(&actor(), &asset_input("kiosk-3"))
            .await
            .unwrap();
        let firewall = vec![Observed {
            asset_id: asset.id,
            package: "posture/firewall".into(),
            problem: "posture:firewall".into(),
            seen: "no".into(),
            summary: "kiosk-3: the posture policy requires that a host firewall is active".into(),
            severity: Severity::Medium,
        }];
        let now = Utc::now();
        let observe = |observed: Vec<Observed>, at| {
            let vulns = vulns.clone();
            async move {
                vulns
                    .observe_at(
                        &actor(),
                        FindingKind::Posture,
                        &Scope::everything(),
                        &observed,
                        &DuePolicy::default(),
                        at,
                    )
                    .await
                    .unwrap()
            }
        };
        // First seen 200 days ago: medium is due in 90 days, so it is 110 days overdue.
        assert_eq!(
            observe(firewall.clone(), now - Duration::days(200))
                .await
                .new,
            1
        );
        assert_eq!(
            notify_overdue(&vulns, store.as_ref(), &notifier, now)
                .await
                .unwrap()
                .queued,
            1
        );
        assert_eq!(
            notify_overdue(&vulns, store.as_ref(), &notifier, now)
                .await
                .unwrap()
                .queued,
            0,
            "once while it stays overdue"
        );
        // Fixed, then back (a new due date, overdue too): notified again.
        assert_eq!(observe(vec![], now - Duration::days(150)).await.fixed, 1);
        assert_eq!(
            notify_overdue(&vulns, store.as_ref(), &notifier, now)
                .await
                .unwrap()
                .overdue,
            0
        );
        assert_eq!(
            observe(firewall.clone(), now - Duration::days(120))
                .await
                .reopened,
            1
        );
        assert_eq!(
            notify_overdue(&vulns, store.as_ref(), &notifier, now)
                .await
                .unwrap()
                .queued,
            1
        );

        let report = notifier
            .deliver_due("w1", Utc::now(), &DeliveryPolicy::default())
            .await
            .unwrap();
        assert_eq!(report.delivered, 2, "{report:?}");
        for n in 1..=2 {
            let mail = smtp.message(n).await;
            let subject = mail.header("Subject").unwrap();
            assert!(
                subject.starts_with("Overdue posture finding on kiosk-3: posture:firewall"),
                "{subject}"
            );
            assert_eq!(
                mail.header("X-Opsward-Event").unwrap(),
                "vulnerability.overdue"
            );
        }
    }
);
