//! `opsward resilience check ...`: run a health check and, optionally, record it as evidence.

use super::cli_actor;
use crate::{
    cli::{CheckCommand, Record, ResilienceCommand},
    output::{print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use opsward_ops::{
    notifications::{events::evidence_recorded, Notifier},
    EvidenceInput, EvidenceResult, OpsStore,
};
use opsward_resilience::health::{self, mdstat, multipath, Report, Verdict};
use opsward_store::Store;
use std::{process::ExitCode, sync::Arc, time::Duration};

pub(super) mod remote;

/// `90m`, `26h`, `2d`, or seconds.
pub(super) fn duration(text: &str) -> Result<Duration> {
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

pub(super) async fn run_check(cmd: CheckCommand) -> Result<(Report, Record)> {
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
async fn record(
    store: &Arc<dyn Store>,
    activity_id: i64,
    report: &Report,
    files: &[opsward_ops::store::NewAttachment],
) -> Result<i64> {
    let ops = OpsStore::new(store.as_ref());
    let activity = ops.get_activity(activity_id).await?;
    let now = Utc::now();
    let input = EvidenceInput {
        occurrence_at: ops.latest_started_occurrence(&activity, now).await?,
        result: match report.verdict {
            Verdict::Passed => EvidenceResult::Passed,
            Verdict::Partial => EvidenceResult::Partial,
            Verdict::Failed => EvidenceResult::Failed,
        },
        notes: report.evidence_notes(),
        links: Vec::new(),
    };
    let evidence = ops
        .complete(&cli_actor(), activity_id, &input, files)
        .await?;
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

/// Run an experiment, write its journal, and record it as evidence when asked.
async fn experiment(
    config: &crate::config::Config,
    store: impl std::future::Future<Output = Result<Arc<dyn Store>>>,
    file: &std::path::Path,
    journal_path: &std::path::Path,
    target: Record,
    out: OutputFormat,
) -> Result<ExitCode> {
    use opsward_resilience::experiment;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let definition = experiment::load(&text, yaml)?;
    let journal = experiment::run(&definition).await?;
    let bytes = serde_json::to_vec_pretty(&journal)?;
    std::fs::write(journal_path, &bytes)
        .with_context(|| format!("cannot write {}", journal_path.display()))?;
    let completed = experiment::succeeded(&journal);
    let report = Report {
        check: format!(
            "experiment \"{}\"",
            definition["title"].as_str().unwrap_or_default()
        ),
        verdict: if completed {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        findings: vec![format!(
            "status {}, deviated {}",
            journal["status"], journal["deviated"]
        )],
    };
    let journal_file = ("journal.json".to_string(), bytes);
    let evidence_id = deliver(config, store, &target, &report, Some(journal_file)).await?;
    print_one(
        out,
        &serde_json::json!({
            "title": definition["title"], "status": journal["status"], "deviated": journal["deviated"],
            "journal": journal_path, "evidence_id": evidence_id,
        }),
    )?;
    Ok(if completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Record `report` (and a file) where `target` says: nowhere, in the database, or through a
/// server's API. Only recording needs the database, so a plain check works without one.
async fn deliver(
    config: &crate::config::Config,
    store: impl std::future::Future<Output = Result<Arc<dyn Store>>>,
    target: &Record,
    report: &Report,
    file: Option<(String, Vec<u8>)>,
) -> Result<Option<i64>> {
    let Some(activity) = target.activity else {
        return Ok(None);
    };
    if let (Some(server), Some(token)) = (&target.server, &target.token) {
        return Ok(Some(
            remote::record(server, token, activity, report, file).await?,
        ));
    }
    let mut files = Vec::new();
    if let Some((name, bytes)) = file {
        let sha256 = super::calendar::attachments(config)?
            .save(&bytes)
            .await
            .context("cannot store the attachment")?;
        files.push(opsward_ops::store::NewAttachment {
            filename: name,
            content_type: "application/json".into(),
            size_bytes: bytes.len() as i64,
            sha256,
        });
    }
    Ok(Some(record(&store.await?, activity, report, &files).await?))
}

async fn monkey(
    file: &std::path::Path,
    leashed: bool,
    every: Option<&str>,
    seed: Option<u64>,
    out: OutputFormat,
) -> Result<ExitCode> {
    use opsward_resilience::monkey::{run_once, MonkeyConfig};
    let load = || -> Result<MonkeyConfig> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let mut config = MonkeyConfig::from_toml(&text)?;
        config.leashed |= leashed;
        Ok(config)
    };
    let every = every.map(duration).transpose()?;
    let mut stop = std::pin::pin!(super::serve::shutdown_signal());
    loop {
        // Read every run, so editing the file (or `enabled = false`) takes effect at once.
        let config = load()?;
        let report = run_once(&config, Utc::now(), seed).await;
        print_one(out, &report)?;
        let Some(every) = every else {
            return Ok(ExitCode::SUCCESS);
        };
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut stop => return Ok(ExitCode::SUCCESS),
        }
    }
}

pub async fn resilience(
    config: &crate::config::Config,
    store: impl std::future::Future<Output = Result<Arc<dyn Store>>>,
    cmd: ResilienceCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let check = match cmd {
        ResilienceCommand::Check(check) => check,
        ResilienceCommand::Experiment {
            file,
            journal_path,
            record,
        } => return experiment(config, store, &file, &journal_path, record, out).await,
        ResilienceCommand::Monkey {
            file,
            leashed,
            every,
            seed,
        } => return monkey(&file, leashed, every.as_deref(), seed, out).await,
        ResilienceCommand::Measure(m) => {
            return super::resilience_register::measure(&store.await?, m, out).await
        }
    };
    let (report, target) = run_check(check).await?;
    let evidence_id = deliver(config, store, &target, &report, None).await?;
    let mut shown = serde_json::to_value(&report)?;
    shown["evidence_id"] = serde_json::json!(evidence_id);
    print_one(out, &shown)?;
    Ok(if report.verdict == Verdict::Passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
