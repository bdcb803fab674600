//! Storage of the practice's settings, allowed-ports policies and check runs, and the one way
//! findings that are not package matches are recorded: [`Observed`] problems of one kind.
//! New ones open, fixed ones that came back reopen, and findings of that kind (within the
//! assets checked) that were not observed again are fixed. Every change is audited in the
//! same transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use opsward_core::{Actor, FieldError, ValidationError};
use opsward_store::{on_backend, StoreError};
use serde::Serialize;

use crate::findings::{Finding, FindingKind, FindingState, ScanOutcome};
use crate::policy::{DuePolicy, DuePolicyChange};
use crate::settings::{PortPolicy, PortPolicyInput, VulnSettings};
use crate::severity::Severity;
use crate::store::{Result, VulnStore};

/// A problem a check observed on an asset now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub asset_id: i64,
    /// What is affected: `tcp/8080`, `tls/mail.example.com:465`, `posture/firewall`, ...
    pub package: String,
    /// What is wrong, the same for every asset it affects: `exposure:tcp/8080`, `tls:weak-key`.
    pub problem: String,
    /// What was seen (stored as the installed version): `open`, a key size, a report time.
    pub seen: String,
    pub summary: String,
    pub severity: Severity,
}

/// Which findings a check looked at: those not observed again within it are fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The assets checked; `None`: every asset.
    pub assets: Option<HashSet<i64>>,
    /// The packages checked (`tcp/22`, ...); `None`: all of them.
    pub packages: Option<HashSet<String>>,
}

impl Scope {
    pub fn everything() -> Self {
        Scope::default()
    }

    pub fn assets(ids: impl IntoIterator<Item = i64>) -> Self {
        Scope {
            assets: Some(ids.into_iter().collect()),
            packages: None,
        }
    }

    fn covers(&self, asset_id: i64, package: &str) -> bool {
        self.assets.as_ref().is_none_or(|a| a.contains(&asset_id))
            && self.packages.as_ref().is_none_or(|p| p.contains(package))
    }
}

/// A run of a scheduled check.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = VulnCheckRun)]
pub struct CheckRun {
    pub id: i64,
    /// `exposure` or `checks`.
    pub job: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub assets: i64,
    pub errors: i64,
    pub detail: serde_json::Value,
}

fn parse_settings(text: &str) -> Result<VulnSettings> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("vuln_settings: {e}")))
}

