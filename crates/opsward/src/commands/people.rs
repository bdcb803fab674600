use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::{AuditArgs, JobsArgs, PersonCommand, TeamCommand},
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Result};
use opsward_core::{
    audit::AuditFilter,
    job::JobState,
    page::PageRequest,
    people::{PersonInput, TeamInput},
};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

pub async fn team(store: &Arc<dyn Store>, cmd: TeamCommand, out: OutputFormat) -> Result<ExitCode> {
    match cmd {
        TeamCommand::Add { name, email } => print_one(
            out,
            &store
                .create_team(&cli_actor(), &TeamInput { name, email })
                .await?,
        )?,
        TeamCommand::List => print(out, &store.list_teams().await?, &["id", "name", "email"])?,
        TeamCommand::Rm { name } => {
            let team = team_named(store, &name).await?;
            store.delete_team(&cli_actor(), team.id).await?;
            eprintln!("removed team {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn person(
    store: &Arc<dyn Store>,
    cmd: PersonCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        PersonCommand::Add { name, email, team } => {
            let team_id = match team {
                Some(t) => Some(team_named(store, &t).await?.id),
                None => None,
            };
            print_one(
                out,
                &store
                    .create_person(
                        &cli_actor(),
                        &PersonInput {
                            name,
                            email,
                            team_id,
                        },
                    )
                    .await?,
            )?;
        }
        PersonCommand::List => print(
            out,
            &store.list_people().await?,
            &["id", "name", "email", "team_id"],
        )?,
        PersonCommand::Rm { email } => {
            let person = person_with_email(store, &email).await?;
            store.delete_person(&cli_actor(), person.id).await?;
            eprintln!("removed {}", person.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(store: &Arc<dyn Store>, args: AuditArgs, out: OutputFormat) -> Result<ExitCode> {
    let filter = AuditFilter {
        actor: args.actor,
        entity_type: args.entity_type,
        entity_id: args.entity_id,
        action: args.action,
        ..Default::default()
    };
    let page = store
        .list_audit(&filter, PageRequest::first(args.limit))
        .await?;
    print(
        out,
        &page.items,
        &["id", "at", "actor", "action", "entity_type", "entity_id"],
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn jobs(store: &Arc<dyn Store>, args: JobsArgs, out: OutputFormat) -> Result<ExitCode> {
    let state = match args.state.as_deref() {
        None => None,
        Some(s) => Some(
            JobState::parse(s)
                .ok_or_else(|| anyhow!("--state must be queued, running, succeeded or dead"))?,
        ),
    };
    let jobs = store.list_jobs(state, args.limit).await?;
    print(
        out,
        &jobs,
        &[
            "id",
            "kind",
            "state",
            "run_at",
            "attempts",
            "max_attempts",
            "last_error",
        ],
    )?;
    Ok(ExitCode::SUCCESS)
}
