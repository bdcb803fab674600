//! The patches practice's side of the practice contract: hosts out of patch SLA and agents
//! that went silent, hygiene deductions from the live patch tables, and each host's patch
//! state on its asset's page. The server runs no patch jobs (promotion of rollout rings
//! happens when an agent asks for instructions), so [`PatchesPractice`] has none.
//!
//! A host belongs to the asset of the same name (how host matching names the assets it
//! creates for hosts).
//!
//! Conditions:
//!
//! | Kind | Severity | When |
//! |---|---|---|
//! | `host_out_of_sla` | critical, high or medium by the worst overdue update's classification (critical, high, other security); low for non-security updates only | a host has pending updates past the due date the patch policy gives |
//! | `agent_silent` | high | a host has not reported for more than two report intervals (the agent's default interval, 1 hour) |
//! | `reboot_overdue` | medium | a host has needed a reboot for longer than the patch policy's `reboot_within_days` (default 7) |
//!
//! The hygiene rules are in [`rules`].

mod queries;
pub mod rules;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use opsward_core::contract::{
    count, Assessment, AssetFacet, Condition, EntityRef, FacetRow, PracticeContract, PracticeError,
    Severity as Level, Tone,
};
use opsward_core::practice::Practice;
use opsward_store::{Store, StoreError};

use crate::store::PatchStore;
use opsward_ops::host_inventory::HostInventory;
use queries::HostRow;
use rules::PatchCounts;

/// How often agents report by default (`every = "1h"` in the agent's `[patches]`); an
/// agent silent for more than twice this is a condition.
pub const REPORT_INTERVAL_HOURS: i64 = 1;

/// Rows the facet shows before pointing at the host page.
const ROWS: usize = 20;

/// The patches practice, reading the hosts and pending updates in `store`.
pub struct PatchesPractice {
    store: Arc<dyn Store>,
}

impl PatchesPractice {
    pub fn new(store: Arc<dyn Store>) -> Self {
        PatchesPractice { store }
    }

    async fn assess_now(&self, now: DateTime<Utc>) -> Result<Assessment, StoreError> {
        let db = self.store.database();
        let interval = Duration::hours(REPORT_INTERVAL_HOURS);
        let silent_before = now - interval * 2;
        let policy = PatchStore::new(self.store.as_ref()).policy().await?;
        let reboot_within = Duration::days(policy.reboot_within_days);
        let out_of_sla = queries::hosts_out_of_sla(&db, now).await?;
        let silent = queries::silent_hosts(&db, silent_before).await?;
        let awaiting_reboot = queries::hosts_awaiting_reboot(&db, now - reboot_within).await?;
        let totals = queries::totals(&db, now, silent_before, now - reboot_within).await?;

        let mut conditions: Vec<Condition> =
            out_of_sla.iter().map(|h| sla_condition(h, now)).collect();
        conditions.extend(silent.iter().map(|h| {
            let last = h.last_report_at.unwrap_or(h.since);
            host_condition(
                h,
                "agent_silent",
                Level::High,
                format!(
                    "{}'s agent has not reported for {} (expected every {})",
                    h.hostname,
                    ago(now - last),
                    count(REPORT_INTERVAL_HOURS as usize, "hour", "hours")
                ),
            )
            .with_times(Some(last), Some(last + interval * 2))
        }));
        conditions.extend(awaiting_reboot.iter().map(|h| {
            let since = h.reboot_since.unwrap_or(h.since);
            host_condition(
                h,
                "reboot_overdue",
                Level::Medium,
                format!(
                    "{} has needed a reboot for {} (policy: within {})",
                    h.hostname,
                    ago(now - since),
                    count(policy.reboot_within_days as usize, "day", "days")
                ),
            )
            .with_times(Some(since), Some(since + reboot_within))
        }));
        let counts = PatchCounts {
            hosts: totals.hosts as usize,
            hosts_out_of_sla: totals.hosts_out_of_sla as usize,
            oldest_overdue: totals.oldest_due.map(|d| now - d),
            overdue_security_updates: totals.overdue_security as usize,
            silent_hosts: totals.silent as usize,
            report_interval: interval,
            hosts_awaiting_reboot: totals.awaiting_reboot as usize,
            reboot_within,
        };
        Ok(Assessment {
            conditions,
            deductions: rules::deductions(&counts),
            ..Assessment::default()
        })
    }
}