macro_rules! policy_sql {
    ($module:ident, $db:ty, $backend:path, $findings:path, $begin:expr, $lock:literal) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use $findings::{fetch, finding_row, FINDING_COLUMNS};
            use sqlx::Row;

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;
            const POLICY_COLUMNS: &str = "id, asset_id, tag, allowed, scan_ports, address, updated_at";

            fn policy_row(row: &DbRow) -> Result<PortPolicy> {
                Ok(PortPolicy {
                    id: row.try_get("id")?,
                    asset_id: row.try_get("asset_id")?,
                    tag: row.try_get("tag")?,
                    allowed: row.try_get("allowed")?,
                    scan_ports: row.try_get("scan_ports")?,
                    address: row.try_get("address")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            pub async fn settings(pool: &Pool) -> Result<VulnSettings> {
                let text: String = sqlx::query("SELECT settings FROM vuln_settings WHERE id = 1")
                    .fetch_one(pool)
                    .await?
                    .try_get("settings")?;
                parse_settings(&text)
            }

            /// Reads the settings, applies `change` and writes the result in one transaction
            /// that holds the settings row, so two writers changing different parts (the whole
            /// settings, the due-date policy alone) never undo each other.
            pub async fn set_settings(pool: &Pool, actor: &Actor, change: impl FnOnce(&str) -> Result<VulnSettings>, now: DateTime<Utc>) -> Result<(VulnSettings, usize)> {
                let mut tx = pool.begin_with($begin).await?;
                let before: String = sqlx::query(concat!("SELECT settings FROM vuln_settings WHERE id = 1", $lock)).fetch_one(&mut *tx).await?.try_get("settings")?;
                let settings = &change(&before)?;
                let text = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE vuln_settings SET settings = $1, updated_at = $2 WHERE id = 1")
                    .bind(&text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let old_due = serde_json::from_str::<VulnSettings>(&before).map(|s| s.due).ok();
                let before: Option<serde_json::Value> = serde_json::from_str(&before).ok();
                backend::audit(&mut tx, actor, "update", "vuln_settings", Some(1), before, serde_json::to_value(settings).ok()).await?;
                let rescheduled = if old_due.as_ref() == Some(&settings.due) { 0 } else { reschedule(&mut tx, actor, &settings.due).await? };
                tx.commit().await?;
                Ok((settings.clone(), rescheduled))
            }

            /// Gives every finding not fixed the due date `policy` gives it, each change audited.
            /// Fixed findings keep theirs: whether they were fixed in time was judged by it.
            async fn reschedule(conn: &mut backend::Conn, actor: &Actor, policy: &DuePolicy) -> Result<usize> {
                let rows = sqlx::query(&format!("SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE state <> 'fixed' ORDER BY id"))
                    .fetch_all(&mut *conn)
                    .await?;
                let mut changed = 0;
                for row in rows {
                    let before = finding_row(&row)?;
                    let due = policy.due_date(before.severity, before.kev_due_date, before.epss_score, before.due_from);
                    if due == before.due_date {
                        continue;
                    }
                    sqlx::query("UPDATE vuln_findings SET due_date = $1 WHERE id = $2")
                        .bind(due)
                        .bind(before.id)
                        .execute(&mut *conn)
                        .await?;
                    let after = Finding { due_date: due, ..before.clone() };
                    backend::audit(conn, actor, "reschedule", "vuln_finding", Some(before.id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                    changed += 1;
                }
                Ok(changed)
            }

            pub async fn policies(pool: &Pool) -> Result<Vec<PortPolicy>> {
                sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM vuln_port_policies ORDER BY tag NULLS FIRST, asset_id, id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(policy_row)
                    .collect()
            }

            pub async fn set_policy(pool: &Pool, actor: &Actor, input: &PortPolicyInput, now: DateTime<Utc>) -> Result<PortPolicy> {
                let mut tx = pool.begin_with($begin).await?;
                if let Some(asset) = input.asset_id {
                    if sqlx::query("SELECT id FROM assets WHERE id = $1").bind(asset).fetch_optional(&mut *tx).await?.is_none() {
                        return Err(StoreError::NotFound("asset"));
                    }
                }
                let tag = input.tag.as_deref().map(str::trim);
                let existing = sqlx::query(&format!(
                    "SELECT {POLICY_COLUMNS} FROM vuln_port_policies WHERE asset_id = $1 OR tag = $2"
                ))
                .bind(input.asset_id)
                .bind(tag)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| policy_row(&r))
                .transpose()?;
                let id: i64 = match &existing {
                    Some(before) => {
                        sqlx::query("UPDATE vuln_port_policies SET allowed = $1, scan_ports = $2, address = $3, updated_at = $4 WHERE id = $5")
                            .bind(input.allowed.trim())
                            .bind(&input.scan_ports)
                            .bind(&input.address)
                            .bind(now)
                            .bind(before.id)
                            .execute(&mut *tx)
                            .await?;
                        before.id
                    }
                    None => sqlx::query(
                        "INSERT INTO vuln_port_policies (asset_id, tag, allowed, scan_ports, address, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(input.asset_id)
                    .bind(tag)
                    .bind(input.allowed.trim())
                    .bind(&input.scan_ports)
                    .bind(&input.address)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?,
                };
                let after = policy_row(
                    &sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM vuln_port_policies WHERE id = $1"))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?,
                )?;
                let action = if existing.is_some() { "update" } else { "create" };
                backend::audit(&mut tx, actor, action, "vuln_port_policy", Some(id), existing.and_then(|b| serde_json::to_value(b).ok()), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn delete_policy(pool: &Pool, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before = sqlx::query(&format!("SELECT {POLICY_COLUMNS} FROM vuln_port_policies WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("port policy"))?;
                let before = policy_row(&before)?;
                sqlx::query("DELETE FROM vuln_port_policies WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "vuln_port_policy", Some(id), serde_json::to_value(&before).ok(), None).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn add_run(pool: &Pool, run: &CheckRun) -> Result<CheckRun> {
                let id: i64 = sqlx::query(
                    "INSERT INTO vuln_check_runs (job, started_at, finished_at, assets, errors, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&run.job)
                .bind(run.started_at)
                .bind(run.finished_at)
                .bind(run.assets)
                .bind(run.errors)
                .bind(run.detail.to_string())
                .fetch_one(pool)
                .await?
                .try_get("id")?;
                Ok(CheckRun { id, ..run.clone() })
            }

            pub async fn runs(pool: &Pool, job: Option<&str>, limit: i64) -> Result<Vec<CheckRun>> {
                sqlx::query(
                    "SELECT id, job, started_at, finished_at, assets, errors, detail FROM vuln_check_runs \
                     WHERE ($1 IS NULL OR job = $1) ORDER BY started_at DESC, id DESC LIMIT $2",
                )
                .bind(job)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    let detail: String = row.try_get("detail")?;
                    Ok(CheckRun {
                        id: row.try_get("id")?,
                        job: row.try_get("job")?,
                        started_at: row.try_get("started_at")?,
                        finished_at: row.try_get("finished_at")?,
                        assets: row.try_get("assets")?,
                        errors: row.try_get("errors")?,
                        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    })
                })
                .collect()
            }

            pub async fn observe(
                pool: &Pool,
                actor: &Actor,
                kind: FindingKind,
                scope: &Scope,
                observed: &[Observed],
                policy: &DuePolicy,
                now: DateTime<Utc>,
            ) -> Result<ScanOutcome> {
                let mut tx = pool.begin_with($begin).await?;
                let mut outcome = ScanOutcome::default();
                let mut present: HashSet<i64> = HashSet::new();
                let today = now.date_naive();
                for o in observed {
                    let existing = sqlx::query(&format!(
                        "SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE asset_id = $1 AND ecosystem = $2 AND package = $3 \
                         AND vulnerability_id = $4"
                    ))
                    .bind(o.asset_id)
                    .bind(kind.as_str())
                    .bind(&o.package)
                    .bind(&o.problem)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match existing {
                        None => {
                            let ids = serde_json::to_string(&[&o.problem]).unwrap_or_else(|_| "[]".into());
                            let id: i64 = sqlx::query(
                                "INSERT INTO vuln_findings (asset_id, kind, ecosystem, package, installed_version, vulnerability_id, ids, \
                                 summary, severity, kev, state, due_date, first_seen, last_seen, due_from) \
                                 VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $11, $12) RETURNING id",
                            )
                            .bind(o.asset_id)
                            .bind(kind.as_str())
                            .bind(&o.package)
                            .bind(&o.seen)
                            .bind(&o.problem)
                            .bind(ids)
                            .bind(&o.summary)
                            .bind(o.severity.as_str())
                            .bind(false)
                            .bind(policy.due_date(o.severity, None, None, today))
                            .bind(now)
                            .bind(today)
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get("id")?;
                            present.insert(id);
                            outcome.new += 1;
                            let created = fetch(&mut tx, id).await?;
                            backend::audit(&mut tx, actor, "open", "vuln_finding", Some(id), None, serde_json::to_value(&created).ok()).await?;
                        }
                        Some(row) => {
                            let before = finding_row(&row)?;
                            present.insert(before.id);
                            let expired = before.state == FindingState::AcceptedRisk
                                && before.accepted_until.is_some_and(|until| until < today);
                            let reopen = before.state == FindingState::Fixed || expired;
                            let state = if reopen { FindingState::Open } else { before.state };
                            let first_day = if before.state == FindingState::Fixed { today } else { before.due_from };
                            sqlx::query(
                                "UPDATE vuln_findings SET installed_version = $1, summary = $2, severity = $3, state = $4, due_date = $5, \
                                 last_seen = $6, fixed_at = CASE WHEN $7 THEN NULL ELSE fixed_at END, due_from = $9 WHERE id = $8",
                            )
                            .bind(&o.seen)
                            .bind(&o.summary)
                            .bind(o.severity.as_str())
                            .bind(state.as_str())
                            .bind(policy.due_date(o.severity, None, None, first_day))
                            .bind(now)
                            .bind(reopen)
                            .bind(before.id)
                            .bind(first_day)
                            .execute(&mut *tx)
                            .await?;
                            if reopen {
                                outcome.reopened += 1;
                                let after = fetch(&mut tx, before.id).await?;
                                backend::audit(&mut tx, actor, "reopen", "vuln_finding", Some(before.id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                            } else {
                                outcome.still_present += 1;
                            }
                        }
                    }
                }
                let candidates = sqlx::query(&format!(
                    "SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE kind = $1 AND state IN ('open', 'acknowledged', 'accepted_risk')"
                ))
                .bind(kind.as_str())
                .fetch_all(&mut *tx)
                .await?;
                for row in candidates {
                    let before = finding_row(&row)?;
                    if present.contains(&before.id) || !scope.covers(before.asset_id, &before.package) {
                        continue;
                    }
                    sqlx::query("UPDATE vuln_findings SET state = 'fixed', fixed_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(before.id)
                        .execute(&mut *tx)
                        .await?;
                    outcome.fixed += 1;
                    let after = fetch(&mut tx, before.id).await?;
                    backend::audit(&mut tx, actor, "fixed", "vuln_finding", Some(before.id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                }
                tx.commit().await?;
                Ok(outcome)
            }
        }
    };
}

policy_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    crate::store::sqlite,
    "BEGIN IMMEDIATE",
    "" // BEGIN IMMEDIATE already holds the write lock
);
policy_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    crate::store::postgres,
    "BEGIN",
    " FOR UPDATE"
);

fn invalid(problems: Vec<(String, String)>) -> StoreError {
    ValidationError {
        errors: problems
            .into_iter()
            .map(|(field, message)| FieldError { field, message })
            .collect(),
    }
    .into()
}

impl VulnStore {
    pub async fn settings(&self) -> Result<VulnSettings> {
        on_backend!(self.database(), settings())
    }

    pub async fn set_settings(
        &self,
        actor: &Actor,
        settings: &VulnSettings,
    ) -> Result<VulnSettings> {
        Ok(self.save_settings(actor, settings).await?.0)
    }

    /// Saves the settings; a changed due-date policy reschedules every finding not fixed in
    /// the same transaction. Returns the settings and how many findings got a new due date.
    pub async fn save_settings(
        &self,
        actor: &Actor,
        settings: &VulnSettings,
    ) -> Result<(VulnSettings, usize)> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let saved = on_backend!(
            self.database(),
            set_settings(actor, |_| Ok(settings.clone()), Utc::now())
        )?;
        if saved.1 > 0 {
            tracing::info!(rescheduled = saved.1, "due-date policy changed");
        }
        Ok(saved)
    }

    /// The due-date policy in force.
    pub async fn due_policy(&self) -> Result<DuePolicy> {
        Ok(self.settings().await?.due)
    }

    /// Replaces the due-date policy (the other settings stay) and reschedules every finding
    /// not fixed.
    pub async fn set_due_policy(
        &self,
        actor: &Actor,
        policy: &DuePolicy,
    ) -> Result<DuePolicyChange> {
        // Named as in the policy given, not as in the settings it is part of.
        let problems = policy.problems("");
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let due = policy.clone();
        let (saved, rescheduled) = on_backend!(
            self.database(),
            set_settings(
                actor,
                |current| Ok(VulnSettings {
                    due,
                    ..parse_settings(current)?
                }),
                Utc::now()
            )
        )?;
        if rescheduled > 0 {
            tracing::info!(rescheduled, "due-date policy changed");
        }
        Ok(DuePolicyChange {
            policy: saved.due,
            rescheduled,
        })
    }

    pub async fn port_policies(&self) -> Result<Vec<PortPolicy>> {
        on_backend!(self.database(), policies())
    }

    /// Sets the allowed ports of an asset or a tag (replacing its policy if it has one).
    pub async fn set_port_policy(
        &self,
        actor: &Actor,
        input: &PortPolicyInput,
    ) -> Result<PortPolicy> {
        let problems = input.problems();
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        on_backend!(self.database(), set_policy(actor, input, Utc::now()))
    }

    pub async fn delete_port_policy(&self, actor: &Actor, id: i64) -> Result<()> {
        on_backend!(self.database(), delete_policy(actor, id))
    }

    pub async fn add_check_run(&self, run: &CheckRun) -> Result<CheckRun> {
        on_backend!(self.database(), add_run(run))
    }

    /// Runs of the scheduled checks, newest first.
    pub async fn check_runs(&self, job: Option<&str>, limit: i64) -> Result<Vec<CheckRun>> {
        on_backend!(self.database(), runs(job, limit))
    }

    /// Records what a check of `kind` observed now. Open findings of that kind within `scope`
    /// that were not observed are fixed.
    pub async fn observe(
        &self,
        actor: &Actor,
        kind: FindingKind,
        scope: &Scope,
        observed: &[Observed],
        policy: &DuePolicy,
    ) -> Result<ScanOutcome> {
        self.observe_at(actor, kind, scope, observed, policy, Utc::now())
            .await
    }

    /// [`VulnStore::observe`] as of `now` (first and last seen, due dates, fixed time).
    pub async fn observe_at(
        &self,
        actor: &Actor,
        kind: FindingKind,
        scope: &Scope,
        observed: &[Observed],
        policy: &DuePolicy,
        now: DateTime<Utc>,
    ) -> Result<ScanOutcome> {
        on_backend!(
            self.database(),
            observe(actor, kind, scope, observed, policy, now)
        )
    }
}
