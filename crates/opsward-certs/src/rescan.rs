//! From scan reports to stored observations, and the periodic rescan of every stored place.

use crate::{
    aia::{explain_chains, IssuerFetcher, DEFAULT_MAX_ISSUER_BYTES},
    assess_endpoint, assess_file,
    assets::ScanTargetKind,
    error::EndpointError,
    inventory::{ObservedSource, ScanUpload, SourceKind, MAX_UPLOAD_SOURCES},
    model::CertificateInfo,
    protocols::{LegacyVersion, ProtocolCheck, Verdict},
    renewal::{self, RenewalRun},
    revocation::CrlChecker,
    scan_paths,
    sweep::{check_revocation, observe_swept, ScanPlan, SweptReport},
    tls::Target,
    CertStore, CheckContext, EndpointReport, FileReport, ScanOptions, StartTls, TrustStore,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{Actor, ValidationError};
use opsward_ops::notifications::Notifier;
use opsward_store::StoreError;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

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
            asset_id: None,
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
    observe_files_with(reports, ctx, &HashMap::new(), &HashMap::new())
}

/// Like [`observe_files`], checking each file on an asset (`asset_of`, by path) with the
/// asset's thresholds when it has an override.
pub fn observe_files_with(
    reports: &[FileReport],
    ctx: &CheckContext,
    asset_of: &HashMap<String, i64>,
    asset_thresholds: &HashMap<i64, Vec<i64>>,
) -> Vec<ObservedSource> {
    reports
        .iter()
        .map(|report| {
            let location = report.path.display().to_string();
            let asset_id = asset_of.get(&location).copied();
            let own;
            let ctx = match asset_id.and_then(|a| asset_thresholds.get(&a)) {
                Some(days) => {
                    own = ctx.with_thresholds(days);
                    &own
                }
                None => ctx,
            };
            ObservedSource {
                kind: SourceKind::File,
                location,
                sni: None,
                starttls: StartTls::None.as_str().to_owned(),
                asset_id,
                outcome: match (&report.error, report.certificates.is_empty()) {
                    (Some(e), true) => Err(e.to_string()),
                    _ => Ok(assess_file(report, ctx)),
                },
            }
        })
        .collect()
}

/// What one periodic rescan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescanRun {
    pub endpoints: usize,
    pub files: usize,
    pub errors: usize,
    /// Files under a walked directory that were not found again: their sightings ended.
    pub files_gone: usize,
    pub renewal: RenewalRun,
}

/// The check context of a server: the practice's thresholds at `now`.
pub async fn server_context(
    store: &CertStore,
    now: DateTime<Utc>,
) -> Result<CheckContext, StoreError> {
    let settings = store.settings().await?;
    Ok(CheckContext::at(now).with_thresholds(&settings.sorted_thresholds()))
}

