//! The job scheduler every server instance runs.
//!
//! Jobs live in the store. Each instance polls for due jobs and claims them with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), renews the lease while the job runs, and
//! records success, or failure with exponential backoff. A job whose worker died is taken
//! over when its lease lapses. Periodic jobs are enqueued with a dedupe key per period, so
//! however many instances run, each period's job exists once.

use crate::AppState;
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use opsward_core::job::{retry_delay, Job, NewJob};
use opsward_store::Store;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub enabled: bool,
    /// Identifies this instance in leases; must differ between instances.
    pub instance_id: String,
    pub poll_interval: Duration,
    pub lease: Duration,
    pub concurrency: usize,
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            enabled: true,
            instance_id: default_instance_id(),
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            concurrency: 4,
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(6 * 3600),
        }
    }
}

pub fn default_instance_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "opsward".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// A kind of job and what running it means.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Run once. An `Err` is retried with backoff until the job's attempts are used up.
    async fn run(&self, store: &Arc<dyn Store>, job: &Job) -> Result<(), String>;
}

struct Periodic {
    kind: String,
    every: ChronoDuration,
}

/// The job kinds this server runs, and which of them recur.
#[derive(Default)]
pub struct JobRegistry {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    periodic: Vec<Periodic>,
}

impl JobRegistry {
    pub fn empty() -> Self {
        Self::default()
    }

    /// The jobs opsward itself needs: housekeeping for now; practices add theirs.
    pub fn with_builtin() -> Self {
        let mut registry = Self::default();
        registry.register("maintenance.prune_sessions", PruneSessions);
        registry.every("maintenance.prune_sessions", ChronoDuration::hours(1));
        registry.register("calendar.notify", CalendarNotify);
        registry.every("calendar.notify", ChronoDuration::minutes(5));
        registry.register("notifications.deliver", DeliverNotifications);
        registry.every("notifications.deliver", ChronoDuration::minutes(1));
        registry.register("notifications.digest", CollectDigests);
        registry.every("notifications.digest", ChronoDuration::days(1));
        registry.register("customers.surveys", SendSurveys);
        registry.every("customers.surveys", ChronoDuration::minutes(5));
        registry.register("suppliers.contracts", ContractCheck);
        registry.every("suppliers.contracts", ChronoDuration::hours(1));
        registry.register("certs.rescan", CertRescan::default());
        registry.every("certs.rescan", ChronoDuration::minutes(5));
        registry.register("backlog.sla", BacklogSla);
        registry.every("backlog.sla", ChronoDuration::minutes(5));
        registry.register(opsward_vulns::hosts::JOB_KIND, HostMatch);
        registry.every(opsward_vulns::hosts::JOB_KIND, ChronoDuration::minutes(5));
        crate::vuln_jobs::register(&mut registry);
        crate::backlog_auto::register(
            &mut registry,
            &opsward_backlog::auto::AutoSettings::default(),
        );
        registry
    }

    pub fn register(&mut self, kind: &str, handler: impl JobHandler) {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
    }

    /// Check certificate chains in rescans against `trust` (the public roots plus the
    /// configured CA bundle).
    pub fn with_cert_trust(mut self, trust: opsward_certs::TrustStore) -> Self {
        if self.handlers.contains_key("certs.rescan") {
            self.register("certs.rescan", CertRescan { trust });
        }
        self
    }

