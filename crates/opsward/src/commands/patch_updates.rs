//! Pending updates with the vulnerability findings each closes, as `patch status --host` and
//! `patch updates` print them.

use opsward_patches::store::PendingRow;
use opsward_vulns::hosts::FleetUpdate;
use serde::Serialize;

/// One pending update: "installing this closes N findings, M in KEV".
#[derive(Serialize)]
pub struct UpdateRow {
    pub hostname: String,
    pub package: String,
    pub installed: String,
    pub candidate: String,
    pub security: bool,
    /// The highest severity of the vulnerabilities it fixes; `unknown` when none is linked.
    pub severity: String,
    pub due_at: chrono::DateTime<chrono::Utc>,
    pub overdue: bool,
    /// How many findings installing it closes, and how many of those are in KEV.
    pub closes: usize,
    pub kev: i64,
    /// The vulnerabilities' ids (CVE, DSA, ...).
    pub ids: Vec<String>,
    pub finding_ids: Vec<i64>,
    /// Every field of the update, `fixes` included (JSON output).
    pub update: PendingRow,
}

pub const UPDATE_COLUMNS: &[&str] = &[
    "hostname",
    "package",
    "installed",
    "candidate",
    "security",
    "severity",
    "due_at",
    "overdue",
    "closes",
    "kev",
    "ids",
];

impl UpdateRow {
    pub fn new(hostname: &str, update: PendingRow) -> Self {
        UpdateRow {
            hostname: hostname.to_string(),
            package: format!("{}:{}", update.name, update.arch),
            installed: update.installed_version.clone(),
            candidate: update.candidate_version.clone(),
            security: update.security,
            severity: update
                .severity
                .map_or_else(|| "unknown".to_string(), |s| s.to_string()),
            due_at: update.due_at,
            overdue: update.overdue,
            closes: update.fixes.findings.len(),
            kev: update.fixes.kev,
            ids: update.fixes.ids.clone(),
            finding_ids: update.fixes.findings.iter().map(|f| f.finding_id).collect(),
            update,
        }
    }
}

impl From<FleetUpdate> for UpdateRow {
    fn from(u: FleetUpdate) -> Self {
        UpdateRow::new(&u.hostname, u.update)
    }
}
