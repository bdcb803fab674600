//! Notifications about conditions read the same conditions as the dashboard: the
//! `conditions.notify` job of a real server's job registry turns each condition into one
//! `condition.opened` message per matching rule, once while it holds, again when it gets
//! worse, and never for a kind its practice announces with an event of its own.

use crate::{on_both_backends, picture::UnownedCritical};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use opsward_core::{
    asset::{AssetInput, AssetKind, Criticality},
    contract::{
        Assessment, AssetFacet, Condition, EntityRef, PracticeContract, PracticeError, Registry,
        Severity,
    },
    job::{Job, JobState},
    practice::Practice,
    Actor,
};
use opsward_notify::{ChannelConfig, Severity as Level, WebhookConfig};
use opsward_ops::notifications::{Notifier, RuleInput};
use opsward_server::scheduler::JobRegistry;
use opsward_store::Store;
use opsward_testkit::{Backend, TestDb};
use std::sync::{Arc, Mutex};

/// A practice whose one condition is announced by an event of its own, with a severity the
/// test can raise.
struct SelfAnnouncing {
    severity: Arc<Mutex<Severity>>,
}

#[async_trait]
impl PracticeContract for SelfAnnouncing {
    fn practice(&self) -> Practice {
        Practice::Certificates
    }
    async fn assess(&self, _now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        let severity = *self.severity.lock().unwrap();
        let entity = |kind: &str| EntityRef {
            kind: "certificate".into(),
            id: 1,
            label: format!("{kind} www.example.com"),
            link: "/certificates/1".into(),
        };
        Ok(Assessment {
            conditions: vec![
                Condition::new(
                    Practice::Certificates,
                    "certificate_expiring",
                    severity,
                    entity("expiring"),
                    "TLS certificate for www.example.com expires in 9 days",
                ),
                Condition::new(
                    Practice::Certificates,
                    "certificate_unowned",
                    severity,
                    entity("unowned"),
                    "TLS certificate for www.example.com has no owner",
                ),
            ],
            ..Assessment::default()
        })
    }
    async fn asset_facets(
        &self,
        _asset_id: i64,
        _now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        Ok(Vec::new())
    }
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["certificate_expiring"]
    }
}

fn job() -> Job {
    Job {
        id: 0,
        kind: "conditions.notify".into(),
        payload: serde_json::json!({}),
        state: JobState::Running,
        run_at: Utc::now(),
        attempts: 1,
        max_attempts: 3,
        lease_owner: None,
        lease_until: None,
        last_error: None,
        dedupe_key: None,
        created_at: Utc::now(),
        finished_at: None,
    }
}

on_both_backends!(conditions_are_notified_once_and_again_when_worse);
async fn conditions_are_notified_once_and_again_when_worse(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store: Arc<dyn Store> = db.store.clone();
    let actor = Actor::user(1, "admin");
    let severity = Arc::new(Mutex::new(Severity::Medium));
    let mut registry = Registry::new();
    registry
        .register(UnownedCritical {
            store: store.clone(),
        })
        .register(SelfAnnouncing {
            severity: severity.clone(),
        });
    let jobs = JobRegistry::builtin(&store, &registry, None);
    assert_eq!(
        jobs.interval("conditions.notify"),
        Some(chrono::Duration::minutes(5)),
        "a server checks the conditions for news every 5 minutes"
    );
    let notify = jobs.handler("conditions.notify").expect("registered");

    let notifier = Notifier::new(store.as_ref());
    let channel = notifier
        .create_channel(
            &actor,
            "hook",
            &ChannelConfig::Webhook(WebhookConfig {
                url: "http://127.0.0.1:9/hook".into(),
                secret: "s3cret".into(),
                timeout_secs: 1,
            }),
        )
        .await
        .unwrap();
    notifier
        .create_rule(
            &actor,
            None,
            &RuleInput {
                name: "conditions".into(),
                channel_id: channel.id,
                events: vec!["condition.opened".into()],
                practice: None,
                min_severity: Level::Info,
                owner_team_id: None,
                owner_person_id: None,
                digest: false,
                quiet_hours: None,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let asset = store
        .create_asset(
            &actor,
            &AssetInput {
                name: "db-1".into(),
                kind: AssetKind::Host,
                environment: "production".into(),
                criticality: Criticality::Critical,
                owner_team_id: None,
                owner_person_id: None,
                tags: Vec::new(),
                description: String::new(),
            },
        )
        .await
        .unwrap();

    notify.run(&job()).await.unwrap();
    let outbox = notifier.list_outbox(None, 100).await.unwrap();
    let mut subjects: Vec<&str> = outbox.iter().map(|e| e.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        vec![
            "High: Critical asset db-1 has no owner",
            "Medium: TLS certificate for www.example.com has no owner",
        ],
        "one message per condition; the expiring certificate has its own alert"
    );
    assert!(outbox.iter().all(|e| e.event == "condition.opened"));
    assert!(outbox.iter().any(|e| e.dedupe_key
        == format!(
            "condition:general:critical_asset_unowned:asset:{}",
            asset.id
        )));

    // Nothing new: nothing sent again.
    notify.run(&job()).await.unwrap();
    assert_eq!(notifier.list_outbox(None, 100).await.unwrap().len(), 2);

    // Worse is news again.
    *severity.lock().unwrap() = Severity::Critical;
    notify.run(&job()).await.unwrap();
    let outbox = notifier.list_outbox(None, 100).await.unwrap();
    assert_eq!(outbox.len(), 3, "{outbox:?}");
    assert!(outbox
        .iter()
        .any(|e| e.subject == "Critical: TLS certificate for www.example.com has no owner"));
}
