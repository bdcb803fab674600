//! `opsward vuln ...`.

use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Feed {
    /// OSV advisories: a directory of JSON/YAML records, an osv.dev `all.zip`, an osv-scanner
    /// offline directory (`<dir>/<Ecosystem>/all.zip`) or one record.
    Osv,
    /// CISA's Known Exploited Vulnerabilities catalog (JSON).
    Kev,
    /// FIRST's EPSS scores (CSV).
    Epss,
}

#[derive(Debug, Subcommand)]
pub enum VulnCommand {
    /// Match a lockfile, an SBOM or every lockfile under a directory against OSV advisories.
    /// With --db it needs no server or database (like osv-scanner); without, it uses the
    /// advisories imported into the database. With --asset the findings are recorded for that
    /// asset (new ones open, ones no longer found are fixed). `--output sarif` writes SARIF
    /// 2.1.0. Exit code 1 when a vulnerability at or above --fail-on is found.
    Scan {
        /// Cargo.lock, go.mod, go.sum, requirements*.txt, poetry.lock, package-lock.json,
        /// a CycloneDX or SPDX JSON SBOM, or a directory to search for them.
        path: PathBuf,
        /// OSV advisories to use instead of the database's (see `vuln import osv`).
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Record the vulnerabilities found as findings of this asset (by name).
        #[arg(long, value_name = "ASSET")]
        asset: Option<String>,
        /// Lowest severity that makes the exit code 1: unknown (any vulnerability), low,
        /// medium, high or critical.
        #[arg(long, value_name = "SEVERITY", default_value = "unknown")]
        fail_on: String,
    },
    /// Port exposure: TCP connect scan of a host's ports against the allowed ones. Prints every
    /// open port and whether it is allowed; needs no server or database. Exit code 1 when an
    /// open port is not allowed.
    Exposure {
        /// Host name or address.
        host: String,
        /// Ports to scan: `1-1024`, `22,80,8000-8080`.
        #[arg(long, default_value = "1-1024")]
        ports: String,
        /// Ports allowed to be open, same syntax.
        #[arg(long, default_value = "")]
        allow: String,
        /// Connects in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Milliseconds to wait for each connect (an unanswered port is `filtered`).
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
    },
    /// Import threat intelligence into the database. OSV imports are incremental (only changed
    /// advisories are re-written) and atomic: any bad file rejects the whole import, which is
    /// recorded with its problems, and the exit code is 1. KEV and EPSS replace the snapshot.
    Import {
        #[arg(value_enum)]
        feed: Feed,
        path: PathBuf,
    },
    /// Match the patch agents' host package inventories against the imported advisories now
    /// (the server's scheduler does this after every report and import): hosts with a new
    /// report or older than the newest import, or every host with `--all`.
    MatchHosts {
        #[arg(long)]
        all: bool,
    },
    /// The import runs, newest first.
    Imports {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Findings, soonest due first. Exit code 1 when any listed finding is overdue.
    Findings {
        /// Only findings in CISA's KEV catalog.
        #[arg(long)]
        kev: bool,
        /// Only open or acknowledged findings past their due date.
        #[arg(long)]
        overdue: bool,
        /// Only this asset's (by name).
        #[arg(long)]
        asset: Option<String>,
        /// open, acknowledged, fixed, accepted_risk or false_positive.
        #[arg(long)]
        state: Option<String>,
        /// unknown, low, medium, high or critical.
        #[arg(long)]
        severity: Option<String>,
    },
    /// Move a finding through its lifecycle.
    Finding {
        id: i64,
        #[command(subcommand)]
        action: FindingAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum FindingAction {
    /// Seen and being worked on.
    Acknowledge,
    /// Accept the risk until a date, with a reason and who approved it.
    AcceptRisk {
        #[arg(long)]
        reason: String,
        #[arg(long)]
        approver: String,
        /// YYYY-MM-DD; the finding reopens at the first scan after it.
        #[arg(long)]
        until: String,
    },
    /// The match does not apply (the affected code is not used, ...).
    FalsePositive {
        #[arg(long)]
        reason: String,
    },
    /// Back to open.
    Reopen,
}
