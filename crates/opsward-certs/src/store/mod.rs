//! Certificate tables on either backend. Every change writes its audit row in the same
//! transaction; a scan is one transaction, so a place is never half-updated.

mod assets_sql;
mod sql;

use crate::{
    assets::{CertAssetInput, CertAssetSettings, CertTagThresholds, NewScanTarget, ScanTarget},
    inventory::{
        CertFilter, CertSettings, CertSource, ObservedSource, OwnerInput, RenewalStatus,
        RenewalTask, RenewalUpdate, ScanRecord, ScanResult, SightingRecord, SourceKind,
        StoredCertificate,
    },
    model::{CertificateInfo, Problem},
};
use chrono::{DateTime, Utc};
use opsward_core::Actor;
use opsward_store::{on_backend, Database, Store, StoreError};
use sql::{postgres, sqlite};
use std::collections::HashMap;

pub use sql::MAX_LIST;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Certificates, where they were seen, scans and renewal tasks.
#[derive(Clone)]
pub struct CertStore {
    db: Database,
}

/// What the renewal rules need of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertFacts {
    pub id: i64,
    pub names_key: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub is_ca: bool,
}

/// What the renewal rules need of a sighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SightingFact {
    pub id: i64,
    pub certificate_id: i64,
    pub source_id: i64,
    pub current: bool,
}

/// A certificate at a place that serves it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub certificate_id: i64,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    /// Lower-case hex.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The endpoint or path.
    pub source: String,
    pub chain_position: i64,
}

/// The names a certificate is for (DNS and IP SANs, else its CN), lower-case, sorted,
/// comma-separated: a renewed certificate has the same key as the one it replaces.
pub fn names_key(cert: &CertificateInfo) -> String {
    let mut names: Vec<String> = cert
        .san_dns
        .iter()
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .chain(cert.san_ip.iter().map(|ip| ip.to_string()))
        .collect();
    if names.is_empty() {
        names.extend(cert.subject_cn.iter().map(|cn| cn.to_ascii_lowercase()));
    }
    names.sort();
    names.dedup();
    names.join(",")
}

/// Escape `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl CertStore {
    pub fn new(store: &dyn Store) -> Self {
        CertStore {
            db: store.database(),
        }
    }

    /// Store one scan of `kind` places. Places that failed keep what they served before.
    pub async fn record_scan(
        &self,
        actor: &Actor,
        kind: SourceKind,
        observed: &[ObservedSource],
        now: DateTime<Utc>,
    ) -> Result<ScanRecord> {
        if let Some(bad) = observed.iter().find(|o| o.kind != kind) {
            return Err(opsward_core::ValidationError::single(
                "sources",
                format!("{} is not a {kind}", bad.location),
            )
            .into());
        }
        on_backend!(&self.db, record_scan(actor, kind, observed, now))
    }

    pub async fn get(&self, id: i64) -> Result<StoredCertificate> {
        on_backend!(&self.db, get(id))
    }

    pub async fn by_fingerprint(&self, fingerprint: &str) -> Result<StoredCertificate> {
        on_backend!(&self.db, by_fingerprint(fingerprint))
    }

    /// The DER encoding, for a PEM download or for re-checking.
    pub async fn der(&self, id: i64) -> Result<Vec<u8>> {
        on_backend!(&self.db, der(id))
    }

    pub async fn list(&self, filter: &CertFilter) -> Result<Vec<StoredCertificate>> {
        on_backend!(&self.db, list(filter))
    }

    /// Where the certificate is deployed (current sightings first) and was before.
    pub async fn sightings(&self, certificate_id: i64) -> Result<Vec<SightingRecord>> {
        on_backend!(&self.db, sightings(certificate_id))
    }

    /// Every stored place; with `scanned_before`, only those not scanned since.
    pub async fn sources(&self, scanned_before: Option<DateTime<Utc>>) -> Result<Vec<CertSource>> {
        on_backend!(&self.db, sources(scanned_before))
    }

    /// Scan by scan, what the places that served this certificate served.
    pub async fn history(&self, certificate_id: i64, limit: i64) -> Result<Vec<ScanResult>> {
        on_backend!(&self.db, history(certificate_id, limit))
    }

    pub async fn scans(&self, limit: i64) -> Result<Vec<ScanRecord>> {
        on_backend!(&self.db, scans(limit))
    }

    pub async fn set_owner(
        &self,
        actor: &Actor,
        id: i64,
        owner: &OwnerInput,
    ) -> Result<StoredCertificate> {
        if owner.owner_team_id.is_some() && owner.owner_person_id.is_some() {
            return Err(opsward_core::ValidationError::single(
                "owner_person_id",
                "an owner is a team or a person, not both",
            )
            .into());
        }
        on_backend!(&self.db, set_owner(actor, id, owner))
    }

    /// Link a place to the asset it belongs to (whose owner then owns what it serves).
    pub async fn set_source_asset(
        &self,
        actor: &Actor,
        source_id: i64,
        asset_id: Option<i64>,
    ) -> Result<()> {
        on_backend!(&self.db, set_source_asset(actor, source_id, asset_id))
    }

    pub async fn renewal(&self, certificate_id: i64) -> Result<Option<RenewalTask>> {
        on_backend!(&self.db, renewal(certificate_id))
    }

    pub async fn renewals(&self, status: Option<RenewalStatus>) -> Result<Vec<RenewalTask>> {
        on_backend!(&self.db, renewals(status))
    }

    pub async fn open_renewal(
        &self,
        actor: &Actor,
        certificate_id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RenewalTask>> {
        on_backend!(&self.db, open_renewal(actor, certificate_id, note, now))
    }

    pub async fn update_renewal(
        &self,
        actor: &Actor,
        id: i64,
        update: &RenewalUpdate,
        now: DateTime<Utc>,
    ) -> Result<RenewalTask> {
        on_backend!(&self.db, update_renewal(actor, id, update, now))
    }

    pub async fn complete_renewal(
        &self,
        actor: &Actor,
        id: i64,
        replacement: i64,
        now: DateTime<Utc>,
    ) -> Result<RenewalTask> {
        on_backend!(&self.db, complete_renewal(actor, id, replacement, now))
    }

    /// Every certificate at every place that serves it now, by place and chain position.
    pub async fn deployed(&self) -> Result<Vec<Deployed>> {
        on_backend!(&self.db, deployed())
    }

    pub async fn facts(&self) -> Result<(Vec<CertFacts>, Vec<SightingFact>)> {
        on_backend!(&self.db, facts())
    }

    /// Record a problem found by the renewal rules at these `(sighting, certificate)`s.
    pub async fn add_problem(&self, at: &[(i64, i64)], problem: &Problem) -> Result<()> {
        on_backend!(&self.db, add_problem(at, problem))
    }

    pub async fn settings(&self) -> Result<CertSettings> {
        on_backend!(&self.db, settings())
    }

    pub async fn set_settings(
        &self,
        actor: &Actor,
        settings: &CertSettings,
    ) -> Result<CertSettings> {
        settings.validate()?;
        on_backend!(&self.db, set_settings(actor, settings))
    }
}

