//! The command line: `opsward <practice|admin> <verb>`.

use crate::output::OutputFormat;
use clap::{Args, Parser, Subcommand};
use std::{net::SocketAddr, path::PathBuf};

mod certs;
mod patches;
mod resilience;
mod suppliers;
mod vulns;
pub use certs::{
    parse_day_list, parse_port_list, CertAssetCommand, CertListArgs, CertServer, CertTagArgs,
};
pub use patches::{PatchCommand, PatchHostsCommand, RingCommand};
pub use resilience::{CheckCommand, MeasureCommand, Record, ResilienceCommand};
pub use suppliers::{ContractCommand, ReviewCommand, SupplierCommand};
pub use vulns::{
    Feed, FindingAction, PolicyCommand, PortsCommand, SettingsCommand, VulnCommand, VulnServer,
};

pub const AFTER_HELP: &str = "\
Configuration, lowest to highest precedence: built-in defaults, the TOML file given by --config,
OPSWARD_* environment variables (OPSWARD_DATABASE_URL, OPSWARD_LISTEN, OPSWARD_DATA_DIR, ...), flags.

Exit codes:
  0  success
  1  the command ran and found problems (e.g. an import rejected rows)
  2  usage error, or the command could not run (bad config, database unreachable, not found)";

/// opsward: make skipped IT operations work recorded, scheduled, measured and proven.
///
/// Certificates, resilience tests, patches, vulnerabilities, backlog, customer reviews and
/// supplier reviews, with one register of what you operate. `opsward serve` runs the web UI
/// and API; the other commands work on the same database directly.
#[derive(Debug, Parser)]
#[command(name = "opsward", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: `sqlite:<path>` or `postgres://user@host/db` [default: SQLite in the data dir].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory for the embedded database and files.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// More log output (-v debug, -vv trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web UI, the API and the scheduler.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Write a backup: every table, every stored file, and a manifest of their SHA-256 sums.
    Backup(BackupArgs),
    /// Restore a backup into a new, empty database (SQLite or PostgreSQL, whichever the
    /// backup came from).
    Restore(RestoreArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sign-in settings saved in the database (as on /admin/sign-in), and the LDAP re-check.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// The register of hosts, services, endpoints and applications.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Teams that own assets.
    #[command(subcommand)]
    Team(TeamCommand),
    /// People who own assets or are contacts.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Recurring operations activities (patch windows, restore tests, reviews, ...).
    #[command(subcommand)]
    Activity(ActivityCommand),
    /// Occurrences in a period with their state. Exit code 1 when any is overdue.
    Calendar(CalendarArgs),
    /// Evidence that activities happened: list and export for auditors.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Notification channels, rules and the outbox.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// iCal feeds for calendar apps.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Certificates: find them on TLS endpoints and in files, check them, and (with
    /// --server) store them; list the stored ones.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Show the audit log, newest first.
    Audit(AuditArgs),
    /// Show background jobs, newest first.
    Jobs(JobsArgs),
    /// Everything at risk now across practices, worst first: certificates expiring, overdue
    /// findings, hosts out of patch SLA, failed resilience tests, SLA breaches, notice
    /// deadlines. Exit code 0 when nothing matches, 1 when something does, 2 on errors (or
    /// when a practice could not report).
    Conditions(ConditionsArgs),
    // --- backlog (kept as one block for easy merging) ---
    /// Problems, incidents, improvements and risks: file, list, show, move through the workflow.
    #[command(subcommand)]
    Backlog(BacklogCommand),
    // --- end backlog ---
    // --- resilience (kept as one block for easy merging) ---
    /// A network fault proxy with Toxiproxy's HTTP API: existing Toxiproxy clients and chaos
    /// experiments drive it unchanged. Runs until Ctrl-C or SIGTERM.
    Faultproxy(FaultproxyArgs),
    /// Agent mode for hosts: run the checks an agent file lists on their schedules and report
    /// each result to the server (OPSWARD_SERVER, OPSWARD_TOKEN) as evidence.
    Agent(AgentArgs),
    /// Resilience: the register of measures and their scheduled tests, checks on this host
    /// (RAID, multipath, backup freshness, restore tests), chaos experiments and the monkey.
    #[command(subcommand)]
    Resilience(ResilienceCommand),
    // --- end resilience ---
    // --- customers (kept as one block for easy merging) ---
    /// Customers, contacts, the items they raised, service reviews and review packs.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Satisfaction surveys (CSAT after resolution, periodic NPS): list, run, settings.
    #[command(subcommand)]
    Survey(SurveyCommand),
    // --- end customers ---
    // --- suppliers ---
    /// Suppliers: register, show, and record reviews with scorecards.
    #[command(subcommand)]
    Supplier(SupplierCommand),
    /// Supplier contracts: notice deadlines and renewal decisions.
    #[command(subcommand)]
    Contract(ContractCommand),
    // --- end suppliers ---
    // --- vulns ---
    /// Vulnerabilities: import OSV, KEV and EPSS, scan lockfiles and SBOMs, work findings.
    #[command(subcommand)]
    Vuln(VulnCommand),
    // --- end vulns ---
    /// Patches: hosts' patch state and enrollment tokens for agents.
    #[command(subcommand)]
    Patch(PatchCommand),
}