    /// Enqueue `kind` once per `every`, aligned to the Unix epoch.
    /// Enqueue `kind` once per `every`, aligned to the Unix epoch; replaces an earlier
    /// interval of the same kind.
    pub fn every(&mut self, kind: &str, every: ChronoDuration) {
        self.periodic.retain(|p| p.kind != kind);
        self.periodic.push(Periodic {
            kind: kind.to_string(),
            every,
        });
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<_> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

struct PruneSessions;

#[async_trait]
impl JobHandler for PruneSessions {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let pruned = store
            .prune_sessions(Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(pruned, "expired sessions removed");
        Ok(())
    }
}

/// Raise due-soon and overdue events for the calendar.
struct CalendarNotify;

#[async_trait]
impl JobHandler for CalendarNotify {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let ops = opsward_ops::OpsStore::new(store.as_ref());
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let queued =
            opsward_ops::notifications::events::check_calendar(&ops, &notifier, Utc::now())
                .await
                .map_err(|e| e.to_string())?;
        tracing::info!(queued, "calendar checked for notifications");
        Ok(())
    }
}

/// Send what the outbox holds.
struct DeliverNotifications;

#[async_trait]
impl JobHandler for DeliverNotifications {
    async fn run(&self, store: &Arc<dyn Store>, job: &Job) -> Result<(), String> {
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let worker = job
            .lease_owner
            .clone()
            .unwrap_or_else(|| "scheduler".into());
        let policy = opsward_ops::notifications::DeliveryPolicy::default();
        // Less than the job lease, so a long backlog never outlives the claim.
        let report = notifier
            .deliver_all_due(&worker, &policy, std::time::Duration::from_secs(45))
            .await
            .map_err(|e| e.to_string())?;
        if report != Default::default() {
            tracing::info!(?report, "notifications delivered");
        }
        Ok(())
    }
}

/// Fold the day's digest messages into one per rule.
struct CollectDigests;

#[async_trait]
impl JobHandler for CollectDigests {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let created = notifier
            .collect_digests(Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(digests = created.len(), "daily digests queued");
        Ok(())
    }
}

/// Decide and queue the satisfaction surveys that are due.
struct SendSurveys;

#[async_trait]
impl JobHandler for SendSurveys {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let customers = opsward_customers::CustomersStore::new(store.as_ref());
        let backlog = opsward_backlog::BacklogStore::new(store.as_ref());
        let report = opsward_customers::surveys::run(&customers, &backlog, Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        if report != Default::default() {
            tracing::info!(?report, "surveys decided");
        }
        Ok(())
    }
}

/// Roll tacitly renewing contracts forward and raise notice-deadline reminders. Hourly, so
/// a new day's reminders go out early that day; repeated runs change and send nothing new.
struct ContractCheck;

#[async_trait]
impl JobHandler for ContractCheck {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let suppliers = opsward_suppliers::SupplierStore::new(store.as_ref());
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let now = Utc::now();
        let run = opsward_suppliers::alerts::check_contracts(
            &suppliers,
            &notifier,
            &opsward_core::Actor::system("scheduler"),
            now.date_naive(),
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
        tracing::info!(
            renewed = run.renewed.len(),
            queued = run.queued,
            "contracts checked"
        );
        Ok(())
    }
}

/// Scan again every stored endpoint and path whose interval (a certificates setting) has
/// passed, then apply the renewal rules and raise expiry alerts. Every five minutes, so a
/// changed interval takes effect within five minutes; a run with nothing due does nothing.
#[derive(Default)]
struct CertRescan {
    trust: opsward_certs::TrustStore,
}

#[async_trait]
impl JobHandler for CertRescan {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let certs = opsward_certs::CertStore::new(store.as_ref());
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let options = opsward_certs::ScanOptions {
            // Within the job lease, which heartbeats keep alive anyway.
            total_deadline: Duration::from_secs(600),
            ..Default::default()
        };
        let run = opsward_certs::rescan::rescan_due(
            &certs,
            &notifier,
            &self.trust,
            &options,
            &opsward_core::Actor::system("scheduler"),
            Utc::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
        tracing::info!(?run, "certificates rescanned");
        Ok(())
    }
}

/// Notify SLA near-breaches and breaches of open backlog items, once per item and kind.
struct BacklogSla;

#[async_trait]
impl JobHandler for BacklogSla {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let backlog = opsward_backlog::BacklogStore::new(store.as_ref());
        let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
        let run = opsward_backlog::sla_alerts::check_sla(&backlog, &notifier, Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            checked = run.checked,
            notices = run.notices,
            queued = run.queued,
            "backlog SLA checked"
        );
        Ok(())
    }
}

/// Match the hosts with a new report, or older than the newest threat-intelligence import,
/// against the advisories. Enqueued after every agent report and every import; every five
/// minutes too, so an import made while no server ran is matched soon after.
struct HostMatch;

#[async_trait]
impl JobHandler for HostMatch {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        opsward_vulns::hosts::match_due_hosts(
            store.as_ref(),
            &opsward_core::Actor::system("scheduler"),
            false,
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }
}

fn period_start(now: DateTime<Utc>, every: ChronoDuration) -> DateTime<Utc> {
    let step = every.num_seconds().max(1);
    let start = now.timestamp().div_euclid(step) * step;
    Utc.timestamp_opt(start, 0).single().unwrap_or(now)
}

