//! `opsward notify`: channels, rules, the outbox, and a delivery run on demand.

use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::NotifyCommand,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use opsward_notify::{ChannelConfig, Notification, Severity};
use opsward_ops::{
    notifications::{events::check_calendar, DeliveryPolicy, Notifier, QuietHours, RuleInput},
    OpsStore,
};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc};

/// `public_url` (from the configuration) makes the links in what is delivered absolute.
pub async fn notify(
    store: &Arc<dyn Store>,
    cmd: NotifyCommand,
    out: OutputFormat,
    public_url: Option<&str>,
) -> Result<ExitCode> {
    let notifier = Notifier::new(store.as_ref()).with_public_url(public_url);
    match cmd {
        NotifyCommand::ChannelAdd { name, settings } => {
            let text = match settings.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
                }
                None => settings,
            };
            let config: ChannelConfig =
                serde_json::from_str(&text).context("--settings is not a channel configuration")?;
            print_one(
                out,
                &notifier
                    .create_channel(&cli_actor(), &name, &config)
                    .await?,
            )?;
        }
        NotifyCommand::ChannelList => print(
            out,
            &notifier.list_channels().await?,
            &["id", "name", "kind", "target", "enabled"],
        )?,
        NotifyCommand::ChannelTest { id } => {
            let (channel, config) = notifier.channel(id).await?;
            let n = Notification {
                id: format!("test:{id}:{}", Utc::now().timestamp()),
                subject: format!("opsward test message for channel {}", channel.name),
                body_text: "Sent by `opsward notify channel-test`.".into(),
                body_html: None,
                severity: Severity::Info,
                practice: "general".into(),
                link: Some("/admin/notifications".into()),
                event: "test".into(),
                occurred_at: Utc::now(),
                recipients: Vec::new(),
            }
            .with_links_under(public_url);
            return match opsward_notify::deliver(&config, &n).await {
                Ok(d) => {
                    eprintln!("delivered to {}: {}", d.target, d.response);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("not delivered: {e}");
                    Ok(ExitCode::from(1))
                }
            };
        }
        NotifyCommand::RuleAdd {
            name,
            channel,
            events,
            practice,
            min_severity,
            digest,
            quiet,
            timezone,
            team,
            person,
        } => {
            let quiet_hours = match quiet {
                None => None,
                Some(q) => {
                    let (start, end) = q
                        .split_once('-')
                        .ok_or_else(|| anyhow!("--quiet must look like 22:00-07:00"))?;
                    Some(QuietHours {
                        start: start.into(),
                        end: end.into(),
                        timezone,
                    })
                }
            };
            let input = RuleInput {
                name,
                channel_id: channel,
                events,
                practice: practice
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(|e: String| anyhow!("--practice: {e}"))?,
                min_severity: min_severity
                    .parse()
                    .map_err(|e: String| anyhow!("--min-severity: {e}"))?,
                owner_team_id: match team {
                    Some(t) => Some(team_named(store, &t).await?.id),
                    None => None,
                },
                owner_person_id: match person {
                    Some(p) => Some(person_with_email(store, &p).await?.id),
                    None => None,
                },
                digest,
                quiet_hours,
                enabled: true,
            };
            print_one(
                out,
                &notifier.create_rule(&cli_actor(), None, &input).await?,
            )?;
        }
        NotifyCommand::RuleList => print(
            out,
            &notifier.list_rules().await?,
            &[
                "id",
                "name",
                "channel_id",
                "events",
                "practice",
                "min_severity",
                "digest",
                "enabled",
            ],
        )?,
        NotifyCommand::RuleRm { id } => {
            notifier.delete_rule(&cli_actor(), id).await?;
            eprintln!("removed rule {id}");
        }
        NotifyCommand::Outbox { state, limit } => {
            if !(1..=1000).contains(&limit) {
                bail!("--limit must be 1-1000");
            }
            print(
                out,
                &notifier
                    .list_outbox(state.as_deref(), i64::from(limit))
                    .await?,
                &[
                    "id",
                    "created_at",
                    "event",
                    "subject",
                    "state",
                    "attempts",
                    "last_error",
                ],
            )?;
        }
        NotifyCommand::Run => {
            let ops = OpsStore::new(store.as_ref());
            let now = Utc::now();
            let queued = check_calendar(&ops, &notifier, now).await?;
            let worker = format!("cli:{}", std::process::id());
            let report = notifier
                .deliver_all_due(
                    &worker,
                    &DeliveryPolicy::default(),
                    std::time::Duration::from_secs(3600),
                )
                .await?;
            eprintln!(
                "queued {queued}; delivered {}, retrying {}, given up {}",
                report.delivered, report.retrying, report.dead
            );
            if report.retrying > 0 || report.dead > 0 {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
