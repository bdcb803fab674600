//! The tables host matching reads and writes, on either backend: the hosts and their
//! packages (the patches practice's), and each host's last match (`vuln_host_scans`).

use chrono::{DateTime, Utc};
use opsward_core::host_inventory::{InstalledPackage, PendingRow, UpdateFixes};
use opsward_core::Actor;
use opsward_store::StoreError;
use serde::{Deserialize, Serialize};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A host as matching needs it, with its last match.
#[derive(Debug, Clone)]
pub struct HostToMatch {
    pub host_id: i64,
    pub hostname: String,
    pub os_id: String,
    pub os_version_id: String,
    pub last_sequence: Option<i64>,
    pub scan: Option<HostScan>,
}

/// A host's last match against the advisories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = HostVulnScan)]
pub struct HostScan {
    pub host_id: i64,
    /// The asset the host's findings are recorded on.
    pub asset_id: Option<i64>,
    /// The OSV ecosystem matched against; empty when the OS has none (`note` says why).
    pub ecosystem: String,
    /// The host report matched.
    pub report_sequence: Option<i64>,
    /// The newest threat-intelligence import when matched.
    pub feed_run_id: i64,
    pub scanned_at: DateTime<Utc>,
    /// Packages matched (source packages for Debian, Ubuntu and Alpine).
    pub packages: i64,
    /// Vulnerabilities found.
    pub matched: i64,
    /// Advisories naming a package that could not be evaluated.
    pub undecided: i64,
    pub note: String,
}

/// A pending update anywhere in the fleet.
#[derive(Debug, Clone)]
pub struct FleetPending {
    pub host_id: i64,
    pub hostname: String,
    pub asset_id: Option<i64>,
    pub row: PendingRow,
}

