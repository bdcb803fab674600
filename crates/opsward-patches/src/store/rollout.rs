//! Rings, approvals and installation runs on either backend.
//!
//! An operator approves a patch set for a ring. Each host of the ring installs it in the
//! ring's window and records a run. The approval fails at the first failed run (the rollout
//! stops there); it succeeds when every host of the ring has a successful run. After the
//! ring's soak time a succeeded approval is promoted: the same set is approved for the next
//! ring, by `system:promotion`.

use crate::{install::InstallRun, reboot::RebootPolicy, window::MaintenanceWindow};
use chrono::{DateTime, Duration, Utc};
use opsward_core::Actor;
use opsward_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RingInput {
    pub name: String,
    /// Order of rollout: lower first.
    pub position: i64,
    pub soak_hours: i64,
    pub window: MaintenanceWindow,
    /// Whether agents may reboot after installing [default: never].
    #[serde(default)]
    pub reboot_policy: RebootPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ring {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub soak_hours: i64,
    pub window: MaintenanceWindow,
    pub reboot_policy: RebootPolicy,
}

opsward_core::text_enum! {
    ApprovalState {
        Approved => "approved",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub id: i64,
    pub ring_id: i64,
    pub packages: Vec<String>,
    pub approved_by: String,
    pub approved_at: DateTime<Utc>,
    pub state: ApprovalState,
    pub finished_at: Option<DateTime<Utc>>,
    pub promoted_from: Option<i64>,
    /// This approval's reboot policy for its ring; `null`: the ring's.
    pub reboot_policy: Option<RebootPolicy>,
}

impl Approval {
    /// The policy its hosts install under: its own, else its ring's.
    pub fn reboot_policy_in(&self, ring: &Ring) -> RebootPolicy {
        self.reboot_policy.unwrap_or(ring.reboot_policy)
    }
}

/// A run as stored: the evidence of what happened where, when, approved by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunRecord {
    pub id: i64,
    pub approval_id: i64,
    pub host_id: i64,
    pub hostname: String,
    pub approved_by: String,
    pub succeeded: bool,
    #[serde(flatten)]
    pub run: InstallRun,
}

/// A host assigned to a ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingMember {
    pub ring_id: i64,
    pub host_id: i64,
    pub hostname: String,
}

/// What a host should do: its ring's window and the approvals it has not run yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Instructions {
    pub ring: Option<Ring>,
    pub approvals: Vec<Approval>,
}

impl RingInput {
    pub fn validate(&self) -> Result<()> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("name", &self.name, 100);
        if !(0..=1_000_000).contains(&self.position) {
            v.error("position", "must be 0-1000000");
        }
        if !(0..=24 * 90).contains(&self.soak_hours) {
            v.error("soak_hours", "must be 0-2160");
        }
        if let Err(e) = self.window.validate() {
            v.error("window", e);
        }
        Ok(v.finish()?)
    }
}

fn soak_over(finished: DateTime<Utc>, soak_hours: i64, now: DateTime<Utc>) -> bool {
    finished + Duration::hours(soak_hours) <= now
}

