//! `opsward vuln exposure|policy|settings|check|refresh`.

use super::{cli_actor, open_store};
use crate::{
    cli::{PolicyCommand, PortsCommand, SettingsCommand, VulnServer},
    config::Config,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Context, Result};
use opsward_vulns::exposure::{resolve, scan, PortSet, PortState, ScanLimits};
use opsward_vulns::exposure_findings::{ExposureOutcome, ExposureReport, ExposureTarget};
use opsward_vulns::findings::FeedKind;
use opsward_vulns::policy::KevDue;
use opsward_vulns::settings::PortPolicyInput;
use opsward_vulns::VulnStore;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;

/// Every request ends: a server that hangs must not hang a cron job.
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

pub struct ExposureArgs {
    pub host: String,
    pub ports: Option<String>,
    pub allow: Option<String>,
    pub concurrency: usize,
    pub timeout_ms: u64,
}

async fn answer<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T> {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        bail!("{what}: the server answered {status}: {message}");
    }
    serde_json::from_value(body).with_context(|| format!("{what}: the server's answer"))
}

#[derive(Serialize)]
struct PortRow {
    host: String,
    port: u16,
    state: PortState,
    allowed: bool,
    exposure: bool,
}

/// Scans a host; with --server, the asset's policy on the server supplies the address and
/// ports and judges (and records) the result.
pub async fn exposure(
    args: ExposureArgs,
    remote: VulnServer,
    out: OutputFormat,
) -> Result<ExitCode> {
    let remote = match (remote.server, remote.token) {
        (Some(server), Some(token)) => Some((server.trim_end_matches('/').to_string(), token)),
        _ => None,
    };
    let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    let target: Option<ExposureTarget> = match &remote {
        None => None,
        Some((base, token)) => {
            let found: Vec<ExposureTarget> = answer(
                http.get(format!("{base}/api/v1/vulns/exposure/targets"))
                    .query(&[("name", args.host.as_str())])
                    .bearer_auth(token)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {base}"))?,
                &format!("asset {:?}", args.host),
            )
            .await?;
            Some(
                found
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow!("asset {:?}: not found", args.host))?,
            )
        }
    };
    let address = target
        .as_ref()
        .map_or(args.host.clone(), |t| t.address.clone());
    let ports_text = match (&args.ports, &target) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => t.scan_ports.clone(),
        (None, None) => "1-1024".into(),
    };
    let ports: PortSet = ports_text.parse().context("--ports")?;
    if ports.is_empty() {
        return Err(anyhow!("--ports: no ports to scan"));
    }
    let allow_text = match (&args.allow, &target) {
        (Some(a), _) => a.clone(),
        (None, Some(t)) => t.allowed.clone(),
        (None, None) => String::new(),
    };
    let mut allowed: PortSet = allow_text.parse().context("--allow")?;
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let ip = resolve(&address, timeout.max(Duration::from_secs(5))).await?;
    let limits = ScanLimits {
        concurrency: args.concurrency,
        timeout,
    };
    let results = scan(ip, &ports, limits).await;
    let open: Vec<u16> = results
        .iter()
        .filter(|r| r.state == PortState::Open)
        .map(|r| r.port)
        .collect();
    if let (Some((base, token)), Some(t)) = (&remote, &target) {
        let report = ExposureReport {
            scanned: ports_text.clone(),
            open: open.clone(),
        };
        let outcome: ExposureOutcome = answer(
            http.post(format!(
                "{base}/api/v1/vulns/assets/{}/exposure",
                t.asset_id
            ))
            .bearer_auth(token)
            .json(&report)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?,
            "recording the scan",
        )
        .await?;
        // The server's policy decides what is an exposure.
        allowed = open
            .iter()
            .filter(|p| !outcome.exposures.contains(p))
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
            .parse()
            .unwrap_or_default();
        let f = &outcome.findings;
        eprintln!(
            "recorded on {base} for asset {}: {} new, {} reopened, {} still present, {} fixed",
            t.asset, f.new, f.reopened, f.still_present, f.fixed
        );
    }
    let rows: Vec<PortRow> = open
        .iter()
        .map(|port| PortRow {
            host: args.host.clone(),
            port: *port,
            state: PortState::Open,
            allowed: allowed.contains(*port),
            exposure: !allowed.contains(*port),
        })
        .collect();
    let filtered = results
        .iter()
        .filter(|r| r.state == PortState::Filtered)
        .count();
    print(
        out,
        &rows,
        &["host", "port", "state", "allowed", "exposure"],
    )?;
    eprintln!(
        "{} ({ip}): {} ports scanned, {} open, {filtered} unanswered",
        args.host,
        results.len(),
        rows.len()
    );
    Ok(if rows.iter().any(|r| r.exposure) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

const POLICY_COLUMNS: &[&str] = &[
    "id",
    "asset_id",
    "tag",
    "allowed",
    "scan_ports",
    "address",
    "updated_at",
];

pub async fn policy(
    config: &Config,
    command: PolicyCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let vulns = VulnStore::new(store.as_ref());
    let PolicyCommand::Ports { command } = command;
    match command {
        PortsCommand::List => {
            print(out, &vulns.port_policies().await?, POLICY_COLUMNS)?;
        }
        PortsCommand::Set {
            asset,
            tag,
            allow,
            scan_ports,
            address,
        } => {
            let asset_id = match asset {
                Some(name) => Some(
                    store
                        .get_asset_by_name(&name)
                        .await
                        .with_context(|| format!("asset {name:?}"))?
                        .id,
                ),
                None => None,
            };
            let input = PortPolicyInput {
                asset_id,
                tag,
                allowed: allow,
                scan_ports,
                address,
            };
            print_one(out, &vulns.set_port_policy(&cli_actor(), &input).await?)?;
        }
        PortsCommand::Delete { id } => {
            vulns.delete_port_policy(&cli_actor(), id).await?;
            eprintln!("policy {id} deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn source(value: String) -> Option<String> {
    (!value.trim().is_empty()).then(|| value.trim().to_string())
}

pub async fn settings(
    config: &Config,
    command: SettingsCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let vulns = VulnStore::new(store.as_ref());
    let mut settings = vulns.settings().await?;
    if let SettingsCommand::Set {
        exposure_interval_minutes,
        scan_all_assets,
        default_allowed,
        scan_ports,
        require_firewall,
        require_av_edr,
        require_auto_updates,
        stale_hours,
        osv,
        kev,
        epss,
        feeds_interval_minutes,
        feeds_timeout_secs,
        critical_days,
        high_days,
        medium_days,
        low_days,
        epss_threshold,
        kev_due,
    } = command
    {
        let e = &mut settings.exposure;
        e.interval_minutes = exposure_interval_minutes.unwrap_or(e.interval_minutes);
        e.scan_all_assets = scan_all_assets.unwrap_or(e.scan_all_assets);
        e.default_allowed = default_allowed.unwrap_or(e.default_allowed.clone());
        e.scan_ports = scan_ports.unwrap_or(e.scan_ports.clone());
        let p = &mut settings.posture;
        p.required.firewall = require_firewall.unwrap_or(p.required.firewall);
        p.required.av_edr = require_av_edr.unwrap_or(p.required.av_edr);
        p.required.auto_updates = require_auto_updates.unwrap_or(p.required.auto_updates);
        p.stale_hours = stale_hours.unwrap_or(p.stale_hours);
        let f = &mut settings.feeds;
        if let Some(osv) = osv {
            f.osv = source(osv);
        }
        if let Some(kev) = kev {
            f.kev = source(kev);
        }
        if let Some(epss) = epss {
            f.epss = source(epss);
        }
        f.interval_minutes = feeds_interval_minutes.unwrap_or(f.interval_minutes);
        f.timeout_secs = feeds_timeout_secs.unwrap_or(f.timeout_secs);
        let d = &mut settings.due;
        d.critical_days = critical_days.unwrap_or(d.critical_days);
        d.high_days = high_days.unwrap_or(d.high_days);
        d.medium_days = medium_days.unwrap_or(d.medium_days);
        d.low_days = low_days.unwrap_or(d.low_days);
        if let Some(rule) = kev_due {
            d.kev = rule
                .parse::<KevDue>()
                .map_err(|e| anyhow!("--kev-due: {e}"))?;
        }
        if let Some(text) = epss_threshold {
            d.epss_threshold = match text.trim() {
                "off" | "none" => None,
                score => Some(score.parse().map_err(|_| {
                    anyhow!("--epss-threshold: {score:?} is neither a number nor off")
                })?),
            };
        }
        let (saved, rescheduled) = vulns.save_settings(&cli_actor(), &settings).await?;
        settings = saved;
        if rescheduled > 0 {
            eprintln!("{rescheduled} finding(s) rescheduled by the new due-date policy");
        }
    }
    match out {
        OutputFormat::Table => println!("{}", serde_json::to_string_pretty(&settings)?),
        _ => print_one(out, &settings)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn check(config: &Config, out: OutputFormat) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let run = opsward_vulns::practice::jobs::run_checks(store.as_ref()).await?;
    print_one(out, &run)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn refresh(config: &Config, out: OutputFormat) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let vulns = VulnStore::new(store.as_ref());
    let feeds = vulns.settings().await?.feeds;
    let timeout = Duration::from_secs(feeds.timeout_secs.max(1));
    let mut runs = vec![];
    for (kind, source) in [
        (FeedKind::Osv, feeds.osv),
        (FeedKind::Kev, feeds.kev),
        (FeedKind::Epss, feeds.epss),
    ] {
        if let Some(source) = source {
            runs.push(
                opsward_vulns::feeds::reimport(&vulns, &cli_actor(), kind, &source, timeout)
                    .await?,
            );
        }
    }
    if runs.is_empty() {
        eprintln!(
            "no feed sources configured (see `opsward vuln settings set --osv/--kev/--epss`)"
        );
    }
    for run in &runs {
        for problem in &run.problems {
            eprintln!("error: {} {}: {}", run.kind, problem.file, problem.reason);
        }
    }
    print(
        out,
        &runs,
        &[
            "id",
            "kind",
            "source",
            "at",
            "outcome",
            "records_read",
            "created",
            "updated",
            "unchanged",
            "removed",
        ],
    )?;
    Ok(if runs.iter().any(|r| r.outcome != "imported") {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
