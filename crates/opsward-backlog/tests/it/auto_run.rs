//! Automatic items from every practice's conditions, on both backends: a test
//! `ConditionSource` stands for the registry of practices and proposes items on its
//! conditions; `run_auto_items` and the `backlog.auto_items` job keep one item per key,
//! clear a key that disappears, skip a disabled source, and sync nothing when the
//! conditions cannot be read.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use opsward_backlog::{
    auto::{run_auto_items, AutoItemSource, AutoRun, AutoSettings, SourceRun},
    inbound::{InboundRun, InboundSettings, Secret, TlsMode},
    jobs::InboundFollowUp,
    practice::BacklogPractice,
    BacklogStore, ItemType,
};
use opsward_core::{
    contract::{
        BacklogProposal, Condition, ConditionSource, EntityRef, JobContext, PracticeContract,
        PracticeError, ProposedItemType, Severity,
    },
    job::{Job, JobState},
    practice::Practice,
    Actor,
};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::sync::{Arc, Mutex};

/// What the practices report now; `Err` stands for a practice that failed.
struct Practices(Mutex<Result<Vec<Condition>, String>>);

impl Practices {
    fn new() -> Arc<Self> {
        Arc::new(Practices(Mutex::new(Ok(Vec::new()))))
    }

    fn report(&self, now: Result<Vec<Condition>, &str>) {
        *self.0.lock().unwrap() = now.map_err(str::to_string);
    }
}

#[async_trait]
impl ConditionSource for Practices {
    async fn conditions(&self, _now: DateTime<Utc>) -> Result<Vec<Condition>, PracticeError> {
        self.0
            .lock()
            .unwrap()
            .clone()
            .map_err(|e| PracticeError::new(Practice::Resilience, e))
    }
}

/// A failed resilience test proposing a problem item.
fn failed_test(measure: i64) -> Condition {
    Condition::new(
        Practice::Resilience,
        "test_failed",
        Severity::High,
        EntityRef {
            kind: "measure".into(),
            id: measure,
            label: format!("failover {measure}"),
            link: format!("/resilience/{measure}"),
        },
        format!("The last test of failover {measure} failed"),
    )
    .with_backlog(BacklogProposal {
        source: "resilience_test",
        source_key: format!("resilience_measure:{measure}"),
        item_type: ProposedItemType::Problem,
        title: format!("Resilience test failed: failover {measure}"),
        description: "The failover test failed.".into(),
        impact: 2,
        urgency: 1,
        team_id: None,
        asset_ids: vec![],
        label: format!("resilience measure failover {measure}"),
    })
}

/// An expiring certificate proposing a risk item (its source is switched off below).
fn expiring_certificate() -> Condition {
    Condition::new(
        Practice::Certificates,
        "certificate_expiring",
        Severity::High,
        EntityRef {
            kind: "certificate".into(),
            id: 7,
            label: "www.example.com".into(),
            link: "/certificates/7".into(),
        },
        "TLS certificate for www.example.com expires in 9 days",
    )
    .with_backlog(BacklogProposal {
        source: "certificate",
        source_key: "certificate:7".into(),
        item_type: ProposedItemType::Risk,
        title: "Certificate www.example.com expires without a renewal owner".into(),
        description: "Renew it.".into(),
        impact: 2,
        urgency: 1,
        team_id: None,
        asset_ids: vec![],
        label: "certificate www.example.com".into(),
    })
}

/// A condition without a proposal: never an item.
fn plain() -> Condition {
    Condition::new(
        Practice::Patches,
        "host_silent",
        Severity::Medium,
        EntityRef {
            kind: "host".into(),
            id: 3,
            label: "web-3".into(),
            link: "/patches/hosts/3".into(),
        },
        "web-3 has not reported for 3 days",
    )
}

fn no_certificates() -> AutoSettings {
    AutoSettings {
        certificates: false,
        ..AutoSettings::default()
    }
}