/// Assets' TLS endpoints and thresholds, tag thresholds, kept scan targets.
impl CertStore {
    /// Every asset, with what is set on it for certificates.
    pub async fn asset_settings(&self) -> Result<Vec<CertAssetSettings>> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, asset_settings())
    }

    pub async fn asset_setting(&self, name: &str) -> Result<CertAssetSettings> {
        self.asset_settings()
            .await?
            .into_iter()
            .find(|a| a.asset_name.eq_ignore_ascii_case(name))
            .ok_or(StoreError::NotFound("asset"))
    }

    /// Set (or, all empty, clear) an asset's TLS endpoints and thresholds.
    pub async fn set_asset_settings(
        &self,
        actor: &Actor,
        asset_id: i64,
        input: &CertAssetInput,
        now: DateTime<Utc>,
    ) -> Result<CertAssetSettings> {
        let input = input.normalized()?;
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, set_asset_settings(actor, asset_id, &input, now))
    }

    pub async fn tag_thresholds(&self) -> Result<Vec<CertTagThresholds>> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, tag_thresholds())
    }

    /// Set (or, with `None`, clear) the thresholds of assets with `tag`.
    pub async fn set_tag_thresholds(
        &self,
        actor: &Actor,
        tag: &str,
        thresholds: Option<&[i64]>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.len() > 100 {
            return Err(opsward_core::ValidationError::single("tag", "1-100 characters").into());
        }
        let sorted = thresholds.map(crate::assets::sorted);
        if let Some(t) = &sorted {
            crate::assets::validate_thresholds("thresholds", t)?;
        }
        use assets_sql::{postgres, sqlite};
        on_backend!(
            &self.db,
            set_tag_thresholds(actor, &tag, sorted.as_deref(), now)
        )
    }

    /// The thresholds that apply to each certificate with an override: the most cautious
    /// of those of the assets it is set on or served at.
    pub async fn certificate_thresholds(&self) -> Result<HashMap<i64, Vec<i64>>> {
        let per_asset = self.asset_thresholds().await?;
        if per_asset.is_empty() {
            return Ok(HashMap::new());
        }
        let pairs = {
            use assets_sql::{postgres, sqlite};
            on_backend!(&self.db, certificate_assets())?
        };
        let mut lists: HashMap<i64, Vec<&Vec<i64>>> = HashMap::new();
        for (cert, asset) in &pairs {
            if let Some(t) = per_asset.get(asset) {
                lists.entry(*cert).or_default().push(t);
            }
        }
        Ok(lists
            .into_iter()
            .filter_map(|(c, l)| crate::assets::most_cautious(l).map(|t| (c, t)))
            .collect())
    }

    /// Each asset's thresholds override (its own, else its tags').
    pub async fn asset_thresholds(&self) -> Result<HashMap<i64, Vec<i64>>> {
        let tags = self.tag_thresholds().await?;
        let assets = self.asset_settings().await?;
        Ok(crate::assets::asset_thresholds(&assets, &tags))
    }

    /// Keep targets for rescans (again: their ports and STARTTLS are replaced).
    pub async fn add_scan_targets(
        &self,
        actor: &Actor,
        targets: &[NewScanTarget],
        now: DateTime<Utc>,
    ) -> Result<Vec<ScanTarget>> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, add_scan_targets(actor, targets, now))
    }

    /// Kept targets; with `scanned_before`, those not scanned since.
    pub async fn scan_targets(
        &self,
        scanned_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<ScanTarget>> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, scan_targets(scanned_before))
    }

    pub async fn mark_targets_scanned(&self, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, mark_targets_scanned(ids, now))
    }

    /// End the sightings of files under `root` that its walk did not find again.
    pub async fn end_missing_files(
        &self,
        actor: &Actor,
        root: &std::path::Path,
        found: &std::collections::BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        use assets_sql::{postgres, sqlite};
        on_backend!(&self.db, end_missing_files(actor, root, found, now))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(super::like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }
}
