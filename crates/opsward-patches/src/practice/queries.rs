//! The aggregate reads behind the practice's conditions and hygiene: GROUP BY queries over
//! `patch_pending` (indexed by due date) and `patch_hosts`, the same SQL on both backends.

use chrono::{DateTime, Utc};
use opsward_store::{Database, StoreError};
use sqlx::Row;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Runs one query on whichever backend, binding the values in order and mapping each row
/// with `$map` (which sees the row as `$row`).
macro_rules! fetch_rows {
    ($db:expr, $sql:expr, [$($bind:expr),*], |$row:ident| $map:expr) => {
        match $db {
            Database::Sqlite(pool) => sqlx::query($sql)$(.bind($bind))*
                .fetch_all(pool).await?.iter().map(|$row| $map).collect::<Result<Vec<_>>>(),
            Database::Postgres(pool) => sqlx::query($sql)$(.bind($bind))*
                .fetch_all(pool).await?.iter().map(|$row| $map).collect::<Result<Vec<_>>>(),
        }
    };
}

/// A host with its asset (by name) and owner, and its overdue updates by class.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostRow {
    pub host_id: i64,
    pub hostname: String,
    pub asset_id: Option<i64>,
    pub team_id: Option<i64>,
    pub person_id: Option<i64>,
    pub last_report_at: Option<DateTime<Utc>>,
    /// Enrolment (silent hosts) or the oldest overdue update's first sighting.
    pub since: DateTime<Utc>,
    pub first_seen: Option<DateTime<Utc>>,
    pub overdue: i64,
    pub critical: i64,
    pub high: i64,
    pub security: i64,
    pub oldest_due: Option<DateTime<Utc>>,
    /// Since when the host has needed a reboot.
    pub reboot_since: Option<DateTime<Utc>>,
}

/// At most this many silent hosts become conditions; hygiene counts them all.
pub const SILENT_LIMIT: i64 = 200;

/// Hosts with updates past their due date, with counts by classification.
pub async fn hosts_out_of_sla(db: &Database, now: DateTime<Utc>) -> Result<Vec<HostRow>> {
    let sql = "SELECT h.id, h.hostname, h.enrolled_at, h.last_report_at, a.id AS asset_id, a.owner_team_id, a.owner_person_id, \
         COUNT(*) AS overdue, \
         SUM(CASE WHEN p.severity = 'critical' THEN 1 ELSE 0 END) AS critical, \
         SUM(CASE WHEN p.severity = 'high' THEN 1 ELSE 0 END) AS high, \
         SUM(CASE WHEN p.security THEN 1 ELSE 0 END) AS security, \
         MIN(p.due_at) AS oldest_due, MIN(p.first_seen_at) AS first_seen \
         FROM patch_pending p JOIN patch_hosts h ON h.id = p.host_id LEFT JOIN assets a ON a.name = h.hostname \
         WHERE p.due_at < $1 \
         GROUP BY h.id, h.hostname, h.enrolled_at, h.last_report_at, a.id, a.owner_team_id, a.owner_person_id \
         ORDER BY MIN(p.due_at), h.id";
    fetch_rows!(db, sql, [now], |r| Ok(HostRow {
        host_id: r.try_get("id")?,
        hostname: r.try_get("hostname")?,
        asset_id: r.try_get("asset_id")?,
        team_id: r.try_get("owner_team_id")?,
        person_id: r.try_get("owner_person_id")?,
        last_report_at: r.try_get("last_report_at")?,
        since: r.try_get("enrolled_at")?,
        first_seen: r.try_get("first_seen")?,
        overdue: r.try_get("overdue")?,
        critical: r.try_get("critical")?,
        high: r.try_get("high")?,
        security: r.try_get("security")?,
        oldest_due: r.try_get("oldest_due")?,
        reboot_since: None,
    }))
}

/// Hosts whose last report (or enrolment, before the first) is before `before`, oldest
/// first, at most [`SILENT_LIMIT`].
pub async fn silent_hosts(db: &Database, before: DateTime<Utc>) -> Result<Vec<HostRow>> {
    let sql = "SELECT h.id, h.hostname, h.enrolled_at, h.last_report_at, a.id AS asset_id, a.owner_team_id, a.owner_person_id \
         FROM patch_hosts h LEFT JOIN assets a ON a.name = h.hostname \
         WHERE COALESCE(h.last_report_at, h.enrolled_at) < $1 \
         ORDER BY COALESCE(h.last_report_at, h.enrolled_at), h.id LIMIT $2";
    fetch_rows!(db, sql, [before, SILENT_LIMIT], |r| Ok(HostRow {
        host_id: r.try_get("id")?,
        hostname: r.try_get("hostname")?,
        asset_id: r.try_get("asset_id")?,
        team_id: r.try_get("owner_team_id")?,
        person_id: r.try_get("owner_person_id")?,
        last_report_at: r.try_get("last_report_at")?,
        since: r.try_get("enrolled_at")?,
        ..HostRow::default()
    }))
}

