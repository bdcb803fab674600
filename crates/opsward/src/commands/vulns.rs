//! `opsward vuln scan|import|imports|findings|finding`.

use super::{cli_actor, open_store};
use crate::{
    cli::{Feed, FindingAction, VulnCommand},
    config::Config,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Context, Result};
use chrono::{NaiveDate, Utc};
use opsward_vulns::findings::{FeedKind, FindingFilter, ImportProblem, Transition};
use opsward_vulns::osv::load_path;
use opsward_vulns::scan::{read_inventories, scan, to_sarif, ScanFinding};
use opsward_vulns::threat::{parse_epss, parse_kev, FeedError};
use opsward_vulns::wanted::WantedPackages;
use opsward_vulns::{AdvisoryIndex, Severity, VulnStore};
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
const FINDING_COLUMNS: &[&str] = &[
    "id",
    "asset_id",
    "kind",
    "severity",
    "package",
    "installed_version",
    "vulnerability_id",
    "fixed_version",
    "kev",
    "state",
    "due_date",
];
const RUN_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "source",
    "at",
    "outcome",
    "records_read",
    "created",
    "updated",
    "unchanged",
    "removed",
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

/// `value` as pretty JSON and a newline on stdout, streamed.
fn print_json(value: &impl Serialize) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn parsed<T: std::str::FromStr<Err = String>>(flag: &str, text: &str) -> Result<T> {
    text.parse::<T>().map_err(|e| anyhow!("{flag}: {e}"))
}

