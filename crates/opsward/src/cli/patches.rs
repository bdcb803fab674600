//! `opsward patch ...`.

use clap::Subcommand;

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
    /// Rings in rollout order with their window (next opening), soak time and hosts.
    Rings,
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
