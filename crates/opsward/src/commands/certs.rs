//! `opsward cert scan tls|files`: discover certificates and print what is wrong with them.

use crate::{
    cli::{CertCommand, CertScanCommand, CertScanTlsArgs, StartTlsArg},
    output::{self, OutputFormat},
};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use opsward_certs::{
    assess_endpoint, assess_file, scan_endpoints, scan_paths, CheckContext, Finding, ScanOptions,
    Severity, StartTls, Target, TrustStore,
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

pub async fn cert(cmd: CertCommand, out: OutputFormat) -> Result<ExitCode> {
    let CertCommand::Scan(scan) = cmd;
    let rows = match scan {
        CertScanCommand::Tls(args) => scan_tls(args).await?,
        CertScanCommand::Files { paths } => scan_files(paths).await?,
    };
    output::print(out, &rows, &COLUMNS)?;
    Ok(if rows.iter().any(CertRow::needs_attention) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn scan_tls(args: CertScanTlsArgs) -> Result<Vec<CertRow>> {
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
        },
    };
    let reports = scan_endpoints(&args.targets, &options).await;
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
    Ok(rows)
}

async fn scan_files(paths: Vec<std::path::PathBuf>) -> Result<Vec<CertRow>> {
    // Reading files blocks; keep it off the async workers.
    let reports = tokio::task::spawn_blocking(move || scan_paths(&paths))
        .await
        .context("file scan stopped")?;
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
    Ok(rows)
}
