//! `opsward cert scan tls|files`: discover certificates and print what is wrong with them.

use crate::{
    cli::{CertCommand, CertListArgs, CertScanCommand, CertScanTlsArgs, StartTlsArg},
    config::Config,
    output::{self, OutputFormat},
};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use opsward_certs::{
    aia::{explain_chain, intermediates_of, IssuerFetcher, DEFAULT_MAX_ISSUER_BYTES},
    assess_endpoint, assess_file,
    files::{default_threads, scan_paths_each},
    inventory::{
        AcceptedProtocol, CertFilter, ScanUpload, SourceKind, StoredCertificate, UploadedSource,
    },
    protocols::Verdict,
    sweep::ScanPlan,
    CheckContext, Finding, ScanOptions, Severity, StartTls, TrustStore,
};
use serde::Serialize;
use std::{borrow::Cow, process::ExitCode, time::Duration};

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

impl output::Cells<{ COLUMNS.len() }> for CertRow {
    /// Dates as serde writes them (RFC 3339, `Z`).
    fn cells(&self) -> [Cow<'_, str>; COLUMNS.len()] {
        [
            Cow::Borrowed(self.source.as_str()),
            Cow::Borrowed(self.subject.as_deref().unwrap_or("")),
            self.not_after.map_or(Cow::Borrowed(""), |t| {
                Cow::Owned(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }),
            self.days_left
                .map_or(Cow::Borrowed(""), |d| Cow::Owned(d.to_string())),
            Cow::Borrowed(self.issuer.as_deref().unwrap_or("")),
            match self.problems.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => Cow::Borrowed(one.as_str()),
                many => Cow::Owned(many.join(";")),
            },
        ]
    }
}

