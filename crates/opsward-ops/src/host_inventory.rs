//! The patch practice's host tables as the practices that read them need them: a host's
//! detail (packages, pending updates with due dates, history, reports), the patch policy,
//! and the severities the vulnerability practice grades pending updates with. The patches
//! practice writes these tables; the vulnerabilities practice matches and grades what they
//! hold. Both reach them here, so neither depends on the other.

use chrono::{DateTime, Utc};
use opsward_core::host_inventory::*;
use opsward_core::Actor;
use opsward_store::{on_backend, Database, Store, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Hosts as the patch agent reported them, read from the patches practice's tables.
#[derive(Clone)]
pub struct HostInventory {
    db: Database,
}

impl HostInventory {
    pub fn new(store: &dyn Store) -> Self {
        HostInventory {
            db: store.database(),
        }
    }

    /// The same, for a store that holds its database handle already.
    pub fn from_database(db: Database) -> Self {
        HostInventory { db }
    }

    /// Everything known about one host; `NotFound` when there is no such host.
    pub async fn host_detail(&self, id: i64, now: DateTime<Utc>) -> Result<HostDetail> {
        on_backend!(&self.db, host_detail(id, now))
    }

    /// One host's summary and pending updates, without its package lists and history: what
    /// the asset page shows (a host has about 1,500 packages). `NotFound` when there is no
    /// such host.
    pub async fn host_patch_state(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(HostSummary, Vec<PendingRow>)> {
        on_backend!(&self.db, host_patch_state(id, now))
    }

    /// Set pending updates' severities (from the vulnerabilities they fix) and, by the
    /// policy, their due dates. Returns how many changed.
    pub async fn set_update_severities(
        &self,
        actor: &Actor,
        host_id: i64,
        updates: &[UpdateSeverity],
    ) -> Result<usize> {
        on_backend!(&self.db, set_update_severities(actor, host_id, updates))
    }
}

macro_rules! host_inventory_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub mod $module {
            use super::*;
            use sqlx::{types::Json, Row};
            use $backend as backend;

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            pub const HOST_COLUMNS: &str = "id, hostname, enrolled_at, last_sequence, last_report_at, os_id, os_name, kernel, \
                package_manager, reboot_required, reboot_packages, uptime_seconds, firewall_active, av_edr_running, unattended_upgrades, os_version_id, collection_notes";

            pub fn parse<T: std::str::FromStr<Err = String>>(column: &str, text: &str) -> Result<T> {
                text.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
            }

            pub fn host_row(row: &DbRow) -> Result<Host> {
                let manager: Option<String> = row.try_get("package_manager")?;
                let reboot_packages: Json<Vec<String>> = row.try_get("reboot_packages")?;
                let notes: Json<Vec<String>> = row.try_get("collection_notes")?;
                Ok(Host {
                    id: row.try_get("id")?,
                    hostname: row.try_get("hostname")?,
                    enrolled_at: row.try_get("enrolled_at")?,
                    last_sequence: row.try_get("last_sequence")?,
                    last_report_at: row.try_get("last_report_at")?,
                    os_id: row.try_get("os_id")?,
                    os_name: row.try_get("os_name")?,
                    os_version_id: row.try_get("os_version_id")?,
                    kernel: row.try_get("kernel")?,
                    package_manager: manager.map(|m| parse("package_manager", &m)).transpose()?,
                    reboot_required: row.try_get("reboot_required")?,
                    reboot_packages: reboot_packages.0,
                    uptime_seconds: row.try_get("uptime_seconds")?,
                    posture: Posture {
                        firewall_active: row.try_get("firewall_active")?,
                        av_edr_running: row.try_get("av_edr_running")?,
                        unattended_upgrades: row.try_get("unattended_upgrades")?,
                    },
                    notes: notes.0,
                })
            }

            pub fn pending_row(row: &DbRow, now: DateTime<Utc>) -> Result<PendingRow> {
                let suites: Json<Vec<String>> = row.try_get("suites")?;
                let severity: Option<String> = row.try_get("severity")?;
                let due_at: DateTime<Utc> = row.try_get("due_at")?;
                Ok(PendingRow {
                    name: row.try_get("name")?,
                    arch: row.try_get("arch")?,
                    installed_version: row.try_get("installed_version")?,
                    candidate_version: row.try_get("candidate_version")?,
                    source: row.try_get("source")?,
                    suites: suites.0,
                    security: row.try_get("security")?,
                    severity: severity.map(|s| parse("severity", &s)).transpose()?,
                    first_seen_at: row.try_get("first_seen_at")?,
                    due_at,
                    overdue: due_at < now,
                    fixes: UpdateFixes::default(),
                })
            }

            pub async fn policy_in(conn: &mut backend::Conn) -> Result<PatchPolicy> {
                let row = sqlx::query("SELECT critical_days, high_days, other_security_days, non_security_months, reboot_within_days FROM patch_policy WHERE id = 1")
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(PatchPolicy {
                    critical_days: row.try_get("critical_days")?,
                    high_days: row.try_get("high_days")?,
                    other_security_days: row.try_get("other_security_days")?,
                    non_security_months: row.try_get("non_security_months")?,
                    reboot_within_days: row.try_get("reboot_within_days")?,
                })
            }

            pub const SUMMARY_SQL: &str = "SELECT h.id, h.hostname, h.enrolled_at, h.last_sequence, h.last_report_at, h.os_id, h.os_name, h.kernel, \
                h.package_manager, h.reboot_required, h.reboot_packages, h.uptime_seconds, h.firewall_active, h.av_edr_running, h.unattended_upgrades, h.os_version_id, h.collection_notes, \
                (SELECT COUNT(*) FROM patch_host_packages k WHERE k.host_id = h.id) AS package_count, \
                (SELECT COUNT(*) FROM patch_pending p WHERE p.host_id = h.id) AS pending_count, \
                (SELECT COUNT(*) FROM patch_pending p WHERE p.host_id = h.id AND p.security) AS security_count, \
                (SELECT COUNT(*) FROM patch_pending p WHERE p.host_id = h.id AND p.due_at < $1) AS overdue_count \
                FROM patch_hosts h";

            pub fn summary_row(row: &DbRow) -> Result<HostSummary> {
                let overdue: i64 = row.try_get("overdue_count")?;
                Ok(HostSummary {
                    host: host_row(row)?,
                    package_count: row.try_get("package_count")?,
                    pending_updates: row.try_get("pending_count")?,
                    security_updates: row.try_get("security_count")?,
                    overdue_updates: overdue,
                    current: overdue == 0,
                })
            }

            pub async fn host_patch_state(pool: &Pool, id: i64, now: DateTime<Utc>) -> Result<(HostSummary, Vec<PendingRow>)> {
                let mut conn = pool.acquire().await?;
                let summary = host_summary(&mut conn, id, now).await?;
                let pending = pending_updates(&mut conn, id, now).await?;
                Ok((summary, pending))
            }

            async fn host_summary(conn: &mut backend::Conn, id: i64, now: DateTime<Utc>) -> Result<HostSummary> {
                let row = sqlx::query(&format!("{SUMMARY_SQL} WHERE h.id = $2"))
                    .bind(now).bind(id)
                    .fetch_optional(&mut *conn).await?
                    .ok_or(StoreError::NotFound("host"))?;
                summary_row(&row)
            }

            async fn pending_updates(conn: &mut backend::Conn, id: i64, now: DateTime<Utc>) -> Result<Vec<PendingRow>> {
                sqlx::query("SELECT name, arch, installed_version, candidate_version, source, suites, security, severity, first_seen_at, due_at \
                     FROM patch_pending WHERE host_id = $1 ORDER BY security DESC, due_at, name")
                    .bind(id).fetch_all(&mut *conn).await?
                    .iter().map(|r| pending_row(r, now)).collect()
            }

            pub async fn host_detail(pool: &Pool, id: i64, now: DateTime<Utc>) -> Result<HostDetail> {
                let mut conn = pool.acquire().await?;
                let summary = host_summary(&mut conn, id, now).await?;
                let packages = sqlx::query("SELECT name, arch, version, source, source_version FROM patch_host_packages WHERE host_id = $1 ORDER BY name, arch")
                    .bind(id).fetch_all(&mut *conn).await?
                    .iter()
                    .map(|r| Ok(InstalledPackage {
                        name: r.try_get("name")?, arch: r.try_get("arch")?, version: r.try_get("version")?,
                        source: r.try_get("source")?, source_version: r.try_get("source_version")?,
                    }))
                    .collect::<Result<Vec<_>>>()?;
                let language_packages = language_packages(&mut conn, id).await?;
                let pending = pending_updates(&mut conn, id, now).await?;
                let history = sqlx::query("SELECT name, arch, from_version, to_version, security, first_seen_at, due_at, resolved_at \
                     FROM patch_resolved WHERE host_id = $1 ORDER BY resolved_at DESC, id DESC LIMIT 200")
                    .bind(id).fetch_all(&mut *conn).await?
                    .iter()
                    .map(|r| Ok(ResolvedRow {
                        name: r.try_get("name")?, arch: r.try_get("arch")?, from_version: r.try_get("from_version")?,
                        to_version: r.try_get("to_version")?, security: r.try_get("security")?,
                        first_seen_at: r.try_get("first_seen_at")?, due_at: r.try_get("due_at")?, resolved_at: r.try_get("resolved_at")?,
                    }))
                    .collect::<Result<Vec<_>>>()?;
                let reports = sqlx::query("SELECT sequence, kind, collected_at, received_at, package_count, pending_count, security_count \
                     FROM patch_reports WHERE host_id = $1 ORDER BY sequence DESC LIMIT 50")
                    .bind(id).fetch_all(&mut *conn).await?
                    .iter()
                    .map(|r| {
                        let kind: String = r.try_get("kind")?;
                        Ok(ReportRow {
                            sequence: r.try_get("sequence")?, kind: parse("kind", &kind)?,
                            collected_at: r.try_get("collected_at")?, received_at: r.try_get("received_at")?,
                            package_count: r.try_get("package_count")?, pending_count: r.try_get("pending_count")?,
                            security_count: r.try_get("security_count")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(HostDetail { summary, packages, language_packages, pending, history, reports })
            }

            async fn language_packages(conn: &mut backend::Conn, host_id: i64) -> Result<Vec<LanguagePackage>> {
                sqlx::query("SELECT ecosystem, location, name, version FROM patch_host_language_packages WHERE host_id = $1 ORDER BY ecosystem, name, location")
                    .bind(host_id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| {
                        let ecosystem: String = r.try_get("ecosystem")?;
                        Ok(LanguagePackage {
                            ecosystem: ecosystem.parse().map_err(|e| StoreError::Corrupt(format!("ecosystem: {e}")))?,
                            location: r.try_get("location")?,
                            name: r.try_get("name")?,
                            version: r.try_get("version")?,
                        })
                    })
                    .collect()
            }

            /// Sets each update's severity and due date; returns how many changed. One audit
            /// row for the host lists the changes.
            pub async fn set_update_severities(pool: &Pool, actor: &Actor, host_id: i64, updates: &[UpdateSeverity]) -> Result<usize> {
                let mut tx = pool.begin_with($begin).await?;
                let policy = policy_in(&mut tx).await?;
                let mut changes = vec![];
                for u in updates {
                    let Some(row) = sqlx::query("SELECT security, severity, first_seen_at, due_at FROM patch_pending WHERE host_id = $1 AND name = $2 AND arch = $3")
                        .bind(host_id).bind(&u.name).bind(&u.arch)
                        .fetch_optional(&mut *tx).await?
                    else {
                        continue;
                    };
                    let before: Option<String> = row.try_get("severity")?;
                    if before.as_deref() == u.severity.map(|s| s.as_str()) {
                        continue;
                    }
                    let security: bool = row.try_get("security")?;
                    let first_seen: DateTime<Utc> = row.try_get("first_seen_at")?;
                    let due_before: DateTime<Utc> = row.try_get("due_at")?;
                    let due = policy.due_at(first_seen, security, u.severity);
                    sqlx::query("UPDATE patch_pending SET severity = $1, due_at = $2 WHERE host_id = $3 AND name = $4 AND arch = $5")
                        .bind(u.severity.map(|s| s.as_str())).bind(due)
                        .bind(host_id).bind(&u.name).bind(&u.arch)
                        .execute(&mut *tx).await?;
                    changes.push(serde_json::json!({
                        "name": u.name, "arch": u.arch, "severity": [before, u.severity], "due_at": [due_before, due],
                    }));
                }
                if !changes.is_empty() {
                    backend::audit(&mut tx, actor, "update_severity", "patch_host", Some(host_id), None, Some(serde_json::json!({ "updates": changes }))).await?;
                }
                tx.commit().await?;
                Ok(changes.len())
            }
        }
    };
}

host_inventory_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
host_inventory_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
