//! `opsward backup` and `opsward restore`.

use crate::{
    cli::{BackupArgs, RestoreArgs},
    config::Config,
    output::{self, OutputFormat},
};
use anyhow::Result;
use opsward_ops::backup::{self, SnapshotError};
use opsward_store::{Store, StoreSettings};
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

fn progress(line: &str) {
    eprintln!("{line}");
}

#[derive(Serialize)]
struct Line {
    what: String,
    value: String,
}

fn line(what: &str, value: impl ToString) -> Line {
    Line {
        what: what.into(),
        value: value.to_string(),
    }
}

pub async fn backup(
    store: &Arc<dyn Store>,
    config: &Config,
    args: BackupArgs,
    out: OutputFormat,
) -> Result<ExitCode> {
    let files = config.file_store()?;
    let summary = backup::backup(
        &store.database(),
        store.backend(),
        &files,
        &args.to,
        &progress,
    )
    .await
    .map_err(|e| anyhow::anyhow!("backup not written: {e}"))?;
    match out {
        OutputFormat::Json | OutputFormat::Sarif => output::print_one(out, &summary)?,
        _ => output::print(
            out,
            &[
                line("backup", summary.location.display()),
                line("from", &summary.source_backend),
                line("schema version", summary.schema_version),
                line("tables", summary.tables),
                line("rows", summary.rows),
                line("files", summary.files),
                line("file bytes", summary.file_bytes),
            ],
            &["what", "value"],
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(config: &Config, args: RestoreArgs, out: OutputFormat) -> Result<ExitCode> {
    if config.uses_embedded_database() {
        super::create_private_dir(&config.data_dir)?;
    }
    let mut settings = StoreSettings::new(config.database_url());
    settings.max_connections = config.db_max_connections;
    let files = config.file_store()?;
    let summary = match backup::restore(&settings, &files, &args.from, &progress).await {
        Ok(summary) => summary,
        Err(e @ (SnapshotError::Damaged(_) | SnapshotError::Refused(_))) => {
            eprintln!("error: nothing restored: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::anyhow!("nothing restored: {e}")),
    };
    match out {
        OutputFormat::Json | OutputFormat::Sarif => output::print_one(out, &summary)?,
        _ => {
            let mut lines = vec![
                line("restored from", summary.from.display()),
                line("taken", summary.created_at.to_rfc3339()),
                line("taken on", &summary.source_backend),
                line("schema version", summary.schema_version),
                line("schema version now", summary.schema_version_now),
                line("rows", summary.rows),
                line("files", summary.files),
                line("file bytes", summary.file_bytes),
            ];
            lines.extend(
                summary
                    .tables
                    .iter()
                    .filter(|t| t.rows > 0)
                    .map(|t| line(&format!("table {}", t.table), t.rows)),
            );
            output::print(out, &lines, &["what", "value"])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
