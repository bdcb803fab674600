//! The practice's scheduled jobs, moved from the server's scheduler: host matching, and the
//! exposure scan, checks and feed re-imports. Each recurs every five minutes and does work
//! only when its own interval (a practice setting, the same for every server) has passed,
//! so a changed interval takes effect within five minutes:
//!
//! - `vulns.host_match`: match the hosts with a new report, or older than the newest
//!   threat-intelligence import, against the advisories (also enqueued after every agent
//!   report and every import).
//! - `vulns.exposure`: TCP-scan the assets with an allowed-ports policy.
//! - `vulns.checks`: weak-TLS, posture and stale-host findings from what the certificates and
//!   patch practices recorded, then notify findings that became overdue (once each).
//! - `vulns.feeds`: re-import the OSV, KEV and EPSS feeds the settings name.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use opsward_core::job::{Job, JobError, JobHandler, JobSpec};
use opsward_core::Actor;
use opsward_store::{Store, StoreError};

use crate::policy_store::CheckRun;
use crate::{exposure_findings, feeds, hosts, overdue, posture, VulnStore};

/// Kinds of the exposure, checks and feeds jobs.
pub const EXPOSURE_JOB: &str = "vulns.exposure";
pub const CHECKS_JOB: &str = "vulns.checks";
pub const FEEDS_JOB: &str = "vulns.feeds";

fn actor() -> Actor {
    Actor::system("scheduler")
}

/// Every job of the practice, each every five minutes.
pub fn specs(store: &Arc<dyn Store>) -> Vec<JobSpec> {
    let every = Duration::minutes(5);
    vec![
        JobSpec::every(hosts::JOB_KIND, every, HostMatch(store.clone())),
        JobSpec::every(EXPOSURE_JOB, every, ExposureScan(store.clone())),
        JobSpec::every(CHECKS_JOB, every, Checks(store.clone())),
        JobSpec::every(FEEDS_JOB, every, Feeds(store.clone())),
    ]
}

pub struct HostMatch(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for HostMatch {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        hosts::match_due_hosts(self.0.as_ref(), &actor(), false).await?;
        Ok(())
    }
}

pub struct ExposureScan(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for ExposureScan {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let store = self.0.as_ref();
        let vulns = VulnStore::new(store);
        if let Some(run) =
            exposure_findings::run_if_due(&vulns, store, &actor(), Utc::now()).await?
        {
            tracing::info!(assets = run.assets, errors = run.errors, detail = %run.detail, "exposure scan done");
        }
        Ok(())
    }
}

pub struct Checks(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for Checks {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let run = run_checks(self.0.as_ref()).await?;
        tracing::info!(detail = %run.detail, "vulnerability checks done");
        Ok(())
    }
}

/// TLS, posture and stale-host findings, then overdue notifications; recorded as a run.
pub async fn run_checks(store: &dyn Store) -> Result<CheckRun, StoreError> {
    let vulns = VulnStore::new(store);
    let notifier = opsward_ops::notifications::Notifier::new(store);
    let started = Utc::now();
    let outcome = posture::check_all(&vulns, store, &actor(), started).await?;
    let notified = overdue::notify_overdue(&vulns, store, &notifier, Utc::now()).await?;
    vulns
        .add_check_run(&CheckRun {
            id: 0,
            job: "checks".into(),
            started_at: started,
            finished_at: Utc::now(),
            assets: 0,
            errors: 0,
            detail: serde_json::json!({"findings": outcome, "overdue": notified}),
        })
        .await
}

pub struct Feeds(pub Arc<dyn Store>);

#[async_trait]
impl JobHandler for Feeds {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let vulns = VulnStore::new(self.0.as_ref());
        for run in feeds::reimport_due(&vulns, &actor(), Utc::now()).await? {
            tracing::info!(feed = %run.kind, source = %run.source, outcome = %run.outcome, "feed re-imported");
        }
        Ok(())
    }
}
