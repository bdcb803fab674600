//! `opsward backlog filter|watch|unwatch|watchers|attach|attachments|download|detach|review|charts`.

use super::{backlog::parsed, cli_actor};
use crate::{
    cli::{BacklogCommand, BacklogFilterCommand},
    config::Config,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Context, Result};
use opsward_backlog::{
    charts::{charts, state_moves},
    files::{ItemFiles, NewItemAttachment},
    filters::{SavedFilterInput, SavedFilters},
    review::{apply_decisions, review_list, Decisions},
    watch::WatchStore,
    BacklogStore, ItemFilter, ItemState, ItemType,
};
use opsward_ops::{attachments::clean_filename, OpsStore};
use opsward_store::Store;
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

/// The user with this account name.
async fn user_named(store: &Arc<dyn Store>, username: &str) -> Result<i64> {
    store
        .user_credentials(username)
        .await?
        .map(|(u, _)| u.id)
        .ok_or_else(|| anyhow!("--user: no account named {username:?}"))
}

#[derive(Serialize)]
struct ReviewRow {
    id: i64,
    priority: String,
    state: String,
    reasons: String,
    age_days: i64,
    idle_days: i64,
    title: String,
}

#[derive(Serialize)]
struct WeekRow {
    week_start: String,
    open: i64,
    new: i64,
    triaged: i64,
    in_progress: i64,
    waiting: i64,
    resolved_state: i64,
    closed: i64,
    resolved: i64,
    sla_percent: String,
}

