//! `opsward patch status|enrollment-token|approve|rings|runs` (ring changes and host
//! assignment in `patch_rings`).

use super::cli_actor;
use super::patch_updates::{UpdateRow, UPDATE_COLUMNS};
use crate::{
    cli::PatchCommand,
    output::{print, print_one, OutputFormat},
};
use anyhow::Result;
use chrono::Utc;
use opsward_patches::store::{
    rollout::{Approval, Ring, RunRecord},
    PatchStore,
};
use opsward_store::Store;
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

/// One host as `patch status` prints it.
#[derive(Serialize)]
struct StatusRow {
    id: i64,
    hostname: String,
    os: String,
    kernel: String,
    packages: i64,
    pending: i64,
    security: i64,
    overdue: i64,
    current: bool,
    reboot_required: bool,
    last_report_at: Option<chrono::DateTime<Utc>>,
    /// With `--host`: the pending updates, each with the findings it closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    updates: Option<Vec<opsward_patches::store::PendingRow>>,
    /// With `--host`: when its inventory was last matched against the advisories, and what
    /// that found (absent before the first match).
    #[serde(skip_serializing_if = "Option::is_none")]
    vulnerability_match: Option<opsward_vulns::hosts::HostScan>,
}

const COLUMNS: &[&str] = &[
    "id",
    "hostname",
    "os",
    "packages",
    "pending",
    "security",
    "overdue",
    "current",
    "reboot_required",
    "last_report_at",
];

/// An approval as `patch approve` prints it.
#[derive(Serialize)]
struct ApprovalRow {
    id: i64,
    ring: String,
    packages: String,
    state: String,
    /// This approval's reboot policy, else the ring's (`never`, `if-required`).
    reboot: String,
    approved_by: String,
    approved_at: chrono::DateTime<Utc>,
}

impl ApprovalRow {
    fn new(a: Approval, rings: &[Ring]) -> Self {
        let ring = rings.iter().find(|r| r.id == a.ring_id);
        ApprovalRow {
            id: a.id,
            reboot: match (a.reboot_policy, ring) {
                (Some(p), _) => p.to_string(),
                (None, Some(r)) => r.reboot_policy.to_string(),
                (None, None) => String::new(),
            },
            ring: ring.map_or_else(|| a.ring_id.to_string(), |r| r.name.clone()),
            packages: a.packages.join(" "),
            state: a.state.to_string(),
            approved_by: a.approved_by,
            approved_at: a.approved_at,
        }
    }
}

/// A ring as `patch rings` prints it.
#[derive(Serialize)]
pub(super) struct RingRow {
    id: i64,
    name: String,
    position: i64,
    soak_hours: i64,
    reboot_policy: String,
    rrule: String,
    timezone: String,
    window_minutes: i64,
    /// The next window start in the ring's time zone (RFC 3339 with its offset).
    next_window: Option<String>,
    open_now: bool,
    hosts: String,
}

impl RingRow {
    pub(super) fn new(r: Ring, hosts: Vec<String>, now: chrono::DateTime<Utc>) -> Self {
        let local = |t: chrono::DateTime<Utc>| match opsward_ops::recurrence::parse_timezone(
            &r.window.timezone,
        ) {
            Ok(tz) => t.with_timezone(&tz).to_rfc3339(),
            Err(_) => t.to_rfc3339(),
        };
        RingRow {
            id: r.id,
            next_window: r.window.next_start(now).ok().flatten().map(local),
            open_now: matches!(r.window.open_until(now), Ok(Some(_))),
            name: r.name,
            position: r.position,
            soak_hours: r.soak_hours,
            reboot_policy: r.reboot_policy.to_string(),
            rrule: r.window.rrule.clone(),
            timezone: r.window.timezone.clone(),
            window_minutes: r.window.minutes,
            hosts: hosts.join(" "),
        }
    }
}

pub(super) const RING_COLUMNS: &[&str] = &[
    "id",
    "name",
    "position",
    "soak_hours",
    "rrule",
    "timezone",
    "window_minutes",
    "next_window",
    "open_now",
    "hosts",
    "reboot_policy",
];

/// A run as `patch runs` prints it.
#[derive(Serialize)]
struct RunRow {
    id: i64,
    approval_id: i64,
    hostname: String,
    approved_by: String,
    started_at: chrono::DateTime<Utc>,
    finished_at: chrono::DateTime<Utc>,
    exit_code: Option<i32>,
    succeeded: bool,
    /// `name from -> to`, one per upgraded package.
    upgraded: String,
    reboot_required: bool,
    /// What the agent decided (`reboot`, `policy-never`, `not-required`, ...); empty from
    /// agents without reboot policies.
    reboot: String,
}