macro_rules! host_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use sqlx::{types::Json, Row};
            use $backend as backend;

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const SCAN_COLUMNS: &str = "s.host_id, s.asset_id, s.ecosystem, s.report_sequence, s.feed_run_id, s.scanned_at, \
                s.packages, s.matched, s.undecided, s.note";

            fn scan_row(row: &DbRow) -> Result<HostScan> {
                Ok(HostScan {
                    host_id: row.try_get("host_id")?,
                    asset_id: row.try_get("asset_id")?,
                    ecosystem: row.try_get("ecosystem")?,
                    report_sequence: row.try_get("report_sequence")?,
                    feed_run_id: row.try_get("feed_run_id")?,
                    scanned_at: row.try_get("scanned_at")?,
                    packages: row.try_get("packages")?,
                    matched: row.try_get("matched")?,
                    undecided: row.try_get("undecided")?,
                    note: row.try_get("note")?,
                })
            }

            /// The newest import of any feed (0 before the first): findings carry KEV and EPSS
            /// too, so a KEV import makes hosts due like an OSV import.
            pub async fn latest_feed_run(pool: &Pool) -> Result<i64> {
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS n FROM vuln_import_runs WHERE outcome = 'imported'")
                    .fetch_one(pool)
                    .await?;
                Ok(row.try_get("n")?)
            }

            pub async fn hosts(pool: &Pool) -> Result<Vec<HostToMatch>> {
                let rows = sqlx::query(&format!(
                    "SELECT h.id, h.hostname, h.os_id, h.os_version_id, h.last_sequence, s.host_id AS scanned, {SCAN_COLUMNS} \
                     FROM patch_hosts h LEFT JOIN vuln_host_scans s ON s.host_id = h.id ORDER BY h.id"
                ))
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let scanned: Option<i64> = r.try_get("scanned")?;
                        Ok(HostToMatch {
                            host_id: r.try_get("id")?,
                            hostname: r.try_get("hostname")?,
                            os_id: r.try_get("os_id")?,
                            os_version_id: r.try_get("os_version_id")?,
                            last_sequence: r.try_get("last_sequence")?,
                            scan: scanned.map(|_| scan_row(r)).transpose()?,
                        })
                    })
                    .collect()
            }

            pub async fn scan(pool: &Pool, host_id: i64) -> Result<Option<HostScan>> {
                sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM vuln_host_scans s WHERE s.host_id = $1"))
                    .bind(host_id)
                    .fetch_optional(pool)
                    .await?
                    .map(|r| scan_row(&r))
                    .transpose()
            }

            pub async fn packages(pool: &Pool, host_id: i64) -> Result<Vec<InstalledPackage>> {
                sqlx::query("SELECT name, arch, version, source, source_version FROM patch_host_packages WHERE host_id = $1 ORDER BY name, arch")
                    .bind(host_id)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(InstalledPackage {
                            name: r.try_get("name")?,
                            arch: r.try_get("arch")?,
                            version: r.try_get("version")?,
                            source: r.try_get("source")?,
                            source_version: r.try_get("source_version")?,
                        })
                    })
                    .collect()
            }

            /// Records a host's match (replacing the last), with its audit row.
            pub async fn save(pool: &Pool, actor: &Actor, scan: &HostScan) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query(
                    "INSERT INTO vuln_host_scans (host_id, asset_id, ecosystem, report_sequence, feed_run_id, scanned_at, packages, matched, undecided, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (host_id) DO UPDATE SET asset_id = excluded.asset_id, \
                     ecosystem = excluded.ecosystem, report_sequence = excluded.report_sequence, feed_run_id = excluded.feed_run_id, \
                     scanned_at = excluded.scanned_at, packages = excluded.packages, matched = excluded.matched, \
                     undecided = excluded.undecided, note = excluded.note",
                )
                .bind(scan.host_id)
                .bind(scan.asset_id)
                .bind(&scan.ecosystem)
                .bind(scan.report_sequence)
                .bind(scan.feed_run_id)
                .bind(scan.scanned_at)
                .bind(scan.packages)
                .bind(scan.matched)
                .bind(scan.undecided)
                .bind(&scan.note)
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "vuln_match", "patch_host", Some(scan.host_id), None, serde_json::to_value(scan).ok()).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Every pending update of every host, with the host's asset.
            pub async fn fleet_pending(pool: &Pool, now: DateTime<Utc>) -> Result<Vec<FleetPending>> {
                let rows = sqlx::query(
                    "SELECT p.host_id, h.hostname, s.asset_id, p.name, p.arch, p.installed_version, p.candidate_version, p.source, \
                     p.suites, p.security, p.severity, p.first_seen_at, p.due_at FROM patch_pending p \
                     JOIN patch_hosts h ON h.id = p.host_id LEFT JOIN vuln_host_scans s ON s.host_id = p.host_id \
                     ORDER BY h.hostname, p.name, p.arch",
                )
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let suites: Json<Vec<String>> = r.try_get("suites")?;
                        let severity: Option<String> = r.try_get("severity")?;
                        let due_at: DateTime<Utc> = r.try_get("due_at")?;
                        Ok(FleetPending {
                            host_id: r.try_get("host_id")?,
                            hostname: r.try_get("hostname")?,
                            asset_id: r.try_get("asset_id")?,
                            row: PendingRow {
                                name: r.try_get("name")?,
                                arch: r.try_get("arch")?,
                                installed_version: r.try_get("installed_version")?,
                                candidate_version: r.try_get("candidate_version")?,
                                source: r.try_get("source")?,
                                suites: suites.0,
                                security: r.try_get("security")?,
                                severity: severity
                                    .map(|s| s.parse().map_err(|e| StoreError::Corrupt(format!("severity: {e}"))))
                                    .transpose()?,
                                first_seen_at: r.try_get("first_seen_at")?,
                                due_at,
                                overdue: due_at < now,
                                fixes: UpdateFixes::default(),
                            },
                        })
                    })
                    .collect()
            }
        }
    };
}

host_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
host_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
