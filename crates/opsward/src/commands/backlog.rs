//! `opsward backlog add|list|show|update|import|export`.

use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::BacklogCommand,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Context, Result};
use opsward_backlog::{
    transfer::{read_csv_lines, read_json, write_csv, ColumnMapping, RowError},
    BacklogStore, CommentInput, ItemFilter, ItemInput, ItemPatch, ItemState, ItemType,
};
use opsward_core::page::PageRequest;
use opsward_store::{Store, StoreError};
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

const COLUMNS: &[&str] = &[
    "id",
    "item_type",
    "state",
    "priority",
    "title",
    "team_id",
    "assignee_person_id",
];

pub(super) fn parsed<T: std::str::FromStr<Err = String>>(
    flag: &str,
    text: Option<&str>,
) -> Result<Option<T>> {
    text.map(|t| t.parse::<T>().map_err(|e| anyhow!("{flag}: {e}")))
        .transpose()
}

/// `none` clears an owner; anything else names a team.
async fn team_ref(store: &Arc<dyn Store>, name: &str) -> Result<Option<i64>> {
    Ok(match name {
        "none" => None,
        name => Some(team_named(store, name).await?.id),
    })
}

/// `none` clears the assignee; anything else is a person's email.
async fn person_ref(store: &Arc<dyn Store>, email: &str) -> Result<Option<i64>> {
    Ok(match email {
        "none" => None,
        email => Some(person_with_email(store, email).await?.id),
    })
}