fn ago(d: Duration) -> String {
    match d.num_days() {
        0 => count(d.num_hours().max(0) as usize, "hour", "hours"),
        days => count(days as usize, "day", "days"),
    }
}

fn host_condition(h: &HostRow, kind: &str, severity: Level, title: String) -> Condition {
    Condition::new(
        Practice::Patches,
        kind,
        severity,
        EntityRef {
            kind: "host".into(),
            id: h.host_id,
            label: h.hostname.clone(),
            link: format!("/patches/hosts/{}", h.host_id),
        },
        title,
    )
    .with_asset(h.asset_id, h.asset_id.map(|_| h.hostname.clone()))
    .with_owner(h.team_id, h.person_id)
}

fn sla_condition(h: &HostRow, now: DateTime<Utc>) -> Condition {
    // The worst overdue update's classification sets the severity.
    let (severity, worst) = if h.critical > 0 {
        (Level::Critical, format!(" ({} critical)", h.critical))
    } else if h.high > 0 {
        (Level::High, format!(" ({} high)", h.high))
    } else if h.security > 0 {
        (Level::Medium, format!(" ({} security)", h.security))
    } else {
        (Level::Low, String::new())
    };
    let oldest = h.oldest_due.unwrap_or(now);
    host_condition(
        h,
        "host_out_of_sla",
        severity,
        format!(
            "{} is out of patch SLA: {} overdue{worst}, the oldest due {} ago",
            h.hostname,
            count(h.overdue as usize, "update", "updates"),
            ago(now - oldest)
        ),
    )
    .with_times(h.first_seen, Some(oldest))
    .with_count(h.overdue as u32)
}

#[async_trait]
impl PracticeContract for PatchesPractice {
    fn practice(&self) -> Practice {
        Practice::Patches
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        self.assess_now(now)
            .await
            .map_err(|e| PracticeError::new(Practice::Patches, e))
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        self.facets(asset_id, now)
            .await
            .map_err(|e| PracticeError::new(Practice::Patches, e))
    }
}

impl PatchesPractice {
    async fn facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, StoreError> {
        let Some(host_id) = queries::host_of_asset(&self.store.database(), asset_id).await? else {
            return Ok(Vec::new());
        };
        let (summary, pending) = HostInventory::new(self.store.as_ref())
            .host_patch_state(host_id, now)
            .await?;
        let s = &summary;
        let oldest_due = pending.iter().map(|p| p.due_at).min();
        let reboot_since = queries::reboot_required_since(&self.store.database(), host_id).await?;
        let last_report = s.host.last_report_at.map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        );
        let summary = format!(
            "{} {}; last report {last_report}; {} pending, {} security, {} overdue{}{}",
            s.host.os_name,
            s.host.kernel,
            s.pending_updates,
            s.security_updates,
            s.overdue_updates,
            oldest_due
                .map(|d| format!(", oldest due {}", d.date_naive()))
                .unwrap_or_default(),
            match (s.host.reboot_required, reboot_since) {
                (true, Some(since)) => format!("; reboot required since {}", since.date_naive()),
                (true, None) => "; reboot required".into(),
                _ => String::new(),
            },
        );
        let rows = pending
            .iter()
            .take(ROWS)
            .map(|p| FacetRow {
                cells: vec![
                    p.name.clone(),
                    format!("{} → {}", p.installed_version, p.candidate_version),
                    if p.security { "security" } else { "" }.into(),
                    p.severity.map(|s| s.to_string()).unwrap_or_default(),
                    if p.overdue {
                        format!("{} (overdue)", p.due_at.date_naive())
                    } else {
                        p.due_at.date_naive().to_string()
                    },
                ],
                link: Some(format!("/patches/hosts/{host_id}")),
                tone: if p.overdue {
                    Tone::Bad
                } else if p.security {
                    Tone::Warning
                } else {
                    Tone::Neutral
                },
            })
            .collect();
        Ok(vec![AssetFacet {
            practice: Practice::Patches,
            title: "Patch state".into(),
            summary: Some(summary),
            columns: ["Package", "Update", "Class", "Severity", "Due"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No pending updates.".into(),
            more_link: Some(format!("/patches/hosts/{host_id}")),
        }])
    }
}
