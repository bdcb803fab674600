//! Hosts, their reports and the patch policy, on SQLite and PostgreSQL.

mod language;
mod model;
pub mod rollout;
mod severity;
mod sql;

pub use model::*;
pub use severity::UpdateSeverity;
pub use sql::Result;

use crate::{
    policy::{self, FleetCompliance, PatchPolicy, TrendPoint},
    report::HostReport,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::Actor;
use opsward_ops::host_inventory::HostInventory;
use opsward_store::{on_backend, Database, Store};
use sql::{postgres, sqlite};

/// `on_backend!` for the rollout tables' SQL.
macro_rules! on_rollout {
    ($db:expr, $f:ident($($arg:expr),*)) => {
        match $db {
            Database::Sqlite(pool) => rollout::sqlite::$f(pool $(, $arg)*).await,
            Database::Postgres(pool) => rollout::postgres::$f(pool $(, $arg)*).await,
        }
    };
}

/// Days the compliance trend covers.
pub const TREND_DAYS: i64 = 30;

/// Hosts and their patch state, next to the foundation store on the same database.
#[derive(Clone)]
pub struct PatchStore {
    db: Database,
}

impl PatchStore {
    pub fn new(store: &dyn Store) -> Self {
        PatchStore {
            db: store.database(),
        }
    }

    fn inventory(&self) -> HostInventory {
        HostInventory::from_database(self.db.clone())
    }

    pub async fn policy(&self) -> Result<PatchPolicy> {
        on_backend!(&self.db, policy())
    }

    pub async fn set_policy(&self, actor: &Actor, policy: &PatchPolicy) -> Result<PatchPolicy> {
        policy.validate()?;
        on_backend!(&self.db, set_policy(actor, policy))
    }

    /// Store an enrollment token by the hash of its secret (the caller mints the secret).
    pub async fn create_enrollment_token(
        &self,
        actor: &Actor,
        name: &str,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<EnrollmentToken> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("name", name, 100);
        v.finish()?;
        on_backend!(
            &self.db,
            create_enrollment_token(actor, name, token_hash, expires_at)
        )
    }

    pub async fn list_enrollment_tokens(&self) -> Result<Vec<EnrollmentToken>> {
        on_backend!(&self.db, list_enrollment_tokens())
    }

    pub async fn revoke_enrollment_token(&self, actor: &Actor, id: i64) -> Result<EnrollmentToken> {
        on_backend!(&self.db, revoke_enrollment_token(actor, id))
    }

    /// `None` when the enrollment token is unknown, revoked or expired.
    pub async fn enroll(
        &self,
        token_hash: &str,
        hostname: &str,
        credential_hash: &str,
    ) -> Result<Option<Host>> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("hostname", hostname, 253);
        v.finish()?;
        on_backend!(&self.db, enroll(token_hash, hostname, credential_hash))
    }

    pub async fn authenticate_host(&self, credential_hash: &str) -> Result<Option<Host>> {
        on_backend!(&self.db, authenticate_host(credential_hash))
    }

    pub async fn ingest(&self, host_id: i64, report: &HostReport) -> Result<IngestOutcome> {
        on_backend!(&self.db, ingest(host_id, report, None))
    }

    /// [`Self::ingest`], queueing `job` in the same transaction when the report is applied
    /// (the server's vulnerability match of the host): one write, not two.
    pub async fn ingest_queueing(
        &self,
        host_id: i64,
        report: &HostReport,
        job: &opsward_core::job::NewJob,
    ) -> Result<IngestOutcome> {
        on_backend!(&self.db, ingest(host_id, report, Some(job)))
    }

    /// Set pending updates' severities (from the vulnerabilities they fix) and, by the
    /// policy, their due dates. Returns how many changed.
    pub async fn set_update_severities(
        &self,
        actor: &Actor,
        host_id: i64,
        updates: &[UpdateSeverity],
    ) -> Result<usize> {
        self.inventory()
            .set_update_severities(actor, host_id, updates)
            .await
    }

    pub async fn list_hosts(&self, now: DateTime<Utc>) -> Result<Vec<HostSummary>> {
        on_backend!(&self.db, list_hosts(now))
    }

    pub async fn host_detail(&self, id: i64, now: DateTime<Utc>) -> Result<HostDetail> {
        self.inventory().host_detail(id, now).await
    }

    pub async fn create_ring(
        &self,
        actor: &Actor,
        input: &rollout::RingInput,
    ) -> Result<rollout::Ring> {
        input.validate()?;
        on_rollout!(&self.db, create_ring(actor, input))
    }

    pub async fn update_ring(
        &self,
        actor: &Actor,
        id: i64,
        input: &rollout::RingInput,
    ) -> Result<rollout::Ring> {
        input.validate()?;
        on_rollout!(&self.db, update_ring(actor, id, input))
    }

    /// Delete a ring without approvals; its hosts are left in no ring.
    pub async fn delete_ring(&self, actor: &Actor, id: i64) -> Result<rollout::Ring> {
        on_rollout!(&self.db, delete_ring(actor, id))
    }

    pub async fn list_rings(&self) -> Result<Vec<rollout::Ring>> {
        on_rollout!(&self.db, list_rings())
    }

    /// Put a host in a ring (or none).
    pub async fn assign_ring(
        &self,
        actor: &Actor,
        host_id: i64,
        ring_id: Option<i64>,
    ) -> Result<()> {
        on_rollout!(&self.db, assign_ring(actor, host_id, ring_id))
    }

    /// Approve installing `packages` (names) on the hosts of a ring, with a reboot policy of
    /// its own for that ring (`None`: the ring's).
    pub async fn approve(
        &self,
        actor: &Actor,
        ring_id: i64,
        packages: &[String],
        reboot: Option<crate::reboot::RebootPolicy>,
    ) -> Result<rollout::Approval> {
        let mut v = opsward_core::validation::Validator::new();
        if packages.is_empty() || packages.len() > 1000 {
            v.error("packages", "name 1-1000 packages");
        }
        for p in packages {
            if let Err(e) = crate::install::validate_package_name(p) {
                v.error("packages", e);
            }
        }
        v.finish()?;
        on_rollout!(&self.db, approve(actor, ring_id, packages, reboot))
    }

    /// Every host that is in a ring, by hostname.
    pub async fn ring_members(&self) -> Result<Vec<rollout::RingMember>> {
        on_rollout!(&self.db, ring_members())
    }

    pub async fn list_approvals(&self) -> Result<Vec<rollout::Approval>> {
        on_rollout!(&self.db, list_approvals())
    }

    /// Promote succeeded approvals whose soak is over to the next ring.
    pub async fn promote(&self, now: DateTime<Utc>) -> Result<Vec<rollout::Approval>> {
        on_rollout!(&self.db, promote(now))
    }

    /// The host's window and the approvals it has still to run (after promoting what is due).
    pub async fn instructions(
        &self,
        host_id: i64,
        now: DateTime<Utc>,
    ) -> Result<rollout::Instructions> {
        self.promote(now).await?;
        on_rollout!(&self.db, instructions(host_id))
    }

    pub async fn record_run(
        &self,
        host_id: i64,
        approval_id: i64,
        run: &crate::install::InstallRun,
    ) -> Result<rollout::RunRecord> {
        on_rollout!(&self.db, record_run(host_id, approval_id, run))
    }

    /// Evidence of installation runs, newest first.
    pub async fn runs(&self, approval_id: Option<i64>) -> Result<Vec<rollout::RunRecord>> {
        on_rollout!(&self.db, runs(approval_id))
    }

    /// Fleet numbers now and the daily trend over [`TREND_DAYS`].
    pub async fn compliance(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(FleetCompliance, Vec<TrendPoint>)> {
        let hosts = self.list_hosts(now).await?;
        let since = now - Duration::days(TREND_DAYS.max(90));
        let (enrolled, spans) = on_backend!(&self.db, spans(since))?;
        let current = hosts.iter().filter(|h| h.current).count() as i64;
        let fleet = FleetCompliance {
            hosts: hosts.len() as i64,
            current_hosts: current,
            percent_current: if hosts.is_empty() {
                100.0
            } else {
                100.0 * current as f64 / hosts.len() as f64
            },
            pending_updates: hosts.iter().map(|h| h.pending_updates).sum(),
            security_updates: hosts.iter().map(|h| h.security_updates).sum(),
            overdue_updates: hosts.iter().map(|h| h.overdue_updates).sum(),
            mean_hours_to_patch: policy::mean_hours_to_patch(&spans, now - Duration::days(90)),
        };
        Ok((fleet, policy::trend(&enrolled, &spans, now, TREND_DAYS)))
    }
}
