//! The command line: `opsward <practice|admin> <verb>`.

use crate::output::OutputFormat;
use clap::{Args, Parser, Subcommand};
use std::{net::SocketAddr, path::PathBuf};

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
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The register of hosts, services, endpoints and applications.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Teams that own assets.
    #[command(subcommand)]
    Team(TeamCommand),
    /// People who own assets or are contacts.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Show the audit log, newest first.
    Audit(AuditArgs),
    /// Show background jobs, newest first.
    Jobs(JobsArgs),
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
    /// Show one asset by name or id.
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
