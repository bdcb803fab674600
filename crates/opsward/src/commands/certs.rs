//! `opsward cert scan tls|files`: discover certificates and print what is wrong with them.

use crate::{
    cli::{CertCommand, CertListArgs, CertScanCommand, CertScanTlsArgs, StartTlsArg},
    config::Config,
    output::{self, OutputFormat},
};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use opsward_certs::{
    assess_endpoint, assess_file,
    inventory::{CertFilter, ScanUpload, SourceKind, StoredCertificate, UploadedSource},
    scan_endpoints, scan_paths_with, CheckContext, Finding, ScanOptions, Severity, StartTls,
    Target, TrustStore,
};
use serde::Serialize;
use std::{process::ExitCode, time::Duration};

const COLUMNS: [&str; 6] = [
    "source",
    "subject",
    "not_after",
    "days_left",
    "issuer",
    "problems",
];

/// One printed line: a certificate at a place, or a place that yielded an error.
#[derive(Debug, Serialize)]
struct CertRow {
    source: String,
    /// `endpoint` or `file`.
    kind: &'static str,
    sni: Option<String>,
    chain_position: Option<usize>,
    subject: Option<String>,
    san_dns: Vec<String>,
    san_ip: Vec<String>,
    issuer: Option<String>,
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
    days_left: Option<i64>,
    fingerprint_sha256: Option<String>,
    serial: Option<String>,
    key: Option<String>,
    signature_algorithm: Option<String>,
    is_ca: Option<bool>,
    self_signed: Option<bool>,
    /// `severity code: message`, worst first; an unreadable source has `error: ...`.
    problems: Vec<String>,
    /// The worst problem's severity (`critical` for errors); none when clean.
    severity: Option<Severity>,
    error: Option<String>,
}

impl CertRow {
    fn from_finding(finding: &Finding, now: DateTime<Utc>) -> Self {
        let cert = &finding.certificate;
        let (kind, sni) = match &finding.sighting.source {
            opsward_certs::Source::Endpoint { sni, .. } => ("endpoint", sni.clone()),
            opsward_certs::Source::File { .. } => ("file", None),
        };
        let mut problems = finding.problems.clone();
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        CertRow {
            source: finding.sighting.source.to_string(),
            kind,
            sni,
            chain_position: Some(finding.sighting.chain_position),
            subject: cert
                .subject_cn
                .clone()
                .or_else(|| Some(cert.subject.clone())),
            san_dns: cert.san_dns.clone(),
            san_ip: cert.san_ip.iter().map(|ip| ip.to_string()).collect(),
            issuer: cert.issuer_cn.clone().or_else(|| Some(cert.issuer.clone())),
            not_before: Some(cert.not_before),
            not_after: Some(cert.not_after),
            days_left: Some(cert.days_left(now)),
            fingerprint_sha256: Some(cert.fingerprint_sha256.clone()),
            serial: Some(cert.serial.clone()),
            key: Some(cert.key.to_string()),
            signature_algorithm: Some(cert.signature_algorithm.clone()),
            is_ca: Some(cert.is_ca),
            self_signed: Some(cert.self_signed),
            severity: problems.first().map(|p| p.severity),
            problems: problems.iter().map(|p| p.to_string()).collect(),
            error: None,
        }
    }

    fn failed(source: String, kind: &'static str, error: String) -> Self {
        CertRow {
            source,
            kind,
            sni: None,
            chain_position: None,
            subject: None,
            san_dns: Vec::new(),
            san_ip: Vec::new(),
            issuer: None,
            not_before: None,
            not_after: None,
            days_left: None,
            fingerprint_sha256: None,
            serial: None,
            key: None,
            signature_algorithm: None,
            is_ca: None,
            self_signed: None,
            problems: vec![format!("error: {error}")],
            severity: Some(Severity::Critical),
            error: Some(error),
        }
    }

    /// Worth exit code 1: an error, or a warning or critical problem.
    fn needs_attention(&self) -> bool {
        self.severity.is_some_and(|s| s >= Severity::Warning)
    }
}