impl From<RunRecord> for RunRow {
    fn from(r: RunRecord) -> Self {
        RunRow {
            id: r.id,
            approval_id: r.approval_id,
            hostname: r.hostname,
            approved_by: r.approved_by,
            started_at: r.run.started_at,
            finished_at: r.run.finished_at,
            exit_code: r.run.exit_code,
            succeeded: r.succeeded,
            upgraded: r
                .run
                .upgraded
                .iter()
                .map(|u| format!("{} {} -> {}", u.name, u.from_version, u.to_version))
                .collect::<Vec<_>>()
                .join(", "),
            reboot_required: r.run.reboot_required,
            reboot: r
                .run
                .reboot
                .map(|b| format!("{} (policy {})", b.decision, b.policy))
                .unwrap_or_default(),
        }
    }
}

const RUN_COLUMNS: &[&str] = &[
    "id",
    "approval_id",
    "hostname",
    "approved_by",
    "finished_at",
    "exit_code",
    "succeeded",
    "upgraded",
    "reboot_required",
    "reboot",
];

pub async fn patch(
    store: &Arc<dyn Store>,
    cmd: PatchCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let patches = PatchStore::new(store.as_ref());
    match cmd {
        PatchCommand::Status { host, overdue } => {
            let hosts = opsward_server::api::patches::filter_hosts(
                patches.list_hosts(Utc::now()).await?,
                host.as_deref(),
                overdue,
            );
            let mut rows: Vec<StatusRow> = hosts
                .into_iter()
                .map(|h| StatusRow {
                    id: h.host.id,
                    hostname: h.host.hostname,
                    os: h.host.os_name,
                    kernel: h.host.kernel,
                    packages: h.package_count,
                    pending: h.pending_updates,
                    security: h.security_updates,
                    overdue: h.overdue_updates,
                    current: h.current,
                    reboot_required: h.host.reboot_required,
                    last_report_at: h.host.last_report_at,
                    updates: None,
                    vulnerability_match: None,
                })
                .collect();
            if host.is_some() {
                let now = Utc::now();
                for row in &mut rows {
                    let (detail, matched) =
                        opsward_vulns::hosts::host_detail(store.as_ref(), row.id, now).await?;
                    row.updates = Some(detail.pending);
                    row.vulnerability_match = matched;
                }
            }
            print(out, &rows, COLUMNS)?;
            if host.is_some() && out == OutputFormat::Table {
                let updates: Vec<UpdateRow> = rows
                    .iter()
                    .flat_map(|r| {
                        r.updates
                            .iter()
                            .flatten()
                            .map(|p| UpdateRow::new(&r.hostname, p.clone()))
                    })
                    .collect();
                println!();
                print(out, &updates, UPDATE_COLUMNS)?;
            }
            Ok(ExitCode::from(if rows.iter().any(|r| r.overdue > 0) {
                1
            } else {
                0
            }))
        }
        PatchCommand::EnrollmentToken { name, days } => {
            let created = opsward_server::api::patches::mint_enrollment_token(
                &patches,
                &cli_actor(),
                &name,
                Some(days),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", created.token);
            Ok(ExitCode::SUCCESS)
        }
        PatchCommand::Approve {
            ring,
            packages,
            reboot,
        } => {
            let rings = patches.list_rings().await?;
            let Some(found) = rings.iter().find(|r| r.name == ring) else {
                let names: Vec<&str> = rings.iter().map(|r| r.name.as_str()).collect();
                anyhow::bail!("no ring named {ring:?} (rings: {})", names.join(", "));
            };
            let approval = patches
                .approve(&cli_actor(), found.id, &packages, reboot)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print_one(
                out,
                &ApprovalRow::new(approval, std::slice::from_ref(found)),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        PatchCommand::Updates {
            host,
            closes_kev,
            closes,
            security,
        } => {
            let query = opsward_vulns::hosts::UpdateQuery {
                closes_kev,
                closes,
                security,
                host,
            };
            let rows: Vec<UpdateRow> =
                opsward_vulns::hosts::fleet_updates(store.as_ref(), &query, Utc::now())
                    .await?
                    .into_iter()
                    .map(UpdateRow::from)
                    .collect();
            print(out, &rows, UPDATE_COLUMNS)?;
            Ok(ExitCode::from(if rows.iter().any(|r| r.overdue) {
                1
            } else {
                0
            }))
        }
        PatchCommand::Rings { action } => super::patch_rings::rings(&patches, action, out).await,
        PatchCommand::Hosts(cmd) => super::patch_rings::hosts(&patches, cmd, out).await,
        PatchCommand::Runs { host, approval } => {
            let rows: Vec<RunRow> = patches
                .runs(approval)
                .await?
                .into_iter()
                .filter(|r| host.as_deref().is_none_or(|h| r.hostname.contains(h)))
                .map(RunRow::from)
                .collect();
            print(out, &rows, RUN_COLUMNS)?;
            Ok(ExitCode::from(if rows.iter().any(|r| !r.succeeded) {
                1
            } else {
                0
            }))
        }
    }
}
