//! Exposure findings: each asset's allowed-ports policy decides which of its open TCP ports
//! are exposures. The scheduled scan connects to every asset that has a policy (its own or
//! a tag's; every asset with `scan_all_assets`), a few hosts at a time, each with the
//! settings' concurrency and timeouts. An open port the policy does not allow is a finding
//! (`tcp/8080`); a scanned port that is closed or allowed now fixes it; it reopens if it
//! comes back. A host that cannot be resolved keeps its findings as they were.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsward_core::{
    asset::{Asset, AssetFilter},
    page::PageRequest,
    Actor,
};
use opsward_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::exposure::{resolve, scan, PortResult, PortSet, PortState, ScanLimits};
use crate::findings::{FindingKind, ScanOutcome};
use crate::policy_store::{CheckRun, Observed, Scope};
use crate::settings::{effective_policy, ExposureSettings};
use crate::severity::Severity;
use crate::VulnStore;

/// Hosts scanned at once by a scheduled run (each with its own connect concurrency).
pub const HOSTS_AT_ONCE: usize = 4;

/// One asset to scan, with its effective policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnExposureTarget)]
pub struct ExposureTarget {
    pub asset_id: i64,
    pub asset: String,
    /// The host name or address connected to.
    pub address: String,
    /// Ports scanned (`1-1024,3306`).
    pub scan_ports: String,
    /// Ports allowed open.
    pub allowed: String,
    /// Whether the asset or one of its tags has a policy (else the default applies).
    pub has_policy: bool,
}

/// What a scan of one asset found: the ports scanned and those open. Sent by
/// `opsward vuln exposure <asset> --server ...`, made by the scheduled scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnExposureReport)]
#[serde(deny_unknown_fields)]
pub struct ExposureReport {
    /// The ports scanned (`1-1024`): an exposure on a port not scanned stays as it was.
    pub scanned: String,
    pub open: Vec<u16>,
}

/// What recording an exposure report changed, and the exposures it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnExposureOutcome)]
pub struct ExposureOutcome {
    pub asset_id: i64,
    pub exposures: Vec<u16>,
    pub findings: ScanOutcome,
}

#[derive(Debug, thiserror::Error)]
pub enum ExposureFindingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Report(String),
}

