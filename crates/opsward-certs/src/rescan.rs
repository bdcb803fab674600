//! From scan reports to stored observations, and the periodic rescan of every stored place.

use crate::{
    assess_endpoint, assess_file,
    error::EndpointError,
    inventory::{ObservedSource, ScanUpload, SourceKind, MAX_UPLOAD_SOURCES},
    model::CertificateInfo,
    renewal::{self, RenewalRun},
    scan_endpoints, scan_paths,
    tls::Target,
    CertStore, CheckContext, EndpointReport, FileReport, ScanOptions, StartTls, TrustStore,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{Actor, ValidationError};
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

/// Check an uploaded scan as if this server had done it. A location or certificate that
/// cannot be read is a validation error naming it: nothing of the upload is stored.
pub fn observe_upload(
    upload: &ScanUpload,
    trust: &TrustStore,
    ctx: &CheckContext,
) -> Result<Vec<ObservedSource>, ValidationError> {
    if upload.sources.len() > MAX_UPLOAD_SOURCES {
        return Err(ValidationError::single(
            "sources",
            format!("at most {MAX_UPLOAD_SOURCES} places per upload"),
        ));
    }
    let mut observed = Vec::with_capacity(upload.sources.len());
    // A place is stored once per kind, so the same place twice in one upload has no single
    // meaning (which of its two results is the current one?): refuse it by name.
    let mut first_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, source) in upload.sources.iter().enumerate() {
        let field = format!("sources[{i}]");
        if source.location.trim().is_empty() || source.location.len() > 4096 {
            return Err(ValidationError::single(
                &field,
                "location must be 1-4096 characters",
            ));
        }
        if let Some(first) = first_index.insert(source.location.as_str(), i) {
            return Err(ValidationError::single(
                &field,
                format!(
                    "{} is already sources[{first}]; list each place once",
                    source.location
                ),
            ));
        }
        let mut certificates = Vec::with_capacity(source.certificates_der_hex.len());
        for (j, text) in source.certificates_der_hex.iter().enumerate() {
            let der = hex::decode(text.trim()).map_err(|e| {
                ValidationError::single(
                    &format!("{field}.certificates_der_hex[{j}]"),
                    format!("not hex: {e}"),
                )
            })?;
            certificates.push(CertificateInfo::from_der(&der).map_err(|e| {
                ValidationError::single(
                    &format!("{field}.certificates_der_hex[{j}]"),
                    e.to_string(),
                )
            })?);
        }
        let result = match (&source.error, certificates.is_empty()) {
            (Some(e), true) => Err(e.clone()),
            (None, true) => Err("no certificate".to_string()),
            _ => Ok(certificates),
        };
        match upload.kind {
            SourceKind::Endpoint => {
                let target = Target::parse(&source.location)
                    .map_err(|e| ValidationError::single(&field, e.to_string()))?;
                let starttls: StartTls = source
                    .starttls
                    .as_deref()
                    .unwrap_or("auto")
                    .parse()
                    .map_err(|e: String| {
                        ValidationError::single(&format!("{field}.starttls"), e)
                    })?;
                let report = EndpointReport {
                    target: source.location.clone(),
                    parsed: Some(target),
                    result: result.clone().map_err(|_| EndpointError::NoCertificate),
                };
                let mut one =
                    observe_endpoints(std::slice::from_ref(&report), trust, ctx, starttls);
                if let (Err(e), Some(o)) = (&result, one.first_mut()) {
                    o.outcome = Err(e.clone());
                }
                observed.extend(one);
            }
            SourceKind::File => {
                let report = FileReport {
                    path: PathBuf::from(&source.location),
                    certificates: result.clone().unwrap_or_default(),
                    private_keys_skipped: 0,
                    error: None,
                };
                let mut one = observe_files(std::slice::from_ref(&report), ctx);
                if let (Err(e), Some(o)) = (&result, one.first_mut()) {
                    o.outcome = Err(e.clone());
                }
                observed.extend(one);
            }
        }
    }
    Ok(observed)
}