async fn enqueue_periodic(state: &AppState, last: &mut HashMap<String, DateTime<Utc>>) {
    let now = Utc::now();
    for p in &state.jobs.periodic {
        let start = period_start(now, p.every);
        if last.get(&p.kind) == Some(&start) {
            continue;
        }
        let job = NewJob {
            kind: p.kind.clone(),
            payload: serde_json::json!({}),
            run_at: start,
            max_attempts: 3,
            dedupe_key: Some(format!("{}@{}", p.kind, start.to_rfc3339())),
        };
        match state.store.enqueue_job(&job).await {
            Ok(_) => {
                last.insert(p.kind.clone(), start);
            }
            Err(e) => tracing::warn!(kind = %p.kind, error = %e, "could not enqueue periodic job"),
        }
    }
}

/// Poll, claim and run jobs until `stop` turns true; then wait for running jobs.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let config = state.config.scheduler.clone();
    let kinds = state.jobs.kinds();
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut last_periodic = HashMap::new();
    tracing::info!(instance = %config.instance_id, ?kinds, "scheduler started");
    loop {
        enqueue_periodic(&state, &mut last_periodic).await;
        // Claim while there are free slots and due jobs.
        while let Ok(permit) = slots.clone().try_acquire_owned() {
            let now = Utc::now();
            let lease_until =
                now + ChronoDuration::from_std(config.lease).unwrap_or(ChronoDuration::seconds(60));
            match state
                .store
                .claim_job(&config.instance_id, &kinds, now, lease_until)
                .await
            {
                Ok(Some(job)) => {
                    let state = state.clone();
                    tokio::spawn(async move {
                        execute(&state, job).await;
                        drop(permit);
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs");
                    break;
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(config.poll_interval) => {}
        }
    }
    // Running jobs hold permits; taking them all means every job has finished.
    let _ = slots.acquire_many(config.concurrency.max(1) as u32).await;
    tracing::info!("scheduler stopped");
}

async fn execute(state: &AppState, job: Job) {
    let config = &state.config.scheduler;
    let Some(handler) = state.jobs.handlers.get(&job.kind).cloned() else {
        return;
    };
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);

    // Renew the lease at a third of its length so a slow job is not taken over while alive.
    let heartbeat = {
        let store = state.store.clone();
        let (id, attempt, worker, lease) = (
            job.id,
            job.attempts,
            config.instance_id.clone(),
            config.lease,
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = Utc::now()
                    + ChronoDuration::from_std(lease).unwrap_or(ChronoDuration::seconds(60));
                match store.heartbeat_job(id, &worker, attempt, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(id, "lost the lease of a running job");
                        break;
                    }
                    Err(e) => tracing::warn!(id, error = %e, "lease renewal failed"),
                }
            }
        })
    };
    let result = handler.run(&state.store, &job).instrument(span).await;
    heartbeat.abort();
    let now = Utc::now();
    let recorded = match &result {
        Ok(()) => {
            state
                .store
                .complete_job(job.id, &config.instance_id, job.attempts, now)
                .await
        }
        Err(error) => {
            let retry_at = (job.attempts < job.max_attempts).then(|| {
                let base = ChronoDuration::from_std(config.retry_base)
                    .unwrap_or(ChronoDuration::seconds(30));
                let cap =
                    ChronoDuration::from_std(config.retry_cap).unwrap_or(ChronoDuration::hours(6));
                now + retry_delay(job.attempts, base, cap)
            });
            tracing::warn!(id = job.id, kind = %job.kind, attempt = job.attempts, %error, retry = retry_at.is_some(), "job failed");
            state
                .store
                .fail_job(
                    job.id,
                    &config.instance_id,
                    job.attempts,
                    error,
                    retry_at,
                    now,
                )
                .await
        }
    };
    let outcome = match (&result, job.attempts < job.max_attempts) {
        (Ok(()), _) => "succeeded",
        (Err(_), true) => "retrying",
        (Err(_), false) => "dead",
    };
    state.metrics.job_finished(&job.kind, outcome);
    match recorded {
        Ok(true) => tracing::debug!(id = job.id, outcome, "job finished"),
        Ok(false) => tracing::warn!(
            id = job.id,
            "job finished after its lease passed to another worker"
        ),
        Err(e) => tracing::error!(id = job.id, error = %e, "could not record job result"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_align_to_the_epoch() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 10, 42, 7).unwrap();
        assert_eq!(
            period_start(t, ChronoDuration::hours(1)),
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap()
        );
        assert_eq!(
            period_start(t, ChronoDuration::days(1)),
            Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap()
        );
    }
}