fn fmt_ports(set: &PortSet) -> String {
    let ports: Vec<u16> = set.ports().collect();
    let mut parts = vec![];
    let mut i = 0;
    while i < ports.len() {
        let mut j = i;
        while j + 1 < ports.len() && ports[j + 1] == ports[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            ports[i].to_string()
        } else {
            format!("{}-{}", ports[i], ports[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Every asset, paging through the store.
pub async fn all_assets(store: &dyn Store) -> Result<Vec<Asset>, StoreError> {
    let mut assets = vec![];
    let mut page = PageRequest::first(500);
    loop {
        let got = store.list_assets(&AssetFilter::default(), page).await?;
        let last = got.items.last().map(|a| a.id);
        assets.extend(got.items);
        match (got.next_cursor, last) {
            (Some(_), Some(last)) => {
                page = PageRequest {
                    after: Some(last),
                    limit: 500,
                }
            }
            _ => break,
        }
    }
    Ok(assets)
}

/// The assets a scheduled scan covers (those with a policy, or all with `scan_all_assets`),
/// or, with `only`, that one asset whatever its policy.
pub async fn targets(
    vulns: &VulnStore,
    store: &dyn Store,
    only: Option<i64>,
) -> Result<Vec<ExposureTarget>, StoreError> {
    let settings = vulns.settings().await?.exposure;
    let policies = vulns.port_policies().await?;
    let assets = match only {
        Some(id) => vec![store.get_asset(id).await?],
        None => all_assets(store).await?,
    };
    Ok(assets
        .iter()
        .map(|a| {
            let p = effective_policy(&settings, &a.name, &a.tags, &policies, a.id);
            ExposureTarget {
                asset_id: a.id,
                asset: a.name.clone(),
                address: p.address,
                scan_ports: fmt_ports(&p.scan_ports),
                allowed: fmt_ports(&p.allowed),
                has_policy: p.has_policy,
            }
        })
        .filter(|t| only.is_some() || t.has_policy || settings.scan_all_assets)
        .collect())
}

/// The exposures among `open` (those `allowed` does not contain), as findings.
pub fn observations(asset_id: i64, open: &[u16], allowed: &PortSet) -> Vec<Observed> {
    open.iter()
        .filter(|p| !allowed.contains(**p))
        .map(|port| Observed {
            asset_id,
            package: format!("tcp/{port}"),
            problem: format!("exposure:tcp/{port}"),
            seen: "open".into(),
            summary: format!("TCP port {port} is open but not allowed by the asset's policy"),
            severity: Severity::High,
        })
        .collect()
}

/// Records a scan of one asset: judged against its stored policy, exposures open or reopen,
/// and exposures of scanned ports that are closed or allowed now are fixed.
pub async fn record_report(
    vulns: &VulnStore,
    store: &dyn Store,
    actor: &Actor,
    asset_id: i64,
    report: &ExposureReport,
) -> Result<ExposureOutcome, ExposureFindingError> {
    let scanned: PortSet = report
        .scanned
        .parse()
        .map_err(|e: crate::exposure::ExposureError| ExposureFindingError::Report(e.to_string()))?;
    if scanned.is_empty() {
        return Err(ExposureFindingError::Report(
            "scanned: names no port".into(),
        ));
    }
    if let Some(p) = report.open.iter().find(|p| !scanned.contains(**p)) {
        return Err(ExposureFindingError::Report(format!(
            "open: port {p} is not among the scanned ports"
        )));
    }
    let target = targets(vulns, store, Some(asset_id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("asset"))?;
    let allowed: PortSet = target.allowed.parse().unwrap_or_default();
    let observed = observations(asset_id, &report.open, &allowed);
    let scope = Scope {
        assets: Some(HashSet::from([asset_id])),
        packages: Some(scanned.ports().map(|p| format!("tcp/{p}")).collect()),
    };
    let policy = vulns.due_policy().await?;
    let findings = vulns
        .observe(actor, FindingKind::Exposure, &scope, &observed, &policy)
        .await?;
    Ok(ExposureOutcome {
        asset_id,
        exposures: observed
            .iter()
            .filter_map(|o| o.package.strip_prefix("tcp/")?.parse().ok())
            .collect(),
        findings,
    })
}

/// Scans one target: the open ports among those its policy scans.
pub async fn scan_target(
    target: &ExposureTarget,
    settings: &ExposureSettings,
) -> Result<Vec<PortResult>, String> {
    let ports: PortSet = target.scan_ports.parse().map_err(|e| format!("{e}"))?;
    let timeout = Duration::from_millis(settings.timeout_ms.max(1));
    let ip = resolve(&target.address, timeout.max(Duration::from_secs(2)))
        .await
        .map_err(|e| e.to_string())?;
    let limits = ScanLimits {
        concurrency: settings.concurrency,
        timeout,
    };
    Ok(scan(ip, &ports, limits).await)
}

/// Scans every target (a few hosts at once) and records each host that was scanned.
pub async fn scan_and_record(
    vulns: &VulnStore,
    store: &dyn Store,
    actor: &Actor,
    targets: Vec<ExposureTarget>,
    now: DateTime<Utc>,
) -> Result<CheckRun, StoreError> {
    let settings = vulns.settings().await?.exposure;
    let hosts = Arc::new(Semaphore::new(HOSTS_AT_ONCE));
    let mut tasks = JoinSet::new();
    for target in targets.iter().cloned() {
        let (hosts, settings) = (Arc::clone(&hosts), settings.clone());
        tasks.spawn(async move {
            let _permit = hosts.acquire_owned().await;
            let result = scan_target(&target, &settings).await;
            (target, result)
        });
    }
    let (mut errors, mut summary) = (vec![], ScanOutcome::default());
    let mut exposures = vec![];
    while let Some(done) = tasks.join_next().await {
        let Ok((target, result)) = done else { continue };
        match result {
            Err(e) => errors.push(serde_json::json!({"asset": target.asset, "error": e})),
            Ok(results) => {
                let report = ExposureReport {
                    scanned: target.scan_ports.clone(),
                    open: results
                        .iter()
                        .filter(|r| r.state == PortState::Open)
                        .map(|r| r.port)
                        .collect(),
                };
                match record_report(vulns, store, actor, target.asset_id, &report).await {
                    Ok(outcome) => {
                        summary.new += outcome.findings.new;
                        summary.reopened += outcome.findings.reopened;
                        summary.still_present += outcome.findings.still_present;
                        summary.fixed += outcome.findings.fixed;
                        exposures.push(serde_json::json!({"asset": target.asset, "exposures": outcome.exposures}));
                    }
                    Err(ExposureFindingError::Store(e)) => return Err(e),
                    Err(e) => errors
                        .push(serde_json::json!({"asset": target.asset, "error": e.to_string()})),
                }
            }
        }
    }
    vulns
        .add_check_run(&CheckRun {
            id: 0,
            job: "exposure".into(),
            started_at: now,
            finished_at: Utc::now(),
            assets: targets.len() as i64,
            errors: errors.len() as i64,
            detail: serde_json::json!({"findings": summary, "exposures": exposures, "errors": errors}),
        })
        .await
}

/// The scheduled scan: runs when the interval (a setting; 0 = off) has passed since the
/// last run. Returns the run, or `None` when none was due.
pub async fn run_if_due(
    vulns: &VulnStore,
    store: &dyn Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<CheckRun>, StoreError> {
    let settings = vulns.settings().await?.exposure;
    if settings.interval_minutes <= 0 {
        return Ok(None);
    }
    let last = vulns.check_runs(Some("exposure"), 1).await?;
    if let Some(last) = last.first() {
        if now - last.started_at < chrono::Duration::minutes(settings.interval_minutes) {
            return Ok(None);
        }
    }
    let targets = targets(vulns, store, None).await?;
    Ok(Some(
        scan_and_record(vulns, store, actor, targets, now).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists_print_as_ranges() {
        let set: PortSet = "22,80-82,443,8080".parse().unwrap();
        assert_eq!(fmt_ports(&set), "22,80-82,443,8080");
        assert_eq!(fmt_ports(&PortSet::default()), "");
    }

    #[test]
    fn only_ports_outside_the_policy_are_observed() {
        let allowed: PortSet = "22,443".parse().unwrap();
        let seen = observations(7, &[22, 8080], &allowed);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].package, "tcp/8080");
        assert_eq!(seen[0].problem, "exposure:tcp/8080");
    }
}