pub async fn vuln(config: &Config, cmd: VulnCommand, out: OutputFormat) -> Result<ExitCode> {
    match cmd {
        VulnCommand::Scan {
            path,
            db,
            asset,
            fail_on,
            remote,
        } => {
            if let (Some(server), Some(asset)) = (&remote.server, &asset) {
                return scan_on_server(&path, asset, server, remote.token_file.as_deref(), out)
                    .await;
            }
            let threshold: Severity = parsed("--fail-on", &fail_on)?;
            let inventories = read_inventories(&path)?;
            let store = match (&db, &asset) {
                (Some(_), None) => None,
                _ => Some(open_store(config).await?),
            };
            let loading = std::time::Instant::now();
            let wanted = WantedPackages::new(inventories.iter().flat_map(|i| &i.packages));
            let index = match db {
                Some(db) => {
                    let index =
                        tokio::task::spawn_blocking(move || AdvisoryIndex::load_for(&db, &wanted))
                            .await?;
                    for problem in &index.problems {
                        eprintln!("warning: advisory skipped: {problem}");
                    }
                    index
                }
                None => {
                    VulnStore::new(store.as_deref().expect("opened above"))
                        .advisory_index_for(&wanted)
                        .await?
                }
            };
            if index.advisory_count() == 0 {
                return Err(anyhow!(
                    "no OSV advisories: give --db or run `opsward vuln import osv <path>` first"
                ));
            }
            let loaded_in = loading.elapsed();
            let matching = std::time::Instant::now();
            let report = scan(&inventories, &index);
            let matched_in = matching.elapsed();
            if let (Some(name), Some(store)) = (&asset, &store) {
                let asset = store
                    .get_asset_by_name(name)
                    .await
                    .with_context(|| format!("asset {name:?}"))?;
                let matches: Vec<_> = report.findings.iter().map(|f| f.found.clone()).collect();
                let vulns = VulnStore::new(store.as_ref());
                let policy = vulns.due_policy().await?;
                let outcome = vulns
                    .record_scan(&cli_actor(), asset.id, &matches, &policy)
                    .await?;
                eprintln!(
                    "asset {name}: {} new, {} reopened, {} still present, {} fixed",
                    outcome.new, outcome.reopened, outcome.still_present, outcome.fixed
                );
            }
            match out {
                // Written as it is serialised: a report of many findings is tens of MiB of
                // JSON, which need not be held as one string.
                OutputFormat::Json => print_json(&report)?,
                OutputFormat::Sarif => print_json(&to_sarif(&report))?,
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
                "{} vulnerabilities and {} informational advisories in {packages} packages from {} files \
                 ({} advisories loaded in {} ms, {} withdrawn skipped; matched in {} ms)",
                report.findings.len(),
                report.warnings.len(),
                report.files.len(),
                index.advisory_count(),
                loaded_in.as_millis(),
                index.withdrawn,
                matched_in.as_millis(),
            );
            Ok(if report.fails(threshold) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        VulnCommand::Exposure {
            host,
            ports,
            allow,
            concurrency,
            timeout_ms,
            remote,
        } => {
            let args = super::vuln_policy::ExposureArgs {
                host,
                ports,
                allow,
                concurrency,
                timeout_ms,
            };
            super::vuln_policy::exposure(args, remote, out).await
        }
        VulnCommand::Policy { command } => super::vuln_policy::policy(config, command, out).await,
        VulnCommand::Settings { command } => {
            super::vuln_policy::settings(config, command, out).await
        }
        VulnCommand::Check => super::vuln_policy::check(config, out).await,
        VulnCommand::Refresh => super::vuln_policy::refresh(config, out).await,
        VulnCommand::Import { feed, path } => {
            let store = open_store(config).await?;
            let vulns = VulnStore::new(store.as_ref());
            let source = path.display().to_string();
            let run = match feed {
                Feed::Osv => {
                    let loaded = tokio::task::spawn_blocking(move || load_path(&path)).await?;
                    vulns.import_osv(&cli_actor(), &source, &loaded).await?
                }
                Feed::Kev => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {source}"))?;
                    match parse_kev(&source, &text) {
                        Ok(catalog) => vulns.import_kev(&cli_actor(), &source, &catalog).await?,
                        Err(e) => {
                            vulns
                                .reject_import(
                                    &cli_actor(),
                                    FeedKind::Kev,
                                    &source,
                                    vec![problem(e)],
                                )
                                .await?
                        }
                    }
                }
                Feed::Epss => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {source}"))?;
                    match parse_epss(&source, &text) {
                        Ok(file) => vulns.import_epss(&cli_actor(), &source, &file).await?,
                        Err(e) => {
                            vulns
                                .reject_import(
                                    &cli_actor(),
                                    FeedKind::Epss,
                                    &source,
                                    vec![problem(e)],
                                )
                                .await?
                        }
                    }
                }
            };
            if run.outcome == "imported" {
                // A running server's scheduler matches the enrolled hosts against it.
                store
                    .enqueue_job(&opsward_vulns::hosts::match_job(&format!(
                        "import:{}",
                        run.id
                    )))
                    .await?;
            }
            for problem in &run.problems {
                eprintln!(
                    "error: {}{}: {}",
                    problem.file,
                    problem.line.map(|l| format!(":{l}")).unwrap_or_default(),
                    problem.reason
                );
            }
            print_one(out, &run)?;
            Ok(if run.outcome == "rejected" {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        VulnCommand::MatchHosts { all } => {
            let store = open_store(config).await?;
            let run =
                opsward_vulns::hosts::match_due_hosts(store.as_ref(), &cli_actor(), all).await?;
            print_one(out, &run)?;
            Ok(ExitCode::SUCCESS)
        }
        VulnCommand::Imports { limit } => {
            let store = open_store(config).await?;
            let runs = VulnStore::new(store.as_ref()).import_runs(limit).await?;
            print(out, &runs, RUN_COLUMNS)?;
            Ok(ExitCode::SUCCESS)
        }
        VulnCommand::Findings {
            kev,
            overdue,
            asset,
            kind,
            state,
            severity,
        } => {
            let store = open_store(config).await?;
            let asset_id = match asset {
                Some(name) => Some(
                    store
                        .get_asset_by_name(&name)
                        .await
                        .with_context(|| format!("asset {name:?}"))?
                        .id,
                ),
                None => None,
            };
            let filter = FindingFilter {
                asset_id,
                kind: kind.as_deref().map(|s| parsed("--kind", s)).transpose()?,
                state: state.as_deref().map(|s| parsed("--state", s)).transpose()?,
                severity: severity
                    .as_deref()
                    .map(|s| parsed("--severity", s))
                    .transpose()?,
                kev,
                overdue,
                vulnerability_id: None,
            };
            let findings = VulnStore::new(store.as_ref()).findings(&filter).await?;
            print(out, &findings, FINDING_COLUMNS)?;
            let today = Utc::now().date_naive();
            Ok(if findings.iter().any(|f| f.is_overdue(today)) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        VulnCommand::Finding { id, action } => {
            let store = open_store(config).await?;
            let change = match action {
                FindingAction::Acknowledge => Transition::Acknowledge,
                FindingAction::AcceptRisk {
                    reason,
                    approver,
                    until,
                } => {
                    let until: NaiveDate = until.parse().with_context(|| {
                        format!("--until: {until:?} is not a date (YYYY-MM-DD)")
                    })?;
                    Transition::AcceptRisk {
                        reason,
                        approver,
                        until,
                    }
                }
                FindingAction::FalsePositive { reason } => Transition::FalsePositive { reason },
                FindingAction::Reopen => Transition::Reopen,
            };
            let finding = VulnStore::new(store.as_ref())
                .transition(&cli_actor(), id, &change)
                .await?;
            print_one(out, &finding)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn problem(e: FeedError) -> ImportProblem {
    ImportProblem {
        file: e.file,
        line: e.line,
        reason: e.reason,
    }
}

/// The API token for --server: `OPSWARD_TOKEN`, else the --token-file's first line.
fn server_token(token_file: Option<&std::path::Path>) -> Result<String> {
    if let Ok(token) = std::env::var("OPSWARD_TOKEN") {
        return Ok(token.trim().to_string());
    }
    let path = token_file.ok_or_else(|| anyhow!("--server needs --token-file or OPSWARD_TOKEN"))?;
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .trim()
        .to_string())
}

/// `vuln scan PATH --asset NAME --server URL`: each lockfile or SBOM at PATH is sent to the
/// server, which matches it and records the asset's findings. Exit code 1 when the server
/// found a vulnerability.
async fn scan_on_server(
    path: &std::path::Path,
    asset: &str,
    server: &str,
    token_file: Option<&std::path::Path>,
    out: OutputFormat,
) -> Result<ExitCode> {
    let token = server_token(token_file)?;
    let files = if path.is_dir() {
        opsward_vulns::inventory::find_in_dir(path)?
    } else {
        vec![path.to_path_buf()]
    };
    let url = format!("{}/api/v1/vulns/scans", server.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .build()?;
    let mut outcomes: Vec<UploadOutcome> = Vec::new();
    for file in &files {
        let content = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let filename = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let response = http
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({"asset": asset, "filename": filename, "content": content}))
            .send()
            .await
            .with_context(|| format!("cannot reach {server}"))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("{}: the server's answer is not JSON", file.display()))?;
        if !status.is_success() {
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            return Err(anyhow!(
                "{}: the server answered {status}: {message}",
                file.display()
            ));
        }
        let outcome: UploadOutcome = serde_json::from_value(body)
            .with_context(|| format!("{}: the server's answer", file.display()))?;
        eprintln!(
            "asset {}: {} ({} packages): {} vulnerabilities; {} new, {} reopened, {} still present, {} fixed",
            outcome.asset,
            outcome.file,
            outcome.packages,
            outcome.vulnerabilities,
            outcome.new,
            outcome.reopened,
            outcome.still_present,
            outcome.fixed
        );
        outcomes.push(outcome);
    }
    match out {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outcomes)?),
        _ => print(
            out,
            &outcomes,
            &[
                "asset",
                "file",
                "format",
                "packages",
                "vulnerabilities",
                "new",
                "reopened",
                "still_present",
                "fixed",
            ],
        )?,
    }
    Ok(if outcomes.iter().any(|o| o.vulnerabilities > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The server's answer to one upload (`opsward_vulns::upload::UploadOutcome`).
#[derive(Debug, Serialize, serde::Deserialize)]
struct UploadOutcome {
    asset_id: i64,
    asset: String,
    file: String,
    format: String,
    packages: usize,
    vulnerabilities: usize,
    new: usize,
    reopened: usize,
    still_present: usize,
    fixed: usize,
}