pub async fn backlog(
    store: &Arc<dyn Store>,
    config: &crate::config::Config,
    cmd: BacklogCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let backlog = BacklogStore::new(store.as_ref());
    match cmd {
        BacklogCommand::Add {
            item_type,
            title,
            description,
            impact,
            urgency,
            team,
            assignee,
            tags,
            assets,
        } => {
            let input = ItemInput {
                item_type: parsed::<ItemType>("--type", Some(&item_type))?.expect("given"),
                title,
                description,
                impact,
                urgency,
                wsjf: None,
                team_id: match team {
                    Some(t) => team_ref(store, &t).await?,
                    None => None,
                },
                assignee_person_id: match assignee {
                    Some(a) => person_ref(store, &a).await?,
                    None => None,
                },
                tags,
                asset_ids: assets,
            };
            let duplicates = backlog.similar(&input.title, &input.description).await?;
            let item = backlog.create_item(&cli_actor(), &input).await?;
            print_one(out, &item)?;
            for d in duplicates {
                eprintln!("possible duplicate: #{} [{}] {}", d.id, d.state, d.title);
            }
        }
        BacklogCommand::List {
            state,
            item_type,
            team,
            assignee,
            query,
            filter,
            limit,
        } => {
            let saved = match filter {
                Some(name) => {
                    opsward_backlog::filters::SavedFilters::new(store.as_ref())
                        .named(None, &name)
                        .await
                        .map_err(|e| anyhow!("--filter {name:?}: {e}"))?
                        .filter
                }
                None => ItemFilter::default(),
            };
            let filter = ItemFilter {
                state: parsed::<ItemState>("--state", state.as_deref())?.or(saved.state),
                item_type: parsed::<ItemType>("--type", item_type.as_deref())?.or(saved.item_type),
                team_id: match team {
                    Some(t) => team_ref(store, &t).await?,
                    None => saved.team_id,
                },
                assignee_person_id: match assignee {
                    Some(a) => person_ref(store, &a).await?,
                    None => saved.assignee_person_id,
                },
                q: query.or(saved.q),
            };
            let page = backlog
                .list_items(&filter, PageRequest::first(limit))
                .await?;
            print(out, &page.items, COLUMNS)?;
        }
        BacklogCommand::Show { id } => {
            let item = backlog.get_item(id).await?;
            print_one(out, &item)?;
            if let Some(sla) = backlog.sla_report(&item, chrono::Utc::now()).await? {
                println!();
                print(
                    out,
                    &[sla.own, sla.resolve],
                    &[
                        "clock",
                        "status",
                        "elapsed_minutes",
                        "target_minutes",
                        "due_at",
                        "paused",
                    ],
                )?;
            }
            let comments = backlog.comments(id).await?;
            if !comments.is_empty() {
                println!();
                print(out, &comments, &["created_at", "author", "body"])?;
            }
        }
        BacklogCommand::Update {
            id,
            ids,
            tags,
            state,
            title,
            description,
            impact,
            urgency,
            team,
            assignee,
            comment,
            based_on_version,
        } => {
            let patch = ItemPatch {
                state: parsed::<ItemState>("--state", state.as_deref())?,
                title,
                description,
                impact,
                urgency,
                team_id: match team {
                    Some(t) => Some(team_ref(store, &t).await?),
                    None => None,
                },
                assignee_person_id: match assignee {
                    Some(a) => Some(person_ref(store, &a).await?),
                    None => None,
                },
                version: based_on_version,
                tags: match tags.as_slice() {
                    [] => None,
                    [none] if none == "none" => Some(Vec::new()),
                    t => Some(t.to_vec()),
                },
                ..ItemPatch::default()
            };
            let actor = cli_actor();
            let Some(id) = id else {
                if comment.is_some() || based_on_version.is_some() {
                    return Err(anyhow!(
                        "--comment and --based-on-version take one item, not --ids"
                    ));
                }
                // The bulk edit: one transaction, every item or none.
                let items = backlog
                    .bulk_update(&actor, &ids, &patch)
                    .await
                    .map_err(|(id, e)| anyhow!("item {id}: {e}; nothing was changed"))?;
                print(out, &items, COLUMNS)?;
                return Ok(ExitCode::SUCCESS);
            };
            let item = backlog.update_item(&actor, id, &patch).await?;
            if let Some(body) = comment {
                backlog
                    .add_comment(&actor, id, &CommentInput { body })
                    .await?;
            }
            print_one(out, &item)?;
        }
        BacklogCommand::Import {
            file,
            format,
            mapping,
            dry_run,
        } => return import(&backlog, &file, format, mapping, dry_run).await,
        // Watchers, files, saved filters, the review and the charts.
        other @ (BacklogCommand::Filter(_)
        | BacklogCommand::Watch { .. }
        | BacklogCommand::Unwatch { .. }
        | BacklogCommand::Watchers { .. }
        | BacklogCommand::Attach { .. }
        | BacklogCommand::Attachments { .. }
        | BacklogCommand::Download { .. }
        | BacklogCommand::Detach { .. }
        | BacklogCommand::Review { .. }
        | BacklogCommand::Charts { .. }) => {
            return super::backlog_more::run(store, config, other, out).await;
        }
        BacklogCommand::AutoItems(_) | BacklogCommand::Inbound(_) => {
            return Err(anyhow!(
                "automatic items and inbound email are handled by their own commands"
            ))
        }
        BacklogCommand::Export { format } => {
            let items = backlog.all_items().await?;
            match format.as_str() {
                "csv" => print!("{}", write_csv(&items)?),
                "json" => println!("{}", serde_json::to_string_pretty(&items)?),
                other => return Err(anyhow!("--format: {other:?} is not csv or json")),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Check the whole file, then store every row in one transaction, or nothing.
async fn import(
    backlog: &BacklogStore,
    file: &Path,
    format: Option<String>,
    mapping: Option<PathBuf>,
    dry_run: bool,
) -> Result<ExitCode> {
    let data =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let format = format.unwrap_or_else(|| {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("csv");
        ext.to_ascii_lowercase()
    });
    let mapping: ColumnMapping = match mapping {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a column mapping", path.display()))?,
        None => ColumnMapping::default(),
    };
    let rows = match format.as_str() {
        "csv" => read_csv_lines(&data, &mapping),
        "json" => read_json(&data).map(|items| (1u64..).zip(items).collect()),
        other => return Err(anyhow!("--format: {other:?} is not csv or json")),
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(errors) => return Ok(refused(file, &errors)),
    };
    if dry_run {
        eprintln!("{}: {} rows would be imported", file.display(), rows.len());
        return Ok(ExitCode::SUCCESS);
    }
    let inputs: Vec<_> = rows.iter().map(|(_, i)| i.clone()).collect();
    match backlog.import_items(&cli_actor(), &inputs).await {
        Ok(items) => {
            eprintln!("{}: {} items imported", file.display(), items.len());
            Ok(ExitCode::SUCCESS)
        }
        Err((i, StoreError::Invalid(v))) => {
            let line = rows.get(i).map_or(0, |r| r.0);
            let errors: Vec<RowError> = v
                .errors
                .into_iter()
                .map(|e| RowError {
                    line,
                    field: e.field,
                    message: e.message,
                })
                .collect();
            Ok(refused(file, &errors))
        }
        Err((_, e)) => Err(e.into()),
    }
}

fn refused(file: &Path, errors: &[RowError]) -> ExitCode {
    for e in errors {
        eprintln!("{}:{}: {}: {}", file.display(), e.line, e.field, e.message);
    }
    eprintln!("{}: nothing imported", file.display());
    ExitCode::from(1)
}
