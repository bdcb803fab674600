//! `opsward backlog auto-items run|list`.

use super::cli_actor;
use crate::{cli::AutoItemsCommand, config::Config, output::print, output::OutputFormat};
use anyhow::{anyhow, Result};
use chrono::Utc;
use opsward_backlog::{auto::AutoItemSource, BacklogStore};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

const RUN_COLUMNS: &[&str] = &[
    "source",
    "conditions",
    "opened",
    "reprioritised",
    "cleared",
    "returned",
    "error",
];
const LIST_COLUMNS: &[&str] = &[
    "item_id",
    "source",
    "source_key",
    "active",
    "label",
    "link",
    "opened_at",
    "cleared_at",
];

pub async fn auto_items(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: AutoItemsCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        AutoItemsCommand::Run => {
            let registry =
                opsward_server::practices::registry(store.clone(), &config.server_config()?);
            let run = opsward_backlog::auto::run_auto_items(
                &BacklogStore::new(store.as_ref()),
                &registry,
                &config.backlog_auto,
                &cli_actor(),
                Utc::now(),
            )
            .await;
            print(out, &run.sources, RUN_COLUMNS)?;
            if let Some(e) = run.sources.iter().find_map(|s| s.error.as_deref()) {
                return Err(anyhow!("{e}"));
            }
            Ok(if run.conditions() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        AutoItemsCommand::List { source, active } => {
            let source = source
                .map(|s| {
                    s.parse::<AutoItemSource>()
                        .map_err(|e| anyhow!("--source: {e}"))
                })
                .transpose()?;
            let mut links = BacklogStore::new(store.as_ref())
                .auto_items(source, None)
                .await?;
            if active {
                links.retain(|l| l.active);
            }
            print(out, &links, LIST_COLUMNS)?;
            Ok(if links.iter().any(|l| l.active) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
