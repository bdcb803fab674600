//! Findings and import runs as stored: the model the store, API and CLI share.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::severity::Severity;

opsward_core::text_enum! {
    /// Where a finding is in its lifecycle.
    FindingState {
        Open => "open",
        Acknowledged => "acknowledged",
        /// Set automatically when a rescan of the asset no longer matches.
        Fixed => "fixed",
        AcceptedRisk => "accepted_risk",
        FalsePositive => "false_positive",
    }
}

opsward_core::text_enum! {
    /// What a finding is about.
    FindingKind {
        /// A vulnerable package version (lockfile, SBOM or host inventory scan).
        Package => "package",
        /// An open TCP port the asset's allowed-ports policy does not allow.
        Exposure => "exposure",
        /// A weak certificate (small key, SHA-1 or MD5 signature) served at an endpoint.
        Tls => "tls" as "TLS",
        /// A posture requirement (firewall, AV/EDR, automatic updates) the host fails.
        Posture => "posture",
        /// A host whose agent stopped reporting.
        StaleHost => "stale_host",
    }
}

opsward_core::text_enum! {
    /// A threat-intelligence feed.
    FeedKind {
        Osv => "osv" as "OSV",
        Kev => "kev" as "KEV",
        Epss => "epss" as "EPSS",
    }
}

/// A package on an asset affected by a vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub id: i64,
    pub asset_id: i64,
    pub kind: FindingKind,
    pub ecosystem: String,
    pub package: String,
    pub installed_version: String,
    /// The vulnerability's displayed id.
    pub vulnerability_id: String,
    /// Every id and alias (CVE, GHSA, RUSTSEC, PYSEC, GO).
    pub ids: Vec<String>,
    pub summary: String,
    pub severity: Severity,
    pub cvss: Option<f64>,
    pub fixed_version: Option<String>,
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
    pub kev_due_date: Option<NaiveDate>,
    pub epss_score: Option<f64>,
    pub epss_percentile: Option<f64>,
    pub state: FindingState,
    /// Why it was accepted or judged a false positive.
    pub reason: String,
    pub approver: Option<String>,
    pub accepted_until: Option<NaiveDate>,
    pub due_date: NaiveDate,
    /// The day the due date counts from: first seen, or the day it came back after a fix.
    pub due_from: NaiveDate,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub fixed_at: Option<DateTime<Utc>>,
}

impl Finding {
    /// Still to be remediated (open or acknowledged) after its due date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        matches!(self.state, FindingState::Open | FindingState::Acknowledged)
            && self.due_date < today
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct FindingFilter {
    pub asset_id: Option<i64>,
    pub kind: Option<FindingKind>,
    pub state: Option<FindingState>,
    pub severity: Option<Severity>,
    /// Only findings in the KEV catalog.
    #[serde(default)]
    pub kev: bool,
    /// Only open or acknowledged findings due before today.
    #[serde(default)]
    pub overdue: bool,
    pub vulnerability_id: Option<String>,
}

/// A change of state a person makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Transition {
    Acknowledge,
    AcceptRisk {
        reason: String,
        approver: String,
        until: NaiveDate,
    },
    FalsePositive {
        reason: String,
    },
    Reopen,
}

impl Transition {
    /// The state it leads to, if allowed from `from`.
    pub fn target(&self, from: FindingState) -> Option<FindingState> {
        use FindingState::*;
        match (self, from) {
            (Transition::Acknowledge, Open) => Some(Acknowledged),
            (Transition::AcceptRisk { .. }, Open | Acknowledged) => Some(AcceptedRisk),
            (Transition::FalsePositive { .. }, Open | Acknowledged) => Some(FalsePositive),
            (Transition::Reopen, AcceptedRisk | FalsePositive | Acknowledged) => Some(Open),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::AcceptRisk { .. } => "accept_risk",
            Transition::FalsePositive { .. } => "false_positive",
            Transition::Reopen => "reopen",
        }
    }
}

/// Which of an asset's findings a scan speaks for: a lockfile or SBOM scan says nothing about
/// the OS packages its agent reports, and an agent's report nothing about lockfiles, so each
/// fixes only what it no longer finds in its own scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanScope {
    /// Language ecosystems (crates.io, PyPI, Go, npm, Maven, ...).
    Applications,
    /// Distribution packages (Debian, Ubuntu, Alpine, RPM distributions).
    OsPackages,
}

impl ScanScope {
    /// The name `vuln_asset_scans` stores.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanScope::Applications => "applications",
            ScanScope::OsPackages => "os_packages",
        }
    }

    pub fn covers(self, ecosystem: &str) -> bool {
        crate::hosts::is_os_ecosystem(ecosystem) == (self == ScanScope::OsPackages)
    }
}

/// What a recorded scan changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanOutcome {
    pub new: usize,
    pub reopened: usize,
    pub still_present: usize,
    pub fixed: usize,
}

/// One problem of a rejected import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportProblem {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// One import of a feed: what it read and what it changed. A rejected run changed nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportRun {
    pub id: i64,
    pub kind: FeedKind,
    pub source: String,
    pub at: DateTime<Utc>,
    /// `imported` or `rejected`.
    pub outcome: String,
    pub records_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub removed: i64,
    pub problems: Vec<ImportProblem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_lifecycle() {
        use FindingState::*;
        assert_eq!(Transition::Acknowledge.target(Open), Some(Acknowledged));
        assert_eq!(Transition::Acknowledge.target(Fixed), None);
        let accept = Transition::AcceptRisk {
            reason: "no exposure".into(),
            approver: "ciso".into(),
            until: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        assert_eq!(accept.target(Acknowledged), Some(AcceptedRisk));
        assert_eq!(accept.target(Fixed), None);
        assert_eq!(
            Transition::FalsePositive {
                reason: "not used".into()
            }
            .target(Open),
            Some(FalsePositive)
        );
        assert_eq!(Transition::Reopen.target(AcceptedRisk), Some(Open));
        assert_eq!(
            Transition::Reopen.target(Fixed),
            None,
            "a fixed finding reopens when a scan finds it again"
        );
    }
}
