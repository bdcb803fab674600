//! Delivering queued messages: every due row at once, each bounded by its channel's
//! timeout, so one slow or broken channel delays only its own messages.

use super::{store::Result, Notifier};
use chrono::{DateTime, Duration, Utc};
use opsward_core::job::retry_delay;
use opsward_notify::{Notification, Severity};
use serde::Serialize;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// First retry delay; doubles per attempt up to `cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// After this many failed attempts a message is dead (kept, visible, not retried).
    pub max_attempts: i32,
    /// How long a worker may hold a claimed message before another may take it.
    pub lease: Duration,
    pub batch: i64,
    /// Messages in flight to one channel at a time.
    pub per_channel_concurrency: usize,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            retry_base: Duration::seconds(30),
            retry_cap: Duration::hours(1),
            max_attempts: opsward_notify::MAX_ATTEMPTS as i32,
            lease: Duration::minutes(5),
            batch: 200,
            per_channel_concurrency: 8,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub delivered: u32,
    pub retrying: u32,
    pub dead: u32,
}

impl Notifier {
    /// Send every due message once. Safe to run from several servers at a time.
    ///
    /// Channels send in parallel with each other, each with at most
    /// `per_channel_concurrency` messages in flight. When a channel fails in a way worth
    /// retrying, its remaining messages in this batch are not attempted but put back for the
    /// next round, so a dead receiver costs one timeout per round, not one per message.
    pub async fn deliver_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        policy: &DeliveryPolicy,
    ) -> Result<DeliveryReport> {
        let claimed = self
            .claim_due(worker, now, now + policy.lease, policy.batch)
            .await?;
        let mut gates: HashMap<i64, (Arc<Semaphore>, Arc<AtomicBool>)> = HashMap::new();
        let mut sends = tokio::task::JoinSet::new();
        for mut c in claimed {
            c.notification = c.notification.with_links_under(self.public_url());
            let (gate, broken) = gates
                .entry(c.entry.channel_id)
                .or_insert_with(|| {
                    (
                        Arc::new(Semaphore::new(policy.per_channel_concurrency.max(1))),
                        Arc::new(AtomicBool::new(false)),
                    )
                })
                .clone();
            sends.spawn(async move {
                let _permit = gate.acquire_owned().await;
                if broken.load(Ordering::SeqCst) {
                    return (c.entry, None);
                }
                let result = opsward_notify::deliver(&c.channel, &c.notification).await;
                if matches!(&result, Err(e) if e.is_retryable()) {
                    broken.store(true, Ordering::SeqCst);
                }
                (c.entry, Some(result))
            });
        }
        let mut report = DeliveryReport::default();
        while let Some(joined) = sends.join_next().await {
            let Ok((entry, result)) = joined else {
                continue;
            };
            let Some(result) = result else {
                report.retrying += 1;
                let next = now + policy.retry_base;
                if let Err(e) = self.release(entry.id, worker, next).await {
                    tracing::error!(outbox = entry.id, error = %e, "could not put a message back");
                }
                continue;
            };
            let attempt = entry.attempts + 1;
            let finished = Utc::now().max(now);
            let outcome = match &result {
                Ok(_) => {
                    report.delivered += 1;
                    self.finish(
                        entry.id,
                        worker,
                        "delivered",
                        entry.next_attempt_at,
                        None,
                        finished,
                    )
                    .await
                }
                Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                    report.retrying += 1;
                    let next = now + retry_delay(attempt, policy.retry_base, policy.retry_cap);
                    tracing::warn!(outbox = entry.id, attempt, error = %e, "notification not delivered; will retry");
                    self.finish(
                        entry.id,
                        worker,
                        "pending",
                        next,
                        Some(&e.to_string()),
                        finished,
                    )
                    .await
                }
                Err(e) => {
                    report.dead += 1;
                    tracing::error!(outbox = entry.id, attempt, error = %e, "notification given up");
                    self.finish(
                        entry.id,
                        worker,
                        "dead",
                        entry.next_attempt_at,
                        Some(&e.to_string()),
                        finished,
                    )
                    .await
                }
            };
            if let Err(e) = outcome {
                tracing::error!(outbox = entry.id, error = %e, "could not record a delivery result");
            }
        }
        Ok(report)
    }
}

impl DeliveryReport {
    pub fn total(&self) -> u32 {
        self.delivered + self.retrying + self.dead
    }

    fn add(&mut self, other: &DeliveryReport) {
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.dead += other.dead;
    }
}

impl Notifier {
    /// Deliver batch after batch until nothing is due or `budget` is spent, so a backlog
    /// drains in one run without one run holding its worker forever.
    pub async fn deliver_all_due(
        &self,
        worker: &str,
        policy: &DeliveryPolicy,
        budget: std::time::Duration,
    ) -> Result<DeliveryReport> {
        let started = std::time::Instant::now();
        let mut total = DeliveryReport::default();
        loop {
            let round = self.deliver_due(worker, Utc::now(), policy).await?;
            total.add(&round);
            if round.total() == 0 || started.elapsed() >= budget {
                return Ok(total);
            }
        }
    }
}

/// One message that lists several.
pub(crate) fn digest_of(items: &[Notification], now: DateTime<Utc>) -> Notification {
    let severity = items
        .iter()
        .map(|n| n.severity)
        .max()
        .unwrap_or(Severity::Info);
    let mut body = format!("{} notification(s) since the last digest:\n\n", items.len());
    for n in items {
        body.push_str(&format!(
            "- [{}] {}{}\n",
            n.severity,
            n.subject,
            n.link
                .as_ref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default()
        ));
    }
    Notification {
        id: format!(
            "digest:{}:{}",
            items.first().map_or("", |n| n.id.as_str()),
            now.format("%Y-%m-%d")
        ),
        subject: format!("opsward digest: {} notification(s)", items.len()),
        body_text: body,
        body_html: None,
        severity,
        practice: "general".into(),
        link: None,
        event: "digest".into(),
        occurred_at: now,
        recipients: Vec::new(),
    }
}
