//! `opsward resilience check ...`: run a health check and, optionally, record it as evidence.

use super::cli_actor;
use crate::{
    cli::{CheckCommand, Record, ResilienceCommand},
    output::{print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{Duration as ChronoDuration, Utc};
use opsward_ops::{
    notifications::{events::evidence_recorded, Notifier},
    CalendarFilter, EvidenceInput, EvidenceResult, OpsStore,
};
use opsward_resilience::health::{self, mdstat, multipath, Report, Verdict};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc, time::Duration};

/// `90m`, `26h`, `2d`, or seconds.
fn duration(text: &str) -> Result<Duration> {
    let (number, unit) = text.trim().split_at(
        text.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.trim().len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| anyhow!("{text:?} is not a duration like 90m, 26h or 2d"))?;
    Ok(Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("{text:?}: the unit must be s, m, h or d"),
    }))
}

async fn run_check(cmd: CheckCommand) -> Result<(Report, Record)> {
    Ok(match cmd {
        CheckCommand::Mdstat { file, record } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let arrays = mdstat::parse(&text)?;
            (health::judge_mdstat(&arrays), record)
        }
        CheckCommand::Multipath { file, record } => {
            let text = match file {
                Some(f) => std::fs::read_to_string(&f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
                None => {
                    let out = tokio::time::timeout(
                        Duration::from_secs(30),
                        tokio::process::Command::new("multipathd")
                            .args(["show", "paths"])
                            .kill_on_drop(true)
                            .output(),
                    )
                    .await
                    .context("multipathd did not answer within 30 s")?
                    .context("cannot run multipathd (is multipath-tools installed?)")?;
                    if !out.status.success() {
                        bail!(
                            "multipathd show paths failed: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        );
                    }
                    String::from_utf8_lossy(&out.stdout).into_owned()
                }
            };
            (health::judge_multipath(&multipath::parse(&text)?), record)
        }
        CheckCommand::Backup {
            dir,
            max_age,
            min_size,
            record,
        } => (
            health::backup::check(
                &dir,
                duration(&max_age)?,
                min_size,
                std::time::SystemTime::now(),
            ),
            record,
        ),
        CheckCommand::Restore {
            command,
            timeout,
            expect,
            record,
        } => (
            health::restore::run(&command, duration(&timeout)?, expect.as_deref()).await,
            record,
        ),
    })
}

/// Record `report` on the activity's occurrence that started most recently and has no
/// evidence yet (or on the activity itself when none is open).
async fn record(store: &Arc<dyn Store>, activity_id: i64, report: &Report) -> Result<i64> {
    let ops = OpsStore::new(store.as_ref());
    let activity = ops.get_activity(activity_id).await?;
    let now = Utc::now();
    let filter = CalendarFilter {
        activity_id: Some(activity_id),
        ..CalendarFilter::default()
    };
    let open = ops
        .occurrences(
            &filter,
            now - ChronoDuration::days(400),
            now + ChronoDuration::minutes(1),
            now,
        )
        .await?
        .into_iter()
        .filter(|o| o.evidence_id.is_none() && o.starts_at <= now)
        .max_by_key(|o| o.starts_at);
    let input = EvidenceInput {
        occurrence_at: open.map(|o| o.starts_at),
        result: match report.verdict {
            Verdict::Passed => EvidenceResult::Passed,
            Verdict::Partial => EvidenceResult::Partial,
            Verdict::Failed => EvidenceResult::Failed,
        },
        notes: format!(
            "{} check, {}:\n{}",
            report.check,
            report.verdict.as_str(),
            report.findings.join("\n")
        ),
        links: Vec::new(),
    };
    let evidence = ops.complete(&cli_actor(), activity_id, &input, &[]).await?;
    let notifier = Notifier::new(store.as_ref());
    evidence_recorded(
        &notifier,
        &evidence,
        (activity.owner_team_id, activity.owner_person_id),
        now,
    )
    .await?;
    Ok(evidence.id)
}

pub async fn resilience(
    store: impl std::future::Future<Output = Result<Arc<dyn Store>>>,
    cmd: ResilienceCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let check = match cmd {
        ResilienceCommand::Check(check) => check,
        ResilienceCommand::Measure(m) => {
            return super::resilience_register::measure(&store.await?, m, out).await
        }
    };
    let (report, target) = run_check(check).await?;
    // Only a check that records needs the database.
    let evidence_id = match target.activity {
        Some(activity) => Some(record(&store.await?, activity, &report).await?),
        None => None,
    };
    let mut shown = serde_json::to_value(&report)?;
    shown["evidence_id"] = serde_json::json!(evidence_id);
    print_one(out, &shown)?;
    Ok(if report.verdict == Verdict::Passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