pub async fn cert(cmd: CertCommand, config: &Config, out: OutputFormat) -> Result<ExitCode> {
    let scan = match cmd {
        CertCommand::Scan(scan) => scan,
        CertCommand::List(args) => return list(args, config, out).await,
    };
    let (rows, upload, remote) = match scan {
        CertScanCommand::Tls(args) => {
            let remote = args.remote.clone();
            let (rows, upload) = scan_tls(args).await?;
            (rows, upload, remote)
        }
        CertScanCommand::Files {
            paths,
            password_file,
            remote,
        } => {
            let passwords = match password_file {
                Some(file) => std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read --password-file {}", file.display()))?
                    .lines()
                    .map(|l| l.trim_end_matches('\r').to_owned())
                    .filter(|l| !l.is_empty())
                    .collect(),
                None => Vec::new(),
            };
            let mut seen = std::collections::HashSet::new();
            let paths = paths
                .into_iter()
                .filter(|p| seen.insert(p.clone()))
                .collect();
            let (rows, upload) = scan_files(paths, passwords).await?;
            (rows, upload, remote)
        }
    };
    if let (Some(server), Some(token)) = (&remote.server, &remote.token) {
        let stored = store_remotely(server, token, &upload).await?;
        eprintln!(
            "stored on {server} as scan {} ({} places, {} new certificates, {} renewal tasks opened)",
            stored["scan"]["id"], stored["scan"]["sources"], stored["scan"]["new_certificates"], stored["renewals_opened"]
        );
    }
    output::print(out, &rows, &COLUMNS)?;
    Ok(if rows.iter().any(CertRow::needs_attention) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn scan_tls(mut args: CertScanTlsArgs) -> Result<(Vec<CertRow>, ScanUpload)> {
    // A target named twice is one place: scan it once (the server refuses a place listed twice).
    let mut seen = std::collections::HashSet::new();
    args.targets.retain(|t| seen.insert(t.clone()));
    // A target that cannot be parsed is a usage error, not a finding.
    for target in &args.targets {
        if let Err(e) = Target::parse(target) {
            bail!("{e}");
        }
    }
    let mut trust = TrustStore::public_roots();
    if let Some(path) = &args.ca_file {
        trust.add_pem_file(path).context("cannot use --ca-file")?;
    }
    let timeout = Duration::from_secs(args.timeout);
    let options = ScanOptions {
        connect_timeout: timeout,
        handshake_timeout: timeout,
        total_deadline: Duration::from_secs(args.deadline),
        concurrency: args.concurrency as usize,
        starttls: match args.starttls {
            StartTlsArg::Auto => StartTls::Auto,
            StartTlsArg::None => StartTls::None,
            StartTlsArg::Smtp => StartTls::Smtp,
            StartTlsArg::Imap => StartTls::Imap,
            StartTlsArg::Pop3 => StartTls::Pop3,
            StartTlsArg::Ftp => StartTls::Ftp,
            StartTlsArg::Ldap => StartTls::Ldap,
            StartTlsArg::Postgres => StartTls::Postgres,
        },
    };
    let reports = scan_endpoints(&args.targets, &options).await;
    let upload = ScanUpload {
        kind: SourceKind::Endpoint,
        sources: reports
            .iter()
            .map(|r| UploadedSource {
                location: r.target.clone(),
                starttls: Some(options.starttls.as_str().to_owned()),
                certificates_der_hex: r
                    .result
                    .as_ref()
                    .map(|chain| chain.iter().map(|c| hex::encode(&c.der)).collect())
                    .unwrap_or_default(),
                error: r.result.as_ref().err().map(|e| e.to_string()),
            })
            .collect(),
    };
    let now = Utc::now();
    let ctx = CheckContext::at(now);
    let mut rows = Vec::new();
    for report in &reports {
        match &report.result {
            Ok(_) => rows.extend(
                assess_endpoint(report, &trust, &ctx)
                    .iter()
                    .map(|f| CertRow::from_finding(f, now)),
            ),
            Err(e) => rows.push(CertRow::failed(
                report.target.clone(),
                "endpoint",
                e.to_string(),
            )),
        }
    }
    Ok((rows, upload))
}

async fn scan_files(
    paths: Vec<std::path::PathBuf>,
    passwords: Vec<String>,
) -> Result<(Vec<CertRow>, ScanUpload)> {
    // Reading files blocks; keep it off the async workers.
    let reports = tokio::task::spawn_blocking(move || scan_paths_with(&paths, &passwords))
        .await
        .context("file scan stopped")?;
    let upload = ScanUpload {
        kind: SourceKind::File,
        sources: reports
            .iter()
            .map(|r| UploadedSource {
                location: r.path.display().to_string(),
                starttls: None,
                certificates_der_hex: r.certificates.iter().map(|c| hex::encode(&c.der)).collect(),
                error: r.error.as_ref().map(|e| e.to_string()),
            })
            .collect(),
    };
    let now = Utc::now();
    let ctx = CheckContext::at(now);
    let mut rows = Vec::new();
    for report in &reports {
        rows.extend(
            assess_file(report, &ctx)
                .iter()
                .map(|f| CertRow::from_finding(f, now)),
        );
        if let Some(error) = &report.error {
            rows.push(CertRow::failed(
                report.path.display().to_string(),
                "file",
                error.to_string(),
            ));
        }
    }
    Ok((rows, upload))
}

/// Every request ends: a server that hangs must not hang a cron job.
const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

async fn answer(response: reqwest::Response, what: &str) -> Result<serde_json::Value> {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        bail!("{what}: the server answered {status}: {message}");
    }
    Ok(body)
}

async fn store_remotely(
    server: &str,
    token: &str,
    upload: &ScanUpload,
) -> Result<serde_json::Value> {
    let base = server.trim_end_matches('/');
    let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
    answer(
        http.post(format!("{base}/api/v1/certificates/scans"))
            .bearer_auth(token)
            .json(upload)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?,
        "storing the scan",
    )
    .await
}

const LIST_COLUMNS: [&str; 8] = [
    "id",
    "subject",
    "issuer",
    "not_after",
    "days_left",
    "places",
    "owner_team_id",
    "problems",
];

/// A stored certificate as `cert list` prints it.
#[derive(Debug, Serialize)]
struct ListRow {
    id: i64,
    subject: String,
    issuer: String,
    not_after: DateTime<Utc>,
    days_left: i64,
    /// Places that serve it now.
    places: i64,
    owner_team_id: Option<i64>,
    owner_person_id: Option<i64>,
    fingerprint_sha256: String,
    serial: String,
    san_dns: Vec<String>,
    problems: Vec<String>,
    severity: Option<Severity>,
}

async fn list(args: CertListArgs, config: &Config, out: OutputFormat) -> Result<ExitCode> {
    let certs: Vec<StoredCertificate> = match (&args.remote.server, &args.remote.token) {
        (Some(server), Some(token)) => {
            let base = server.trim_end_matches('/');
            let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
            let mut query: Vec<(&str, String)> = vec![("limit", args.limit.to_string())];
            if let Some(days) = args.expiring_within {
                query.push(("expiring_within_days", days.to_string()));
            }
            if let Some(p) = &args.problem {
                query.push(("problem", p.clone()));
            }
            if let Some(i) = &args.issuer {
                query.push(("issuer", i.clone()));
            }
            if args.include_retired {
                query.push(("include_retired", "true".into()));
            }
            if let Some(owner) = &args.owner {
                let teams = answer(
                    http.get(format!("{base}/api/v1/teams"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .with_context(|| format!("cannot reach {base}"))?,
                    "reading teams",
                )
                .await?;
                let id = teams
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| {
                        t["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(owner))
                    })
                    .and_then(|t| t["id"].as_i64())
                    .with_context(|| format!("no team named {owner:?}"))?;
                query.push(("owner_team", id.to_string()));
            }
            let body = answer(
                http.get(format!("{base}/api/v1/certificates"))
                    .query(&query)
                    .bearer_auth(token)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {base}"))?,
                "listing certificates",
            )
            .await?;
            serde_json::from_value(body).context("the server's certificate list")?
        }
        _ => {
            let store = crate::commands::open_store(config).await?;
            let owner_team_id = match &args.owner {
                None => None,
                Some(owner) => Some(
                    store
                        .list_teams()
                        .await?
                        .into_iter()
                        .find(|t| t.name.eq_ignore_ascii_case(owner))
                        .with_context(|| format!("no team named {owner:?}"))?
                        .id,
                ),
            };
            let filter = CertFilter {
                expires_before: args
                    .expiring_within
                    .map(|d| Utc::now() + chrono::Duration::days(d)),
                problem: args.problem.clone(),
                owner_team_id,
                issuer: args.issuer.clone(),
                include_retired: args.include_retired,
                limit: Some(args.limit),
                ..CertFilter::default()
            };
            opsward_certs::CertStore::new(store.as_ref())
                .list(&filter)
                .await?
        }
    };
    let now = Utc::now();
    let rows: Vec<ListRow> = certs
        .into_iter()
        .map(|c| ListRow {
            id: c.id,
            subject: c.display_name().to_owned(),
            issuer: c.issuer_cn.clone().unwrap_or_else(|| c.issuer.clone()),
            not_after: c.not_after,
            days_left: c.days_left(now),
            places: c.current_sightings,
            owner_team_id: c.effective_owner_team_id,
            owner_person_id: c.effective_owner_person_id,
            fingerprint_sha256: c.fingerprint_sha256,
            serial: c.serial,
            san_dns: c.san_dns,
            severity: c.problems.first().map(|p| p.severity),
            problems: c
                .problems
                .iter()
                .map(|p| format!("{} {}", p.severity, p.code))
                .collect(),
        })
        .collect();
    output::print(out, &rows, &LIST_COLUMNS)?;
    let attention = rows
        .iter()
        .any(|r| r.severity.is_some_and(|s| s >= Severity::Warning))
        || (args.expiring_within.is_some() && !rows.is_empty());
    Ok(if attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
