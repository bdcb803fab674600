//! `opsward backlog add|list|show|update`.

use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::BacklogCommand,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Result};
use opsward_backlog::{
    BacklogStore, CommentInput, ItemFilter, ItemInput, ItemPatch, ItemState, ItemType,
};
use opsward_core::page::PageRequest;
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

const COLUMNS: &[&str] = &[
    "id",
    "item_type",
    "state",
    "priority",
    "title",
    "team_id",
    "assignee_person_id",
];

fn parsed<T: std::str::FromStr<Err = String>>(flag: &str, text: Option<&str>) -> Result<Option<T>> {
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
            limit,
        } => {
            let filter = ItemFilter {
                state: parsed::<ItemState>("--state", state.as_deref())?,
                item_type: parsed::<ItemType>("--type", item_type.as_deref())?,
                team_id: match team {
                    Some(t) => team_ref(store, &t).await?,
                    None => None,
                },
                assignee_person_id: match assignee {
                    Some(a) => person_ref(store, &a).await?,
                    None => None,
                },
                q: query,
            };
            let page = backlog
                .list_items(&filter, PageRequest::first(limit))
                .await?;
            print(out, &page.items, COLUMNS)?;
        }
        BacklogCommand::Show { id } => {
            print_one(out, &backlog.get_item(id).await?)?;
            let comments = backlog.comments(id).await?;
            if !comments.is_empty() {
                println!();
                print(out, &comments, &["created_at", "author", "body"])?;
            }
        }
        BacklogCommand::Update {
            id,
            state,
            title,
            description,
            impact,
            urgency,
            team,
            assignee,
            comment,
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
                ..ItemPatch::default()
            };
            let actor = cli_actor();
            let item = backlog.update_item(&actor, id, &patch).await?;
            if let Some(body) = comment {
                backlog
                    .add_comment(&actor, id, &CommentInput { body })
                    .await?;
            }
            print_one(out, &item)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
