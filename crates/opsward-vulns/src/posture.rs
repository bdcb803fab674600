//! Findings from what other practices record on the same database:
//!
//! - `tls`: a certificate an endpoint serves now with a weak key or a SHA-1/MD5 signature, or
//!   an endpoint that still accepts TLS 1.0 or 1.1 (the certificates practice's `weak-key`,
//!   `weak-signature` and `old-protocol` problems), on the asset of the endpoint (else of the
//!   certificate). Fixed once a scan of the endpoint no longer finds it.
//! - `posture`: what the patch agent reports (firewall active, AV/EDR running, automatic
//!   updates) against the posture policy, with per-tag overrides. A fact the agent could
//!   not tell fails the requirement too (it is not verified).
//! - `stale_host`: a host whose last report (or enrolment) is older than `stale_hours`.
//!   Fixed when it reports again.
//!
//! Hosts are the assets of the same name (case-insensitive; else the first label of the
//! host name).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use opsward_core::{asset::Asset, Actor};
use opsward_store::{on_backend, Store, StoreError};
use serde::Serialize;

use crate::findings::{FindingKind, ScanOutcome};
use crate::policy_store::{Observed, Scope};
use crate::settings::PostureSettings;
use crate::severity::Severity;
use crate::VulnStore;

/// The certificates practice's problem codes that are weak TLS.
pub const WEAK_TLS_CODES: [&str; 3] = ["weak-key", "weak-signature", "old-protocol"];

/// A weak-TLS problem at an endpoint, as the certificates practice recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFact {
    pub asset_id: i64,
    /// `host:port`.
    pub endpoint: String,
    pub code: String,
    pub message: String,
    pub subject: String,
}

/// A host as the patch agent last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFact {
    pub hostname: String,
    pub last_seen: DateTime<Utc>,
    pub reported: bool,
    pub firewall_active: Option<bool>,
    pub av_edr_running: Option<bool>,
    pub unattended_upgrades: Option<bool>,
}

macro_rules! facts_sql {
    ($module:ident, $db:ty) => {
        mod $module {
            use super::*;
            use sqlx::Row;
            type Pool = sqlx::Pool<$db>;

            pub async fn tls(pool: &Pool) -> Result<Vec<TlsFact>, StoreError> {
                sqlx::query(
                    "SELECT COALESCE(s.asset_id, c.asset_id) AS asset_id, s.location, p.code, p.message, c.subject \
                     FROM cert_problems p JOIN cert_sightings g ON g.id = p.sighting_id \
                     JOIN cert_sources s ON s.id = g.source_id JOIN certificates c ON c.id = p.certificate_id \
                     WHERE g.current = $1 AND s.kind = 'endpoint' AND p.code IN ($2, $3, $4) \
                     AND COALESCE(s.asset_id, c.asset_id) IS NOT NULL ORDER BY s.location, g.chain_position",
                )
                .bind(true)
                .bind(WEAK_TLS_CODES[0])
                .bind(WEAK_TLS_CODES[1])
                .bind(WEAK_TLS_CODES[2])
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(TlsFact {
                        asset_id: r.try_get("asset_id")?,
                        endpoint: r.try_get("location")?,
                        code: r.try_get("code")?,
                        message: r.try_get("message")?,
                        subject: r.try_get("subject")?,
                    })
                })
                .collect()
            }

            pub async fn hosts(pool: &Pool) -> Result<Vec<HostFact>, StoreError> {
                sqlx::query(
                    "SELECT hostname, enrolled_at, last_report_at, firewall_active, av_edr_running, unattended_upgrades \
                     FROM patch_hosts ORDER BY hostname",
                )
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let last: Option<DateTime<Utc>> = r.try_get("last_report_at")?;
                    let enrolled: DateTime<Utc> = r.try_get("enrolled_at")?;
                    Ok(HostFact {
                        hostname: r.try_get("hostname")?,
                        last_seen: last.unwrap_or(enrolled),
                        reported: last.is_some(),
                        firewall_active: r.try_get("firewall_active")?,
                        av_edr_running: r.try_get("av_edr_running")?,
                        unattended_upgrades: r.try_get("unattended_upgrades")?,
                    })
                })
                .collect()
            }
        }
    };
}

facts_sql!(sqlite, sqlx::Sqlite);
facts_sql!(postgres, sqlx::Postgres);

