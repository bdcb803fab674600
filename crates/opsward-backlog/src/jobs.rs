//! The backlog's background jobs, as the practice contract hands them to the scheduler:
//!
//! - `backlog.sla` every 5 minutes: notify SLA near-breaches and breaches, once per item
//!   and kind ([`crate::sla_alerts::check_sla`]);
//! - `backlog.inbound_mail`, only when inbound email is configured, every
//!   `poll_interval_seconds`: file new mail as items or comments ([`crate::inbound_poll`]);
//! - `backlog.auto_items` every `interval_minutes`: keep one automatic item per condition
//!   another practice proposes ([`crate::auto::run_auto_items`]).

use crate::{
    auto::{run_auto_items, AutoSettings},
    inbound::{InboundRun, InboundSettings},
    sla_alerts::check_sla,
    BacklogStore,
};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use opsward_core::{
    contract::{ConditionSource, JobContext},
    job::{Job, JobError, JobHandler, JobSpec},
    Actor,
};
use opsward_ops::notifications::Notifier;
use opsward_store::Store;
use std::sync::Arc;

/// Kind of the SLA notification job.
pub const SLA_JOB: &str = "backlog.sla";
/// Kind of the inbound email job.
pub const INBOUND_JOB: &str = "backlog.inbound_mail";
/// Kind of the automatic-items job.
pub const AUTO_ITEMS_JOB: &str = "backlog.auto_items";

/// Who changes items from inbound email (the sender is named in the item or comment).
pub fn inbound_actor() -> Actor {
    Actor::system("backlog-inbound")
}

/// Who opens, comments and re-prioritises automatic items.
pub fn auto_items_actor() -> Actor {
    Actor::system("backlog-auto")
}

/// What runs after each poll of the inbound mailbox, with what it filed: the server links
/// items opened from a customer contact's mail to that customer (today's
/// `backlog_inbound::link_customers`), which the backlog cannot do itself because it
/// depends on no other practice.
#[async_trait]
pub trait InboundFollowUp: Send + Sync + 'static {
    async fn after_poll(&self, run: &mut InboundRun);
}

/// The backlog's jobs: the SLA check and automatic items always, inbound email when a
/// mailbox is configured.
pub fn backlog_jobs(
    store: &Arc<dyn Store>,
    auto: &AutoSettings,
    inbound: &InboundSettings,
    follow_up: Option<&Arc<dyn InboundFollowUp>>,
    context: &JobContext,
) -> Vec<JobSpec> {
    let mut jobs = vec![JobSpec::every(
        SLA_JOB,
        Duration::minutes(5),
        SlaJob {
            store: store.clone(),
        },
    )];
    if inbound.enabled() {
        jobs.push(JobSpec::every(
            INBOUND_JOB,
            Duration::seconds(i64::from(inbound.poll_interval_seconds.clamp(30, 86_400))),
            InboundMailJob {
                store: store.clone(),
                settings: inbound.clone(),
                follow_up: follow_up.cloned(),
            },
        ));
    }
    jobs.push(JobSpec::every(
        AUTO_ITEMS_JOB,
        Duration::minutes(i64::from(auto.interval_minutes.clamp(1, 1440))),
        AutoItemsJob {
            store: store.clone(),
            conditions: context.conditions.clone(),
            settings: auto.clone(),
        },
    ));
    jobs
}

/// Notify SLA near-breaches and breaches of open items, once per item and kind.
pub struct SlaJob {
    store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for SlaJob {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let backlog = BacklogStore::new(self.store.as_ref());
        let notifier = Notifier::new(self.store.as_ref());
        let run = check_sla(&backlog, &notifier, Utc::now()).await?;
        tracing::info!(
            checked = run.checked,
            notices = run.notices,
            queued = run.queued,
            "backlog SLA checked"
        );
        Ok(())
    }
}

/// Poll the inbound mailbox once.
pub struct InboundMailJob {
    store: Arc<dyn Store>,
    settings: InboundSettings,
    follow_up: Option<Arc<dyn InboundFollowUp>>,
}

#[async_trait]
impl JobHandler for InboundMailJob {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let backlog = BacklogStore::new(self.store.as_ref());
        let mut run = crate::inbound_poll::poll(&backlog, &self.settings, &inbound_actor()).await;
        if let Some(follow_up) = &self.follow_up {
            follow_up.after_poll(&mut run).await;
        }
        tracing::info!(
            unseen = run.unseen,
            handled = run.messages.len(),
            failed = run.failures(),
            error = ?run.error,
            "inbound email polled"
        );
        // A failed message is left unread and retried at the next poll; failing the job
        // too makes it visible in the job list until someone deals with the message.
        if let Some(e) = run.error {
            return Err(e.into());
        }
        match run.failure_summary() {
            Some(summary) => Err(summary.into()),
            None => Ok(()),
        }
    }
}

/// Bring the automatic items in line with every practice's conditions.
pub struct AutoItemsJob {
    store: Arc<dyn Store>,
    conditions: Arc<dyn ConditionSource>,
    settings: AutoSettings,
}

#[async_trait]
impl JobHandler for AutoItemsJob {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let backlog = BacklogStore::new(self.store.as_ref());
        let run = run_auto_items(
            &backlog,
            self.conditions.as_ref(),
            &self.settings,
            &auto_items_actor(),
            Utc::now(),
        )
        .await;
        tracing::info!(?run, "automatic backlog items checked");
        match run.sources.into_iter().find_map(|s| s.error) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}