/// Hosts that have needed a reboot since before `before`, longest first, at most
/// [`SILENT_LIMIT`].
pub async fn hosts_awaiting_reboot(db: &Database, before: DateTime<Utc>) -> Result<Vec<HostRow>> {
    let sql = "SELECT h.id, h.hostname, h.enrolled_at, h.last_report_at, h.reboot_required_since, a.id AS asset_id, a.owner_team_id, a.owner_person_id \
         FROM patch_hosts h LEFT JOIN assets a ON a.name = h.hostname \
         WHERE h.reboot_required AND h.reboot_required_since < $1 \
         ORDER BY h.reboot_required_since, h.id LIMIT $2";
    fetch_rows!(db, sql, [before, SILENT_LIMIT], |r| Ok(HostRow {
        host_id: r.try_get("id")?,
        hostname: r.try_get("hostname")?,
        asset_id: r.try_get("asset_id")?,
        team_id: r.try_get("owner_team_id")?,
        person_id: r.try_get("owner_person_id")?,
        last_report_at: r.try_get("last_report_at")?,
        since: r.try_get("enrolled_at")?,
        reboot_since: r.try_get("reboot_required_since")?,
        ..HostRow::default()
    }))
}

/// The fleet's totals for hygiene.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub hosts: i64,
    pub hosts_out_of_sla: i64,
    pub oldest_due: Option<DateTime<Utc>>,
    pub overdue_security: i64,
    pub silent: i64,
    pub awaiting_reboot: i64,
}

pub async fn totals(
    db: &Database,
    now: DateTime<Utc>,
    silent_before: DateTime<Utc>,
    reboot_before: DateTime<Utc>,
) -> Result<Totals> {
    let sql = "SELECT \
         (SELECT COUNT(*) FROM patch_hosts) AS hosts, \
         (SELECT COUNT(DISTINCT host_id) FROM patch_pending WHERE due_at < $1) AS out_of_sla, \
         (SELECT MIN(due_at) FROM patch_pending WHERE due_at < $1) AS oldest_due, \
         (SELECT COUNT(*) FROM patch_pending WHERE due_at < $1 AND security) AS overdue_security, \
         (SELECT COUNT(*) FROM patch_hosts WHERE COALESCE(last_report_at, enrolled_at) < $2) AS silent, \
         (SELECT COUNT(*) FROM patch_hosts WHERE reboot_required AND reboot_required_since < $3) AS awaiting_reboot";
    let rows = fetch_rows!(db, sql, [now, silent_before, reboot_before], |r| Ok(
        Totals {
            hosts: r.try_get("hosts")?,
            hosts_out_of_sla: r.try_get("out_of_sla")?,
            oldest_due: r.try_get("oldest_due")?,
            overdue_security: r.try_get("overdue_security")?,
            silent: r.try_get("silent")?,
            awaiting_reboot: r.try_get("awaiting_reboot")?,
        }
    ))?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// The host that belongs to an asset: the one named like it.
pub async fn host_of_asset(db: &Database, asset_id: i64) -> Result<Option<i64>> {
    let sql = "SELECT h.id FROM patch_hosts h JOIN assets a ON a.name = h.hostname WHERE a.id = $1";
    let ids = fetch_rows!(db, sql, [asset_id], |r| Ok(r.try_get::<i64, _>("id")?))?;
    Ok(ids.into_iter().next())
}

/// Since when a host has needed a reboot; `None` when it does not (or never said since when).
pub async fn reboot_required_since(db: &Database, host_id: i64) -> Result<Option<DateTime<Utc>>> {
    let sql = "SELECT reboot_required_since FROM patch_hosts WHERE id = $1 AND reboot_required";
    let found = fetch_rows!(db, sql, [host_id], |r| Ok(
        r.try_get::<Option<DateTime<Utc>>, _>("reboot_required_since")?
    ));
    Ok(found?.into_iter().next().flatten())
}
