use crate::{policy::Severity, report::Posture, PackageManager};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An enrollment token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub uses: i64,
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
    pub kind: crate::report::ReportKind,
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
    pub packages: Vec<crate::InstalledPackage>,
    /// pip and npm global packages, where the agent collects them.
    pub language_packages: Vec<crate::inventory::language::LanguagePackage>,
    pub pending: Vec<PendingRow>,
    pub history: Vec<ResolvedRow>,
    pub reports: Vec<ReportRow>,
}

/// What the server did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Applied now.
    Applied,
    /// Applied before (a retried upload): nothing changed.
    Duplicate,
}
