//! Scheduled re-import of the threat-intelligence feeds from the paths or URLs the settings
//! name. A URL is fetched over HTTP(S) with the settings' timeout; a fetch that fails (no
//! answer, an HTTP error status, a timeout) changes nothing and is recorded as a `failed`
//! import run, so the previous data stays and the failure is visible. What is fetched is
//! imported like `opsward vuln import` does (incremental, atomic, recorded).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use opsward_core::Actor;
use opsward_store::{on_backend, StoreError};

use crate::findings::{FeedKind, ImportProblem, ImportRun};
use crate::osv::load_path;
use crate::store::{postgres, sqlite};
use crate::threat::{parse_epss, parse_kev, FeedError};
use crate::VulnStore;

/// Largest download accepted (osv.dev's biggest `all.zip` is a few hundred MiB).
pub const MAX_DOWNLOAD_BYTES: usize = 1 << 30;

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Fetches a URL: the body of a 2xx answer, within `timeout` for the whole exchange.
pub async fn fetch_url(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("opsward/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("no answer within {timeout:?}")
        } else {
            format!("{e}")
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOWNLOAD_BYTES as u64)
    {
        return Err(format!("larger than {MAX_DOWNLOAD_BYTES} bytes"));
    }
    let body = response.bytes().await.map_err(|e| {
        if e.is_timeout() {
            format!("download not finished within {timeout:?}")
        } else {
            format!("{e}")
        }
    })?;
    if body.len() > MAX_DOWNLOAD_BYTES {
        return Err(format!("larger than {MAX_DOWNLOAD_BYTES} bytes"));
    }
    Ok(body.to_vec())
}

/// Where a downloaded OSV body goes so `load_path` reads it: a zip as `all.zip`, else as a
/// record named like the URL's last segment (`.json` unless it says `.yaml`).
fn osv_download_name(url: &str, body: &[u8]) -> String {
    if body.starts_with(b"PK") {
        return "all.zip".into();
    }
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect::<String>();
    if last.ends_with(".yaml") || last.ends_with(".yml") || last.ends_with(".json") {
        last
    } else {
        "record.json".into()
    }
}

fn failed_run(kind: FeedKind, source: &str, reason: String, now: DateTime<Utc>) -> ImportRun {
    ImportRun {
        id: 0,
        kind,
        source: source.to_owned(),
        at: now,
        outcome: "failed".into(),
        records_read: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        removed: 0,
        problems: vec![ImportProblem {
            file: source.to_owned(),
            line: None,
            reason,
        }],
    }
}

fn problem(e: FeedError) -> ImportProblem {
    ImportProblem {
        file: e.file,
        line: e.line,
        reason: e.reason,
    }
}

async fn read_text(source: &str, timeout: Duration) -> Result<String, String> {
    let bytes = if is_url(source) {
        fetch_url(source, timeout).await?
    } else {
        tokio::fs::read(source)
            .await
            .map_err(|e| format!("cannot read: {e}"))?
    };
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Imports one feed from `source` (a path or a URL) now. A failed fetch is recorded as a
/// `failed` run; bad content as a `rejected` one; either way the stored data is unchanged.
pub async fn reimport(
    vulns: &VulnStore,
    actor: &Actor,
    kind: FeedKind,
    source: &str,
    timeout: Duration,
) -> Result<ImportRun, StoreError> {
    let now = Utc::now();
    let failed = |reason: String| failed_run(kind, source, reason, now);
    match kind {
        FeedKind::Osv => {
            let (_dir, path): (Option<tempfile::TempDir>, PathBuf) = if is_url(source) {
                let body = match fetch_url(source, timeout).await {
                    Ok(body) => body,
                    Err(e) => return record_failed(vulns, actor, failed(e)).await,
                };
                let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let path = dir.path().join(osv_download_name(source, &body));
                tokio::fs::write(&path, &body)
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("temporary file: {e}")))?;
                (Some(dir), path)
            } else {
                if !Path::new(source).exists() {
                    return record_failed(vulns, actor, failed("does not exist".into())).await;
                }
                (None, PathBuf::from(source))
            };
            let loaded = tokio::task::spawn_blocking(move || load_path(&path))
                .await
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            vulns.import_osv(actor, source, &loaded).await
        }
        FeedKind::Kev | FeedKind::Epss => {
            let text = match read_text(source, timeout).await {
                Ok(text) => text,
                Err(e) => return record_failed(vulns, actor, failed(e)).await,
            };
            if kind == FeedKind::Kev {
                match parse_kev(source, &text) {
                    Ok(catalog) => vulns.import_kev(actor, source, &catalog).await,
                    Err(e) => {
                        vulns
                            .reject_import(actor, kind, source, vec![problem(e)])
                            .await
                    }
                }
            } else {
                match parse_epss(source, &text) {
                    Ok(file) => vulns.import_epss(actor, source, &file).await,
                    Err(e) => {
                        vulns
                            .reject_import(actor, kind, source, vec![problem(e)])
                            .await
                    }
                }
            }
        }
    }
}

async fn record_failed(
    vulns: &VulnStore,
    actor: &Actor,
    run: ImportRun,
) -> Result<ImportRun, StoreError> {
    tracing::warn!(feed = %run.kind, source = %run.source, problems = ?run.problems, "feed fetch failed; previous data kept");
    on_backend!(vulns.database(), reject(actor, run))
}

/// Re-imports each configured feed whose last run from the same source is older than the
/// interval (a setting; 0 = off). Returns the runs made.
pub async fn reimport_due(
    vulns: &VulnStore,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<ImportRun>, StoreError> {
    let feeds = vulns.settings().await?.feeds;
    if feeds.interval_minutes <= 0 {
        return Ok(vec![]);
    }
    let recent = vulns.import_runs(500).await?;
    let timeout = Duration::from_secs(feeds.timeout_secs.max(1));
    let mut runs = vec![];
    for (kind, source) in [
        (FeedKind::Osv, &feeds.osv),
        (FeedKind::Kev, &feeds.kev),
        (FeedKind::Epss, &feeds.epss),
    ] {
        let Some(source) = source.as_deref().filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let last = recent.iter().find(|r| r.kind == kind && r.source == source);
        if last.is_some_and(|r| now - r.at < chrono::Duration::minutes(feeds.interval_minutes)) {
            continue;
        }
        runs.push(reimport(vulns, actor, kind, source, timeout).await?);
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_named_for_the_loader() {
        assert_eq!(
            osv_download_name("https://x/y/all.zip", b"PK\x03\x04"),
            "all.zip"
        );
        assert_eq!(
            osv_download_name("https://x/GHSA-1.json?x=1", b"{}"),
            "GHSA-1.json"
        );
        assert_eq!(osv_download_name("https://x/feed", b"{}"), "record.json");
        assert_eq!(
            osv_download_name("https://x/../../etc", b"{}"),
            "record.json"
        );
    }
}
