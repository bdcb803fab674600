//! Assets in the certificates practice: where an asset's TLS endpoints are, its own expiry
//! thresholds (or its tags'), and the scan targets kept for rescans.

use crate::targets::{AssetEndpoints, RangeTarget, MAX_EXPANDED_ENDPOINTS};
use chrono::{DateTime, Utc};
use opsward_core::ValidationError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// An asset as the certificates practice sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CertAssetSettings)]
pub struct CertAssetSettings {
    pub asset_id: i64,
    pub asset_name: String,
    pub tags: Vec<String>,
    /// The name clients use: sent as SNI and checked against the certificate.
    pub hostname: Option<String>,
    /// Where to connect when it is not the host name: IP addresses or other names, separated
    /// by commas (each address is its own place, the host name sent to all).
    pub address: Option<String>,
    /// TLS ports; empty means 443, 8443, 465, 636, 993 and 995.
    pub ports: Vec<u16>,
    /// Expiry thresholds in days for certificates seen on this asset's endpoints; none: its
    /// tags' (the most cautious), else the practice's.
    pub thresholds: Option<Vec<i64>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl CertAssetSettings {
    pub fn endpoints(&self) -> AssetEndpoints {
        AssetEndpoints {
            asset_id: self.asset_id,
            asset_name: self.asset_name.clone(),
            hostname: self.hostname.clone(),
            address: self.address.clone(),
            ports: self.ports.clone(),
        }
    }
}

/// What may be set on an asset; all empty clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CertAssetInput)]
pub struct CertAssetInput {
    #[serde(default)]
    pub hostname: Option<String>,
    /// IP addresses or host names to connect to, separated by commas.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub thresholds: Option<Vec<i64>>,
}

/// Thresholds for the assets with a tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CertTagThresholds)]
pub struct CertTagThresholds {
    pub tag: String,
    pub thresholds: Vec<i64>,
}

fn valid_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '*'))
}

/// Most addresses one asset is reached at (each times its ports is one place).
pub const MAX_ASSET_ADDRESSES: usize = 64;

/// An asset's addresses, separated by commas: each a host name or IP address, lower case,
/// each once, written back as `a, b`.
fn clean_addresses(text: &Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(text) = text.as_deref() else {
        return Ok(None);
    };
    let mut addresses: Vec<String> = Vec::new();
    for a in crate::targets::split_addresses(text) {
        if !valid_name(a) {
            return Err(ValidationError::single(
                "address",
                format!("{a:?} is not a host name or IP address"),
            ));
        }
        let a = a.to_ascii_lowercase();
        if !addresses.contains(&a) {
            addresses.push(a);
        }
    }
    if addresses.len() > MAX_ASSET_ADDRESSES {
        return Err(ValidationError::single(
            "address",
            format!("at most {MAX_ASSET_ADDRESSES} addresses"),
        ));
    }
    Ok((!addresses.is_empty()).then(|| addresses.join(", ")))
}

/// Thresholds in days: 1 to 3650, one to eight of them.
pub fn validate_thresholds(field: &str, days: &[i64]) -> Result<(), ValidationError> {
    if days.is_empty() || days.len() > 8 || days.iter().any(|d| !(1..=3650).contains(d)) {
        return Err(ValidationError::single(
            field,
            "thresholds must be one to eight numbers of days, each 1 to 3650",
        ));
    }
    Ok(())
}

impl CertAssetInput {
    /// Trimmed, empty texts as none; host names and addresses without spaces or schemes.
    pub fn normalized(&self) -> Result<CertAssetInput, ValidationError> {
        let clean = |field: &str, v: &Option<String>| -> Result<Option<String>, ValidationError> {
            match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => {
                    let bare = v.trim_start_matches('[').trim_end_matches(']');
                    if valid_name(bare) {
                        Ok(Some(bare.to_ascii_lowercase()))
                    } else {
                        Err(ValidationError::single(
                            field,
                            format!("{v:?} is not a host name or IP address"),
                        ))
                    }
                }
            }
        };
        if self.ports.contains(&0) || self.ports.len() > 32 {
            return Err(ValidationError::single(
                "ports",
                "ports must be 1 to 65535, at most 32 of them",
            ));
        }
        if let Some(t) = &self.thresholds {
            validate_thresholds("thresholds", t)?;
        }
        let mut ports = self.ports.clone();
        ports.dedup();
        Ok(CertAssetInput {
            hostname: clean("hostname", &self.hostname)?,
            address: clean_addresses(&self.address)?,
            ports,
            thresholds: self.thresholds.as_ref().map(|t| sorted(t)),
        })
    }
}

/// Largest first, without duplicates.
pub fn sorted(days: &[i64]) -> Vec<i64> {
    let mut t = days.to_vec();
    t.sort_unstable_by(|a, b| b.cmp(a));
    t.dedup();
    t
}

/// Of several threshold lists, the one that warns earliest (the largest first threshold);
/// on a tie, the one with more steps.
pub fn most_cautious<'a>(lists: impl IntoIterator<Item = &'a Vec<i64>>) -> Option<Vec<i64>> {
    lists
        .into_iter()
        .map(|l| sorted(l))
        .filter(|l| !l.is_empty())
        .max_by_key(|l| (l[0], l.len()))
}

