//! What a host runs and what it should install, as the patch agent reports it and the patch
//! policy grades it: the types the patches practice stores and the vulnerabilities practice
//! matches against advisories. Pure types and the policy's due-date rule; the tables behind
//! them are read in `opsward_ops::host_inventory`.

use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::text_enum! {
    /// The severity of the worst vulnerability a security update fixes, when known.
    Severity {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

impl Severity {
    /// The highest of `severities` (a security update's severity is that of the worst
    /// vulnerability it fixes); `None` for none.
    pub fn highest(severities: impl IntoIterator<Item = Severity>) -> Option<Severity> {
        // Declared worst first, so the derived order's minimum is the highest.
        severities.into_iter().min()
    }
}

/// Days to install a security update by severity; months for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatchPolicy {
    pub critical_days: i64,
    pub high_days: i64,
    /// Security updates of medium, low or unknown severity.
    pub other_security_days: i64,
    /// Non-security updates follow a monthly cycle: due this many months after first seen.
    pub non_security_months: i64,
    /// A host that needs a reboot (after a kernel or library update) should have had one
    /// within this many days.
    #[serde(default = "default_reboot_within_days")]
    pub reboot_within_days: i64,
}

fn default_reboot_within_days() -> i64 {
    7
}

impl Default for PatchPolicy {
    fn default() -> Self {
        PatchPolicy {
            critical_days: 7,
            high_days: 14,
            other_security_days: 30,
            non_security_months: 1,
            reboot_within_days: default_reboot_within_days(),
        }
    }
}

impl PatchPolicy {
    pub fn validate(&self) -> Result<(), crate::ValidationError> {
        let mut v = crate::validation::Validator::new();
        for (field, value, max) in [
            ("critical_days", self.critical_days, 365),
            ("high_days", self.high_days, 365),
            ("other_security_days", self.other_security_days, 365),
            ("non_security_months", self.non_security_months, 24),
            ("reboot_within_days", self.reboot_within_days, 90),
        ] {
            if !(1..=max).contains(&value) {
                v.error(field, format!("must be 1-{max}"));
            }
        }
        v.finish()
    }

    /// The due date of an update first seen at `first_seen`.
    pub fn due_at(
        &self,
        first_seen: DateTime<Utc>,
        security: bool,
        severity: Option<Severity>,
    ) -> DateTime<Utc> {
        if !security {
            let months = Months::new(self.non_security_months.clamp(1, 24) as u32);
            return first_seen
                .checked_add_months(months)
                .unwrap_or(first_seen + Duration::days(30 * self.non_security_months));
        }
        let days = match severity {
            Some(Severity::Critical) => self.critical_days,
            Some(Severity::High) => self.high_days,
            _ => self.other_security_days,
        };
        first_seen + Duration::days(days)
    }
}

crate::text_enum! {
    /// The package database an installed package was read from.
    PackageManager {
        Dpkg => "dpkg",
        Apk => "apk",
        Rpm => "rpm",
    }
}

crate::text_enum! {
    ReportKind {
        /// Every installed package.
        Full => "full",
        /// Packages added or changed and packages removed since `base_sequence`.
        Delta => "delta",
    }
}

/// One installed binary package and the source package it was built from (what security
/// advisories name: Debian's DSAs and the tracker speak of source packages).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source: String,
    pub source_version: String,
}

/// The OSV ecosystem of a language package, spelled as OSV spells it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum LanguageEcosystem {
    #[serde(rename = "PyPI")]
    PyPI,
    #[serde(rename = "npm")]
    Npm,
}

impl LanguageEcosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            LanguageEcosystem::PyPI => "PyPI",
            LanguageEcosystem::Npm => "npm",
        }
    }
}

impl std::fmt::Display for LanguageEcosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LanguageEcosystem {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "PyPI" => Ok(LanguageEcosystem::PyPI),
            "npm" => Ok(LanguageEcosystem::Npm),
            other => Err(format!("{other:?} is not one of PyPI, npm")),
        }
    }
}

/// One package a language package manager reports as installed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct LanguagePackage {
    pub ecosystem: LanguageEcosystem,
    pub name: String,
    pub version: String,
    /// Where it is installed: the Python interpreter it was listed for, or npm's global
    /// `node_modules` directory.
    pub location: String,
}

