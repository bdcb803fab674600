//! Matching hosts against the stored advisories, and reading hosts and the fleet's pending
//! updates with the findings each update closes.
//!
//! A host is due when it has a report it was not matched on yet, or when a threat-intelligence
//! import is newer than its last match. The job runs after every report and every import (and
//! every few minutes as a safety net); it builds the advisory index once for all due hosts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use opsward_core::asset::{AssetInput, AssetKind, Criticality};
use opsward_core::host_inventory::{HostDetail, PendingRow, UpdateSeverity};
use opsward_core::Actor;
use opsward_ops::host_inventory::HostInventory;
use opsward_store::{on_backend, Store, StoreError};
use serde::{Deserialize, Serialize};

use super::link::{fixes_of, link_fixes};
use super::sql::{postgres, sqlite, HostScan, HostToMatch, Result};
use super::{host_packages, osv_ecosystem, PackageRule};
use crate::findings::{Finding, FindingFilter, ScanScope};
use crate::matcher::AdvisoryIndex;
use crate::VulnStore;

/// What one run of host matching did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostMatchRun {
    /// Hosts matched (or found to have no OSV ecosystem).
    pub hosts: usize,
    pub new: usize,
    pub reopened: usize,
    pub still_present: usize,
    pub fixed: usize,
    /// Pending updates whose severity (and so due date) changed.
    pub updates_regraded: usize,
}

fn is_due(host: &HostToMatch, latest_feed: i64, force: bool) -> bool {
    if host.last_sequence.is_none() {
        return false;
    }
    match &host.scan {
        None => true,
        Some(scan) => {
            force || scan.report_sequence != host.last_sequence || scan.feed_run_id < latest_feed
        }
    }
}

