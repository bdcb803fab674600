//! The calendar's and the notification outbox's background jobs, which every server runs
//! whatever practices it has: due-soon and overdue events, notifications about every
//! practice's conditions, delivery with retries, daily digests.

use crate::{
    notifications::{
        conditions::notify_conditions, events::check_calendar, DeliveryPolicy, Notifier,
    },
    OpsStore,
};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use opsward_core::{
    contract::{ConditionSource, JobContext},
    job::{Job, JobError, JobHandler, JobSpec},
};
use opsward_store::Store;
use std::sync::Arc;

/// The jobs, with their intervals; condition notifications read `context`'s conditions.
pub fn jobs(store: &Arc<dyn Store>, context: &JobContext) -> Vec<JobSpec> {
    vec![
        JobSpec::every(
            "calendar.notify",
            Duration::minutes(5),
            CalendarNotify {
                store: store.clone(),
            },
        ),
        JobSpec::every(
            "conditions.notify",
            Duration::minutes(5),
            NotifyConditions {
                store: store.clone(),
                conditions: context.conditions.clone(),
            },
        ),
        JobSpec::every(
            "notifications.deliver",
            Duration::minutes(1),
            DeliverNotifications {
                store: store.clone(),
                public_url: context.public_url.clone(),
            },
        ),
        JobSpec::every(
            "notifications.digest",
            Duration::days(1),
            CollectDigests {
                store: store.clone(),
                public_url: context.public_url.clone(),
            },
        ),
    ]
}

/// Raise due-soon and overdue events for the calendar.
struct CalendarNotify {
    store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for CalendarNotify {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let ops = OpsStore::new(self.store.as_ref());
        let notifier = Notifier::new(self.store.as_ref());
        let queued = check_calendar(&ops, &notifier, Utc::now()).await?;
        tracing::info!(queued, "calendar checked for notifications");
        Ok(())
    }
}

/// Raise `condition.opened` events for the conditions of every practice.
struct NotifyConditions {
    store: Arc<dyn Store>,
    conditions: Arc<dyn ConditionSource>,
}

#[async_trait]
impl JobHandler for NotifyConditions {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let notifier = Notifier::new(self.store.as_ref());
        let queued = notify_conditions(&notifier, self.conditions.as_ref(), Utc::now()).await?;
        tracing::info!(queued, "conditions checked for notifications");
        Ok(())
    }
}

/// Send what the outbox holds.
struct DeliverNotifications {
    store: Arc<dyn Store>,
    public_url: Option<String>,
}

#[async_trait]
impl JobHandler for DeliverNotifications {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let notifier =
            Notifier::new(self.store.as_ref()).with_public_url(self.public_url.as_deref());
        let worker = job
            .lease_owner
            .clone()
            .unwrap_or_else(|| "scheduler".into());
        // Less than the job lease, so a long backlog never outlives the claim.
        let report = notifier
            .deliver_all_due(
                &worker,
                &DeliveryPolicy::default(),
                std::time::Duration::from_secs(45),
            )
            .await?;
        if report != Default::default() {
            tracing::info!(?report, "notifications delivered");
        }
        Ok(())
    }
}

/// Fold the day's digest messages into one per rule.
struct CollectDigests {
    store: Arc<dyn Store>,
    public_url: Option<String>,
}

#[async_trait]
impl JobHandler for CollectDigests {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let notifier =
            Notifier::new(self.store.as_ref()).with_public_url(self.public_url.as_deref());
        let created = notifier.collect_digests(Utc::now()).await?;
        tracing::info!(digests = created.len(), "daily digests queued");
        Ok(())
    }
}
