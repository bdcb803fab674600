//! One module per command group; each returns the process exit code.

mod agent;
mod agent_patches;
mod assets;
mod backup;
// backlog
mod backlog;
mod backlog_auto;
mod backlog_inbound;
mod backlog_more;
mod calendar;
mod cert_assets;
mod certs;
mod conditions;
mod customers;
mod faultproxy;
mod notify;
mod people;
mod resilience;
mod resilience_register;
mod serve;
mod sso;
// suppliers
mod patch_rings;
mod patch_updates;
mod patches;
mod suppliers;
mod users;
// vulns
mod vuln_policy;
mod vulns;

use crate::{
    cli::{Cli, Command},
    config::Config,
};
use anyhow::{anyhow, Context, Result};
use opsward_core::Actor;
use opsward_server::error::ApiError;
use opsward_store::{Store, StoreSettings};
use std::{process::ExitCode, sync::Arc};
use tracing_subscriber::EnvFilter;

pub fn init_logging(config: &Config, verbose: u8, serving: bool) {
    let default = match verbose {
        0 if serving => config.log_level.clone(),
        // Commands other than `serve` stay quiet unless asked: their output is the result.
        0 => "warn".to_string(),
        1 => "debug".to_string(),
        _ => "trace".to_string(),
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default))
        // async-imap traces every command it sends, the IMAP LOGIN with the mailbox password
        // among them: never let that reach the log, whatever the level asked for.
        .add_directive(
            "async_imap::imap_stream=off"
                .parse()
                .expect("a valid directive"),
        );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        // JSON strings escape control characters already: a field stays one string.
        builder.json().init();
    } else {
        builder.fmt_fields(escaped_fields()).init();
    }
}

/// Text-format fields with every control character shown as an escape: a username such as
/// "x\n2026-01-01T00:00:00Z  INFO signed in" must not write a second, forged log line, nor
/// ESC sequences to the terminal of whoever reads the log.
pub fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let text = format!("{value:?}");
        let text = opsward_core::untrusted::escape_control(&text);
        if field.name() == "message" {
            write!(writer, "{text}")
        } else {
            write!(writer, "{field}={text}")
        }
    })
    .delimited(" ")
}

pub async fn dispatch(cli: Cli, config: Config) -> Result<ExitCode> {
    let out = cli.output;
    opsward_vulns::osv::configure_archive_limits(opsward_vulns::osv::ArchiveLimits {
        max_entry_bytes: config.osv_max_entry_mib.max(1) << 20,
        max_archive_bytes: config.osv_max_archive_mib.max(1) << 20,
        max_entries: config.osv_max_entries.max(1),
    });
    match cli.command {
        Command::Serve(args) => serve::serve(config, args).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!("database schema is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup(args) => {
            backup::backup(&open_store(&config).await?, &config, args, out).await
        }
        Command::Restore(args) => backup::restore(&config, args, out).await,
        Command::User(cmd) => {
            users::user(
                &open_store(&config).await?,
                cmd,
                out,
                config.keep_api_tokens,
            )
            .await
        }
        Command::Token(cmd) => users::token(&open_store(&config).await?, cmd, out).await,
        Command::Sso(cmd) => sso::sso(&open_store(&config).await?, &config, cmd, out).await,
        Command::Asset(cmd) => assets::asset(&open_store(&config).await?, &config, cmd, out).await,
        Command::Team(cmd) => people::team(&open_store(&config).await?, cmd, out).await,
        Command::Person(cmd) => people::person(&open_store(&config).await?, cmd, out).await,
        Command::Activity(cmd) => {
            calendar::activity(&open_store(&config).await?, &config, cmd, out).await
        }
        Command::Calendar(args) => calendar::calendar(&open_store(&config).await?, args, out).await,
        Command::Evidence(cmd) => {
            calendar::evidence(&open_store(&config).await?, &config, cmd, out).await
        }
        Command::Feed(cmd) => calendar::feed(&open_store(&config).await?, cmd, out).await,
        Command::Notify(cmd) => {
            notify::notify(
                &open_store(&config).await?,
                cmd,
                out,
                config.public_url.as_deref(),
            )
            .await
        }
        // Scans read the network and files only; `cert list` opens the database unless it
        // asks a server.
        Command::Cert(cmd) => certs::cert(cmd, &config, out).await,
        Command::Faultproxy(args) => faultproxy::run(args).await,
        Command::Agent(args) => agent::run(args, out).await,
        Command::Resilience(cmd) => {
            resilience::resilience(&config, open_store(&config), cmd, out).await
        }
        Command::Audit(args) => people::audit(&open_store(&config).await?, args, out).await,
        Command::Jobs(args) => people::jobs(&open_store(&config).await?, args, out).await,
        Command::Conditions(args) => {
            conditions::conditions(&open_store(&config).await?, &config, args, out).await
        }
        // backlog
        Command::Backlog(crate::cli::BacklogCommand::AutoItems(cmd)) => {
            backlog_auto::auto_items(&open_store(&config).await?, &config, cmd, out).await
        }
        Command::Backlog(crate::cli::BacklogCommand::Inbound(cmd)) => {
            backlog_inbound::inbound(&open_store(&config).await?, &config, cmd, out).await
        }
        Command::Backlog(cmd) => {
            backlog::backlog(&open_store(&config).await?, &config, cmd, out).await
        }
        Command::Customer(cmd) => customers::customer(&open_store(&config).await?, cmd, out).await,
        Command::Survey(cmd) => customers::survey(&open_store(&config).await?, cmd, out).await,
        // suppliers
        Command::Supplier(cmd) => suppliers::supplier(&open_store(&config).await?, cmd, out).await,
        Command::Contract(cmd) => suppliers::contract(&open_store(&config).await?, cmd, out).await,
        // vulns
        Command::Vuln(cmd) => vulns::vuln(&config, cmd, out).await,
        Command::Patch(cmd) => patches::patch(&open_store(&config).await?, cmd, out).await,
    }
}