/// The asset a host's findings go on: the one it had, else the asset named like the host,
/// else a new host asset of that name.
async fn asset_of(store: &dyn Store, actor: &Actor, host: &HostToMatch) -> Result<i64> {
    if let Some(id) = host.scan.as_ref().and_then(|s| s.asset_id) {
        match store.get_asset(id).await {
            Ok(asset) => return Ok(asset.id),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    match store.get_asset_by_name(&host.hostname).await {
        Ok(asset) => Ok(asset.id),
        Err(StoreError::NotFound(_)) => {
            let input = AssetInput {
                name: host.hostname.clone(),
                kind: AssetKind::Host,
                environment: "production".into(),
                criticality: Criticality::Medium,
                owner_team_id: None,
                owner_person_id: None,
                tags: vec![],
                description: "Enrolled by the patch agent; its OS package findings come from the agent's reports."
                    .into(),
            };
            Ok(store.create_asset(actor, &input).await?.id)
        }
        Err(e) => Err(e),
    }
}

/// Matches every due host (every reporting host with `force`) and records the findings.
pub async fn match_due_hosts(
    store: &dyn Store,
    actor: &Actor,
    force: bool,
) -> Result<HostMatchRun> {
    let db = store.database();
    let latest_feed = on_backend!(&db, latest_feed_run())?;
    let due: Vec<HostToMatch> = on_backend!(&db, hosts())?
        .into_iter()
        .filter(|h| is_due(h, latest_feed, force))
        .collect();
    let mut run = HostMatchRun::default();
    if due.is_empty() {
        return Ok(run);
    }
    let vulns = VulnStore::new(store);
    let index = vulns.advisory_index().await?;
    for host in &due {
        match_host(store, actor, &index, host, latest_feed, &mut run).await?;
        run.hosts += 1;
    }
    tracing::info!(?run, "hosts matched against advisories");
    Ok(run)
}

async fn match_host(
    store: &dyn Store,
    actor: &Actor,
    index: &AdvisoryIndex,
    host: &HostToMatch,
    latest_feed: i64,
    run: &mut HostMatchRun,
) -> Result<()> {
    let db = store.database();
    let mut scan = HostScan {
        host_id: host.host_id,
        asset_id: host.scan.as_ref().and_then(|s| s.asset_id),
        ecosystem: String::new(),
        report_sequence: host.last_sequence,
        feed_run_id: latest_feed,
        scanned_at: Utc::now(),
        packages: 0,
        matched: 0,
        undecided: 0,
        note: String::new(),
    };
    let ecosystem = match osv_ecosystem(&host.os_id, &host.os_version_id) {
        Ok(e) => e,
        Err(note) => {
            scan.note = note;
            return on_backend!(&db, save(actor, &scan));
        }
    };
    let asset_id = asset_of(store, actor, host).await?;
    let installed = on_backend!(&db, packages(host.host_id))?;
    let mut matches = vec![];
    let mut undecided = vec![];
    let names: Vec<&str> = index
        .ecosystems()
        .into_iter()
        .filter(|e| ecosystem.includes(e))
        .collect();
    scan.packages = host_packages(&ecosystem.name, ecosystem.rule(), &installed).len() as i64;
    for name in &names {
        for package in host_packages(name, PackageRule::of(name), &installed) {
            matches.extend(index.check(&package, &mut undecided));
        }
    }
    if names.is_empty() {
        scan.note = format!("no advisories of {} are imported", ecosystem.name);
    }
    let vulns = VulnStore::new(store);
    let policy = vulns.due_policy().await?;
    let outcome = vulns
        .record_scan_in(actor, asset_id, &matches, &policy, ScanScope::OsPackages)
        .await?;
    run.new += outcome.new;
    run.reopened += outcome.reopened;
    run.still_present += outcome.still_present;
    run.fixed += outcome.fixed;

    // The pending updates' severities follow the findings they close.
    let findings = asset_findings(&vulns, asset_id).await?;
    let patches = HostInventory::new(store);
    let pending = patches.host_detail(host.host_id, Utc::now()).await?.pending;
    let severities: Vec<UpdateSeverity> = pending
        .iter()
        .map(|p| UpdateSeverity {
            name: p.name.clone(),
            arch: p.arch.clone(),
            severity: fixes_of(&p.name, &p.source, &p.candidate_version, &findings).severity,
        })
        .collect();
    run.updates_regraded += patches
        .set_update_severities(actor, host.host_id, &severities)
        .await?;

    scan.asset_id = Some(asset_id);
    scan.ecosystem = ecosystem.name;
    scan.matched = matches.iter().filter(|m| m.informational.is_none()).count() as i64;
    scan.undecided = undecided.len() as i64;
    on_backend!(&db, save(actor, &scan))
}

async fn asset_findings(vulns: &VulnStore, asset_id: i64) -> Result<Vec<Finding>> {
    vulns
        .findings(&FindingFilter {
            asset_id: Some(asset_id),
            ..Default::default()
        })
        .await
}

/// A host's patch detail with each pending update's `fixes`, and its last match.
pub async fn host_detail(
    store: &dyn Store,
    host_id: i64,
    now: DateTime<Utc>,
) -> Result<(HostDetail, Option<HostScan>)> {
    let mut detail = HostInventory::new(store).host_detail(host_id, now).await?;
    let db = store.database();
    let scan = on_backend!(&db, scan(host_id))?;
    if let Some(asset_id) = scan.as_ref().and_then(|s| s.asset_id) {
        let findings = asset_findings(&VulnStore::new(store), asset_id).await?;
        link_fixes(&mut detail.pending, &findings);
    }
    Ok((detail, scan))
}

/// Which of the fleet's pending updates to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateQuery {
    /// Only updates that close at least one finding in CISA's KEV catalog.
    #[serde(default)]
    pub closes_kev: bool,
    /// Only updates that close at least one finding.
    #[serde(default)]
    pub closes: bool,
    /// Only security updates.
    #[serde(default)]
    pub security: bool,
    /// Hosts whose name contains this.
    pub host: Option<String>,
}

/// A pending update of one host, with what it closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = FleetPendingUpdate)]
pub struct FleetUpdate {
    pub host_id: i64,
    pub hostname: String,
    #[serde(flatten)]
    pub update: PendingRow,
}

/// The fleet's pending updates, those closing the most KEV findings first, then the most
/// findings, then the highest severity, then the soonest due.
pub async fn fleet_updates(
    store: &dyn Store,
    query: &UpdateQuery,
    now: DateTime<Utc>,
) -> Result<Vec<FleetUpdate>> {
    let db = store.database();
    let pending = on_backend!(&db, fleet_pending(now))?;
    let mut by_asset: HashMap<i64, Vec<Finding>> = HashMap::new();
    for f in VulnStore::new(store)
        .findings(&FindingFilter::default())
        .await?
    {
        by_asset.entry(f.asset_id).or_default().push(f);
    }
    let name = query
        .host
        .as_deref()
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty());
    let mut updates: Vec<FleetUpdate> = pending
        .into_iter()
        .filter(|p| !query.security || p.row.security)
        .filter(|p| {
            name.as_ref()
                .is_none_or(|n| p.hostname.to_lowercase().contains(n.as_str()))
        })
        .map(|mut p| {
            if let Some(findings) = p.asset_id.and_then(|a| by_asset.get(&a)) {
                link_fixes(std::slice::from_mut(&mut p.row), findings);
            }
            FleetUpdate {
                host_id: p.host_id,
                hostname: p.hostname,
                update: p.row,
            }
        })
        .filter(|u| !query.closes_kev || u.update.fixes.kev > 0)
        .filter(|u| !query.closes || !u.update.fixes.findings.is_empty())
        .collect();
    updates.sort_by(|a, b| {
        let (x, y) = (&a.update, &b.update);
        y.fixes
            .kev
            .cmp(&x.fixes.kev)
            .then(y.fixes.findings.len().cmp(&x.fixes.findings.len()))
            // `Some` before `None`; Critical sorts first among `Some`.
            .then(match (x.fixes.severity, y.fixes.severity) {
                (Some(s), Some(t)) => s.cmp(&t),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then(x.due_at.cmp(&y.due_at))
            .then((&a.hostname, &x.name, &x.arch).cmp(&(&b.hostname, &y.name, &y.arch)))
    });
    Ok(updates)
}
