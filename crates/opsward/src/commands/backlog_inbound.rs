//! `opsward backlog inbound run`.

use crate::{cli::InboundCommand, config::Config, output::print, output::OutputFormat};
use anyhow::{anyhow, Result};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

const RUN_COLUMNS: &[&str] = &[
    "uid",
    "action",
    "item_id",
    "comment_id",
    "from",
    "subject",
    "detail",
];

pub async fn inbound(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: InboundCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        InboundCommand::Run => {
            if !config.backlog_inbound.enabled() {
                return Err(anyhow!(
                    "inbound email is not configured: set host (and the rest) in [backlog_inbound]"
                ));
            }
            let run =
                opsward_server::backlog_inbound::run(store.as_ref(), &config.backlog_inbound).await;
            print(out, &run.messages, RUN_COLUMNS)?;
            if let Some(e) = &run.error {
                return Err(anyhow!("inbound email: {e}"));
            }
            Ok(if run.failed() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
