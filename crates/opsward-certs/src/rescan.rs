//! From scan reports to stored observations, and the periodic rescan of every stored place.

use crate::{
    assess_endpoint, assess_file,
    inventory::{ObservedSource, SourceKind},
    renewal::{self, RenewalRun},
    scan_endpoints, scan_paths, CertStore, CheckContext, EndpointReport, FileReport, ScanOptions,
    StartTls, TrustStore,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::Actor;
use opsward_ops::notifications::Notifier;
use opsward_store::StoreError;
use std::{collections::BTreeMap, path::PathBuf};

/// What endpoints presented, checked, as the store keeps it.
pub fn observe_endpoints(
    reports: &[EndpointReport],
    trust: &TrustStore,
    ctx: &CheckContext,
    starttls: StartTls,
) -> Vec<ObservedSource> {
    reports
        .iter()
        .map(|report| ObservedSource {
            kind: SourceKind::Endpoint,
            location: report.target.clone(),
            sni: report
                .parsed
                .as_ref()
                .and_then(|t| t.sni().map(str::to_owned)),
            starttls: starttls.as_str().to_owned(),
            outcome: match &report.result {
                Ok(_) => Ok(assess_endpoint(report, trust, ctx)),
                Err(e) => Err(e.to_string()),
            },
        })
        .collect()
}

/// What files held, checked. A file with certificates and a later error keeps the
/// certificates; one with none reports its error.
pub fn observe_files(reports: &[FileReport], ctx: &CheckContext) -> Vec<ObservedSource> {
    reports
        .iter()
        .map(|report| ObservedSource {
            kind: SourceKind::File,
            location: report.path.display().to_string(),
            sni: None,
            starttls: StartTls::None.as_str().to_owned(),
            outcome: match (&report.error, report.certificates.is_empty()) {
                (Some(e), true) => Err(e.to_string()),
                _ => Ok(assess_file(report, ctx)),
            },
        })
        .collect()
}

/// What one periodic rescan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescanRun {
    pub endpoints: usize,
    pub files: usize,
    pub errors: usize,
    pub renewal: RenewalRun,
}

/// Scan again every stored place not scanned within the configured interval, store the
/// results, then apply the renewal rules and raise alerts. Safe to run from several servers:
/// a place scanned twice is only stored twice.
pub async fn rescan_due(
    store: &CertStore,
    notifier: &Notifier,
    trust: &TrustStore,
    options: &ScanOptions,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<RescanRun, StoreError> {
    let settings = store.settings().await?;
    let cutoff = now - Duration::minutes(settings.rescan_interval_minutes);
    let due = store.sources(Some(cutoff)).await?;
    let ctx = CheckContext::at(now);
    let mut run = RescanRun::default();
    let mut endpoints: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files = Vec::new();
    for source in due {
        match source.kind {
            SourceKind::Endpoint => endpoints
                .entry(source.starttls.clone())
                .or_default()
                .push(source.location),
            SourceKind::File => files.push(PathBuf::from(source.location)),
        }
    }
    for (starttls, targets) in endpoints {
        let starttls: StartTls = starttls.parse().unwrap_or_default();
        let options = ScanOptions {
            starttls,
            ..options.clone()
        };
        let reports = scan_endpoints(&targets, &options).await;
        let observed = observe_endpoints(&reports, trust, &ctx, starttls);
        run.endpoints += observed.len();
        run.errors += observed.iter().filter(|o| o.outcome.is_err()).count();
        store
            .record_scan(actor, SourceKind::Endpoint, &observed, now)
            .await?;
    }
    if !files.is_empty() {
        let reports = tokio::task::spawn_blocking(move || scan_paths(&files))
            .await
            .map_err(|e| StoreError::Corrupt(format!("file scan stopped: {e}")))?;
        let observed = observe_files(&reports, &ctx);
        run.files += observed.len();
        run.errors += observed.iter().filter(|o| o.outcome.is_err()).count();
        store
            .record_scan(actor, SourceKind::File, &observed, now)
            .await?;
    }
    run.renewal = renewal::reconcile(store, notifier, actor, now).await?;
    Ok(run)
}
