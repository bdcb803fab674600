//! Notifications end to end with real peers: aiosmtpd for email, local HTTP receivers for
//! webhooks (one healthy, one failing twice, one that never answers).

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use chrono::{Duration, Utc};
use opsward_core::{practice::Practice, Actor};
use opsward_notify::{ChannelConfig, EmailConfig, Severity, SmtpSecurity, WebhookConfig};
use opsward_ops::{
    notifications::{
        events::check_calendar, DeliveryPolicy, Event, Notifier, QuietHours, RuleInput,
    },
    ActivityInput, OpsStore,
};
use opsward_store::Store;
use opsward_testkit::{
    smtp::{Mode, SmtpPeer},
    store_test,
};
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex,
};

fn actor() -> Actor {
    Actor::user(1, "admin")
}

#[derive(Clone, Default)]
struct Receiver {
    /// While set, answer 500 (an outage the test ends when it chooses).
    failing: Arc<AtomicBool>,
    seen: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.seen.fetch_add(1, Ordering::SeqCst);
    if r.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.bodies.lock().unwrap().push((headers, body));
    StatusCode::OK
}

async fn start_receiver(failing: bool) -> (String, Receiver) {
    let receiver = Receiver {
        failing: Arc::new(AtomicBool::new(failing)),
        ..Default::default()
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, receiver)
}

/// Accepts connections and never answers.
async fn hanging_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

fn webhook(url: &str) -> ChannelConfig {
    ChannelConfig::Webhook(WebhookConfig {
        url: url.into(),
        secret: "s3cret".into(),
        timeout_secs: 1,
    })
}

fn rule(name: &str, channel_id: i64) -> RuleInput {
    RuleInput {
        name: name.into(),
        channel_id,
        events: vec![],
        practice: None,
        min_severity: Severity::Info,
        owner_team_id: None,
        owner_person_id: None,
        digest: false,
        quiet_hours: None,
        enabled: true,
    }
}

fn overdue_activity() -> ActivityInput {
    let start = (Utc::now() - Duration::days(15))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    ActivityInput {
        title: "Restore test".into(),
        practice: Practice::Resilience,
        template: None,
        description: String::new(),
        rrule: "FREQ=WEEKLY".into(),
        starts_local: start,
        timezone: "UTC".into(),
        duration_minutes: 30,
        owner_team_id: None,
        owner_person_id: None,
        asset_id: None,
        active: true,
    }
}

store_test!(
    overdue_work_reaches_every_channel_despite_failures,
    |store: Arc<dyn Store>| async move {
        let ops = OpsStore::new(store.as_ref());
        let notifier = Notifier::new(store.as_ref());
        let smtp = SmtpPeer::start(Mode::Plain, None).await;
        let (ok_url, ok) = start_receiver(false).await;
        let (flaky_url, flaky) = start_receiver(true).await;
        let hang_url = hanging_url().await;
        let email = ChannelConfig::Email(EmailConfig {
            host: "127.0.0.1".into(),
            port: smtp.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "opsward@example.com".into(),
            to: vec!["ops@example.com".into()],
            timeout_secs: 5,
            tls_root_pem: None,
        });
        for (name, config) in [
            ("mail", email),
            ("ok", webhook(&ok_url)),
            ("flaky", webhook(&flaky_url)),
            ("hang", webhook(&hang_url)),
        ] {
            let channel = notifier
                .create_channel(&actor(), name, &config)
                .await
                .unwrap();
            notifier
                .create_rule(&actor(), None, &rule(name, channel.id))
                .await
                .unwrap();
        }
        ops.create_activity(&actor(), &overdue_activity())
            .await
            .unwrap();

        let now = Utc::now();
        let queued = check_calendar(&ops, &notifier, now).await.unwrap();
        assert!(
            queued >= 8 && queued % 4 == 0,
            "at least two overdue occurrences x four channels, got {queued}"
        );
        assert_eq!(
            check_calendar(&ops, &notifier, now).await.unwrap(),
            0,
            "the same state is not notified twice"
        );

        let policy = DeliveryPolicy {
            retry_base: Duration::seconds(2),
            max_attempts: 3,
            ..DeliveryPolicy::default()
        };
        let started = std::time::Instant::now();
        let first = notifier.deliver_due("w1", now, &policy).await.unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the hanging receiver is bounded by its timeout"
        );
        let per_channel = (queued / 4) as u32;
        assert_eq!(
            (first.delivered, first.retrying, first.dead),
            (2 * per_channel, 2 * per_channel, 0),
            "{first:?}"
        );

        let mail = smtp.message(1).await;
        assert_eq!(
            mail.header("X-Opsward-Event").as_deref(),
            Some("activity.overdue")
        );
        assert!(
            mail.header("Subject")
                .unwrap()
                .starts_with("Overdue: Restore test"),
            "{:?}",
            mail.header("Subject")
        );
        let (headers, body) = ok.bodies.lock().unwrap()[0].clone();
        assert_eq!(
            headers["x-opsward-signature"].to_str().unwrap(),
            opsward_notify::signature(b"s3cret", &body)
        );

        // Not yet due for retry: nothing happens.
        assert_eq!(
            notifier
                .deliver_due("w1", now + Duration::seconds(1), &policy)
                .await
                .unwrap(),
            Default::default()
        );
        let second = notifier
            .deliver_due("w1", now + Duration::seconds(3), &policy)
            .await
            .unwrap();
        assert_eq!(
            (second.delivered, second.retrying, second.dead),
            (0, 2 * per_channel, 0),
            "{second:?}"
        );
        flaky.failing.store(false, Ordering::SeqCst); // the outage ends
        let third = notifier
            .deliver_due("w1", now + Duration::seconds(20), &policy)
            .await
            .unwrap();
        assert_eq!(
            (third.delivered, third.dead),
            (per_channel, per_channel),
            "{third:?}"
        );
        assert_eq!(flaky.bodies.lock().unwrap().len(), per_channel as usize);

        // Nothing lost: every message ended delivered or, after its last attempt, dead.
        let outbox = notifier.list_outbox(None, 1000).await.unwrap();
        assert_eq!(outbox.len(), queued);
        assert!(
            outbox
                .iter()
                .all(|e| e.state == "delivered" || (e.state == "dead" && e.attempts == 3)),
            "{outbox:?}"
        );
        assert!(
            outbox.iter().filter(|e| e.state == "dead").all(|e| e
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("did not answer within 1 s")),
            "{outbox:?}"
        );
    }
);