pub async fn cert(cmd: CertCommand, config: &Config, out: OutputFormat) -> Result<ExitCode> {
    let scan = match cmd {
        CertCommand::Scan(scan) => scan,
        CertCommand::List(args) => return list(args, config, out).await,
        CertCommand::Asset(cmd) => return super::cert_assets::asset(cmd, config, out).await,
        CertCommand::TagThresholds(args) => {
            return super::cert_assets::tag_thresholds(args, config, out).await
        }
    };
    let (rows, upload, remote) = match scan {
        CertScanCommand::Tls(args) => {
            let remote = args.remote.clone();
            let (rows, upload) = scan_tls(args, config).await?;
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
            return scan_files(paths, passwords, remote, out).await;
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

async fn scan_tls(args: CertScanTlsArgs, config: &Config) -> Result<(Vec<CertRow>, ScanUpload)> {
    let mut trust = TrustStore::public_roots();
    if let Some(path) = &args.ca_file {
        trust.add_pem_file(path).context("cannot use --ca-file")?;
    }
    let timeout = Duration::from_secs(args.timeout);
    let starttls = match args.starttls {
        StartTlsArg::Auto => StartTls::Auto,
        StartTlsArg::None => StartTls::None,
        StartTlsArg::Smtp => StartTls::Smtp,
        StartTlsArg::Imap => StartTls::Imap,
        StartTlsArg::Pop3 => StartTls::Pop3,
        StartTlsArg::Ftp => StartTls::Ftp,
        StartTlsArg::Ldap => StartTls::Ldap,
        StartTlsArg::Postgres => StartTls::Postgres,
    };
    let options = ScanOptions {
        connect_timeout: timeout,
        handshake_timeout: timeout,
        total_deadline: Duration::from_secs(args.deadline),
        concurrency: args.concurrency as usize,
        starttls,
        legacy_protocols: !args.no_old_protocols,
    };
    let ports = match &args.ports {
        Some(p) => opsward_certs::targets::parse_ports(p)?,
        None => Vec::new(),
    };
    // A target that cannot be parsed, or a range too large, is a usage error, not a finding.
    // A target named twice is one place: the plan scans it once.
    let mut plan = ScanPlan::default();
    let mut kept_texts = Vec::new();
    let mut asset_thresholds = std::collections::HashMap::new();
    for target in &args.targets {
        plan.add_text(target, &ports, starttls)?;
        if opsward_certs::targets::is_range(target) {
            kept_texts.push(target.clone());
        }
    }
    if !args.asset.is_empty() || !args.asset_tag.is_empty() {
        let assets = super::cert_assets::load_assets(config, &args.remote).await?;
        asset_thresholds =
            super::cert_assets::load_asset_thresholds(config, &args.remote, &assets).await?;
        for name in &args.asset {
            let asset = assets
                .iter()
                .find(|a| a.asset_name.eq_ignore_ascii_case(name))
                .with_context(|| format!("no asset named {name:?}"))?;
            plan.add_asset(asset, &ports, starttls)?;
            kept_texts.push(format!("asset:{}", asset.asset_name));
        }
        for tag in &args.asset_tag {
            if plan.add_tag(tag, &assets, &ports, starttls) == 0 {
                bail!("no asset tagged {tag:?} has a TLS host name or address set");
            }
            kept_texts.push(format!("tag:{tag}"));
        }
    }
    plan.check_size()?;
    let reports = plan.run(&options).await;
    let absent = reports.iter().filter(|r| r.absent()).count();
    if absent > 0 {
        eprintln!("{absent} swept endpoint(s) had nothing listening and are left out");
    }
    let reports: Vec<_> = reports.into_iter().filter(|r| !r.absent()).collect();
    let upload = ScanUpload {
        kind: SourceKind::Endpoint,
        sources: reports
            .iter()
            .map(|r| UploadedSource {
                location: r.report.target.clone(),
                starttls: Some(r.starttls.as_str().to_owned()),
                sni: r.report.parsed.as_ref().and_then(|t| t.server_name.clone()),
                asset_id: r.asset_id,
                certificates_der_hex: r
                    .report
                    .result
                    .as_ref()
                    .map(|chain| chain.iter().map(|c| hex::encode(&c.der)).collect())
                    .unwrap_or_default(),
                error: r.report.result.as_ref().err().map(|e| e.to_string()),
                old_protocols: r
                    .report
                    .protocols
                    .iter()
                    .filter_map(|c| match &c.result {
                        Ok(Verdict::Accepted { cipher_suite, .. }) => Some(AcceptedProtocol {
                            version: c.version.as_str().to_owned(),
                            cipher_suite: *cipher_suite,
                        }),
                        _ => None,
                    })
                    .collect(),
            })
            .collect(),
        directories: Vec::new(),
        targets: kept_texts,
    };
    let now = Utc::now();
    let ctx = CheckContext::at(now);
    let mut rows = Vec::new();
    let crl = args.crl.then(|| {
        opsward_certs::revocation::CrlChecker::new(
            timeout,
            opsward_certs::revocation::DEFAULT_MAX_CRL_BYTES,
        )
    });
    // Issuers a server did not send: among those the others sent, else at their AIA URL.
    let issuers = IssuerFetcher::new(timeout, DEFAULT_MAX_ISSUER_BYTES);
    let pool = intermediates_of(
        reports
            .iter()
            .filter_map(|r| r.report.result.as_ref().ok())
            .map(Vec::as_slice),
    );
    for swept in &reports {
        let report = &swept.report;
        match &report.result {
            Ok(_) => {
                // An asset's own thresholds (or its tags') decide "expires soon" on its endpoints.
                let own = swept
                    .asset_id
                    .and_then(|a| asset_thresholds.get(&a))
                    .map(|days| ctx.with_thresholds(days));
                let mut findings = assess_endpoint(report, &trust, own.as_ref().unwrap_or(&ctx));
                explain_chain(&mut findings, &pool, &issuers, &trust, now).await;
                if let Some(crl) = &crl {
                    crl.annotate(&mut findings).await;
                }
                rows.extend(findings.iter().map(|f| CertRow::from_finding(f, now)))
            }
            Err(e) => rows.push(CertRow::failed(
                report.target.clone(),
                "endpoint",
                e.to_string(),
            )),
        }
    }
    Ok((rows, upload))
}

/// Read certificate files on every core and print each row as soon as its file is read,
/// so memory stays flat however many files there are. With `--server` the paths are made
/// absolute (the server rescans them, and walks the directories again) and the results are
/// uploaded after printing.
async fn scan_files(
    paths: Vec<std::path::PathBuf>,
    passwords: Vec<String>,
    remote: crate::cli::CertServer,
    out: OutputFormat,
) -> Result<ExitCode> {
    let storing = remote.server.is_some() && remote.token.is_some();
    let paths: Vec<std::path::PathBuf> = if storing {
        paths
            .iter()
            .map(std::path::absolute)
            .collect::<std::io::Result<_>>()
            .context("cannot make the paths absolute")?
    } else {
        paths
    };
    let directories: Vec<String> = if storing {
        paths
            .iter()
            .filter(|p| p.is_dir())
            .map(|p| p.display().to_string())
            .collect()
    } else {
        Vec::new()
    };
    // Reading files blocks; keep it off the async workers.
    let (attention, sources) =
        tokio::task::spawn_blocking(move || -> Result<(bool, Vec<UploadedSource>)> {
            let now = Utc::now();
            let ctx = CheckContext::at(now);
            let mut stream = output::RowStream::new(out, &COLUMNS)?;
            let mut attention = false;
            let mut sources = Vec::new();
            let mut failed = None;
            let mut emit = |row: CertRow, stream: &mut output::RowStream| {
                attention |= row.needs_attention();
                if let Err(e) = stream.push_cells(&row) {
                    failed.get_or_insert(e);
                }
            };
            scan_paths_each(&paths, &passwords, default_threads(), |report| {
                for finding in assess_file(&report, &ctx) {
                    emit(CertRow::from_finding(&finding, now), &mut stream);
                }
                if let Some(error) = &report.error {
                    emit(
                        CertRow::failed(
                            report.path.display().to_string(),
                            "file",
                            error.to_string(),
                        ),
                        &mut stream,
                    );
                }
                if storing {
                    sources.push(UploadedSource {
                        location: report.path.display().to_string(),
                        starttls: None,
                        sni: None,
                        asset_id: None,
                        certificates_der_hex: report
                            .certificates
                            .iter()
                            .map(|c| hex::encode(&c.der))
                            .collect(),
                        error: report.error.as_ref().map(|e| e.to_string()),
                        old_protocols: Vec::new(),
                    });
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            stream.finish()?;
            Ok((attention, sources))
        })
        .await
        .context("file scan stopped")??;
    if let (Some(server), Some(token)) = (&remote.server, &remote.token) {
        let upload = ScanUpload {
            kind: SourceKind::File,
            sources,
            directories,
            targets: Vec::new(),
        };
        let stored = store_remotely(server, token, &upload).await?;
        eprintln!(
            "stored on {server} as scan {} ({} places, {} new certificates, {} renewal tasks opened)",
            stored["scan"]["id"], stored["scan"]["sources"], stored["scan"]["new_certificates"], stored["renewals_opened"]
        );
    }
    Ok(if attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