/// Weak TLS as findings: one per asset, endpoint and problem.
pub fn tls_observations(facts: &[TlsFact]) -> Vec<Observed> {
    let mut seen = std::collections::HashSet::new();
    facts
        .iter()
        .filter(|f| seen.insert((f.asset_id, f.endpoint.clone(), f.code.clone())))
        .map(|f| Observed {
            asset_id: f.asset_id,
            package: format!("tls/{}", f.endpoint),
            problem: format!("tls:{}", f.code),
            seen: f.subject.clone(),
            summary: if f.code == "old-protocol" {
                format!("{} {}", f.endpoint, f.message)
            } else {
                format!("{} serves a weak certificate: {}", f.endpoint, f.message)
            },
            // Deprecated versions are a weakness to plan away; a breakable key or signature
            // is one to fix now.
            severity: if f.code == "old-protocol" {
                Severity::Medium
            } else {
                Severity::High
            },
        })
        .collect()
}

/// The asset a host reports for: the one of the same name, else of its first label.
pub fn asset_for_host<'a>(assets: &'a [Asset], hostname: &str) -> Option<&'a Asset> {
    let by_name: HashMap<String, &Asset> =
        assets.iter().map(|a| (a.name.to_lowercase(), a)).collect();
    let host = hostname.trim_end_matches('.').to_lowercase();
    by_name.get(&host).copied().or_else(|| {
        host.split_once('.')
            .and_then(|(short, _)| by_name.get(short).copied())
    })
}

/// Posture and stale-host findings of the hosts that map to assets.
pub fn host_observations(
    assets: &[Asset],
    hosts: &[HostFact],
    posture: &PostureSettings,
    now: DateTime<Utc>,
) -> (Vec<Observed>, Vec<Observed>) {
    let (mut failed, mut stale) = (vec![], vec![]);
    for host in hosts {
        let Some(asset) = asset_for_host(assets, &host.hostname) else {
            continue;
        };
        if now - host.last_seen > Duration::hours(posture.stale_hours) {
            let since = host.last_seen.format("%Y-%m-%d %H:%M UTC");
            stale.push(Observed {
                asset_id: asset.id,
                package: format!("host/{}", host.hostname),
                problem: "stale_host".into(),
                seen: host.last_seen.to_rfc3339(),
                summary: if host.reported {
                    format!(
                        "{} has not reported since {since} (more than {} hours)",
                        host.hostname, posture.stale_hours
                    )
                } else {
                    format!(
                        "{} has not reported since it enrolled at {since}",
                        host.hostname
                    )
                },
                severity: Severity::Medium,
            });
        }
        if !host.reported {
            continue;
        }
        let required = posture.for_tags(&asset.tags);
        for (name, needed, fact, what) in [
            (
                "firewall",
                required.firewall,
                host.firewall_active,
                "a host firewall is active",
            ),
            (
                "av_edr",
                required.av_edr,
                host.av_edr_running,
                "an anti-virus/EDR service runs",
            ),
            (
                "auto_updates",
                required.auto_updates,
                host.unattended_upgrades,
                "automatic updates are on",
            ),
        ] {
            if !needed || fact == Some(true) {
                continue;
            }
            let seen = match fact {
                Some(_) => "no",
                None => "not reported",
            };
            failed.push(Observed {
                asset_id: asset.id,
                package: format!("posture/{name}"),
                problem: format!("posture:{name}"),
                seen: seen.into(),
                summary: format!(
                    "{}: the posture policy requires that {what}; the agent reported: {seen}",
                    host.hostname
                ),
                severity: Severity::Medium,
            });
        }
    }
    (failed, stale)
}

/// What one pass of the TLS, posture and stale-host checks changed, per kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = VulnChecksOutcome)]
pub struct ChecksOutcome {
    pub tls: ScanOutcome,
    pub posture: ScanOutcome,
    pub stale_host: ScanOutcome,
}

/// Runs the three checks against what the database holds now.
pub async fn check_all(
    vulns: &VulnStore,
    store: &dyn Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ChecksOutcome, StoreError> {
    let settings = vulns.settings().await?;
    let db = store.database();
    let tls = on_backend!(&db, tls())?;
    let hosts = on_backend!(&db, hosts())?;
    let assets = crate::exposure_findings::all_assets(store).await?;
    let (failed, stale) = host_observations(&assets, &hosts, &settings.posture, now);
    let policy = settings.due.clone();
    let everything = Scope::everything();
    Ok(ChecksOutcome {
        tls: vulns
            .observe(
                actor,
                FindingKind::Tls,
                &everything,
                &tls_observations(&tls),
                &policy,
            )
            .await?,
        posture: vulns
            .observe(actor, FindingKind::Posture, &everything, &failed, &policy)
            .await?,
        stale_host: vulns
            .observe(actor, FindingKind::StaleHost, &everything, &stale, &policy)
            .await?,
    })
}
