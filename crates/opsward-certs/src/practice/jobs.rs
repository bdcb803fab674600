//! The practice's background job: rescanning stored places on their interval.

use crate::{rescan::rescan_due, CertStore, ScanOptions, TrustStore};
use async_trait::async_trait;
use chrono::Utc;
use opsward_core::{
    job::{Job, JobError, JobHandler},
    Actor,
};
use opsward_ops::notifications::Notifier;
use opsward_store::Store;
use std::{sync::Arc, time::Duration};

/// The job kind.
pub const RESCAN_JOB: &str = "certs.rescan";
/// How often it is enqueued. The rescan interval itself is a certificates setting; checking
/// every five minutes makes a changed interval take effect within five minutes, and a run
/// with nothing due does nothing.
pub const RESCAN_EVERY_MINUTES: i64 = 5;

/// Scan again every stored endpoint and path whose interval has passed, then apply the
/// renewal rules and raise expiry alerts. Chains are checked against `trust` (the public
/// roots plus the configured CA bundle).
pub struct CertRescan {
    store: Arc<dyn Store>,
    trust: TrustStore,
}

impl CertRescan {
    pub fn new(store: Arc<dyn Store>, trust: TrustStore) -> Self {
        CertRescan { store, trust }
    }
}

#[async_trait]
impl JobHandler for CertRescan {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let certs = CertStore::new(self.store.as_ref());
        let notifier = Notifier::new(self.store.as_ref());
        let options = ScanOptions {
            // Within the job lease, which heartbeats keep alive anyway.
            total_deadline: Duration::from_secs(600),
            ..Default::default()
        };
        let run = rescan_due(
            &certs,
            &notifier,
            &self.trust,
            &options,
            &Actor::system("scheduler"),
            Utc::now(),
        )
        .await?;
        tracing::info!(?run, "certificates rescanned");
        Ok(())
    }
}
