//! A stateless scan, like osv-scanner: inventories from a file or directory, matched against
//! an advisory index, reported as data (and as SARIF for code-scanning tools).

use std::path::Path;

use serde::Serialize;

use crate::inventory::{self, Inventory, InventoryError, Skipped};
use crate::matcher::{AdvisoryIndex, Match, Undecided};
use crate::severity::Severity;

#[derive(Debug, Clone, Serialize)]
pub struct ScannedFile {
    pub file: String,
    pub kind: inventory::InventoryKind,
    pub packages: usize,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanFinding {
    /// The inventory file the package was found in.
    pub file: String,
    #[serde(flatten)]
    pub found: Match,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub files: Vec<ScannedFile>,
    /// Vulnerabilities (informational advisories are in `warnings`).
    pub findings: Vec<ScanFinding>,
    /// Informational advisories: unmaintained, unsound, notices.
    pub warnings: Vec<ScanFinding>,
    pub undecided: Vec<Undecided>,
}

impl ScanReport {
    /// Whether any vulnerability is at or above `threshold`.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.found.severity >= threshold)
    }
}

/// Reads the inventories at `path`: the file itself, or every recognised file below a directory.
pub fn read_inventories(path: &Path) -> Result<Vec<Inventory>, InventoryError> {
    if path.is_dir() {
        let files = inventory::find_in_dir(path)?;
        if files.is_empty() {
            return Err(InventoryError {
                file: path.display().to_string(),
                line: None,
                reason: "no lockfile or SBOM found in this directory".into(),
            });
        }
        files.iter().map(|f| inventory::read_file(f)).collect()
    } else {
        Ok(vec![inventory::read_file(path)?])
    }
}

/// Matches inventories against the index.
pub fn scan(inventories: &[Inventory], index: &AdvisoryIndex) -> ScanReport {
    let mut report = ScanReport {
        files: vec![],
        findings: vec![],
        warnings: vec![],
        undecided: vec![],
    };
    for inventory in inventories {
        report.files.push(ScannedFile {
            file: inventory.file.clone(),
            kind: inventory.kind,
            packages: inventory.packages.len(),
            skipped: inventory.skipped.clone(),
        });
        for package in &inventory.packages {
            for found in index.check(package, &mut report.undecided) {
                let finding = ScanFinding {
                    file: inventory.file.clone(),
                    found,
                };
                if finding.found.informational.is_some() {
                    report.warnings.push(finding);
                } else {
                    report.findings.push(finding);
                }
            }
        }
    }
    let order = |a: &ScanFinding, b: &ScanFinding| {
        b.found
            .severity
            .cmp(&a.found.severity)
            .then_with(|| (&a.found.package, &a.found.id).cmp(&(&b.found.package, &b.found.id)))
    };
    report.findings.sort_by(order);
    report.warnings.sort_by(order);
    report
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

/// The report as SARIF 2.1.0, one rule per vulnerability and one result per affected package.
pub fn to_sarif(report: &ScanReport) -> serde_json::Value {
    let mut rules: Vec<serde_json::Value> = vec![];
    let mut seen = std::collections::BTreeSet::new();
    let mut results = vec![];
    for finding in report.findings.iter().chain(&report.warnings) {
        let m = &finding.found;
        if seen.insert(m.id.clone()) {
            rules.push(serde_json::json!({
                "id": m.id,
                "shortDescription": {"text": m.summary.clone().unwrap_or_else(|| m.id.clone())},
                "help": {"text": format!("Aliases: {}", m.ids.join(", "))},
                "properties": {"security-severity": m.cvss.as_ref().map(|c| format!("{:.1}", c.score)), "tags": ["security"]},
            }));
        }
        let fix = m
            .fixed
            .as_ref()
            .map(|f| format!("; fixed in {f}"))
            .unwrap_or_default();
        let level = if m.informational.is_some() {
            "note"
        } else {
            sarif_level(m.severity)
        };
        results.push(serde_json::json!({
            "ruleId": m.id,
            "level": level,
            "message": {"text": format!("{} {} {} is affected by {} ({}){fix}", m.package.ecosystem, m.package.name, m.package.version, m.id, m.ids.join(", "))},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": finding.file}}}],
        }));
    }
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "opsward", "informationUri": "https://example.invalid/opsward", "rules": rules}},
            "results": results,
        }],
    })
}
