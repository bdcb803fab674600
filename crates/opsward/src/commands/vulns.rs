//! `opsward vuln scan`: lockfiles and SBOMs against OSV advisories, no database needed.

use crate::{
    cli::VulnCommand,
    output::{print, OutputFormat},
};
use anyhow::{anyhow, Result};
use opsward_vulns::scan::{read_inventories, scan, to_sarif, ScanFinding};
use opsward_vulns::{AdvisoryIndex, Severity};
use serde::Serialize;
use std::process::ExitCode;

const COLUMNS: &[&str] = &[
    "kind",
    "severity",
    "ecosystem",
    "package",
    "version",
    "id",
    "aliases",
    "fixed",
    "file",
];

/// One printed line: a vulnerability, or an informational advisory (kind `unmaintained`, ...).
#[derive(Debug, Serialize)]
struct FindingRow {
    kind: String,
    severity: Severity,
    cvss: Option<f64>,
    ecosystem: String,
    package: String,
    version: String,
    id: String,
    aliases: Vec<String>,
    advisories: Vec<String>,
    fixed: Option<String>,
    summary: Option<String>,
    file: String,
}

impl From<&ScanFinding> for FindingRow {
    fn from(f: &ScanFinding) -> Self {
        let m = &f.found;
        FindingRow {
            kind: m
                .informational
                .clone()
                .unwrap_or_else(|| "vulnerability".into()),
            severity: m.severity,
            cvss: m.cvss.as_ref().map(|c| c.score),
            ecosystem: m.package.ecosystem.clone(),
            package: m.package.name.clone(),
            version: m.package.version.clone(),
            id: m.id.clone(),
            aliases: m.ids.iter().filter(|i| **i != m.id).cloned().collect(),
            advisories: m.advisory_ids().map(str::to_owned).collect(),
            fixed: m.fixed.clone(),
            summary: m.summary.clone(),
            file: f.file.clone(),
        }
    }
}

pub async fn vuln(cmd: VulnCommand, out: OutputFormat) -> Result<ExitCode> {
    match cmd {
        VulnCommand::Scan { path, db, fail_on } => {
            let threshold: Severity = fail_on.parse().map_err(|e| anyhow!("--fail-on: {e}"))?;
            let inventories = read_inventories(&path)?;
            let index = tokio::task::spawn_blocking(move || AdvisoryIndex::load(&db)).await?;
            for problem in &index.problems {
                eprintln!("warning: advisory skipped: {problem}");
            }
            if index.advisory_count() == 0 {
                return Err(anyhow!("no OSV advisories could be read from --db"));
            }
            let report = scan(&inventories, &index);
            match out {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                OutputFormat::Sarif => {
                    println!("{}", serde_json::to_string_pretty(&to_sarif(&report))?)
                }
                OutputFormat::Csv | OutputFormat::Table => {
                    let rows: Vec<FindingRow> = report
                        .findings
                        .iter()
                        .chain(&report.warnings)
                        .map(Into::into)
                        .collect();
                    print(out, &rows, COLUMNS)?;
                }
            }
            for undecided in &report.undecided {
                eprintln!(
                    "warning: {} {} {}: {} not evaluated: {}",
                    undecided.package.ecosystem,
                    undecided.package.name,
                    undecided.package.version,
                    undecided.advisory,
                    undecided.reason
                );
            }
            let packages: usize = report.files.iter().map(|f| f.packages).sum();
            eprintln!(
                "{} vulnerabilities and {} informational advisories in {packages} packages from {} files ({} advisories, {} withdrawn skipped)",
                report.findings.len(),
                report.warnings.len(),
                report.files.len(),
                index.advisory_count(),
                index.withdrawn,
            );
            Ok(if report.fails(threshold) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
