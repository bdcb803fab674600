//! `opsward agent`: run a host's resilience checks on their schedules and report each result
//! to the server as evidence on the check's calendar activity. The host needs only the
//! server's address and an operator's API token, never the database.

use super::agent_patches::{CommandLine, PatchAgent};
use super::resilience::{remote, run_check};
use crate::{
    cli::{AgentArgs, CheckCommand, Record},
    output::OutputFormat,
};
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
    /// A PEM file of CA certificates to trust for the server besides the system's.
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    checks: Vec<CheckConfig>,
    /// Patch reporting: inventory and pending updates on an interval.
    #[serde(default)]
    patches: Option<super::agent_patches::PatchConfig>,
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

struct AgentFile {
    file: PathBuf,
    once: bool,
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

/// `opsward agent --once` without a file: this host's report, printed, no server.
fn print_local_report(out: OutputFormat) -> Result<ExitCode> {
    let report = opsward_patches::inventory::collect::collect(&Default::default())?;
    match out {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        _ => {
            println!(
                "host {} ({}), kernel {}",
                report.hostname, report.os.pretty_name, report.kernel.release
            );
            println!(
                "{} packages, {} pending updates ({} security), reboot required: {}",
                report.packages.len(),
                report.pending.len(),
                report.pending.iter().filter(|u| u.security).count(),
                report.reboot.required
            );
            crate::output::print(
                out,
                &report.pending,
                &[
                    "name",
                    "arch",
                    "installed_version",
                    "candidate_version",
                    "security",
                ],
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(args: AgentArgs, out: OutputFormat) -> Result<ExitCode> {
    let Some(file) = args.file.clone() else {
        if !args.once {
            bail!("without an agent file only --once works (it prints this host's report)");
        }
        return print_local_report(out);
    };
    let reboot_command = args.reboot_command.clone();
    let args = AgentFile {
        file,
        once: args.once,
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let config: AgentConfig = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid agent file", args.file.display()))?;
    let server = std::env::var("OPSWARD_SERVER")
        .ok()
        .or(config.server.clone())
        .ok_or_else(|| anyhow!("no server: set server = \"https://...\" or OPSWARD_SERVER"))?;
    let patches = match &config.patches {
        Some(p) => Some((
            PatchAgent::new(
                {
                    let mut p = p.clone();
                    if let (Some(install), Some(line)) = (&mut p.install, &reboot_command) {
                        install.reboot_command = Some(CommandLine::Line(line.clone()));
                    }
                    p
                },
                server.clone(),
                super::agent_patches::client(config.ca_file.as_deref())?,
            )?,
            every(&p.every)?,
        )),
        None => None,
    };
    let token = match std::env::var("OPSWARD_TOKEN") {
        Ok(t) => t,
        // Patch reporting alone needs no API token: the host has its own credential.
        Err(_) if config.checks.is_empty() => String::new(),
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
    if schedule.is_empty() && patches.is_none() {
        bail!("{} lists no checks and no [patches]", args.file.display());
    }
    let mut patches_due = Instant::now();
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
        if let Some((agent, interval)) = &patches {
            if Instant::now() >= patches_due {
                patches_due = Instant::now() + *interval;
                match agent.cycle().await {
                    Ok(f) => {
                        unreported |= f.left > 0;
                        tracing::info!(sent = f.sent, spooled = f.left, "patch reports");
                    }
                    Err(e) => {
                        unreported = true;
                        tracing::error!(error = %e, "patch report cycle failed");
                        eprintln!("patches: {e:#}");
                    }
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
            .chain(patches.as_ref().map(|_| patches_due))
            .min()
            .expect("checks or patches");
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = &mut stop => return Ok(ExitCode::SUCCESS),
        }
    }
}