fn job() -> Actor {
    Actor::system("backlog-auto")
}

fn resilience(run: &AutoRun) -> &SourceRun {
    run.sources
        .iter()
        .find(|s| s.source == Some(AutoItemSource::ResilienceTest))
        .unwrap()
}

store_test!(proposals_open_keep_and_clear_items, |store: Arc<
    dyn Store,
>| async move {
    let backlog = BacklogStore::new(store.as_ref());
    let practices = Practices::new();
    let settings = no_certificates();
    let now = Utc::now();

    practices.report(Ok(vec![failed_test(1), expiring_certificate(), plain()]));
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!(run.at, Some(now));
    let sources: Vec<_> = run.sources.iter().map(|s| s.source.unwrap()).collect();
    assert_eq!(
        sources,
        [
            AutoItemSource::KevFinding,
            AutoItemSource::ResilienceTest,
            AutoItemSource::SupplierReview
        ],
        "one entry per enabled source; certificates are switched off"
    );
    assert_eq!(
        (resilience(&run).conditions, resilience(&run).opened),
        (1, 1)
    );
    assert!(!run.failed());
    let items = backlog.all_items().await.unwrap();
    assert_eq!(
        items.len(),
        1,
        "the certificate and the plain condition open nothing"
    );
    let item = &items[0];
    assert_eq!(item.title, "Resilience test failed: failover 1");
    assert_eq!(item.item_type, ItemType::Problem);
    assert_eq!((item.impact, item.urgency), (2, 1));
    assert_eq!(item.tags, ["auto", "resilience-test"]);
    assert!(item
        .description
        .ends_with("Source: [resilience measure failover 1](/resilience/1)"));
    assert!(backlog
        .auto_items(Some(AutoItemSource::Certificate), None)
        .await
        .unwrap()
        .is_empty());

    // The same key again opens nothing; a new key opens one.
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!((resilience(&run).opened, resilience(&run).cleared), (0, 0));
    practices.report(Ok(vec![failed_test(1), failed_test(2)]));
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!(
        (resilience(&run).conditions, resilience(&run).opened),
        (2, 1)
    );
    assert_eq!(backlog.all_items().await.unwrap().len(), 2);

    // A practice fails: nothing is synced, every enabled source says why.
    practices.report(Err("database gone"));
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!(run.sources.len(), 3);
    assert!(run.sources.iter().all(|s| s.opened + s.cleared == 0));
    assert_eq!(
        resilience(&run).error.as_deref(),
        Some("resilience_test: conditions could not be read, nothing synced (resilience: database gone)")
    );
    let links = backlog
        .auto_items(Some(AutoItemSource::ResilienceTest), None)
        .await
        .unwrap();
    assert!(
        links.iter().all(|l| l.active),
        "a failing practice clears nothing"
    );

    // Key 1 is gone: its item is cleared, once.
    practices.report(Ok(vec![failed_test(2)]));
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!(
        (resilience(&run).conditions, resilience(&run).cleared),
        (1, 1)
    );
    let links = backlog
        .auto_items(Some(AutoItemSource::ResilienceTest), None)
        .await
        .unwrap();
    let active: Vec<(&str, bool)> = links
        .iter()
        .map(|l| (l.source_key.as_str(), l.active))
        .collect();
    assert_eq!(
        active,
        [
            ("resilience_measure:1", false),
            ("resilience_measure:2", true)
        ]
    );
    let run = run_auto_items(&backlog, practices.as_ref(), &settings, &job(), now).await;
    assert_eq!(resilience(&run).cleared, 0);

    // Every source off: the conditions are not even read.
    practices.report(Err("not asked"));
    let off = AutoSettings {
        certificates: false,
        kev_findings: false,
        resilience_tests: false,
        supplier_reviews: false,
        ..AutoSettings::default()
    };
    let run = run_auto_items(&backlog, practices.as_ref(), &off, &job(), now).await;
    assert_eq!(run.sources, []);
});

