//! The `opsward` binary: the CLI, configuration and wiring of store, server and scheduler.

mod cli;
mod commands;
mod config;
mod output;

use clap::Parser;
use cli::{Cli, Command};
use config::{Config, FlagOverrides};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = FlagOverrides {
        listen: match &cli.command {
            Command::Serve(args) => args.listen,
            _ => None,
        },
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        scheduler: match &cli.command {
            Command::Serve(args) if args.no_scheduler => Some(false),
            _ => None,
        },
    };
    let config = match Config::load(cli.config.as_deref(), &flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    commands::init_logging(
        &config,
        cli.verbose,
        matches!(cli.command, Command::Serve(_)),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::dispatch(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