/// The subcommands kept here (`backlog` hands them over).
pub async fn run(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: BacklogCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let backlog = BacklogStore::new(store.as_ref());
    let actor = cli_actor();
    match cmd {
        BacklogCommand::Filter(cmd) => {
            let filters = SavedFilters::new(store.as_ref());
            match cmd {
                BacklogFilterCommand::Save {
                    name,
                    state,
                    item_type,
                    query,
                } => {
                    let input = SavedFilterInput {
                        name,
                        shared: true,
                        filter: ItemFilter {
                            state: parsed::<ItemState>("--state", state.as_deref())?,
                            item_type: parsed::<ItemType>("--type", item_type.as_deref())?,
                            q: query,
                            ..ItemFilter::default()
                        },
                    };
                    print_one(out, &filters.save(&actor, None, &input).await?)?;
                }
                BacklogFilterCommand::List => {
                    let all = filters.visible(None).await?;
                    print(out, &all, &["id", "name", "shared", "created_by", "filter"])?;
                }
                BacklogFilterCommand::Delete { name } => {
                    let found = filters.named(None, &name).await?;
                    filters.delete(&actor, found.id).await?;
                    eprintln!("filter {name:?} deleted");
                }
            }
        }
        BacklogCommand::Watch { id, user } => {
            let watch = WatchStore::new(store.as_ref());
            watch
                .watch(&actor, id, user_named(store, &user).await?)
                .await?;
            print(
                out,
                &watch.watchers(id).await?,
                &["username", "email", "since"],
            )?;
        }
        BacklogCommand::Unwatch { id, user } => {
            let watch = WatchStore::new(store.as_ref());
            watch
                .unwatch(&actor, id, user_named(store, &user).await?)
                .await?;
            print(
                out,
                &watch.watchers(id).await?,
                &["username", "email", "since"],
            )?;
        }
        BacklogCommand::Watchers { id } => {
            backlog.get_item(id).await?;
            let watchers = WatchStore::new(store.as_ref()).watchers(id).await?;
            print(out, &watchers, &["username", "email", "since"])?;
        }
        BacklogCommand::Attach { id, files } => {
            backlog.get_item(id).await?;
            let kept = super::calendar::attachments(config)?;
            let records = ItemFiles::new(store.as_ref());
            let mut stored = Vec::new();
            for path in files {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let sha256 = kept
                    .save(&bytes)
                    .await
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
                let file = NewItemAttachment {
                    filename: clean_filename(&path.to_string_lossy()),
                    content_type: "application/octet-stream".into(),
                    size_bytes: bytes.len() as i64,
                    sha256,
                };
                stored.push(records.add(&actor, id, &file).await?);
            }
            print(out, &stored, &["id", "filename", "size_bytes", "sha256"])?;
        }
        BacklogCommand::Attachments { id } => {
            backlog.get_item(id).await?;
            let files = ItemFiles::new(store.as_ref()).list(id).await?;
            print(
                out,
                &files,
                &["id", "filename", "size_bytes", "uploaded_by", "uploaded_at"],
            )?;
        }
        BacklogCommand::Download {
            attachment_id,
            out: path,
        } => {
            let meta = ItemFiles::new(store.as_ref()).get(attachment_id).await?;
            let bytes = super::calendar::attachments(config)?
                .read(&meta.sha256)
                .await?;
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{} -> {}", meta.filename, path.display());
        }
        BacklogCommand::Detach { attachment_id } => {
            let gone = ItemFiles::new(store.as_ref())
                .delete(&actor, attachment_id)
                .await?;
            eprintln!("{} removed from #{}", gone.filename, gone.item_id);
        }
        BacklogCommand::Review {
            stale_days,
            top,
            apply,
            activity,
        } => {
            if !(1..=3650).contains(&stale_days) || !(1..=100).contains(&top) {
                return Err(anyhow!("--stale-days must be 1-3650 and --top 1-100"));
            }
            let now = chrono::Utc::now();
            if let Some(path) = apply {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let mut req: Decisions = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a list of decisions", path.display()))?;
                req.activity_id = activity.or(req.activity_id);
                let ops = OpsStore::new(store.as_ref());
                let outcome = apply_decisions(&backlog, &ops, &actor, &req, now).await?;
                eprintln!(
                    "{} decisions applied; evidence #{} on activity {}",
                    outcome.items.len(),
                    outcome.evidence_id,
                    outcome.activity_id
                );
                print(out, &outcome.items, &["id", "state", "priority", "title"])?;
                return Ok(ExitCode::SUCCESS);
            }
            let list = review_list(&backlog.all_items().await?, now, stale_days, top);
            let rows: Vec<ReviewRow> = list
                .entries
                .iter()
                .map(|e| ReviewRow {
                    id: e.item.id,
                    priority: e.item.priority.to_string(),
                    state: e.item.state.to_string(),
                    reasons: e
                        .reasons
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    age_days: e.age_days,
                    idle_days: e.idle_days,
                    title: e.item.title.clone(),
                })
                .collect();
            print(
                out,
                &rows,
                &[
                    "id",
                    "priority",
                    "state",
                    "reasons",
                    "age_days",
                    "idle_days",
                    "title",
                ],
            )?;
            // Items waiting for a review decision are findings.
            return Ok(if rows.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        BacklogCommand::Charts { weeks } => {
            if !(1..=104).contains(&weeks) {
                return Err(anyhow!("--weeks must be 1-104"));
            }
            let now = chrono::Utc::now();
            let items = backlog.all_items().await?;
            let moves = state_moves(store.as_ref()).await?;
            let resolved: Vec<_> = items
                .iter()
                .filter(|i| i.resolved_at.is_some())
                .cloned()
                .collect();
            let policy = backlog.compiled_sla_policy().await?;
            let sla = backlog.sla_reports(&policy, &resolved, now).await?;
            let data = charts(&items, &moves, &sla, now, weeks);
            let rows: Vec<WeekRow> = data
                .weeks
                .iter()
                .map(|w| WeekRow {
                    week_start: w.week_start.to_string(),
                    open: w.open,
                    new: w.states.new,
                    triaged: w.states.triaged,
                    in_progress: w.states.in_progress,
                    waiting: w.states.waiting,
                    resolved_state: w.states.resolved,
                    closed: w.states.closed,
                    resolved: w.resolved,
                    sla_percent: w.sla_percent.map_or(String::new(), |p| format!("{p:.0}")),
                })
                .collect();
            print(
                out,
                &rows,
                &[
                    "week_start",
                    "open",
                    "new",
                    "triaged",
                    "in_progress",
                    "waiting",
                    "resolved_state",
                    "closed",
                    "resolved",
                    "sla_percent",
                ],
            )?;
        }
        other => {
            return Err(anyhow!(
                "not a backlog subcommand of this module: {other:?}"
            ))
        }
    }
    Ok(ExitCode::SUCCESS)
}
