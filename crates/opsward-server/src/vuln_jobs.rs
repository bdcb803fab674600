//! The vulnerabilities practice's scheduled jobs. Each runs every five minutes and does work
//! only when its own interval (a practice setting, the same for every server) has passed, so
//! a changed interval takes effect within five minutes:
//!
//! - `vulns.exposure`: TCP-scan the assets with an allowed-ports policy (see
//!   `opsward_vulns::exposure_findings`).
//! - `vulns.checks`: weak-TLS, posture and stale-host findings from what the certificates and
//!   patch practices recorded, then notify findings that became overdue (once each).
//! - `vulns.feeds`: re-import the OSV, KEV and EPSS feeds the settings name.

use crate::scheduler::{JobHandler, JobRegistry};
use async_trait::async_trait;
use chrono::{Duration as ChronoDuration, Utc};
use opsward_core::{job::Job, Actor};
use opsward_store::Store;
use opsward_vulns::{exposure_findings, feeds, overdue, policy_store::CheckRun, posture};
use std::sync::Arc;

pub fn register(registry: &mut JobRegistry) {
    registry.register("vulns.exposure", ExposureScan);
    registry.every("vulns.exposure", ChronoDuration::minutes(5));
    registry.register("vulns.checks", Checks);
    registry.every("vulns.checks", ChronoDuration::minutes(5));
    registry.register("vulns.feeds", Feeds);
    registry.every("vulns.feeds", ChronoDuration::minutes(5));
}

fn actor() -> Actor {
    Actor::system("scheduler")
}

pub struct ExposureScan;

#[async_trait]
impl JobHandler for ExposureScan {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let vulns = opsward_vulns::VulnStore::new(store.as_ref());
        let run = exposure_findings::run_if_due(&vulns, store.as_ref(), &actor(), Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(run) = run {
            tracing::info!(assets = run.assets, errors = run.errors, detail = %run.detail, "exposure scan done");
        }
        Ok(())
    }
}

pub struct Checks;

#[async_trait]
impl JobHandler for Checks {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let run = run_checks(store.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(detail = %run.detail, "vulnerability checks done");
        Ok(())
    }
}

/// TLS, posture and stale-host findings, then overdue notifications; recorded as a run.
pub async fn run_checks(store: &dyn Store) -> Result<CheckRun, opsward_store::StoreError> {
    let vulns = opsward_vulns::VulnStore::new(store);
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

pub struct Feeds;

#[async_trait]
impl JobHandler for Feeds {
    async fn run(&self, store: &Arc<dyn Store>, _job: &Job) -> Result<(), String> {
        let vulns = opsward_vulns::VulnStore::new(store.as_ref());
        let runs = feeds::reimport_due(&vulns, &actor(), Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        for run in runs {
            tracing::info!(feed = %run.kind, source = %run.source, outcome = %run.outcome, "feed re-imported");
        }
        Ok(())
    }
}