/// Security posture as the host reports it, for the vulnerability practice. `None`: not
/// determined (the agent could not tell), never a guess.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Posture {
    pub firewall_active: Option<bool>,
    pub av_edr_running: Option<bool>,
    pub unattended_upgrades: Option<bool>,
}

/// An enrolled host and what its last report said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Host {
    pub id: i64,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
    pub last_sequence: Option<i64>,
    pub last_report_at: Option<DateTime<Utc>>,
    pub os_id: String,
    pub os_name: String,
    /// os-release `VERSION_ID` (`12`, `22.04`, `3.20.3`); empty when the OS gives none.
    pub os_version_id: String,
    pub kernel: String,
    pub package_manager: Option<PackageManager>,
    pub reboot_required: bool,
    pub reboot_packages: Vec<String>,
    pub uptime_seconds: Option<i64>,
    pub posture: Posture,
    /// What the agent could not collect for its last report.
    pub notes: Vec<String>,
}

/// A host with its patch state, for the host list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostSummary {
    #[serde(flatten)]
    pub host: Host,
    pub package_count: i64,
    pub pending_updates: i64,
    pub security_updates: i64,
    pub overdue_updates: i64,
    /// Nothing overdue.
    pub current: bool,
}

/// A pending update with its due date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingRow {
    pub name: String,
    pub arch: String,
    pub installed_version: String,
    pub candidate_version: String,
    pub source: String,
    pub suites: Vec<String>,
    pub security: bool,
    pub severity: Option<Severity>,
    pub first_seen_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    /// The vulnerability findings on this host that installing the update would close, as
    /// the vulnerability practice links them (empty where it has not).
    #[serde(default)]
    pub fixes: UpdateFixes,
}

/// What installing one update would close: "closes N findings, M in KEV".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateFixes {
    pub findings: Vec<UpdateFix>,
    /// Every id of those vulnerabilities (CVE, DSA, DLA, GHSA, ...), sorted, once each.
    pub ids: Vec<String>,
    /// How many of the findings are in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: i64,
    /// The highest severity among them; `None` when none is linked or none has a severity.
    pub severity: Option<Severity>,
}

/// One finding an update closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateFix {
    pub finding_id: i64,
    /// The vulnerability's displayed id.
    pub vulnerability_id: String,
    /// Every id and alias.
    pub ids: Vec<String>,
    /// `None` when the advisory gives no severity.
    pub severity: Option<Severity>,
    pub kev: bool,
    /// The version that fixes it (at or below the update's candidate).
    pub fixed_version: String,
}

/// One pending update's severity: `None` when no linked vulnerability has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSeverity {
    pub name: String,
    pub arch: String,
    pub severity: Option<Severity>,
}

/// An update that was pending and then installed (or its package removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedRow {
    pub name: String,
    pub arch: String,
    pub from_version: String,
    /// The version installed when it stopped being pending; `(removed)` if the package went.
    pub to_version: String,
    pub security: bool,
    pub first_seen_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub resolved_at: DateTime<Utc>,
}

/// One accepted report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    pub sequence: i64,
    pub kind: ReportKind,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub package_count: i64,
    pub pending_count: i64,
    pub security_count: i64,
}

/// Everything known about one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HostDetail {
    pub summary: HostSummary,
    pub packages: Vec<InstalledPackage>,
    /// pip and npm global packages, where the agent collects them.
    pub language_packages: Vec<LanguagePackage>,
    pub pending: Vec<PendingRow>,
    pub history: Vec<ResolvedRow>,
    pub reports: Vec<ReportRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn security_updates_are_due_by_severity_and_others_monthly() {
        let seen = Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap();
        let p = PatchPolicy::default();
        assert_eq!(
            p.due_at(seen, true, Some(Severity::Critical)),
            seen + Duration::days(7)
        );
        assert_eq!(
            p.due_at(seen, true, Some(Severity::High)),
            seen + Duration::days(14)
        );
        assert_eq!(p.due_at(seen, true, None), seen + Duration::days(30));
        assert_eq!(
            p.due_at(seen, false, Some(Severity::Critical)),
            Utc.with_ymd_and_hms(2026, 2, 28, 0, 0, 0).unwrap()
        );
        assert_eq!(
            Severity::highest([Severity::Low, Severity::High, Severity::Medium]),
            Some(Severity::High)
        );
    }
}