#[derive(Debug, Args)]
pub struct ConditionsArgs {
    /// Only this practice (certificates, resilience, patches, vulnerabilities, backlog,
    /// customers, suppliers).
    #[arg(long)]
    pub practice: Option<opsward_core::practice::Practice>,
    /// Only this severity or worse (critical, high, medium, low).
    #[arg(long)]
    pub severity: Option<opsward_core::contract::Severity>,
    /// Only conditions about this asset (name or id).
    #[arg(long)]
    pub asset: Option<String>,
    /// Only conditions owned by this team (name).
    #[arg(long)]
    pub team: Option<String>,
    /// Only conditions past their due time.
    #[arg(long)]
    pub overdue: bool,
}

pub const BACKUP_HELP: &str = "\
A backup is a consistent snapshot taken while the server runs (SQLite: VACUUM INTO a copy;
PostgreSQL: one repeatable-read transaction), in a format either backend restores:
  manifest.json          schema version, row counts and the SHA-256 of every part
  tables/<table>.jsonl   one JSON line per row, values typed by a header line
  files/<sha256>         every stored file (evidence, attachments, contract documents)
--to names a new or empty directory for that layout, or an archive file ending in .tar,
.tar.gz or .tgz. Progress goes to standard error; the summary to standard output (-o json).

Scheduled backups: set [backup] dir (OPSWARD_BACKUP_DIR), keep (default 7) and every_hours
(default 24); `opsward serve` then writes opsward-backup-<UTC time>.tar.gz there and keeps
the newest `keep`.

Exit codes: 0 written; 2 not written (the target exists and is not empty, the database is
unreachable, a stored file is missing or damaged).";

pub const RESTORE_HELP: &str = "\
Restores into the database --database-url (or the configuration) names, which must be new
or hold only what `opsward migrate` put there, and the files under the data directory.
Before anything is written every sum in the manifest is checked; the tables then go in in
one transaction, and the database is migrated up to this opsward's schema. A backup from
SQLite restores into PostgreSQL and back: the way to move to PostgreSQL.

Exit codes:
  0  restored
  1  refused, nothing restored: the backup is damaged or incomplete (a sum does not match, a
     part or the manifest is missing), comes from a newer opsward, or the database is not empty
  2  could not run (no such backup, database unreachable)";

