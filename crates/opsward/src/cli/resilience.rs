//! `opsward resilience check ...` and `opsward resilience measure ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ResilienceCommand {
    /// Check a resilience measure on this host. Exit code 0 passed, 1 partial or failed.
    /// With --activity, the result is recorded as evidence on that calendar activity's
    /// current occurrence (a failure also notifies its owners).
    #[command(subcommand)]
    Check(CheckCommand),
    /// The chaos monkey: random faults (kill a process by pid file or systemd unit, add a
    /// proxy toxic) among opted-in targets only, inside allowed windows, at most
    /// max_faults_per_run at a time; `enabled = false` or the kill-switch file stops it.
    /// Settings and targets come from a TOML file (see the README).
    Monkey {
        /// The monkey's TOML file.
        file: std::path::PathBuf,
        /// Dry run whatever the file says: report what it would do.
        #[arg(long)]
        leashed: bool,
        /// Keep running, one run per interval (e.g. 1h), until Ctrl-C or SIGTERM.
        #[arg(long)]
        every: Option<String>,
        /// Seed for repeatable choices.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a chaos experiment written for Chaos Toolkit (JSON or YAML). Exit code 0 when it
    /// completed, 1 when the steady state did not hold (before, or after the method).
    Experiment {
        file: std::path::PathBuf,
        /// Where to write the journal (Chaos Toolkit's `journal.json` shape).
        #[arg(long, default_value = "journal.json")]
        journal_path: std::path::PathBuf,
        /// Record the run (journal attached) as evidence: --activity, optionally through
        /// --server.
        #[command(flatten)]
        record: Record,
    },
    /// The register of resilience measures per asset and their scheduled tests.
    #[command(subcommand)]
    Measure(MeasureCommand),
}

#[derive(Debug, Subcommand)]
pub enum MeasureCommand {
    /// Register a measure; its tests are scheduled on the calendar for its owner.
    Add {
        /// The asset it protects, by id or exact name.
        #[arg(long)]
        asset: String,
        /// raid, multipath, cluster_failover, backup_restore, redundant_network,
        /// redundant_power, dr_site or other.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// One step of the test procedure, in order (repeatable).
        #[arg(long = "step")]
        steps: Vec<String>,
        /// Owning team, by name.
        #[arg(long, conflicts_with = "person")]
        team: Option<String>,
        /// Owning person, by email.
        #[arg(long)]
        person: Option<String>,
        /// The `opsward resilience check` that verifies it: mdstat, multipath, backup, restore.
        #[arg(long)]
        check: Option<String>,
        /// RFC 5545 recurrence rule of the tests, e.g. FREQ=MONTHLY;INTERVAL=3.
        #[arg(long, default_value = "FREQ=MONTHLY")]
        rrule: String,
        /// First test, local time: 2026-01-14T10:00.
        #[arg(long)]
        start: String,
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Minutes a test takes.
        #[arg(long, default_value_t = 60)]
        duration: i32,
    },
    /// List measures with their state, last result and next test. Exit code 1 when any
    /// listed measure failed its last test or has a test overdue.
    List {
        /// Asset id or exact name.
        #[arg(long)]
        asset: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// ok, failed, overdue or never_tested.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
    },
    /// Show a measure with its procedure, schedule and evidence history (JSON: everything;
    /// CSV: the evidence history).
    Show { id: i64 },
    /// Record a manual test result; it completes the latest scheduled test still open, and a
    /// failed or partial result notifies the owners.
    Result {
        id: i64,
        /// passed, failed or partial.
        #[arg(long)]
        result: String,
        #[arg(long, default_value = "")]
        notes: String,
        /// A link to a ticket, log or report (repeatable).
        #[arg(long = "link")]
        links: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Linux software RAID: degraded or inactive arrays fail, resyncing ones are partial.
    Mdstat {
        #[arg(long, default_value = "/proc/mdstat")]
        file: std::path::PathBuf,
        #[command(flatten)]
        record: Record,
    },
    /// Multipath storage: any failed path is partial, no usable path fails. Reads the output
    /// of `multipathd show paths` from --file, or runs it.
    Multipath {
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        record: Record,
    },
    /// Backup freshness: the newest file under DIR must be younger than --max-age and at
    /// least --min-size bytes.
    Backup {
        dir: std::path::PathBuf,
        /// e.g. 26h, 90m, 2d.
        #[arg(long, default_value = "26h")]
        max_age: String,
        #[arg(long, default_value_t = 1)]
        min_size: u64,
        #[command(flatten)]
        record: Record,
    },
    /// A restore test: run a command (sh -c) that must exit 0 within --timeout and, with
    /// --expect, print that text.
    Restore {
        #[arg(long)]
        command: String,
        /// e.g. 10m, 1h.
        #[arg(long, default_value = "30m")]
        timeout: String,
        #[arg(long)]
        expect: Option<String>,
        #[command(flatten)]
        record: Record,
    },
}

#[derive(Debug, clap::Args)]
pub struct Record {
    /// Record the result as evidence on this calendar activity.
    #[arg(long, value_name = "ID")]
    pub activity: Option<i64>,
    /// Report to this opsward server over its API instead of writing to the database (how
    /// a host without database access reports, e.g. from cron).
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
