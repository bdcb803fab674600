//! `opsward vuln ...`.

use clap::{Args, Subcommand, ValueEnum};
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
        #[command(flatten)]
        remote: ScanServer,
    },
    /// Port exposure: TCP connect scan of a host's ports against the allowed ones. Prints every
    /// open port and whether it is allowed; needs no server or database. With --server, HOST
    /// is an asset's name: its address, ports and allowed ports come from its policy on the
    /// server (unless given), and the result is recorded there as exposure findings. Exit
    /// code 1 when an open port is not allowed.
    Exposure {
        /// Host name or address (with --server: the asset's name).
        host: String,
        /// Ports to scan: `1-1024`, `22,80,8000-8080` (default 1-1024, or the asset's policy).
        #[arg(long)]
        ports: Option<String>,
        /// Ports allowed to be open, same syntax (with --server the server's policy decides).
        #[arg(long)]
        allow: Option<String>,
        /// Connects in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Milliseconds to wait for each connect (an unanswered port is `filtered`).
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
        #[command(flatten)]
        remote: VulnServer,
    },
    /// Allowed-ports policies (per asset or tag) that decide which open ports are exposures.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Show or change the practice's settings (exposure scans, posture policy, feeds).
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
    /// Run the weak-TLS, posture and stale-host checks now and notify overdue findings (the
    /// server does this every 5 minutes).
    Check,
    /// Re-import the feeds the settings name (paths or URLs) now, whatever the interval.
    /// Exit code 1 when a fetch failed or an import was rejected.
    Refresh,
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
        /// package, exposure, tls, posture or stale-host.
        #[arg(long)]
        kind: Option<String>,
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

/// Where `vuln scan --asset` records its findings: the local database, or an opsward
/// server (as CI pipelines report to Dependency-Track), which matches the file against its
/// advisories; then exit code 1 means the server found a vulnerability.
#[derive(Debug, Clone, Args)]
pub struct ScanServer {
    /// Send the file to this opsward server (`POST /api/v1/vulns/scans`) instead of
    /// matching it here; needs --asset and an operator's API token.
    #[arg(long, value_name = "URL", requires = "asset")]
    pub server: Option<String>,
    /// A file holding the API token for --server; `OPSWARD_TOKEN` wins when set.
    #[arg(long, value_name = "PATH", requires = "server")]
    pub token_file: Option<PathBuf>,
}

/// Where `vuln exposure` records its scan: nowhere (printed only) or an opsward server.
#[derive(Debug, Clone, Args)]
pub struct VulnServer {
    /// Record the scan on this opsward server as exposure findings of the asset.
    #[arg(long, env = "OPSWARD_SERVER", value_name = "URL", requires = "token")]
    pub server: Option<String>,
    /// API token for --server (an operator's).
    #[arg(
        long,
        env = "OPSWARD_TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Allowed TCP ports.
    Ports {
        #[command(subcommand)]
        command: PortsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// Every policy: assets' first, then tags'.
    List,
    /// Set the allowed ports of an asset or of every asset with a tag (replacing its policy).
    Set {
        /// The asset (by name).
        #[arg(long, conflicts_with = "tag", required_unless_present = "tag")]
        asset: Option<String>,
        /// A tag: the policy of every asset with it (an asset's own policy wins).
        #[arg(long)]
        tag: Option<String>,
        /// Ports allowed open: `22,443`, `8000-8080`; empty: none.
        #[arg(long, allow_hyphen_values = true)]
        allow: String,
        /// Ports to scan (default: the settings' list).
        #[arg(long)]
        scan_ports: Option<String>,
        /// Assets only: the host name or address to scan (default: the asset's name).
        #[arg(long, requires = "asset")]
        address: Option<String>,
    },
    /// Remove a policy (by id).
    Delete { id: i64 },
}

// Parsed once per run: the size of the `Set` variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print the settings (JSON).
    Show,
    /// Change some settings; the others keep their values.
    Set {
        /// Minutes between scheduled exposure scans (0: off).
        #[arg(long)]
        exposure_interval_minutes: Option<i64>,
        /// Scan every asset, not only those with a policy.
        #[arg(long)]
        scan_all_assets: Option<bool>,
        /// Ports allowed where no policy applies.
        #[arg(long)]
        default_allowed: Option<String>,
        /// Ports scanned where the policy names none.
        #[arg(long)]
        scan_ports: Option<String>,
        /// Posture: a host firewall must be active.
        #[arg(long)]
        require_firewall: Option<bool>,
        /// Posture: an anti-virus/EDR service must run.
        #[arg(long)]
        require_av_edr: Option<bool>,
        /// Posture: automatic updates must be on.
        #[arg(long)]
        require_auto_updates: Option<bool>,
        /// Hours without a report after which a host is stale.
        #[arg(long)]
        stale_hours: Option<i64>,
        /// OSV source for scheduled re-imports (path or URL; empty: none).
        #[arg(long)]
        osv: Option<String>,
        /// KEV source (path or URL; empty: none).
        #[arg(long)]
        kev: Option<String>,
        /// EPSS source (path or URL; empty: none).
        #[arg(long)]
        epss: Option<String>,
        /// Minutes between re-imports (0: off).
        #[arg(long)]
        feeds_interval_minutes: Option<i64>,
        /// Seconds a feed download may take.
        #[arg(long)]
        feeds_timeout_secs: Option<u64>,
        /// Due dates: days to remediate a critical finding (open findings are rescheduled).
        #[arg(long, value_name = "DAYS")]
        critical_days: Option<u32>,
        /// Due dates: days for a high finding.
        #[arg(long, value_name = "DAYS")]
        high_days: Option<u32>,
        /// Due dates: days for a medium finding.
        #[arg(long, value_name = "DAYS")]
        medium_days: Option<u32>,
        /// Due dates: days for a low finding (and one without a severity).
        #[arg(long, value_name = "DAYS")]
        low_days: Option<u32>,
        /// Due dates: EPSS score (0-1] at or above which a finding counts one band higher;
        /// `off`: never.
        #[arg(long, value_name = "SCORE|off")]
        epss_threshold: Option<String>,
        /// Due dates of KEV findings: `catalog` (CISA's date wins) or `earlier` (the sooner of
        /// CISA's date and the severity's).
        #[arg(long, value_name = "RULE")]
        kev_due: Option<String>,
    },
}