#[derive(Debug, Args)]
#[command(after_help = BACKUP_HELP)]
pub struct BackupArgs {
    /// A new or empty directory, or an archive file (.tar, .tar.gz, .tgz).
    #[arg(long, value_name = "DIR|FILE")]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = RESTORE_HELP)]
pub struct RestoreArgs {
    /// A backup directory or archive file written by `opsward backup`.
    #[arg(value_name = "FROM")]
    pub from: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve requests only; leave background jobs to other instances.
    #[arg(long)]
    pub no_scheduler: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password-stdin a random password is generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        /// viewer, operator or admin.
        #[arg(long, default_value = "viewer", conflicts_with = "admin")]
        role: String,
        /// Shorthand for --role admin.
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password (from standard input) and end their sessions.
    SetPassword {
        #[arg(long)]
        username: String,
    },
    /// Change a user's role or disable/enable the account.
    Set {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// The saved settings, the settings in force (file with the saved fields over it), and
    /// whether the secrets are set (never the secrets).
    Show,
    /// Replace the saved settings with a JSON file (`-`: standard input), the body of
    /// `PUT /api/v1/admin/sign-in`: `{"groups": {"admins": "admin"}, "default_role": "none"}`.
    Set { file: String },
    /// Clear the saved settings: the file's apply again.
    Reset,
    /// Re-read LDAP users' groups now (the `sso.ldap_recheck` job), revoking access of
    /// users whose groups no longer map.
    Recheck,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the secret is printed once.
    Create {
        #[arg(long)]
        username: String,
        /// What the token is for, e.g. `ci`.
        #[arg(long)]
        name: String,
        /// Lifetime in days.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        username: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

#[derive(Debug, Args)]
pub struct AssetFields {
    /// host, service, endpoint or application.
    #[arg(long)]
    pub kind: Option<String>,
    /// e.g. production, staging.
    #[arg(long)]
    pub environment: Option<String>,
    /// low, medium, high or critical.
    #[arg(long)]
    pub criticality: Option<String>,
    /// `team:<name>` or `person:<email>`; `none` clears it.
    #[arg(long)]
    pub owner: Option<String>,
    /// A tag; repeat for several. Replaces existing tags.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub description: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// Register an asset.
    Add {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: AssetFields,
    },
    /// Change fields of an asset (those given).
    Update {
        /// Asset name or id.
        asset: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: AssetFields,
    },
    /// List assets, optionally filtered.
    List {
        /// Text in the name or description.
        #[arg(long, short = 'q')]
        query: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        #[arg(long)]
        criticality: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        /// At most this many (0 = all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Show one asset by name or id: its fields, owner, the conditions about it, and every
    /// practice's section (certificates, findings, patch state, measures, backlog items, ...)
    /// and its calendar activities; `-o json` for all of it as one object.
    Show { asset: String },
    /// Remove an asset by name or id.
    Rm { asset: String },
    /// Import assets from CSV (`-` for standard input). Exit code 1 if any row was rejected.
    Import {
        file: PathBuf,
        /// Import nothing unless every row is good.
        #[arg(long)]
        strict: bool,
    },
    /// Export all assets as CSV (to a file, or standard output).
    Export { file: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
    },
    List,
    /// Remove a team by name (it must own no assets).
    Rm {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Team name.
        #[arg(long)]
        team: Option<String>,
    },
    List,
    /// Remove a person by email (they must own no assets).
    Rm {
        email: String,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub entity_type: Option<String>,
    #[arg(long)]
    pub entity_id: Option<i64>,
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// queued, running, succeeded or dead.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// The built-in templates.
    Templates,
    /// Plan an activity.
    Add {
        #[arg(long)]
        title: Option<String>,
        /// certificates, resilience, patches, vulnerabilities, backlog, customers, suppliers or general.
        #[arg(long)]
        practice: Option<String>,
        /// Start from a template (see `opsward activity templates`).
        #[arg(long)]
        template: Option<String>,
        /// RFC 5545 RRULE, e.g. FREQ=MONTHLY;BYDAY=2WE (empty: once).
        #[arg(long)]
        rrule: Option<String>,
        /// First start, local time: 2026-01-14T22:00.
        #[arg(long)]
        start: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        #[arg(long)]
        duration: Option<i32>,
        /// `team:<name>` or `person:<email>`.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    List {
        #[arg(long)]
        practice: Option<String>,
    },
    Show {
        id: i64,
    },
    Rm {
        id: i64,
    },
    /// Record evidence for an occurrence (or the activity), with files.
    Complete {
        id: i64,
        /// passed, failed or partial.
        #[arg(long)]
        result: String,
        /// The occurrence's start (RFC 3339, as `opsward calendar -o json` lists it).
        #[arg(long)]
        occurrence: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long = "link")]
        links: Vec<String>,
        /// A file to attach; repeat for several.
        #[arg(long = "attach")]
        attach: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// First day (YYYY-MM-DD) [default: 30 days ago].
    #[arg(long)]
    pub from: Option<String>,
    /// Day after the last [default: 30 days from today].
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub practice: Option<String>,
    /// Only occurrences in this state: done, overdue or upcoming.
    #[arg(long)]
    pub state: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    List {
        #[arg(long)]
        practice: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Export as CSV (to stdout or --out) or as a ZIP with the files (--zip --out FILE).
    Export {
        #[arg(long)]
        practice: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        zip: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Add a channel from its JSON settings (`@file` reads a file).
    ChannelAdd {
        #[arg(long)]
        name: String,
        /// e.g. {"type":"webhook","url":"https://...","secret":"..."}; see the README.
        #[arg(long)]
        settings: String,
    },
    ChannelList,
    /// Send a test message through a channel now. Exit code 1 if it fails.
    ChannelTest {
        id: i64,
    },
    /// Add a rule for everyone.
    RuleAdd {
        #[arg(long)]
        name: String,
        #[arg(long)]
        channel: i64,
        /// Event kind (activity.overdue, activity.due_soon, activity.failed); repeat; none for all.
        #[arg(long = "event")]
        events: Vec<String>,
        #[arg(long)]
        practice: Option<String>,
        #[arg(long, default_value = "info")]
        min_severity: String,
        #[arg(long)]
        digest: bool,
        /// Quiet hours, e.g. 22:00-07:00, in --timezone.
        #[arg(long)]
        quiet: Option<String>,
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Only events about what this team owns.
        #[arg(long)]
        team: Option<String>,
        /// Only events about what this person (by email) owns.
        #[arg(long)]
        person: Option<String>,
    },
    RuleList,
    RuleRm {
        id: i64,
    },
    /// Messages and their delivery state.
    Outbox {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Check the calendar and deliver due messages now (what the scheduler does every minute).
    Run,
}

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Create a feed; prints its secret path once.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// A team's calendar instead of the user's.
        #[arg(long)]
        team: Option<String>,
    },
    List {
        #[arg(long)]
        username: String,
    },
    Rm {
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Discover certificates and report their problems. Exit code 1 when any certificate has
    /// a warning or critical problem, or any endpoint or file could not be read.
    #[command(subcommand)]
    Scan(CertScanCommand),
    /// List stored certificates, soonest expiry first (from the local database, or --server).
    /// Exit code 1 when any listed certificate has a warning or critical problem, or when
    /// --expiring-within matched any.
    List(CertListArgs),
    /// Assets for certificates: TLS host name (SNI), address, ports and expiry thresholds.
    #[command(subcommand)]
    Asset(crate::cli::certs::CertAssetCommand),
    /// Expiry thresholds for every asset with a tag (an asset's own thresholds win).
    TagThresholds(crate::cli::certs::CertTagArgs),
}

#[derive(Debug, Subcommand)]
pub enum CertScanCommand {
    /// Connect to TLS endpoints and check the chains they present.
    Tls(CertScanTlsArgs),
    /// Read PEM and DER certificates from files and directories (recursively).
    Files {
        /// Files or directories; in directories only *.pem, *.crt, *.cer, *.der, *.cert,
        /// *.ca-bundle, *.chain, *.key, *.p12, *.pfx, *.jks, *.jceks, *.keystore and
        /// Kubernetes TLS secrets in *.yaml/*.yml are read.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Passwords to try on PKCS#12/PFX archives, one per line (after the empty
        /// password). Java keystores need none to show their certificates.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        remote: CertServer,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartTlsArg {
    /// By port: SMTP on 25/587, IMAP on 143, POP3 on 110, FTP on 21, LDAP on 389,
    /// PostgreSQL on 5432; plain TLS elsewhere.
    Auto,
    None,
    Smtp,
    Imap,
    Pop3,
    /// FTP `AUTH TLS` (RFC 4217).
    Ftp,
    /// The LDAP StartTLS extended operation.
    Ldap,
    /// PostgreSQL's SSLRequest.
    Postgres,
}

#[derive(Debug, Args)]
pub struct CertScanTlsArgs {
    /// `host:port`, `192.0.2.1:port` or `[2001:db8::1]:port` (port 443 if omitted); a name
    /// at an address, `www.example.com@192.0.2.10:443` (SNI and the name checked are the
    /// name, the connection goes to the address: each server behind a name is its own
    /// place); or an address range with ports: `10.0.0.0/30:443,8443`, `[2001:db8::/126]:443` (at most
    /// 4096 endpoints in all; in a range, addresses where nothing listens are left out).
    #[arg(required_unless_present_any = ["asset", "asset_tag"], value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Ports for ranges given without ports (default 443), and for assets instead of theirs.
    #[arg(long, value_name = "PORTS", value_parser = crate::cli::certs::check_port_list)]
    pub ports: Option<String>,
    /// A registered asset: its address or host name, SNI = host name, on its ports (or 443,
    /// 8443, 465, 636, 993, 995). Read from the local database, or from --server.
    #[arg(long, value_name = "NAME")]
    pub asset: Vec<String>,
    /// Every asset with this tag, as --asset.
    #[arg(long, value_name = "TAG")]
    pub asset_tag: Vec<String>,
    #[arg(long, value_enum, default_value_t = StartTlsArg::Auto)]
    pub starttls: StartTlsArg,
    /// Seconds to wait for each connection, and again for each handshake.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Seconds for the whole scan; endpoints not done by then are reported as errors.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline: u64,
    /// Endpoints scanned at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
    /// Also trust the CA certificates in this PEM file (besides Mozilla's roots).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Fetch each presented certificate's CRL (HTTP, --timeout, at most 10 MiB) and report
    /// `revoked` when it is listed (the CRL must verify with the presented issuer's key).
    #[arg(long)]
    pub crl: bool,
    /// Do not probe whether endpoints still accept TLS 1.0 and 1.1 (two more connections per
    /// endpoint; an accepted one is the `old-protocol` problem).
    #[arg(long)]
    pub no_old_protocols: bool,
    #[command(flatten)]
    pub remote: CertServer,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

// --- backlog (kept as one block for easy merging) ---

#[derive(Debug, Subcommand)]
pub enum BacklogCommand {
    /// File a work item; prints it, and possible duplicates on standard error.
    Add {
        /// problem, incident, improvement or risk.
        #[arg(long = "type", value_name = "TYPE")]
        item_type: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// ITIL impact, 1 (high) to 3 (low).
        #[arg(long, default_value_t = 3)]
        impact: i32,
        /// ITIL urgency, 1 (high) to 3 (low).
        #[arg(long, default_value_t = 3)]
        urgency: i32,
        /// Owning team, by name.
        #[arg(long)]
        team: Option<String>,
        /// Assignee, by email.
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Linked asset id (repeatable).
        #[arg(long = "asset")]
        assets: Vec<i64>,
    },
    /// List work items, oldest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long = "type", value_name = "TYPE")]
        item_type: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Assignee, by email.
        #[arg(long)]
        assignee: Option<String>,
        /// Words that must all appear in the title or description.
        #[arg(long, short = 'q')]
        query: Option<String>,
        /// A shared saved filter by name; the other options narrow or override it.
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Show one item with its comments and history.
    Show { id: i64 },
    /// Change an item's fields or move its state through the workflow, and/or comment on it.
    /// With --ids, change many items in one transaction: all or none.
    Update {
        #[arg(required_unless_present = "ids", conflicts_with = "ids")]
        id: Option<i64>,
        /// Several items at once, e.g. --ids 1,2,3 (the bulk edit).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<i64>,
        /// Replace the tags (repeatable; --tag none clears them).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// New state; a move the workflow does not allow is refused (exit code 2).
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        impact: Option<i32>,
        #[arg(long)]
        urgency: Option<i32>,
        /// Team by name, or `none` to clear.
        #[arg(long)]
        team: Option<String>,
        /// Assignee by email, or `none` to clear.
        #[arg(long)]
        assignee: Option<String>,
        /// Add a comment.
        #[arg(long)]
        comment: Option<String>,
        /// The version the change is based on; refused (exit code 2) when the item has
        /// changed since.
        #[arg(long)]
        based_on_version: Option<i64>,
    },
    /// Import items from a CSV or JSON file: every row or none. Bad rows are listed with
    /// their line numbers (exit code 1).
    Import {
        file: std::path::PathBuf,
        /// csv or json; by default from the file name's extension.
        #[arg(long)]
        format: Option<String>,
        /// JSON column mapping for CSV from other tools, e.g.
        /// {"title": "Summary", "item_type": "Issue Type", "types": {"Bug": "problem"}}.
        #[arg(long)]
        mapping: Option<std::path::PathBuf>,
        /// Check only; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every item to standard output as CSV (importable again) or JSON.
    Export {
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Items opened automatically from other practices (expiring certificates without an
    /// owner, overdue KEV findings, failed resilience tests, badly scored suppliers).
    #[command(subcommand)]
    AutoItems(AutoItemsCommand),
    /// Inbound email: messages in the IMAP mailbox of `[backlog_inbound]` become items, and
    /// replies whose subject names `[#123]` become comments on item 123.
    #[command(subcommand)]
    Inbound(InboundCommand),
    /// Saved list filters (the CLI saves shared ones).
    #[command(subcommand)]
    Filter(BacklogFilterCommand),
    /// Watch an item for a user: they are mailed its state changes and new comments.
    Watch {
        id: i64,
        /// The user's account name.
        #[arg(long)]
        user: String,
    },
    /// Stop a user watching an item.
    Unwatch {
        id: i64,
        #[arg(long)]
        user: String,
    },
    /// Who watches an item.
    Watchers { id: i64 },
    /// Attach files to an item (kept with the evidence files, same size limit).
    Attach {
        id: i64,
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// The files on an item.
    Attachments { id: i64 },
    /// Write an attachment's bytes to a file (checksum verified).
    Download {
        attachment_id: i64,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Remove an attachment from its item.
    Detach { attachment_id: i64 },
    /// The backlog review list (stale, unowned, oldest, highest priority); with --apply,
    /// apply the decisions of a JSON file and record them as evidence of the review.
    Review {
        #[arg(long, default_value_t = 14)]
        stale_days: i64,
        /// How many of the oldest and of the highest-priority items to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// {"decisions": [{"item_id": 4, "decision": "merge", "into": 9, "note": "..."}, ...]}
        /// with decision keep, close, reprioritise (impact, urgency) or merge (into).
        #[arg(long)]
        apply: Option<std::path::PathBuf>,
        /// The review activity (default: the first from the backlog-review template).
        #[arg(long)]
        activity: Option<i64>,
    },
    /// Per week: open items, items by state, resolved, SLA compliance.
    Charts {
        #[arg(long, default_value_t = 12)]
        weeks: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum BacklogFilterCommand {
    /// Save (or replace) a shared filter.
    Save {
        name: String,
        #[arg(long)]
        state: Option<String>,
        #[arg(long = "type", value_name = "TYPE")]
        item_type: Option<String>,
        #[arg(long, short = 'q')]
        query: Option<String>,
    },
    /// The shared filters.
    List,
    /// Delete a shared filter by name.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AutoItemsCommand {
    /// Check every source enabled in `[backlog_auto]` now: open an item per new condition,
    /// comment on items whose condition cleared. Exit code 1 when any condition holds.
    Run,
    /// List the automatic items with their source and whether the condition holds. Exit
    /// code 1 when any listed condition holds.
    List {
        /// certificate, kev_finding, resilience_test or supplier_review.
        #[arg(long)]
        source: Option<String>,
        /// Only conditions that still hold.
        #[arg(long)]
        active: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InboundCommand {
    /// Poll the mailbox now, as the scheduled job does, and list each message handled.
    /// Exit code 1 when a message could not be filed (it stays unread), 2 when inbound
    /// email is not configured or the mailbox cannot be reached.
    Run,
}

// --- end backlog ---

// --- customers (kept as one block for easy merging) ---

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Add a customer.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// List customers.
    List,
    /// Show a customer (by id or name) with contacts, linked items and reviews.
    Show { customer: String },
    /// Add a contact to a customer.
    ContactAdd {
        customer: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        role: String,
        /// Never send this contact a survey.
        #[arg(long)]
        no_surveys: bool,
    },
    /// Record that the customer raised a backlog item (its resolution triggers a CSAT survey).
    LinkItem {
        customer: String,
        #[arg(long)]
        item: i64,
        /// The contact who raised it, by email.
        #[arg(long)]
        contact: Option<String>,
    },
    /// Schedule (or move) the customer's recurring service review in the calendar.
    ScheduleReview {
        customer: String,
        /// RFC 5545 rule, e.g. FREQ=MONTHLY;INTERVAL=3.
        #[arg(long, default_value = "FREQ=MONTHLY;INTERVAL=3")]
        rrule: String,
        /// First review, local time: 2026-01-14T10:00.
        #[arg(long)]
        start: String,
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    /// The review pack for a period: items, resolution against target, CSAT/NPS, actions.
    ReviewPack {
        customer: String,
        /// First day (default: 90 days ago).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (default: today).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
    /// Record a held service review; it completes the review's calendar occurrence.
    ReviewAdd {
        customer: String,
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
        /// When it was held (default: today).
        #[arg(long)]
        held_on: Option<chrono::NaiveDate>,
        /// Attendee (repeatable).
        #[arg(long = "attendee")]
        attendees: Vec<String>,
        #[arg(long, default_value = "")]
        notes: String,
        /// Action item (repeatable).
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// Mark a review action done (or open again with --reopen).
    ActionDone {
        id: i64,
        #[arg(long)]
        reopen: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SurveyCommand {
    /// List surveys, newest first.
    List {
        /// Customer id or name.
        #[arg(long)]
        customer: Option<String>,
        /// sent, answered or skipped.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Decide and queue every survey that is due now (the server does this every 5 minutes).
    Run,
    /// Show the survey settings, or change the ones given.
    Settings {
        /// Email channel id to send through; 0 turns surveys off.
        #[arg(long)]
        channel: Option<i64>,
        /// Address customers open survey links at.
        #[arg(long)]
        base_url: Option<String>,
        #[arg(long)]
        delay_minutes: Option<i32>,
        #[arg(long)]
        sampling_percent: Option<i32>,
        #[arg(long)]
        throttle_days: Option<i32>,
        #[arg(long)]
        link_valid_days: Option<i32>,
        /// 0 turns NPS surveys off.
        #[arg(long)]
        nps_interval_days: Option<i32>,
        #[arg(long)]
        sampling_seed: Option<String>,
    },
    /// CSAT %, NPS, response rate and the monthly trend.
    Stats {
        /// Customer id or name; all customers when absent.
        #[arg(long)]
        customer: Option<String>,
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
}

// --- end customers ---

// --- resilience (kept as one block for easy merging) ---

#[derive(Debug, Args)]
pub struct FaultproxyArgs {
    /// Address of the HTTP API (Toxiproxy's default port is 8474).
    #[arg(long, default_value = "127.0.0.1:8474", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Proxies to create at start: a JSON list as `POST /populate` takes it
    /// (`[{"name": "db", "listen": "127.0.0.1:25432", "upstream": "db:5432"}]`).
    /// (Toxiproxy's `-config`; named so because `--config` is opsward's own settings file.)
    #[arg(long, value_name = "FILE")]
    pub proxies: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's TOML file: server, token_file, [[checks]] and [patches] (see the README).
    /// Without it, `--once` prints this host's patch report (`--output json`) and exits.
    pub file: Option<PathBuf>,
    /// Run every check once, report, and exit: 0 all passed, 1 a check did not pass, 2 a
    /// result could not be reported.
    #[arg(long)]
    pub once: bool,
    /// The command run to reboot when a ring's or approval's reboot policy allows it
    /// (`if-required`) and a reboot is required after a successful install inside the
    /// window; split at whitespace, no shell. Wins over `reboot_command` in
    /// `[patches.install]` [default: `systemctl reboot`].
    #[arg(long, env = "OPSWARD_AGENT_REBOOT_COMMAND", value_name = "COMMAND")]
    pub reboot_command: Option<String>,
}

// --- end resilience ---
