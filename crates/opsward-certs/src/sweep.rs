//! A TLS scan planned from everything it may be pointed at (`host:port` texts, address
//! ranges times ports, assets and asset tags, stored places), run grouped by STARTTLS
//! protocol, and turned into observations with each place's asset and thresholds.

use crate::{
    assess_endpoint,
    assets::{CertAssetSettings, NewScanTarget, ScanTargetKind},
    inventory::{CertSource, ObservedSource, SourceKind},
    targets::{self, RangeTarget, TargetError},
    tls::{scan_targets, Target},
    CheckContext, EndpointReport, ScanOptions, StartTls, TrustStore,
};
use std::collections::{HashMap, HashSet};

/// One endpoint to scan, with where it came from.
#[derive(Debug, Clone)]
pub struct PlannedEndpoint {
    pub location: String,
    pub target: Target,
    pub starttls: StartTls,
    pub asset_id: Option<i64>,
    /// Found by sweeping (a range, or an asset's default ports): when nothing listens there,
    /// it is absent rather than failed.
    pub sweep: bool,
}

/// The endpoints of one scan, each once (by STARTTLS protocol and location).
#[derive(Debug, Default)]
pub struct ScanPlan {
    pub endpoints: Vec<PlannedEndpoint>,
    seen: HashMap<(StartTls, String), usize>,
    /// Ranges, assets and tags planned, to keep for rescans.
    pub kept: Vec<NewScanTarget>,
}

/// What one planned endpoint gave.
#[derive(Debug)]
pub struct SweptReport {
    pub report: EndpointReport,
    pub starttls: StartTls,
    pub asset_id: Option<i64>,
    pub sweep: bool,
}

impl SweptReport {
    /// Swept and nothing listens: not a place.
    pub fn absent(&self) -> bool {
        self.sweep
            && self
                .report
                .result
                .as_ref()
                .is_err_and(targets::nothing_listens)
    }
}

impl ScanPlan {
    fn push(&mut self, endpoint: PlannedEndpoint) {
        let key = (endpoint.starttls, endpoint.location.clone());
        match self.seen.get(&key) {
            // Named again: an explicit mention is no sweep, and an asset link is kept.
            Some(&i) => {
                let known = &mut self.endpoints[i];
                known.sweep &= endpoint.sweep;
                known.asset_id = known.asset_id.or(endpoint.asset_id);
                if known.target.server_name.is_none() {
                    known.target.server_name = endpoint.target.server_name;
                }
            }
            None => {
                self.seen.insert(key, self.endpoints.len());
                self.endpoints.push(endpoint);
            }
        }
    }

    /// `host:port`, or a range with or without ports (`ports`, else 443, for those without).
    pub fn add_text(
        &mut self,
        text: &str,
        ports: &[u16],
        starttls: StartTls,
    ) -> Result<(), TargetError> {
        if targets::is_range(text) {
            let default: &[u16] = if ports.is_empty() { &[443] } else { ports };
            let range = RangeTarget::parse(text, default)?;
            self.add_range(&range, starttls);
            self.kept.push(NewScanTarget {
                kind: ScanTargetKind::Range,
                value: format!("{}/{}", range.network, range.prefix),
                ports: range.ports.clone(),
                starttls: starttls.as_str().to_owned(),
            });
            return Ok(());
        }
        let target =
            Target::parse(text).map_err(|e| TargetError::BadRange(format!("{text}: {e}")))?;
        // A name at an address is stored as `name@address:port`: its own place.
        let location = match target.server_name {
            Some(_) => target.location(),
            None => text.to_owned(),
        };
        self.push(PlannedEndpoint {
            location,
            target,
            starttls,
            asset_id: None,
            sweep: false,
        });
        Ok(())
    }

    pub fn add_range(&mut self, range: &RangeTarget, starttls: StartTls) {
        for location in range.endpoints() {
            if let Ok(target) = Target::parse(&location) {
                self.push(PlannedEndpoint {
                    location,
                    target,
                    starttls,
                    asset_id: None,
                    sweep: true,
                });
            }
        }
    }

