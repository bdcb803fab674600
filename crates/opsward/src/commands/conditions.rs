//! `opsward conditions`: everything at risk now across practices, assessed from the database
//! as the server does (same practices, same configuration), worst first.

use crate::{
    cli::ConditionsArgs,
    config::Config,
    output::{print, OutputFormat},
};
use anyhow::{anyhow, Result};
use chrono::Utc;
use opsward_core::contract::Condition;
use opsward_store::Store;
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

const COLUMNS: &[&str] = &["severity", "practice", "title", "asset", "due", "link"];

/// One condition as a row.
#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    condition: &'a Condition,
    /// The asset's name, for the table.
    asset: Option<&'a str>,
    link: &'a str,
}

/// Exit code 0 when nothing matches, 1 when something is at risk, 2 on errors.
pub async fn conditions(
    store: &Arc<dyn Store>,
    config: &Config,
    args: ConditionsArgs,
    out: OutputFormat,
) -> Result<ExitCode> {
    let registry = opsward_server::practices::registry(store.clone(), &config.server_config()?);
    let now = Utc::now();
    let picture = registry.assess(now).await;
    for failure in &picture.failures {
        eprintln!("warning: {failure}");
    }
    let asset_id = match &args.asset {
        Some(key) => Some(super::assets::find(store, key).await?.id),
        None => None,
    };
    let team_id = match &args.team {
        Some(name) => Some(
            store
                .list_teams()
                .await?
                .into_iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| anyhow!("no team named {name:?}"))?
                .id,
        ),
        None => None,
    };
    let matching: Vec<&Condition> = picture
        .conditions
        .iter()
        .filter(|c| args.practice.is_none_or(|p| c.practice == p))
        .filter(|c| args.severity.is_none_or(|s| c.severity <= s))
        .filter(|c| asset_id.is_none_or(|a| c.asset_id == Some(a)))
        .filter(|c| team_id.is_none_or(|t| c.owner_team_id == Some(t)))
        .filter(|c| !args.overdue || c.is_overdue(now))
        .collect();
    let rows: Vec<Row> = matching
        .iter()
        .map(|c| Row {
            condition: c,
            asset: c.asset_name.as_deref(),
            link: &c.entity.link,
        })
        .collect();
    print(out, &rows, COLUMNS)?;
    Ok(if !picture.failures.is_empty() {
        ExitCode::from(2)
    } else if matching.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
