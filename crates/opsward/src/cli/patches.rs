//! `opsward patch ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum PatchCommand {
    /// Hosts with their patch state. Exit code 1 when any listed host has overdue updates.
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
}