fn event(key: &str, state: &str) -> Event {
    Event {
        kind: "activity.overdue".into(),
        practice: Practice::Patches,
        severity: Severity::Warning,
        subject: "Patch window overdue".into(),
        body: "b".into(),
        link: Some(format!("/calendar/activities/{}", key.len())),
        owner_team_id: None,
        owner_person_id: None,
        dedupe_key: key.into(),
        state: state.into(),
        occurred_at: Utc::now(),
    }
}

store_test!(dedupe_snooze_quiet_hours_and_digest, |store: Arc<
    dyn Store,
>| async move {
    // Links arrive absolute under the configured public URL (its trailing slash ignored).
    let notifier = Notifier::new(store.as_ref()).with_public_url(Some("https://ops.example.com/"));
    let (url, receiver) = start_receiver(false).await;
    let channel = notifier
        .create_channel(&actor(), "hook", &webhook(&url))
        .await
        .unwrap();
    let plain = notifier
        .create_rule(&actor(), None, &rule("plain", channel.id))
        .await
        .unwrap();
    let now = Utc::now();

    assert_eq!(
        notifier
            .emit(&event("a", "overdue"), now)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        notifier
            .emit(&event("a", "overdue"), now)
            .await
            .unwrap()
            .is_empty(),
        "same state"
    );
    notifier
        .snooze(&actor(), "a", now + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        notifier
            .emit(&event("a", "escalated"), now)
            .await
            .unwrap()
            .is_empty(),
        "snoozed"
    );
    assert_eq!(
        notifier
            .emit(&event("a", "escalated"), now + Duration::hours(2))
            .await
            .unwrap()
            .len(),
        1,
        "snooze over, new state"
    );
    notifier.delete_rule(&actor(), plain.id).await.unwrap();

    // Quiet hours: queued now, sent when the window ends.
    let local = now.time();
    let start = (local - Duration::minutes(30)).format("%H:%M").to_string();
    let end = (local + Duration::minutes(30)).format("%H:%M").to_string();
    let quiet = RuleInput {
        quiet_hours: Some(QuietHours {
            start,
            end,
            timezone: "UTC".into(),
        }),
        ..rule("night", channel.id)
    };
    notifier.create_rule(&actor(), None, &quiet).await.unwrap();
    notifier.emit(&event("b", "overdue"), now).await.unwrap();
    let policy = DeliveryPolicy::default();
    assert_eq!(
        notifier
            .deliver_due("w", now, &policy)
            .await
            .unwrap()
            .delivered,
        1,
        "the plain rule's first message; the quiet one waits"
    );
    assert_eq!(
        notifier
            .deliver_due("w", now + Duration::minutes(31), &policy)
            .await
            .unwrap()
            .delivered,
        1,
        "quiet hours over"
    );
    assert_eq!(
        notifier
            .deliver_due("w", now + Duration::hours(2), &policy)
            .await
            .unwrap()
            .delivered,
        1,
        "the escalation"
    );

    // Digest: collected, then sent as one message.
    let digest = RuleInput {
        digest: true,
        ..rule("daily", channel.id)
    };
    notifier.create_rule(&actor(), None, &digest).await.unwrap();
    for key in ["c", "d", "e"] {
        notifier.emit(&event(key, "overdue"), now).await.unwrap();
    }
    let before = receiver.bodies.lock().unwrap().len();
    notifier
        .deliver_due("w", now + Duration::hours(3), &policy)
        .await
        .unwrap();
    let quiet_rule_sends = receiver.bodies.lock().unwrap().len() - before;
    assert_eq!(
        notifier
            .collect_digests(now + Duration::hours(3))
            .await
            .unwrap()
            .len(),
        1
    );
    notifier
        .deliver_due("w", now + Duration::hours(3), &policy)
        .await
        .unwrap();
    let bodies = receiver.bodies.lock().unwrap();
    let first: serde_json::Value = serde_json::from_slice(&bodies[0].1).unwrap();
    assert_eq!(
        first["link"],
        "https://ops.example.com/calendar/activities/1"
    );
    let last: serde_json::Value = serde_json::from_slice(&bodies.last().unwrap().1).unwrap();
    assert_eq!(last["subject"], "opsward digest: 3 notification(s)");
    assert!(
        last["body_text"]
            .as_str()
            .unwrap()
            .contains("(https://ops.example.com/calendar/activities/1)"),
        "{last}"
    );
    assert_eq!(bodies.len(), before + quiet_rule_sends + 1);
});

