//! `opsward patch ...`.

use clap::Subcommand;
use opsward_patches::reboot::RebootPolicy;

#[derive(Debug, Subcommand)]
pub enum PatchCommand {
    /// Hosts with their patch state. With `--host`, also each listed host's pending updates
    /// with their severity and the vulnerability findings each closes (JSON: `updates`, each
    /// with `fixes`). Exit code 1 when any listed host has overdue updates.
    Status {
        /// Hosts whose name contains this.
        #[arg(long)]
        host: Option<String>,
        /// Only hosts with overdue updates.
        #[arg(long)]
        overdue: bool,
    },
    /// Mint an enrollment token for agents (`enrollment_token_file` in [patches]); the
    /// secret is printed once.
    EnrollmentToken {
        #[arg(long)]
        name: String,
        /// Lifetime in days (1-365).
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Approve upgrading packages on the hosts of a ring; they install them in the ring's
    /// window, and the set is promoted to the next ring after success and the soak time.
    Approve {
        /// The ring's name.
        #[arg(long)]
        ring: String,
        /// Package names to upgrade.
        #[arg(required = true)]
        packages: Vec<String>,
        /// Reboot after installing this set: `never` or `if-required` (inside the window,
        /// after a successful install that needs one) [default: the ring's policy].
        #[arg(long, value_name = "POLICY")]
        reboot: Option<RebootPolicy>,
    },
    /// Pending updates across the fleet, those closing the most KEV findings first, then the
    /// most findings, then the highest severity, then the soonest due. Exit code 1 when any
    /// listed update is overdue.
    Updates {
        /// Hosts whose name contains this.
        #[arg(long)]
        host: Option<String>,
        /// Only updates that close a finding in CISA's KEV catalog.
        #[arg(long)]
        closes_kev: bool,
        /// Only updates that close at least one finding.
        #[arg(long)]
        closes: bool,
        /// Only security updates.
        #[arg(long)]
        security: bool,
    },
    /// Rings in rollout order with their window (next opening), soak time and hosts; with a
    /// subcommand, add, change or delete one.
    Rings {
        #[command(subcommand)]
        action: Option<RingCommand>,
    },
    /// Hosts' ring membership.
    #[command(subcommand)]
    Hosts(PatchHostsCommand),
    /// Installation runs (the evidence), newest first. Exit code 1 when any listed run failed.
    Runs {
        /// Runs on hosts whose name contains this.
        #[arg(long)]
        host: Option<String>,
        /// Runs of this approval.
        #[arg(long)]
        approval: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RingCommand {
    /// Rings in rollout order (the same as `patch rings`).
    List,
    /// Add a ring: its place in the rollout order, its maintenance window and soak time.
    Add {
        name: String,
        /// Order of rollout: lower first (0-1000000, unique).
        #[arg(long)]
        order: i64,
        /// When the window recurs, an RFC 5545 rule (`FREQ=WEEKLY;BYDAY=TU`); empty for a
        /// one-off window.
        #[arg(long, default_value = "")]
        rrule: String,
        /// The first window's start, local time in --timezone (`2026-12-01T02:00`).
        #[arg(long)]
        start: String,
        /// IANA time zone of the window (`Europe/Berlin`, `UTC`).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Window length in minutes (1-10080).
        #[arg(long, default_value_t = 120)]
        minutes: i64,
        /// Hours after this ring succeeded before the next ring gets the set (0-2160).
        #[arg(long, default_value_t = 24)]
        soak_hours: i64,
        /// Reboot after installing: `never`, or `if-required` (inside the window, after a
        /// successful install that needs one).
        #[arg(long, value_name = "POLICY", default_value = "never")]
        reboot: RebootPolicy,
    },
    /// Change a ring; what is not given stays.
    Update {
        name: String,
        /// A new name.
        #[arg(long)]
        rename: Option<String>,
        #[arg(long)]
        order: Option<i64>,
        #[arg(long)]
        rrule: Option<String>,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long)]
        minutes: Option<i64>,
        #[arg(long)]
        soak_hours: Option<i64>,
        /// `never` or `if-required`.
        #[arg(long, value_name = "POLICY")]
        reboot: Option<RebootPolicy>,
    },
    /// Delete a ring that has no approvals (approvals and runs are evidence); its hosts are
    /// left in no ring.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum PatchHostsCommand {
    /// Put hosts (by hostname) in a ring, or with --none in no ring.
    Assign {
        /// The ring's name.
        #[arg(long, required_unless_present = "none", conflicts_with = "none")]
        ring: Option<String>,
        /// Take the hosts out of their ring.
        #[arg(long)]
        none: bool,
        #[arg(required = true)]
        hosts: Vec<String>,
    },
}
