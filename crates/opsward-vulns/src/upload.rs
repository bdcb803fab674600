//! A lockfile or SBOM sent to the server for an asset (as CI pipelines report to
//! Dependency-Track): parsed like `opsward vuln scan` reads a file, matched against the
//! stored advisories and recorded as the asset's application findings, as the CLI's
//! `--asset` does.

use std::path::Path;

use opsward_core::Actor;
use opsward_store::{Store, StoreError};
use serde::Serialize;

use crate::findings::ScanOutcome;
use crate::inventory::{self, InventoryError, InventoryKind};
use crate::VulnStore;

/// Largest file accepted: a big SBOM is a few megabytes.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// What went wrong with an uploaded scan.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no asset named or numbered {0:?}")]
    UnknownAsset(String),
    #[error("{0}")]
    Unparseable(#[from] InventoryError),
    #[error("no OSV advisories are imported; run `opsward vuln import osv` first")]
    NoAdvisories,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one uploaded scan found and changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VulnScanUploadResult)]
pub struct UploadOutcome {
    pub asset_id: i64,
    pub asset: String,
    pub file: String,
    pub format: InventoryKind,
    pub packages: usize,
    /// Vulnerabilities matched (informational advisories are not counted).
    pub vulnerabilities: usize,
    pub new: usize,
    pub reopened: usize,
    pub still_present: usize,
    /// The asset's application findings this scan no longer has.
    pub fixed: usize,
}

/// The kind of an uploaded file: as given, else by its name and content.
pub fn kind_of(
    filename: &str,
    format: Option<&str>,
    text: &str,
) -> Result<InventoryKind, InventoryError> {
    let refused = |reason: String| InventoryError {
        file: filename.to_string(),
        line: None,
        reason,
    };
    if let Some(format) = format.map(str::trim).filter(|f| !f.is_empty()) {
        return format.parse().map_err(refused);
    }
    // Without a name a JSON SBOM is still recognised by its content.
    let name = if filename.is_empty() {
        "upload.json"
    } else {
        filename
    };
    InventoryKind::detect(Path::new(name), Some(text)).ok_or_else(|| {
        refused(
            "not a recognised lockfile or SBOM (Cargo.lock, go.mod, go.sum, requirements*.txt, poetry.lock, \
             package-lock.json, CycloneDX or SPDX JSON); name the file or give its format"
                .into(),
        )
    })
}

/// Parse `text`, match it and record the findings on the asset named (or numbered) `asset`.
pub async fn record_upload(
    store: &dyn Store,
    actor: &Actor,
    asset: &str,
    filename: &str,
    format: Option<&str>,
    text: &str,
) -> Result<UploadOutcome, UploadError> {
    let asset = find_asset(store, asset).await?;
    let kind = kind_of(filename, format, text)?;
    let file = if filename.is_empty() {
        kind.as_str()
    } else {
        filename
    };
    let inventory = inventory::parse(file, kind, text)?;
    let vulns = VulnStore::new(store);
    let index = vulns.advisory_index().await?;
    if index.advisory_count() == 0 {
        return Err(UploadError::NoAdvisories);
    }
    let report = crate::scan::scan(std::slice::from_ref(&inventory), &index);
    let matches: Vec<_> = report.findings.iter().map(|f| f.found.clone()).collect();
    let policy = vulns.due_policy().await?;
    let ScanOutcome {
        new,
        reopened,
        still_present,
        fixed,
    } = vulns
        .record_scan(actor, asset.id, &matches, &policy)
        .await?;
    Ok(UploadOutcome {
        asset_id: asset.id,
        asset: asset.name,
        file: inventory.file,
        format: kind,
        packages: inventory.packages.len(),
        vulnerabilities: matches.len(),
        new,
        reopened,
        still_present,
        fixed,
    })
}

async fn find_asset(
    store: &dyn Store,
    asset: &str,
) -> Result<opsward_core::asset::Asset, UploadError> {
    let asset = asset.trim();
    let found = match store.get_asset_by_name(asset).await {
        Err(StoreError::NotFound(_)) => match asset.parse::<i64>() {
            Ok(id) => store.get_asset(id).await,
            Err(_) => Err(StoreError::NotFound("asset")),
        },
        other => other,
    };
    match found {
        Err(StoreError::NotFound(_)) => Err(UploadError::UnknownAsset(asset.to_string())),
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_given_or_recognised() {
        assert_eq!(
            kind_of("Cargo.lock", None, "").unwrap(),
            InventoryKind::CargoLock
        );
        assert_eq!(
            kind_of(
                "",
                None,
                r#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#
            )
            .unwrap(),
            InventoryKind::CycloneDx
        );
        assert_eq!(kind_of("x", Some("spdx"), "").unwrap(), InventoryKind::Spdx);
        assert!(kind_of("notes.txt", None, "hello").is_err());
        assert!(kind_of("x", Some("gemfile"), "").is_err());
    }
}
