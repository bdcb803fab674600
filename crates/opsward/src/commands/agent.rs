//! `opsward agent`: run a host's resilience checks on their schedules and report each result
//! to the server as evidence on the check's calendar activity. The host needs only the
//! server's address and an operator's API token, never the database.

use super::resilience::{remote, run_check};
use crate::cli::{AgentArgs, CheckCommand, Record};
use anyhow::{anyhow, bail, Context, Result};
use opsward_resilience::health::Verdict;
use serde::Deserialize;
use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentConfig {
    /// The opsward server; `OPSWARD_SERVER` wins when set.
    #[serde(default)]
    server: Option<String>,
    /// A file holding the API token (kept out of the config, which is often world-readable);
    /// `OPSWARD_TOKEN` wins when set.
    #[serde(default)]
    token_file: Option<PathBuf>,
    checks: Vec<CheckConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckConfig {
    /// `mdstat`, `multipath`, `backup` or `restore`.
    kind: String,
    /// The calendar activity its results complete.
    activity: i64,
    /// How often: `15m`, `1h`, `1d`.
    every: String,
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    max_age: Option<String>,
    #[serde(default)]
    min_size: Option<u64>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    expect: Option<String>,
}

impl CheckConfig {
    fn command(&self) -> Result<CheckCommand> {
        let record = Record {
            activity: None,
            server: None,
            token: None,
        };
        Ok(match self.kind.as_str() {
            "mdstat" => CheckCommand::Mdstat {
                file: self.file.clone().unwrap_or_else(|| "/proc/mdstat".into()),
                record,
            },
            "multipath" => CheckCommand::Multipath {
                file: self.file.clone(),
                record,
            },
            "backup" => CheckCommand::Backup {
                dir: self
                    .dir
                    .clone()
                    .ok_or_else(|| anyhow!("backup check needs dir"))?,
                max_age: self.max_age.clone().unwrap_or_else(|| "26h".into()),
                min_size: self.min_size.unwrap_or(1),
                record,
            },
            "restore" => CheckCommand::Restore {
                command: self
                    .command
                    .clone()
                    .ok_or_else(|| anyhow!("restore check needs command"))?,
                timeout: self.timeout.clone().unwrap_or_else(|| "30m".into()),
                expect: self.expect.clone(),
                record,
            },
            other => bail!("unknown check kind {other:?} (mdstat, multipath, backup, restore)"),
        })
    }
}

/// A check's interval: a duration like the checks' own (`90m`, `1h`, `1d`), at least 10 s.
fn every(text: &str) -> Result<Duration> {
    let interval =
        super::resilience::duration(text).with_context(|| format!("every = {text:?}"))?;
    if interval < Duration::from_secs(10) {
        bail!("every = {text:?}: at least 10 s");
    }
    Ok(interval)
}

pub async fn run(args: AgentArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let config: AgentConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid agent file", args.file.display()))?;
    let server = std::env::var("OPSWARD_SERVER")
        .ok()
        .or(config.server.clone())
        .ok_or_else(|| anyhow!("no server: set server = \"https://...\" or OPSWARD_SERVER"))?;
    let token = match std::env::var("OPSWARD_TOKEN") {
        Ok(t) => t,
        Err(_) => {
            let path = config
                .token_file
                .as_ref()
                .ok_or_else(|| anyhow!("no token: set token_file or OPSWARD_TOKEN"))?;
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .trim()
                .to_string()
        }
    };
    // Every check is validated before the first runs: a typo fails at start, not at 3 am.
    let mut schedule = Vec::new();
    for c in &config.checks {
        c.command()?;
        schedule.push((c, every(&c.every)?, Instant::now()));
    }
    if schedule.is_empty() {
        bail!("{} lists no checks", args.file.display());
    }
    let mut stop = std::pin::pin!(super::serve::shutdown_signal());
    let (mut failed, mut unreported) = (false, false);
    loop {
        for (check, interval, due) in schedule.iter_mut() {
            if Instant::now() < *due {
                continue;
            }
            *due = Instant::now() + *interval;
            let (report, _) = run_check(check.command()?).await?;
            failed |= report.verdict != Verdict::Passed;
            match remote::record(&server, &token, check.activity, &report, None).await {
                Ok(evidence) => {
                    tracing::info!(check = %check.kind, activity = check.activity, verdict = report.verdict.as_str(), evidence, "reported")
                }
                Err(e) => {
                    // The server may be down; the next run reports again, nothing else waits.
                    unreported = true;
                    tracing::error!(check = %check.kind, activity = check.activity, error = %e, "could not report");
                    eprintln!(
                        "{} check for activity {}: {e:#}",
                        check.kind, check.activity
                    );
                }
            }
        }
        if args.once {
            return Ok(ExitCode::from(if unreported {
                2
            } else if failed {
                1
            } else {
                0
            }));
        }
        let next = schedule
            .iter()
            .map(|(_, _, due)| *due)
            .min()
            .expect("checks");
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = &mut stop => return Ok(ExitCode::SUCCESS),
        }
    }
}