/// Scan again every stored place and kept target (ranges, assets, tags, directories) not
/// scanned within the configured interval, store the results, end the sightings of files no
/// longer found in walked directories, then apply the renewal rules and raise alerts. Safe to
/// run from several servers: a place scanned twice is only stored twice.
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
    let ctx = CheckContext::at(now).with_thresholds(&settings.sorted_thresholds());
    let thresholds = store.asset_thresholds().await?;
    let assets = store.asset_settings().await?;
    let due = store.sources(Some(cutoff)).await?;
    let kept = store.scan_targets(Some(cutoff)).await?;
    let mut run = RescanRun::default();
    let mut plan = ScanPlan::default();
    let mut directories = Vec::new();
    for target in &kept {
        if target.kind == ScanTargetKind::Directory {
            directories.push(PathBuf::from(&target.value));
        } else if let Err(e) = plan.add_kept(target, &assets) {
            tracing::warn!(target = %target.value, error = %e, "kept scan target not expanded");
            run.errors += 1;
        }
    }
    let mut files = Vec::new();
    for source in &due {
        match source.kind {
            SourceKind::Endpoint => plan.add_source(source),
            // Files in a directory walked again are read by the walk.
            SourceKind::File => {
                if !directories
                    .iter()
                    .any(|d| Path::new(&source.location).starts_with(d))
                {
                    files.push(PathBuf::from(&source.location));
                }
            }
        }
    }
    if !plan.endpoints.is_empty() {
        let reports = plan.run(options).await;
        let mut observed = observe_swept(&reports, trust, &ctx, &thresholds);
        check_revocation(&mut observed, &CrlChecker::default()).await;
        let issuers = IssuerFetcher::new(options.connect_timeout, DEFAULT_MAX_ISSUER_BYTES);
        explain_chains(&mut observed, &issuers, trust, now).await;
        run.endpoints += observed.len();
        run.errors += observed.iter().filter(|o| o.outcome.is_err()).count();
        if !observed.is_empty() {
            store
                .record_scan(actor, SourceKind::Endpoint, &observed, now)
                .await?;
        }
    }
    files.extend(directories.iter().cloned());
    if !files.is_empty() {
        let asset_of: HashMap<String, i64> = store
            .sources(None)
            .await?
            .into_iter()
            .filter(|s| s.kind == SourceKind::File)
            .filter_map(|s| s.asset_id.map(|a| (s.location, a)))
            .collect();
        let reports = tokio::task::spawn_blocking(move || scan_paths(&files))
            .await
            .map_err(|e| StoreError::Corrupt(format!("file scan stopped: {e}")))?;
        let observed = observe_files_with(&reports, &ctx, &asset_of, &thresholds);
        run.files += observed.len();
        run.errors += observed.iter().filter(|o| o.outcome.is_err()).count();
        store
            .record_scan(actor, SourceKind::File, &observed, now)
            .await?;
        for directory in &directories {
            // A directory that could not be walked says nothing about its files.
            if reports
                .iter()
                .any(|r| &r.path == directory && r.error.is_some())
            {
                continue;
            }
            let found: BTreeSet<String> = reports
                .iter()
                .filter(|r| r.path.starts_with(directory))
                .map(|r| r.path.display().to_string())
                .collect();
            run.files_gone += store
                .end_missing_files(actor, directory, &found, now)
                .await?
                .len();
        }
    }
    let ids: Vec<i64> = kept.iter().map(|t| t.id).collect();
    store.mark_targets_scanned(&ids, now).await?;
    run.renewal = renewal::reconcile(store, notifier, actor, now).await?;
    Ok(run)
}

/// Check an uploaded scan as if this server had done it. A location or certificate that
/// cannot be read is a validation error naming it: nothing of the upload is stored.
pub fn observe_upload(
    upload: &ScanUpload,
    trust: &TrustStore,
    ctx: &CheckContext,
    asset_thresholds: &HashMap<i64, Vec<i64>>,
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
                let target = Target::with_server_name(&source.location, source.sni.as_deref())
                    .map_err(|e| ValidationError::single(&field, e.to_string()))?;
                let starttls: StartTls = source
                    .starttls
                    .as_deref()
                    .unwrap_or("auto")
                    .parse()
                    .map_err(|e: String| {
                        ValidationError::single(&format!("{field}.starttls"), e)
                    })?;
                let mut protocols = Vec::with_capacity(source.old_protocols.len());
                for (j, p) in source.old_protocols.iter().enumerate() {
                    let version = LegacyVersion::parse(&p.version).ok_or_else(|| {
                        ValidationError::single(
                            &format!("{field}.old_protocols[{j}].version"),
                            "must be TLSv1.0 or TLSv1.1",
                        )
                    })?;
                    protocols.push(ProtocolCheck {
                        version,
                        result: Ok(Verdict::Accepted {
                            cipher_suite: p.cipher_suite,
                            chain: Vec::new(),
                        }),
                    });
                }
                let report = EndpointReport {
                    target: source.location.clone(),
                    parsed: Some(target),
                    result: result.clone().map_err(|_| EndpointError::NoCertificate),
                    protocols,
                };
                let swept = SweptReport {
                    report,
                    starttls,
                    asset_id: source.asset_id,
                    sweep: false,
                };
                let mut one =
                    observe_swept(std::slice::from_ref(&swept), trust, ctx, asset_thresholds);
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
                let asset_of: HashMap<String, i64> = source
                    .asset_id
                    .map(|a| (source.location.clone(), a))
                    .into_iter()
                    .collect();
                let mut one = observe_files_with(
                    std::slice::from_ref(&report),
                    ctx,
                    &asset_of,
                    asset_thresholds,
                );
                if let (Err(e), Some(o)) = (&result, one.first_mut()) {
                    o.outcome = Err(e.clone());
                }
                observed.extend(one);
            }
        }
    }
    Ok(observed)
}