fn queued(kind: &str) -> Job {
    let now = Utc::now();
    Job {
        id: 1,
        kind: kind.into(),
        payload: serde_json::Value::Null,
        state: JobState::Running,
        run_at: now,
        attempts: 1,
        max_attempts: 3,
        lease_owner: None,
        lease_until: None,
        last_error: None,
        dedupe_key: None,
        created_at: now,
        finished_at: None,
    }
}

store_test!(jobs_keep_todays_kinds_and_intervals, |store: Arc<
    dyn Store,
>| async move {
    let practices = Practices::new();
    let context = JobContext {
        conditions: practices.clone(),
        public_url: None,
    };
    let auto = AutoSettings {
        interval_minutes: 7,
        ..no_certificates()
    };
    let practice = BacklogPractice::new(store.clone(), auto.clone(), InboundSettings::default());
    let jobs = practice.jobs(&context);
    let kinds: Vec<(&str, Option<Duration>)> =
        jobs.iter().map(|j| (j.kind.as_str(), j.every)).collect();
    assert_eq!(
        kinds,
        [
            ("backlog.sla", Some(Duration::minutes(5))),
            ("backlog.auto_items", Some(Duration::minutes(7))),
        ],
        "no inbound job without a mailbox"
    );
    let inbound = InboundSettings {
        host: Some("imap.example.com".into()),
        poll_interval_seconds: 120,
        ..InboundSettings::default()
    };
    let with_mail = BacklogPractice::new(store.clone(), auto, inbound).jobs(&context);
    assert_eq!(with_mail[1].kind, "backlog.inbound_mail");
    assert_eq!(with_mail[1].every, Some(Duration::seconds(120)));

    // The automatic-items job reads the context's conditions.
    practices.report(Ok(vec![failed_test(5)]));
    let auto_job = &jobs[1];
    auto_job
        .handler
        .run(&queued("backlog.auto_items"))
        .await
        .unwrap();
    let backlog = BacklogStore::new(store.as_ref());
    assert_eq!(backlog.all_items().await.unwrap().len(), 1);
    practices.report(Err("database gone"));
    let failed = auto_job.handler.run(&queued("backlog.auto_items")).await;
    assert!(failed.unwrap_err().to_string().contains("database gone"));
    // The SLA job runs on an empty backlog.
    jobs[0].handler.run(&queued("backlog.sla")).await.unwrap();
});

/// Records each poll it follows, as the server's customer linking would see it.
#[derive(Default)]
struct Followed(Mutex<Vec<Option<String>>>);

#[async_trait]
impl InboundFollowUp for Followed {
    async fn after_poll(&self, run: &mut InboundRun) {
        self.0.lock().unwrap().push(run.error.clone());
    }
}

store_test!(
    the_inbound_job_polls_and_runs_its_follow_up,
    |store: Arc<dyn Store>| async move {
        // Nothing listens on this port: the poll fails to connect, quickly.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let inbound = InboundSettings {
            host: Some("127.0.0.1".into()),
            port: Some(port),
            tls: TlsMode::None,
            username: "ops".into(),
            password: Some(Secret::new("secret")),
            connect_timeout_seconds: 2,
            ..InboundSettings::default()
        };
        let followed = Arc::new(Followed::default());
        let practice = BacklogPractice::new(store.clone(), AutoSettings::default(), inbound)
            .with_inbound_follow_up(followed.clone());
        let jobs = practice.jobs(&JobContext {
            conditions: Practices::new(),
            public_url: None,
        });
        let mail = jobs
            .iter()
            .find(|j| j.kind == "backlog.inbound_mail")
            .unwrap();
        assert_eq!(mail.every, Some(Duration::seconds(300)));
        let failed = mail.handler.run(&queued("backlog.inbound_mail")).await;
        let error = failed.unwrap_err().to_string();
        let seen = followed.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "the follow-up runs after every poll");
        assert_eq!(seen[0].as_deref(), Some(error.as_str()));
    }
);