macro_rules! rollout_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const RING_COLUMNS: &str = "id, name, position, soak_hours, window_rrule, window_start, window_timezone, window_minutes, reboot_policy";
            const APPROVAL_COLUMNS: &str = "id, ring_id, packages, approved_by, approved_at, state, finished_at, promoted_from, reboot_policy";

            fn policy(text: Option<String>) -> Result<Option<RebootPolicy>> {
                text.map(|t| t.parse().map_err(StoreError::Corrupt)).transpose()
            }

            fn ring_row(row: &DbRow) -> Result<Ring> {
                let start: String = row.try_get("window_start")?;
                Ok(Ring {
                    reboot_policy: policy(row.try_get("reboot_policy")?)?.unwrap_or_default(),
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    position: row.try_get("position")?,
                    soak_hours: row.try_get("soak_hours")?,
                    window: MaintenanceWindow {
                        rrule: row.try_get("window_rrule")?,
                        starts_local: start.parse().map_err(|_| StoreError::Corrupt(format!("window_start {start:?}")))?,
                        timezone: row.try_get("window_timezone")?,
                        minutes: row.try_get("window_minutes")?,
                    },
                })
            }

            fn approval_row(row: &DbRow) -> Result<Approval> {
                let packages: Json<Vec<String>> = row.try_get("packages")?;
                let state: String = row.try_get("state")?;
                Ok(Approval {
                    id: row.try_get("id")?,
                    ring_id: row.try_get("ring_id")?,
                    packages: packages.0,
                    approved_by: row.try_get("approved_by")?,
                    approved_at: row.try_get("approved_at")?,
                    state: state.parse().map_err(StoreError::Corrupt)?,
                    finished_at: row.try_get("finished_at")?,
                    promoted_from: row.try_get("promoted_from")?,
                    reboot_policy: policy(row.try_get("reboot_policy")?)?,
                })
            }

            async fn ring_in(conn: &mut backend::Conn, id: i64) -> Result<Ring> {
                let row = sqlx::query(&format!("SELECT {RING_COLUMNS} FROM patch_rings WHERE id = $1"))
                    .bind(id).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound("ring"))?;
                ring_row(&row)
            }

            pub async fn create_ring(pool: &Pool, actor: &Actor, input: &RingInput) -> Result<Ring> {
                let mut tx = pool.begin_with($begin).await?;
                let id: i64 = sqlx::query("INSERT INTO patch_rings (name, position, soak_hours, window_rrule, window_start, window_timezone, window_minutes, created_at, reboot_policy) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
                    .bind(&input.name).bind(input.position).bind(input.soak_hours).bind(&input.window.rrule)
                    .bind(input.window.starts_local.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .bind(&input.window.timezone).bind(input.window.minutes).bind(backend::now()).bind(input.reboot_policy.as_str())
                    .fetch_one(&mut *tx).await?.try_get("id")?;
                let ring = ring_in(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "patch_ring", Some(id), None, serde_json::to_value(&ring).ok()).await?;
                tx.commit().await?;
                Ok(ring)
            }

            pub async fn update_ring(pool: &Pool, actor: &Actor, id: i64, input: &RingInput) -> Result<Ring> {
                let mut tx = pool.begin_with($begin).await?;
                let before = ring_in(&mut tx, id).await?;
                sqlx::query("UPDATE patch_rings SET name = $1, position = $2, soak_hours = $3, window_rrule = $4, window_start = $5, window_timezone = $6, window_minutes = $7, \
                     reboot_policy = $8 WHERE id = $9")
                    .bind(&input.name).bind(input.position).bind(input.soak_hours).bind(&input.window.rrule)
                    .bind(input.window.starts_local.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .bind(&input.window.timezone).bind(input.window.minutes).bind(input.reboot_policy.as_str()).bind(id)
                    .execute(&mut *tx).await?;
                let ring = ring_in(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "patch_ring", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&ring).ok()).await?;
                tx.commit().await?;
                Ok(ring)
            }

            /// Delete a ring that has no approvals (they and their runs are the evidence, and
            /// stay); its hosts are left in no ring.
            pub async fn delete_ring(pool: &Pool, actor: &Actor, id: i64) -> Result<Ring> {
                let mut tx = pool.begin_with($begin).await?;
                let ring = ring_in(&mut tx, id).await?;
                let approvals: i64 = sqlx::query("SELECT COUNT(*) AS n FROM patch_approvals WHERE ring_id = $1")
                    .bind(id).fetch_one(&mut *tx).await?.try_get("n")?;
                if approvals > 0 {
                    return Err(StoreError::Conflict(format!(
                        "ring {:?} has {approvals} approvals, kept as evidence: it cannot be deleted", ring.name)));
                }
                let hosts: Vec<String> = sqlx::query("UPDATE patch_hosts SET ring_id = NULL WHERE ring_id = $1 RETURNING hostname")
                    .bind(id).fetch_all(&mut *tx).await?.iter().map(|r| r.try_get("hostname")).collect::<Result<_, _>>()?;
                sqlx::query("DELETE FROM patch_rings WHERE id = $1").bind(id).execute(&mut *tx).await?;
                let mut before = serde_json::to_value(&ring).unwrap_or_default();
                before["hosts"] = serde_json::json!(hosts);
                backend::audit(&mut tx, actor, "delete", "patch_ring", Some(id), Some(before), None).await?;
                tx.commit().await?;
                Ok(ring)
            }

            pub async fn list_rings(pool: &Pool) -> Result<Vec<Ring>> {
                sqlx::query(&format!("SELECT {RING_COLUMNS} FROM patch_rings ORDER BY position"))
                    .fetch_all(pool).await?.iter().map(ring_row).collect()
            }

            pub async fn assign_ring(pool: &Pool, actor: &Actor, host_id: i64, ring_id: Option<i64>) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                if let Some(r) = ring_id {
                    ring_in(&mut tx, r).await?;
                }
                let before: Option<i64> = sqlx::query("SELECT ring_id FROM patch_hosts WHERE id = $1")
                    .bind(host_id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound("host"))?.try_get("ring_id")?;
                sqlx::query("UPDATE patch_hosts SET ring_id = $1 WHERE id = $2").bind(ring_id).bind(host_id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "assign_ring", "patch_host", Some(host_id),
                    Some(serde_json::json!({"ring_id": before})), Some(serde_json::json!({"ring_id": ring_id}))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_approval(conn: &mut backend::Conn, actor: &Actor, ring_id: i64, packages: &[String], from: Option<i64>, reboot: Option<RebootPolicy>) -> Result<Approval> {
                let id: i64 = sqlx::query("INSERT INTO patch_approvals (ring_id, packages, approved_by, approved_at, state, promoted_from, reboot_policy) \
                     VALUES ($1, $2, $3, $4, 'approved', $5, $6) RETURNING id")
                    .bind(ring_id).bind(Json(packages)).bind(&actor.label).bind(backend::now()).bind(from).bind(reboot.map(RebootPolicy::as_str))
                    .fetch_one(&mut *conn).await?.try_get("id")?;
                let approval = approval_row(&sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM patch_approvals WHERE id = $1")).bind(id).fetch_one(&mut *conn).await?)?;
                backend::audit(conn, actor, if from.is_some() { "promote" } else { "approve" }, "patch_approval", Some(id), None, serde_json::to_value(&approval).ok()).await?;
                Ok(approval)
            }

            pub async fn approve(pool: &Pool, actor: &Actor, ring_id: i64, packages: &[String], reboot: Option<RebootPolicy>) -> Result<Approval> {
                let mut tx = pool.begin_with($begin).await?;
                ring_in(&mut tx, ring_id).await?;
                let approval = insert_approval(&mut tx, actor, ring_id, packages, None, reboot).await?;
                tx.commit().await?;
                Ok(approval)
            }

            pub async fn ring_members(pool: &Pool) -> Result<Vec<RingMember>> {
                sqlx::query("SELECT ring_id, id, hostname FROM patch_hosts WHERE ring_id IS NOT NULL ORDER BY hostname")
                    .fetch_all(pool).await?.iter()
                    .map(|r| Ok(RingMember { ring_id: r.try_get("ring_id")?, host_id: r.try_get("id")?, hostname: r.try_get("hostname")? }))
                    .collect()
            }

            pub async fn list_approvals(pool: &Pool) -> Result<Vec<Approval>> {
                sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM patch_approvals ORDER BY id DESC LIMIT 200"))
                    .fetch_all(pool).await?.iter().map(approval_row).collect()
            }

            /// Promote every succeeded approval whose soak is over to the next ring, once.
            pub async fn promote(pool: &Pool, now: DateTime<Utc>) -> Result<Vec<Approval>> {
                let mut tx = pool.begin_with($begin).await?;
                let rings: Vec<Ring> = sqlx::query(&format!("SELECT {RING_COLUMNS} FROM patch_rings ORDER BY position"))
                    .fetch_all(&mut *tx).await?.iter().map(ring_row).collect::<Result<_>>()?;
                let done: Vec<Approval> = sqlx::query(&format!(
                    "SELECT {APPROVAL_COLUMNS} FROM patch_approvals a WHERE state = 'succeeded' \
                     AND NOT EXISTS (SELECT 1 FROM patch_approvals c WHERE c.promoted_from = a.id)"))
                    .fetch_all(&mut *tx).await?.iter().map(approval_row).collect::<Result<_>>()?;
                let mut promoted = Vec::new();
                for a in done {
                    let Some(i) = rings.iter().position(|r| r.id == a.ring_id) else { continue };
                    let (Some(next), Some(finished)) = (rings.get(i + 1), a.finished_at) else { continue };
                    if soak_over(finished, rings[i].soak_hours, now) {
                        // The next ring's own policy applies: an approval's reboot choice was made
                        // for its ring's hosts only.
                        promoted.push(insert_approval(&mut tx, &Actor::system("promotion"), next.id, &a.packages, Some(a.id), None).await?);
                    }
                }
                tx.commit().await?;
                Ok(promoted)
            }

            pub async fn instructions(pool: &Pool, host_id: i64) -> Result<Instructions> {
                let mut conn = pool.acquire().await?;
                let ring_id: Option<i64> = sqlx::query("SELECT ring_id FROM patch_hosts WHERE id = $1")
                    .bind(host_id).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound("host"))?.try_get("ring_id")?;
                let Some(ring_id) = ring_id else {
                    return Ok(Instructions { ring: None, approvals: vec![] });
                };
                let ring = ring_in(&mut conn, ring_id).await?;
                let approvals = sqlx::query(&format!(
                    "SELECT {APPROVAL_COLUMNS} FROM patch_approvals a WHERE ring_id = $1 AND state = 'approved' \
                     AND NOT EXISTS (SELECT 1 FROM patch_runs r WHERE r.approval_id = a.id AND r.host_id = $2) ORDER BY id"))
                    .bind(ring_id).bind(host_id).fetch_all(&mut *conn).await?.iter().map(approval_row).collect::<Result<_>>()?;
                Ok(Instructions { ring: Some(ring), approvals })
            }

            /// Record a host's run of an approval; settle the approval when the ring is done.
            pub async fn record_run(pool: &Pool, host_id: i64, approval_id: i64, run: &InstallRun) -> Result<RunRecord> {
                let now = backend::now();
                let mut tx = pool.begin_with($begin).await?;
                let approval = approval_row(&sqlx::query(&format!("SELECT {APPROVAL_COLUMNS} FROM patch_approvals WHERE id = $1"))
                    .bind(approval_id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound("approval"))?)?;
                let host = sqlx::query("SELECT hostname, ring_id FROM patch_hosts WHERE id = $1").bind(host_id).fetch_one(&mut *tx).await?;
                let hostname: String = host.try_get("hostname")?;
                let ring_id: Option<i64> = host.try_get("ring_id")?;
                if ring_id != Some(approval.ring_id) {
                    return Err(StoreError::Conflict("this approval is not for the host's ring".into()));
                }
                let succeeded = run.succeeded();
                let id: i64 = sqlx::query("INSERT INTO patch_runs (approval_id, host_id, started_at, finished_at, command, exit_code, output, upgraded, reboot_required, succeeded, reboot) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")
                    .bind(approval_id).bind(host_id)
                    .bind(chrono::SubsecRound::trunc_subsecs(run.started_at, 6)).bind(chrono::SubsecRound::trunc_subsecs(run.finished_at, 6))
                    .bind(Json(&run.command)).bind(run.exit_code.map(i64::from)).bind(run.output.replace('\0', ""))
                    .bind(Json(&run.upgraded)).bind(run.reboot_required).bind(succeeded).bind(run.reboot.as_ref().map(Json))
                    .fetch_one(&mut *tx).await?.try_get("id")?;
                if approval.state == ApprovalState::Approved {
                    let settled = if !succeeded {
                        Some("failed")
                    } else {
                        let missing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM patch_hosts h WHERE h.ring_id = $1 AND NOT EXISTS \
                             (SELECT 1 FROM patch_runs r WHERE r.approval_id = $2 AND r.host_id = h.id AND r.succeeded)")
                            .bind(approval.ring_id).bind(approval_id).fetch_one(&mut *tx).await?.try_get("n")?;
                        (missing == 0).then_some("succeeded")
                    };
                    if let Some(state) = settled {
                        sqlx::query("UPDATE patch_approvals SET state = $1, finished_at = $2 WHERE id = $3")
                            .bind(state).bind(now).bind(approval_id).execute(&mut *tx).await?;
                        if state == "failed" {
                            tracing::error!(approval = approval_id, host = %hostname, "patch installation failed: rollout stopped");
                        }
                    }
                }
                let record = RunRecord { id, approval_id, host_id, hostname: hostname.clone(), approved_by: approval.approved_by.clone(), succeeded, run: run.clone() };
                backend::audit(&mut tx, &Actor { user_id: None, label: format!("host:{hostname}") }, "install", "patch_run", Some(id), None,
                    Some(serde_json::json!({"approval": approval_id, "succeeded": succeeded, "exit_code": run.exit_code, "upgraded": run.upgraded,
                        "reboot_required": run.reboot_required, "reboot": run.reboot}))).await?;
                tx.commit().await?;
                Ok(record)
            }

            pub async fn runs(pool: &Pool, approval_id: Option<i64>) -> Result<Vec<RunRecord>> {
                let rows = sqlx::query("SELECT r.id, r.approval_id, r.host_id, h.hostname, a.approved_by, r.succeeded, r.started_at, r.finished_at, r.command, \
                     r.exit_code, r.output, r.upgraded, r.reboot_required, r.reboot FROM patch_runs r JOIN patch_hosts h ON h.id = r.host_id \
                     JOIN patch_approvals a ON a.id = r.approval_id WHERE (CAST($1 AS BIGINT) IS NULL OR r.approval_id = $1) ORDER BY r.id DESC LIMIT 500")
                    .bind(approval_id).fetch_all(pool).await?;
                rows.iter().map(|r| {
                    let command: Json<Vec<String>> = r.try_get("command")?;
                    let upgraded: Json<Vec<crate::install::Upgraded>> = r.try_get("upgraded")?;
                    let exit: Option<i64> = r.try_get("exit_code")?;
                    let reboot: Option<Json<crate::reboot::RebootOutcome>> = r.try_get("reboot")?;
                    Ok(RunRecord {
                        id: r.try_get("id")?, approval_id: r.try_get("approval_id")?, host_id: r.try_get("host_id")?,
                        hostname: r.try_get("hostname")?, approved_by: r.try_get("approved_by")?, succeeded: r.try_get("succeeded")?,
                        run: InstallRun {
                            command: command.0, started_at: r.try_get("started_at")?, finished_at: r.try_get("finished_at")?,
                            exit_code: exit.map(|e| e as i32), output: r.try_get("output")?, upgraded: upgraded.0,
                            reboot_required: r.try_get("reboot_required")?,
                            reboot: reboot.map(|j| j.0),
                        },
                    })
                }).collect()
            }
        }
    };
}

rollout_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
rollout_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