    /// The asset's endpoints: on `ports` if given, else its own, else the default list (a
    /// sweep).
    pub fn add_asset(
        &mut self,
        asset: &CertAssetSettings,
        ports: &[u16],
        starttls: StartTls,
    ) -> Result<(), TargetError> {
        let sweep = ports.is_empty() && asset.ports.is_empty();
        for t in asset.endpoints().targets(ports)? {
            let target = Target::with_server_name(&t.location, t.sni.as_deref())
                .map_err(|e| TargetError::BadRange(format!("{}: {e}", t.location)))?;
            self.push(PlannedEndpoint {
                location: t.location,
                target,
                starttls,
                asset_id: Some(asset.asset_id),
                sweep,
            });
        }
        self.kept.push(NewScanTarget {
            kind: ScanTargetKind::Asset,
            value: asset.asset_id.to_string(),
            ports: ports.to_vec(),
            starttls: starttls.as_str().to_owned(),
        });
        Ok(())
    }

    /// Every asset with `tag` that has an address or host name; how many.
    pub fn add_tag(
        &mut self,
        tag: &str,
        assets: &[CertAssetSettings],
        ports: &[u16],
        starttls: StartTls,
    ) -> usize {
        let mut added = 0;
        for asset in assets
            .iter()
            .filter(|a| a.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
        {
            // A tagged asset without an address is not an error of this scan.
            if self.add_asset(asset, ports, starttls).is_ok() {
                self.kept.pop();
                added += 1;
            }
        }
        self.kept.push(NewScanTarget {
            kind: ScanTargetKind::Tag,
            value: tag.to_lowercase(),
            ports: ports.to_vec(),
            starttls: starttls.as_str().to_owned(),
        });
        added
    }

    /// A stored endpoint, scanned as before (with its SNI and asset).
    pub fn add_source(&mut self, source: &CertSource) {
        if source.kind != SourceKind::Endpoint {
            return;
        }
        if let Ok(target) = Target::with_server_name(&source.location, source.sni.as_deref()) {
            self.push(PlannedEndpoint {
                location: source.location.clone(),
                target,
                starttls: source.starttls.parse().unwrap_or_default(),
                asset_id: source.asset_id,
                sweep: false,
            });
        }
    }

    /// A kept target again (its ports as kept). Directories are walked elsewhere.
    pub fn add_kept(
        &mut self,
        target: &crate::assets::ScanTarget,
        assets: &[CertAssetSettings],
    ) -> Result<(), TargetError> {
        let starttls: StartTls = target.starttls.parse().unwrap_or_default();
        match target.kind {
            ScanTargetKind::Range => {
                let range = RangeTarget::parse(&target.value, &target.ports)?;
                self.add_range(&range, starttls);
            }
            ScanTargetKind::Asset => {
                let asset = assets
                    .iter()
                    .find(|a| a.asset_id.to_string() == target.value)
                    .ok_or_else(|| TargetError::UnknownAsset(target.value.clone()))?;
                self.add_asset(asset, &target.ports, starttls)?;
            }
            ScanTargetKind::Tag => {
                self.add_tag(&target.value, assets, &target.ports, starttls);
            }
            ScanTargetKind::Directory => {}
        }
        Ok(())
    }

    pub fn check_size(&self) -> Result<(), TargetError> {
        targets::check_total(self.endpoints.len())
    }

    /// Scan every endpoint (grouped by STARTTLS protocol), in plan order.
    pub async fn run(self, options: &ScanOptions) -> Vec<SweptReport> {
        let mut groups: Vec<(StartTls, Vec<PlannedEndpoint>)> = Vec::new();
        for e in self.endpoints {
            match groups.iter_mut().find(|(s, _)| *s == e.starttls) {
                Some((_, group)) => group.push(e),
                None => groups.push((e.starttls, vec![e])),
            }
        }
        let mut out = Vec::new();
        for (starttls, group) in groups {
            let options = ScanOptions {
                starttls,
                ..options.clone()
            };
            let meta: Vec<(Option<i64>, bool)> =
                group.iter().map(|e| (e.asset_id, e.sweep)).collect();
            let parsed = group
                .into_iter()
                .map(|e| (e.location, Ok(e.target)))
                .collect();
            let reports = scan_targets(parsed, &options).await;
            out.extend(
                reports
                    .into_iter()
                    .zip(meta)
                    .map(|(report, (asset_id, sweep))| SweptReport {
                        report,
                        starttls,
                        asset_id,
                        sweep,
                    }),
            );
        }
        out
    }
}

/// Observations of what was scanned, absent swept endpoints left out. Each place is checked
/// with its asset's thresholds when it has an override.
pub fn observe_swept(
    reports: &[SweptReport],
    trust: &TrustStore,
    ctx: &CheckContext,
    asset_thresholds: &HashMap<i64, Vec<i64>>,
) -> Vec<ObservedSource> {
    reports
        .iter()
        .filter(|r| !r.absent())
        .map(|r| {
            let own;
            let ctx = match r.asset_id.and_then(|a| asset_thresholds.get(&a)) {
                Some(days) => {
                    own = ctx.with_thresholds(days);
                    &own
                }
                None => ctx,
            };
            ObservedSource {
                kind: SourceKind::Endpoint,
                location: r.report.target.clone(),
                sni: r
                    .report
                    .parsed
                    .as_ref()
                    .and_then(|t| t.sni().map(str::to_owned)),
                starttls: r.starttls.as_str().to_owned(),
                asset_id: r.asset_id,
                outcome: match &r.report.result {
                    Ok(_) => Ok(assess_endpoint(&r.report, trust, ctx)),
                    Err(e) => Err(e.to_string()),
                },
            }
        })
        .collect()
}

/// Parse a kept-target text from an upload: a range (`10.0.0.0/24:443`), `asset:NAME` or
/// `tag:TAG`; assets are named, and resolved to their ids here.
pub fn kept_target_from_text(
    text: &str,
    assets: &[CertAssetSettings],
    starttls: StartTls,
) -> Result<NewScanTarget, TargetError> {
    let starttls = starttls.as_str().to_owned();
    if let Some(name) = text.strip_prefix("asset:") {
        let asset = assets
            .iter()
            .find(|a| a.asset_name.eq_ignore_ascii_case(name))
            .ok_or_else(|| TargetError::UnknownAsset(name.to_owned()))?;
        return Ok(NewScanTarget {
            kind: ScanTargetKind::Asset,
            value: asset.asset_id.to_string(),
            ports: Vec::new(),
            starttls,
        });
    }
    if let Some(tag) = text.strip_prefix("tag:") {
        return Ok(NewScanTarget {
            kind: ScanTargetKind::Tag,
            value: tag.to_lowercase(),
            ports: Vec::new(),
            starttls,
        });
    }
    let range = RangeTarget::parse(text, &[443])?;
    Ok(NewScanTarget {
        kind: ScanTargetKind::Range,
        value: format!("{}/{}", range.network, range.prefix),
        ports: range.ports,
        starttls,
    })
}

/// Locations a plan already covers, to skip stored places it rescans anyway.
pub fn locations(plan: &ScanPlan) -> HashSet<String> {
    plan.endpoints.iter().map(|e| e.location.clone()).collect()
}

/// Check the chains of the endpoints observed against their CRLs (see
/// [`crate::revocation`]), adding `revoked` problems.
pub async fn check_revocation(
    observed: &mut [ObservedSource],
    checker: &crate::revocation::CrlChecker,
) {
    for source in observed.iter_mut() {
        if let (SourceKind::Endpoint, Ok(findings)) = (source.kind, &mut source.outcome) {
            checker.annotate(findings).await;
        }
    }
}