/// The thresholds of each asset that has an override: its own, else the most cautious of
/// its tags'.
pub fn asset_thresholds(
    assets: &[CertAssetSettings],
    tags: &[CertTagThresholds],
) -> HashMap<i64, Vec<i64>> {
    let by_tag: HashMap<&str, &Vec<i64>> = tags
        .iter()
        .map(|t| (t.tag.as_str(), &t.thresholds))
        .collect();
    assets
        .iter()
        .filter_map(|a| {
            let chosen = match &a.thresholds {
                Some(own) => Some(sorted(own)),
                None => most_cautious(
                    a.tags
                        .iter()
                        .filter_map(|t| by_tag.get(t.to_lowercase().as_str()).copied()),
                ),
            };
            chosen.map(|t| (a.asset_id, t))
        })
        .collect()
}

opsward_core::text_enum!(
    /// What a kept scan target is.
    ScanTargetKind {
        Range => "range",
        Asset => "asset",
        Tag => "tag",
        Directory => "directory",
    }
);

/// A scan target kept for rescans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CertScanTarget)]
pub struct ScanTarget {
    pub id: i64,
    pub kind: ScanTargetKind,
    /// The range (`10.0.0.0/24`), the asset's id, the tag, or the directory's path.
    pub value: String,
    /// For ranges, assets and tags: ports to try (empty: the asset's own, or 443).
    pub ports: Vec<u16>,
    pub starttls: String,
    pub last_scan_at: Option<DateTime<Utc>>,
}

/// A target to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScanTarget {
    pub kind: ScanTargetKind,
    pub value: String,
    pub ports: Vec<u16>,
    pub starttls: String,
}

/// A TLS scan for the server to run now and repeat on every rescan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CertScanRequest)]
pub struct ScanRequest {
    /// `host:port` endpoints, names at addresses (`www.example.com@192.0.2.10:443`) and CIDR ranges (`10.0.0.0/30:443,8443`, `[2001:db8::/126]:443`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Ports for ranges given without ports, and for assets instead of their own.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Asset names: their endpoints, SNI = host name.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Every asset with one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `auto` (default), `none`, `smtp`, `imap`, `pop3`, `ftp`, `ldap`, `postgres`.
    #[serde(default)]
    pub starttls: Option<String>,
}

impl ScanRequest {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let n = self.targets.len() + self.assets.len() + self.tags.len();
        if n == 0 {
            return Err(ValidationError::single(
                "targets",
                "name at least one target, asset or tag",
            ));
        }
        if n > MAX_EXPANDED_ENDPOINTS {
            return Err(ValidationError::single(
                "targets",
                format!("at most {MAX_EXPANDED_ENDPOINTS} targets"),
            ));
        }
        if self.ports.contains(&0) {
            return Err(ValidationError::single("ports", "ports must be 1 to 65535"));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if crate::targets::is_range(t) {
                RangeTarget::parse(t, &[443]).map_err(|e| {
                    ValidationError::single(&format!("targets[{i}]"), e.to_string())
                })?;
            } else {
                crate::tls::Target::parse(t).map_err(|e| {
                    ValidationError::single(&format!("targets[{i}]"), e.to_string())
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(id: i64, tags: &[&str], own: Option<Vec<i64>>) -> CertAssetSettings {
        CertAssetSettings {
            asset_id: id,
            asset_name: format!("a{id}"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            hostname: None,
            address: None,
            ports: vec![],
            thresholds: own,
            updated_at: None,
        }
    }

    #[test]
    fn an_assets_own_thresholds_win_over_its_tags_and_tags_pick_the_earliest() {
        let tags = [
            CertTagThresholds {
                tag: "pci".into(),
                thresholds: vec![60, 30],
            },
            CertTagThresholds {
                tag: "lab".into(),
                thresholds: vec![3],
            },
        ];
        let assets = [
            asset(1, &["pci", "lab"], None),
            asset(2, &["pci"], Some(vec![1, 5])),
            asset(3, &["lab"], None),
            asset(4, &["other"], None),
        ];
        let t = asset_thresholds(&assets, &tags);
        assert_eq!(t[&1], [60, 30]);
        assert_eq!(t[&2], [5, 1]);
        assert_eq!(t[&3], [3]);
        assert!(!t.contains_key(&4));
    }

    #[test]
    fn inputs_are_normalized_and_checked() {
        let ok = CertAssetInput {
            hostname: Some(" WWW.Example.test ".into()),
            address: Some("[2001:db8::1]".into()),
            ports: vec![443],
            thresholds: Some(vec![7, 45, 7]),
        }
        .normalized()
        .unwrap();
        assert_eq!(ok.hostname.as_deref(), Some("www.example.test"));
        assert_eq!(ok.address.as_deref(), Some("2001:db8::1"));
        assert_eq!(ok.thresholds, Some(vec![45, 7]));
        for bad in [
            CertAssetInput {
                hostname: Some("https://x".into()),
                ..Default::default()
            },
            CertAssetInput {
                ports: vec![0],
                ..Default::default()
            },
            CertAssetInput {
                thresholds: Some(vec![]),
                ..Default::default()
            },
            CertAssetInput {
                thresholds: Some(vec![0]),
                ..Default::default()
            },
        ] {
            assert!(bad.normalized().is_err(), "{bad:?}");
        }
    }
}
