//! `opsward activity`, `opsward calendar`, `opsward evidence`, `opsward feed`.

use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::{ActivityCommand, CalendarArgs, EvidenceCommand, FeedCommand},
    config::Config,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use opsward_core::practice::Practice;
use opsward_ops::{
    attachments::{clean_filename, AttachmentStore},
    export::{evidence_csv, evidence_zip, fetch_attachments},
    store::NewAttachment,
    templates::{template, TEMPLATES},
    ActivityInput, CalendarFilter, EvidenceInput, EvidenceResult, OccurrenceState, OpsStore,
};
use opsward_store::Store;
use std::{io::Write, process::ExitCode, sync::Arc};

fn practice(text: Option<&str>) -> Result<Option<Practice>> {
    text.map(|p| {
        p.parse::<Practice>()
            .map_err(|e| anyhow!("--practice: {e}"))
    })
    .transpose()
}

fn day(text: Option<&str>, flag: &str) -> Result<Option<NaiveDate>> {
    text.map(|d| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("{flag} must be YYYY-MM-DD"))
    })
    .transpose()
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// The file store `[file_store]` configures (by default `data_dir/attachments`).
pub fn attachments(config: &Config) -> Result<AttachmentStore> {
    config.file_store()
}

pub async fn activity(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: ActivityCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let ops = OpsStore::new(store.as_ref());
    match cmd {
        ActivityCommand::Templates => print(
            out,
            TEMPLATES,
            &["key", "title", "practice", "rrule", "duration_minutes"],
        )?,
        ActivityCommand::Add {
            title,
            practice: p,
            template: t,
            rrule,
            start,
            timezone,
            duration,
            owner,
            description,
        } => {
            let base = match &t {
                Some(key) => Some(template(key).ok_or_else(|| {
                    anyhow!("no template {key:?}; see `opsward activity templates`")
                })?),
                None => None,
            };
            let starts_local = NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M:%S"))
                .context("--start must look like 2026-01-14T22:00")?;
            let (mut team, mut person) = (None, None);
            if let Some(owner) = owner.as_deref() {
                match owner.split_once(':') {
                    Some(("team", name)) => team = Some(team_named(store, name).await?.id),
                    Some(("person", email)) => {
                        person = Some(person_with_email(store, email).await?.id)
                    }
                    _ => bail!("--owner must be team:<name> or person:<email>"),
                }
            }
            let input = ActivityInput {
                title: title
                    .or(base.map(|b| b.title.to_string()))
                    .ok_or_else(|| anyhow!("--title or --template is required"))?,
                practice: match practice(p.as_deref())? {
                    Some(p) => p,
                    None => base.map(|b| b.practice).unwrap_or(Practice::General),
                },
                template: t.clone(),
                description: description
                    .or(base.map(|b| b.description.to_string()))
                    .unwrap_or_default(),
                rrule: rrule
                    .or(base.map(|b| b.rrule.to_string()))
                    .unwrap_or_default(),
                starts_local,
                timezone,
                duration_minutes: duration.or(base.map(|b| b.duration_minutes)).unwrap_or(60),
                owner_team_id: team,
                owner_person_id: person,
                asset_id: None,
                active: true,
            };
            print_one(out, &ops.create_activity(&cli_actor(), &input).await?)?;
        }
        ActivityCommand::List { practice: p } => {
            let filter = CalendarFilter {
                practice: practice(p.as_deref())?,
                ..Default::default()
            };
            print(
                out,
                &ops.list_activities(&filter, true).await?,
                &[
                    "id",
                    "title",
                    "practice",
                    "rrule",
                    "starts_local",
                    "timezone",
                    "active",
                ],
            )?;
        }
        ActivityCommand::Show { id } => print_one(out, &ops.get_activity(id).await?)?,
        ActivityCommand::Rm { id } => {
            ops.delete_activity(&cli_actor(), id).await?;
            eprintln!("removed activity {id}; its evidence is kept");
        }
        ActivityCommand::Complete {
            id,
            result,
            occurrence,
            notes,
            links,
            attach,
        } => {
            let result = result
                .parse::<EvidenceResult>()
                .map_err(|e| anyhow!("--result: {e}"))?;
            let occurrence_at = occurrence
                .map(|o| {
                    o.parse::<DateTime<Utc>>()
                        .context("--occurrence must be an RFC 3339 time")
                })
                .transpose()?;
            let store_files = attachments(config)?;
            let mut files = Vec::new();
            for path in attach {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let sha256 = store_files
                    .save(&bytes)
                    .await
                    .with_context(|| format!("cannot attach {}", path.display()))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                files.push(NewAttachment {
                    filename: clean_filename(&name),
                    content_type: "application/octet-stream".into(),
                    size_bytes: bytes.len() as i64,
                    sha256,
                });
            }
            let input = EvidenceInput {
                occurrence_at,
                result,
                notes,
                links,
            };
            let evidence = ops.complete(&cli_actor(), id, &input, &files).await?;
            let notifier = opsward_ops::notifications::Notifier::new(store.as_ref());
            let owner = ops
                .get_activity(id)
                .await
                .ok()
                .map_or((None, None), |a| (a.owner_team_id, a.owner_person_id));
            opsward_ops::notifications::events::evidence_recorded(
                &notifier,
                &evidence,
                owner,
                Utc::now(),
            )
            .await?;
            print_one(out, &evidence)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn calendar(
    store: &Arc<dyn Store>,
    args: CalendarArgs,
    out: OutputFormat,
) -> Result<ExitCode> {
    let ops = OpsStore::new(store.as_ref());
    let today = Utc::now().date_naive();
    let from = day(args.from.as_deref(), "--from")?.unwrap_or(today - Duration::days(30));
    let to = day(args.to.as_deref(), "--to")?.unwrap_or(today + Duration::days(30));
    if to <= from || (to - from).num_days() > 400 {
        bail!("--to must be after --from and at most 400 days later");
    }
    let state = match args.state.as_deref() {
        None => None,
        Some("done") => Some(OccurrenceState::Done),
        Some("overdue") => Some(OccurrenceState::Overdue),
        Some("upcoming") => Some(OccurrenceState::Upcoming),
        Some(other) => bail!("--state {other:?} is not done, overdue or upcoming"),
    };
    let filter = CalendarFilter {
        practice: practice(args.practice.as_deref())?,
        ..Default::default()
    };
    let mut occurrences = ops
        .occurrences(&filter, midnight(from), midnight(to), Utc::now())
        .await?;
    let overdue = occurrences
        .iter()
        .any(|o| o.state == OccurrenceState::Overdue);
    if let Some(state) = state {
        occurrences.retain(|o| o.state == state);
    }
    print(
        out,
        &occurrences,
        &[
            "starts_local",
            "timezone",
            "activity_id",
            "title",
            "practice",
            "state",
            "result",
        ],
    )?;
    Ok(if overdue {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn evidence(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: EvidenceCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let ops = OpsStore::new(store.as_ref());
    let (p, from, to) = match &cmd {
        EvidenceCommand::List { practice, from, to }
        | EvidenceCommand::Export {
            practice, from, to, ..
        } => (practice.clone(), from.clone(), to.clone()),
    };
    let list = ops
        .list_evidence(
            practice(p.as_deref())?,
            None,
            day(from.as_deref(), "--from")?.map(midnight),
            day(to.as_deref(), "--to")?.map(midnight),
            100_000,
        )
        .await?;
    match cmd {
        EvidenceCommand::List { .. } => print(
            out,
            &list,
            &[
                "id",
                "recorded_at",
                "practice",
                "title",
                "result",
                "recorded_by",
                "notes",
            ],
        )?,
        EvidenceCommand::Export { zip, out: path, .. } => {
            let bytes = if zip {
                let files = fetch_attachments(&list, &attachments(config)?).await;
                evidence_zip(&list, &files).map_err(|e| anyhow!("cannot build the ZIP: {e}"))?
            } else {
                let mut buf = Vec::new();
                evidence_csv(&mut buf, &list)?;
                buf
            };
            match path {
                Some(path) => {
                    let tmp = path.with_extension("partial");
                    std::fs::write(&tmp, &bytes)
                        .with_context(|| format!("cannot write {}", tmp.display()))?;
                    std::fs::rename(&tmp, &path)?;
                    eprintln!(
                        "exported {} evidence record(s) to {}",
                        list.len(),
                        path.display()
                    );
                }
                None if zip => bail!("--zip needs --out FILE"),
                None => std::io::stdout().write_all(&bytes)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn feed(store: &Arc<dyn Store>, cmd: FeedCommand, out: OutputFormat) -> Result<ExitCode> {
    let ops = OpsStore::new(store.as_ref());
    let user = |name: String| async move {
        store
            .user_credentials(&name)
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| anyhow!("no user named {name:?}"))
    };
    match cmd {
        FeedCommand::Add {
            username,
            name,
            team,
        } => {
            let user = user(username).await?;
            let team_id = match team {
                Some(t) => Some(team_named(store, &t).await?.id),
                None => None,
            };
            let token = opsward_server::auth::secret::random_secret();
            let feed = ops
                .create_feed(
                    &cli_actor(),
                    user.id,
                    team_id,
                    &name,
                    &opsward_server::auth::secret::hash_secret(&token),
                )
                .await?;
            println!("/ical/{token}.ics");
            eprintln!(
                "feed {} (id {}): add the path to your server's address; shown once",
                feed.name, feed.id
            );
        }
        FeedCommand::List { username } => print(
            out,
            &ops.list_feeds(user(username).await?.id).await?,
            &["id", "name", "team_id", "created_at", "revoked_at"],
        )?,
        FeedCommand::Rm { id } => {
            ops.revoke_feed(&cli_actor(), id).await?;
            eprintln!("revoked feed {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
