//! What an agent sends: a full report first, then deltas against the last report the server
//! accepted. Each report carries the agent's sequence number, so a retried upload is
//! recognised and applied once, and a delta names the sequence it builds on so the server
//! never applies one to the wrong base.

use crate::{InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub use opsward_core::host_inventory::{Posture, ReportKind};

/// A package's identity on a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct PackageKey {
    pub name: String,
    pub arch: String,
}

/// One report from one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostReport {
    pub kind: ReportKind,
    /// Increases by one per report the agent makes (starting at 1).
    pub sequence: i64,
    /// For a delta: the sequence of the report it is relative to.
    #[serde(default)]
    pub base_sequence: Option<i64>,
    pub collected_at: DateTime<Utc>,
    pub hostname: String,
    pub os: OsRelease,
    pub kernel: Kernel,
    pub package_manager: Option<PackageManager>,
    pub reboot: RebootRequired,
    pub uptime_seconds: Option<u64>,
    #[serde(default)]
    pub posture: Posture,
    /// Full: every installed package. Delta: those added or changed.
    #[serde(default)]
    pub packages: Vec<InstalledPackage>,
    /// Delta only: packages gone since the base.
    #[serde(default)]
    pub removed: Vec<PackageKey>,
    /// Always the whole list: it is short and its absence means "nothing pending".
    #[serde(default)]
    pub pending: Vec<PendingUpdate>,
    /// pip and npm global packages, where the agent is asked to collect them. Always the
    /// whole list, like `pending`.
    #[serde(default)]
    pub language_packages: Vec<crate::inventory::language::LanguagePackage>,
    /// What the agent could not collect and why (a configured tool missing, a timeout).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl HostReport {
    /// The delta that turns `base`'s package set into `self`'s (both full). The delta's
    /// sequence is `self`'s; its base is `base`'s.
    pub fn delta_from(&self, base: &HostReport) -> HostReport {
        let key = |p: &InstalledPackage| PackageKey {
            name: p.name.clone(),
            arch: p.arch.clone(),
        };
        let old: BTreeMap<PackageKey, &InstalledPackage> =
            base.packages.iter().map(|p| (key(p), p)).collect();
        let new: BTreeMap<PackageKey, &InstalledPackage> =
            self.packages.iter().map(|p| (key(p), p)).collect();
        let changed = new
            .iter()
            .filter(|(k, p)| old.get(*k) != Some(*p))
            .map(|(_, p)| (*p).clone())
            .collect();
        let removed = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        HostReport {
            kind: ReportKind::Delta,
            base_sequence: Some(base.sequence),
            packages: changed,
            removed,
            ..self.clone()
        }
    }

    /// Apply a delta to the package set of a full report (what the server does in SQL).
    pub fn apply(&self, delta: &HostReport) -> HostReport {
        let mut packages: BTreeMap<PackageKey, InstalledPackage> = self
            .packages
            .iter()
            .map(|p| {
                (
                    PackageKey {
                        name: p.name.clone(),
                        arch: p.arch.clone(),
                    },
                    p.clone(),
                )
            })
            .collect();
        for k in &delta.removed {
            packages.remove(k);
        }
        for p in &delta.packages {
            packages.insert(
                PackageKey {
                    name: p.name.clone(),
                    arch: p.arch.clone(),
                },
                p.clone(),
            );
        }
        HostReport {
            kind: ReportKind::Full,
            base_sequence: None,
            packages: packages.into_values().collect(),
            removed: vec![],
            ..delta.clone()
        }
    }
}