/// Open (creating if needed) the configured database and bring its schema up to date.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    if config.uses_embedded_database() {
        create_private_dir(&config.data_dir)?;
    }
    let mut settings = StoreSettings::new(config.database_url());
    settings.max_connections = config.db_max_connections;
    opsward_store::connect(&settings)
        .await
        .with_context(|| format!("cannot open the database {}", settings.redacted_url()))
}

/// The data directory holds the database and password hashes: readable by its owner only.
pub fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Changes made from the CLI are attributed to the operating-system user.
/// The audit actor of CLI changes: the operating-system account that runs the process, by
/// its real user id. `$USER` is not asked: unset it read `cli:unknown`, and set, anyone could
/// claim any name.
pub fn cli_actor() -> Actor {
    Actor::cli(&os_user_name())
}

#[cfg(unix)]
fn os_user_name() -> String {
    extern "C" {
        fn getuid() -> u32;
    }
    // SAFETY: getuid(2) takes nothing, cannot fail and touches no memory of ours.
    let uid = unsafe { getuid() };
    // The account name from the password database; a uid without one is named by number.
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?.parse::<u32>().ok()?;
                (id == uid && !name.is_empty()).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("uid{uid}"))
}

#[cfg(not(unix))]
fn os_user_name() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "unknown".into())
}

pub async fn team_named(store: &Arc<dyn Store>, name: &str) -> Result<opsward_core::people::Team> {
    let teams = store.list_teams().await?;
    teams
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| anyhow!("no team named {name:?}"))
}

/// People are found by email, which is unique and stored in lower case.
pub async fn person_with_email(
    store: &Arc<dyn Store>,
    email: &str,
) -> Result<opsward_core::people::Person> {
    let email = email.to_ascii_lowercase();
    let people = store.list_people().await?;
    people
        .into_iter()
        .find(|p| p.email == email)
        .ok_or_else(|| anyhow!("no person with email {email:?}"))
}

pub fn api_error(err: ApiError) -> anyhow::Error {
    let details: Vec<String> = err
        .details
        .iter()
        .map(|d| format!("{}: {}", d.field, d.message))
        .collect();
    if details.is_empty() {
        anyhow!(err.message)
    } else {
        anyhow!("{}", details.join("; "))
    }
}
