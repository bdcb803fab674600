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
use opsward_core::{
    contract::{JobContext, Registry},
    job::{retry_delay, Job, JobError, NewJob},
};
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

pub use opsward_core::job::{JobHandler, JobSpec};

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

    /// Housekeeping, the calendar's and the outbox's jobs, and every practice's jobs (which
    /// may read the conditions of all of `practices`); links they send out are made absolute
    /// under `public_url` when one is configured.
    pub fn builtin(store: &Arc<dyn Store>, practices: &Registry, public_url: Option<&str>) -> Self {
        let mut registry = Self::default();
        registry.add(JobSpec::every(
            "maintenance.prune_sessions",
            ChronoDuration::hours(1),
            PruneSessions {
                store: store.clone(),
            },
        ));
        let context = JobContext {
            conditions: Arc::new(practices.clone()),
            public_url: public_url.map(str::to_string),
        };
        for spec in opsward_ops::jobs::jobs(store, &context) {
            registry.add(spec);
        }
        for spec in practices.jobs(&context) {
            registry.add(spec);
        }
        registry
    }

    /// [`JobRegistry::builtin`] with the practices a server on `config` runs.
    pub fn for_server(store: &Arc<dyn Store>, config: &crate::ServerConfig) -> Self {
        let mut registry = Self::builtin(
            store,
            &crate::practices::registry(store.clone(), config),
            config.public_url.as_deref(),
        );
        registry.add_scheduled_backup(store, config);
        registry.add_sso_recheck(store, config);
        registry
    }

    /// The periodic re-check of LDAP users' groups. Always registered: LDAP may be set up
    /// on the admin page later; a run without LDAP does nothing.
    pub fn add_sso_recheck(&mut self, store: &Arc<dyn Store>, config: &crate::ServerConfig) {
        self.add(JobSpec::every(
            opsward_sso::recheck::JOB_KIND,
            ChronoDuration::minutes(i64::from(config.sso.recheck_minutes())),
            opsward_sso::recheck::LdapRecheck {
                store: opsward_sso::SsoStore::new(store.as_ref()),
                base: config.sso.clone(),
                public_url: config.public_url.clone(),
            },
        ));
    }

    /// The backup job, when `config.backup` names a directory.
    pub fn add_scheduled_backup(&mut self, store: &Arc<dyn Store>, config: &crate::ServerConfig) {
        let files = config.file_store.clone().unwrap_or_else(|| {
            opsward_ops::attachments::AttachmentStore::new(
                &config.attachments_dir,
                config.max_attachment_bytes,
            )
        });
        if let Some(spec) = opsward_ops::backup::scheduled_job(store, &files, &config.backup) {
            self.add(spec);
        }
    }

    /// Add a job kind, recurring if the spec says so (replacing an earlier one of the kind).
    pub fn add(&mut self, spec: JobSpec) {
        if let Some(every) = spec.every {
            self.every(&spec.kind, every);
        }
        self.handlers.insert(spec.kind, spec.handler);
    }

    pub fn register(&mut self, kind: &str, handler: impl JobHandler) {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
    }

    /// Enqueue `kind` once per `every`, aligned to the Unix epoch; replaces an earlier
    /// interval of the same kind.
    pub fn every(&mut self, kind: &str, every: ChronoDuration) {
        self.periodic.retain(|p| p.kind != kind);
        self.periodic.push(Periodic {
            kind: kind.to_string(),
            every,
        });
    }

    /// Stop enqueueing `kind` on a schedule (it still runs when enqueued).
    pub fn not_periodic(&mut self, kind: &str) {
        self.periodic.retain(|p| p.kind != kind);
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<_> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    /// The interval of a recurring kind.
    /// The handler of `kind`, to run a job directly (tests, `opsward job run`).
    pub fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn interval(&self, kind: &str) -> Option<ChronoDuration> {
        self.periodic
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| p.every)
    }
}

struct PruneSessions {
    store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for PruneSessions {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let pruned = self.store.prune_sessions(Utc::now()).await?;
        tracing::info!(pruned, "expired sessions removed");
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
    let result = handler
        .run(&job)
        .instrument(span)
        .await
        .map_err(|e| e.to_string());
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