store_test!(
    a_backlog_drains_in_one_run,
    |store: Arc<dyn Store>| async move {
        let notifier = Notifier::new(store.as_ref());
        let (url, receiver) = start_receiver(false).await;
        let channel = notifier
            .create_channel(&actor(), "hook", &webhook(&url))
            .await
            .unwrap();
        notifier
            .create_rule(&actor(), None, &rule("all", channel.id))
            .await
            .unwrap();
        for i in 0..7 {
            notifier
                .emit(&event(&format!("k{i}"), "overdue"), Utc::now())
                .await
                .unwrap();
        }
        let policy = DeliveryPolicy {
            batch: 2,
            ..DeliveryPolicy::default()
        };
        let report = notifier
            .deliver_all_due("w", &policy, std::time::Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(report.delivered, 7);
        assert_eq!(receiver.bodies.lock().unwrap().len(), 7);
        assert_eq!(
            notifier
                .deliver_all_due("w", &policy, std::time::Duration::from_secs(60))
                .await
                .unwrap()
                .total(),
            0
        );
    }
);

store_test!(a_dead_channel_costs_one_timeout_per_round, |store: Arc<
    dyn Store,
>| async move {
    let notifier = Notifier::new(store.as_ref());
    let hang = notifier
        .create_channel(&actor(), "hang", &webhook(&hanging_url().await))
        .await
        .unwrap();
    let (url, receiver) = start_receiver(false).await;
    let ok = notifier
        .create_channel(&actor(), "ok", &webhook(&url))
        .await
        .unwrap();
    notifier
        .create_rule(&actor(), None, &rule("hang", hang.id))
        .await
        .unwrap();
    notifier
        .create_rule(&actor(), None, &rule("ok", ok.id))
        .await
        .unwrap();
    for i in 0..4 {
        notifier
            .emit(&event(&format!("k{i}"), "overdue"), Utc::now())
            .await
            .unwrap();
    }
    let policy = DeliveryPolicy {
        per_channel_concurrency: 1,
        ..DeliveryPolicy::default()
    };
    let started = std::time::Instant::now();
    let report = notifier
        .deliver_due("w", Utc::now(), &policy)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(3),
        "one 1 s timeout, not four: {took:?}"
    );
    assert_eq!((report.delivered, report.retrying), (4, 4), "{report:?}");
    assert_eq!(
        receiver.bodies.lock().unwrap().len(),
        4,
        "the healthy channel was not held up"
    );
    let pending = notifier.list_outbox(Some("pending"), 100).await.unwrap();
    let attempts: Vec<i32> = pending.iter().map(|e| e.attempts).collect();
    assert_eq!(
        attempts.iter().sum::<i32>(),
        1,
        "only one message was tried: {attempts:?}"
    );
});

// What `/metrics` counts: the outbox's waiting messages with the oldest one's age, and the
// job queue per state.
store_test!(outbox_backlog_and_job_queue_are_counted, |store: Arc<
    dyn Store,
>| async move {
    let notifier = Notifier::new(store.as_ref());
    assert_eq!(
        notifier.outbox_backlog().await.unwrap(),
        Default::default(),
        "nothing waits"
    );
    let channel = notifier
        .create_channel(&actor(), "hook", &webhook(&hanging_url().await))
        .await
        .unwrap();
    notifier
        .create_rule(&actor(), None, &rule("plain", channel.id))
        .await
        .unwrap();
    let first = Utc::now() - Duration::minutes(20);
    notifier.emit(&event("a", "overdue"), first).await.unwrap();
    notifier
        .emit(&event("b", "overdue"), Utc::now())
        .await
        .unwrap();
    let backlog = notifier.outbox_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.digest, backlog.dead), (2, 0, 0));
    let oldest = backlog.oldest_pending.unwrap();
    assert!(
        (oldest - first).num_seconds().abs() <= 1,
        "the oldest is the first: {oldest} vs {first}"
    );

    assert!(store.count_jobs_by_state().await.unwrap().is_empty());
    for key in ["j1", "j2"] {
        store
            .enqueue_job(&opsward_core::job::NewJob {
                kind: "test.count".into(),
                payload: serde_json::json!({}),
                run_at: Utc::now(),
                max_attempts: 1,
                dedupe_key: Some(key.into()),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store.count_jobs_by_state().await.unwrap(),
        [(opsward_core::job::JobState::Queued, 2)]
    );
});
