//! The patch tables on either backend: one macro body expanded per backend, differing only
//! in how a write transaction starts and how a host row is locked. Every change writes its
//! audit row in the same transaction.

use super::model::*;
use crate::{
    policy::{PatchPolicy, UpdateSpan},
    report::{HostReport, ReportKind},
    InstalledPackage,
};
use chrono::{DateTime, Utc};
use opsward_core::{job::NewJob, Actor};
use opsward_store::StoreError;
use std::collections::HashMap;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Rows per multi-row INSERT: 6 binds each stays far below either backend's limit.
const CHUNK: usize = 500;
/// (name, arch) keys per DELETE or SELECT: 2 binds each.
const KEY_CHUNK: usize = 200;
/// Pending or resolved updates per multi-row INSERT: 10 binds each.
const PENDING_CHUNK: usize = 100;
/// A delta's packages replace the host's row of the same name and arch.
const UPSERT_PACKAGE: &str = " ON CONFLICT (host_id, name, arch) DO UPDATE SET version = excluded.version, source = excluded.source, source_version = excluded.source_version";

fn host_actor(hostname: &str) -> Actor {
    Actor {
        user_id: None,
        label: format!("host:{hostname}"),
    }
}

macro_rules! patches_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr, $lock:expr, $queue:path, $insert:path) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};
            use opsward_ops::host_inventory::$module::{host_row, pending_row, policy_in, summary_row, HOST_COLUMNS, SUMMARY_SQL};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn token_row(row: &DbRow) -> Result<EnrollmentToken> {
                Ok(EnrollmentToken {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                    uses: row.try_get("uses")?,
                })
            }

            pub async fn policy(pool: &Pool) -> Result<PatchPolicy> {
                policy_in(&mut *pool.acquire().await?).await
            }

            pub async fn set_policy(pool: &Pool, actor: &Actor, policy: &PatchPolicy) -> Result<PatchPolicy> {
                let mut tx = pool.begin_with($begin).await?;
                let before = policy_in(&mut tx).await?;
                sqlx::query("UPDATE patch_policy SET critical_days = $1, high_days = $2, other_security_days = $3, non_security_months = $4, updated_at = $5, reboot_within_days = $6 WHERE id = 1")
                    .bind(policy.critical_days)
                    .bind(policy.high_days)
                    .bind(policy.other_security_days)
                    .bind(policy.non_security_months)
                    .bind(backend::now())
                    .bind(policy.reboot_within_days)
                    .execute(&mut *tx)
                    .await?;
                backend::audit(&mut tx, actor, "update", "patch_policy", Some(1), serde_json::to_value(before).ok(), serde_json::to_value(policy).ok()).await?;
                tx.commit().await?;
                Ok(*policy)
            }

            pub async fn create_enrollment_token(pool: &Pool, actor: &Actor, name: &str, token_hash: &str, expires_at: DateTime<Utc>) -> Result<EnrollmentToken> {
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query("INSERT INTO patch_enrollment_tokens (name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) \
                     RETURNING id, name, created_at, expires_at, revoked_at, uses")
                    .bind(name)
                    .bind(token_hash)
                    .bind(backend::now())
                    .bind(expires_at)
                    .fetch_one(&mut *tx)
                    .await?;
                let token = token_row(&row)?;
                backend::audit(&mut tx, actor, "create", "patch_enrollment_token", Some(token.id), None, serde_json::to_value(&token).ok()).await?;
                tx.commit().await?;
                Ok(token)
            }

            pub async fn list_enrollment_tokens(pool: &Pool) -> Result<Vec<EnrollmentToken>> {
                let rows = sqlx::query("SELECT id, name, created_at, expires_at, revoked_at, uses FROM patch_enrollment_tokens ORDER BY id")
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(token_row).collect()
            }

            pub async fn revoke_enrollment_token(pool: &Pool, actor: &Actor, id: i64) -> Result<EnrollmentToken> {
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query("UPDATE patch_enrollment_tokens SET revoked_at = $1 WHERE id = $2 \
                     RETURNING id, name, created_at, expires_at, revoked_at, uses")
                    .bind(backend::now())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("enrollment token"))?;
                let token = token_row(&row)?;
                backend::audit(&mut tx, actor, "revoke", "patch_enrollment_token", Some(id), None, serde_json::to_value(&token).ok()).await?;
                tx.commit().await?;
                Ok(token)
            }

            /// Trade a live enrollment token for a host credential. A host enrolling again
            /// under the same name (reinstalled) keeps its history and gets the new credential.
            pub async fn enroll(pool: &Pool, token_hash: &str, hostname: &str, credential_hash: &str) -> Result<Option<Host>> {
                let now = backend::now();
                let mut tx = pool.begin_with($begin).await?;
                let token: Option<i64> = sqlx::query(
                    "UPDATE patch_enrollment_tokens SET uses = uses + 1 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING id",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
                let Some(token_id) = token else {
                    return Ok(None);
                };
                let existing: Option<i64> = sqlx::query("SELECT id FROM patch_hosts WHERE hostname = $1")
                    .bind(hostname)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("id"))
                    .transpose()?;
                let id: i64 = match existing {
                    Some(id) => {
                        // A new agent starts its report sequence again, with a full report.
                        sqlx::query("UPDATE patch_hosts SET credential_hash = $1, enrollment_token_id = $2, last_sequence = NULL WHERE id = $3")
                            .bind(credential_hash)
                            .bind(token_id)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        id
                    }
                    None => sqlx::query("INSERT INTO patch_hosts (hostname, credential_hash, enrollment_token_id, enrolled_at) VALUES ($1, $2, $3, $4) RETURNING id")
                        .bind(hostname)
                        .bind(credential_hash)
                        .bind(token_id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("id")?,
                };
                let host = host_row(&sqlx::query(&format!("SELECT {HOST_COLUMNS} FROM patch_hosts WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?)?;
                let action = if existing.is_some() { "re-enroll" } else { "enroll" };
                backend::audit(&mut tx, &host_actor(hostname), action, "patch_host", Some(id), None, serde_json::to_value(&host).ok()).await?;
                tx.commit().await?;
                Ok(Some(host))
            }

            pub async fn authenticate_host(pool: &Pool, credential_hash: &str) -> Result<Option<Host>> {
                sqlx::query(&format!("SELECT {HOST_COLUMNS} FROM patch_hosts WHERE credential_hash = $1"))
                    .bind(credential_hash)
                    .fetch_optional(pool)
                    .await?
                    .map(|r| host_row(&r))
                    .transpose()
            }

            /// Delete the host's rows of `table` named by (name, arch), many per statement.
            async fn delete_keys(conn: &mut backend::Conn, table: &str, host_id: i64, keys: &[(&str, &str)]) -> Result<()> {
                for chunk in keys.chunks(KEY_CHUNK) {
                    let mut q = QueryBuilder::<$db>::new(format!("DELETE FROM {table} WHERE host_id = "));
                    q.push_bind(host_id).push(" AND (");
                    for (i, (name, arch)) in chunk.iter().enumerate() {
                        q.push(if i == 0 { "(name = " } else { " OR (name = " });
                        q.push_bind(*name).push(" AND arch = ").push_bind(*arch).push(")");
                    }
                    q.push(")");
                    q.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// The installed version of each of `keys` the host has.
            async fn installed_versions(conn: &mut backend::Conn, host_id: i64, keys: &[(&str, &str)]) -> Result<HashMap<(String, String), String>> {
                let mut found = HashMap::new();
                for chunk in keys.chunks(KEY_CHUNK) {
                    let mut q = QueryBuilder::<$db>::new("SELECT name, arch, version FROM patch_host_packages WHERE host_id = ");
                    q.push_bind(host_id).push(" AND name IN (");
                    let mut names = q.separated(", ");
                    for (name, _) in chunk {
                        names.push_bind(*name);
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&mut *conn).await? {
                        found.insert((row.try_get("name")?, row.try_get("arch")?), row.try_get("version")?);
                    }
                }
                Ok(found)
            }

            /// Pending updates: keep first-seen dates, add the new, resolve the gone. Rows
            /// that did not change are not written; new and resolved ones go many per statement.
            async fn apply_pending(conn: &mut backend::Conn, host_id: i64, report: &HostReport, now: DateTime<Utc>, collected: DateTime<Utc>) -> Result<()> {
                let policy = policy_in(&mut *conn).await?;
                let existing = sqlx::query("SELECT name, arch, installed_version, candidate_version, source, suites, security, severity, first_seen_at, due_at FROM patch_pending WHERE host_id = $1")
                    .bind(host_id)
                    .fetch_all(&mut *conn)
                    .await?;
                let mut before: HashMap<(String, String), PendingRow> = HashMap::new();
                for r in &existing {
                    let p = pending_row(r, now)?;
                    before.insert((p.name.clone(), p.arch.clone()), p);
                }
                let mut fresh = vec![];
                for u in &report.pending {
                    let Some(old) = before.remove(&(u.name.clone(), u.arch.clone())) else {
                        fresh.push(u);
                        continue;
                    };
                    // Becoming a security update can only bring the due date forward.
                    let due = old.due_at.min(policy.due_at(old.first_seen_at, u.security, old.severity));
                    let unchanged = old.installed_version == u.installed_version && old.candidate_version == u.candidate_version
                        && old.source == u.source && old.suites == u.suites && old.security == u.security && old.due_at == due;
                    if !unchanged {
                        sqlx::query("UPDATE patch_pending SET installed_version = $1, candidate_version = $2, source = $3, suites = $4, security = $5, due_at = $6 \
                             WHERE host_id = $7 AND name = $8 AND arch = $9")
                            .bind(&u.installed_version).bind(&u.candidate_version).bind(&u.source).bind(Json(&u.suites)).bind(u.security).bind(due)
                            .bind(host_id).bind(&u.name).bind(&u.arch)
                            .execute(&mut *conn).await?;
                    }
                }
                for chunk in fresh.chunks(PENDING_CHUNK) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO patch_pending (host_id, name, arch, installed_version, candidate_version, source, suites, security, first_seen_at, due_at) ");
                    q.push_values(chunk, |mut b, u| {
                        b.push_bind(host_id).push_bind(&u.name).push_bind(&u.arch).push_bind(&u.installed_version).push_bind(&u.candidate_version).push_bind(&u.source)
                            .push_bind(Json(&u.suites)).push_bind(u.security).push_bind(collected).push_bind(policy.due_at(collected, u.security, None));
                    });
                    q.build().execute(&mut *conn).await?;
                }
                if before.is_empty() {
                    return Ok(());
                }
                let mut gone: Vec<_> = before.into_iter().collect();
                gone.sort_by(|a, b| a.0.cmp(&b.0));
                let keys: Vec<(&str, &str)> = gone.iter().map(|((n, a), _)| (n.as_str(), a.as_str())).collect();
                let installed = installed_versions(&mut *conn, host_id, &keys).await?;
                for chunk in gone.chunks(PENDING_CHUNK) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO patch_resolved (host_id, name, arch, from_version, to_version, security, first_seen_at, due_at, resolved_at) ");
                    q.push_values(chunk, |mut b, (key, old)| {
                        let to = installed.get(key).map_or("(removed)", String::as_str);
                        b.push_bind(host_id).push_bind(&key.0).push_bind(&key.1).push_bind(&old.installed_version).push_bind(to)
                            .push_bind(old.security).push_bind(old.first_seen_at).push_bind(old.due_at).push_bind(collected.max(old.first_seen_at));
                    });
                    q.build().execute(&mut *conn).await?;
                }
                delete_keys(&mut *conn, "patch_pending", host_id, &keys).await
            }

            /// Apply one report. A sequence at or below the last applied one is a retry and
            /// changes nothing; a delta whose base is not the last applied report is refused
            /// (the agent then sends a full report). `job`, if any, is queued in the same
            /// transaction when the report is applied (its vulnerability match).
            pub async fn ingest(pool: &Pool, host_id: i64, report: &HostReport, job: Option<&NewJob>) -> Result<IngestOutcome> {
                let _turn = $queue(pool).await;
                let now = backend::now();
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query(&format!("SELECT hostname, last_sequence FROM patch_hosts WHERE id = $1{}", $lock))
                    .bind(host_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("host"))?;
                let hostname: String = row.try_get("hostname")?;
                let last: Option<i64> = row.try_get("last_sequence")?;
                if last.is_some_and(|l| report.sequence <= l) {
                    return Ok(IngestOutcome::Duplicate);
                }
                let package_count = match report.kind {
                    ReportKind::Full => {
                        sqlx::query("DELETE FROM patch_host_packages WHERE host_id = $1").bind(host_id).execute(&mut *tx).await?;
                        $insert(&mut tx, host_id, &report.packages, false).await?;
                        // Every package was inserted (a repeated one fails the report).
                        None
                    }
                    ReportKind::Delta => {
                        if report.base_sequence.is_none() || report.base_sequence != last {
                            return Err(StoreError::Conflict(format!(
                                "delta on report {:?}, but the last report applied is {:?}: send a full report",
                                report.base_sequence, last
                            )));
                        }
                        let removed: Vec<(&str, &str)> = report.removed.iter().map(|k| (k.name.as_str(), k.arch.as_str())).collect();
                        delete_keys(&mut tx, "patch_host_packages", host_id, &removed).await?;
                        $insert(&mut tx, host_id, &report.packages, true).await?;
                        Some(())
                    }
                };
                super::super::language::$module::replace(&mut tx, host_id, &report.language_packages).await?;
                // Agents' clocks may run ahead; stored times keep microseconds on both backends.
                let collected = chrono::SubsecRound::trunc_subsecs(report.collected_at, 6).min(now);
                apply_pending(&mut tx, host_id, report, now, collected).await?;
                sqlx::query("UPDATE patch_hosts SET last_sequence = $1, last_report_at = $2, os_id = $3, os_name = $4, kernel = $5, package_manager = $6, \
                     reboot_required = $7, reboot_required_since = CASE WHEN $7 THEN COALESCE(reboot_required_since, $2) ELSE NULL END, reboot_packages = $8, uptime_seconds = $9, firewall_active = $10, av_edr_running = $11, unattended_upgrades = $12, \
                     os_version_id = $13, collection_notes = $14 WHERE id = $15")
                    .bind(report.sequence)
                    .bind(now)
                    .bind(&report.os.id)
                    .bind(&report.os.pretty_name)
                    .bind(&report.kernel.release)
                    .bind(report.package_manager.map(|m| m.as_str()))
                    .bind(report.reboot.required)
                    .bind(Json(&report.reboot.packages))
                    .bind(report.uptime_seconds.map(|u| u.min(i64::MAX as u64) as i64))
                    .bind(report.posture.firewall_active)
                    .bind(report.posture.av_edr_running)
                    .bind(report.posture.unattended_upgrades)
                    .bind(report.os.version_id.as_deref().unwrap_or_default())
                    .bind(Json(&report.notes))
                    .bind(host_id)
                    .execute(&mut *tx)
                    .await?;
                let package_count: i64 = match package_count {
                    None => report.packages.len() as i64,
                    Some(()) => sqlx::query("SELECT COUNT(*) AS n FROM patch_host_packages WHERE host_id = $1")
                        .bind(host_id).fetch_one(&mut *tx).await?.try_get("n")?,
                };
                let security_count = report.pending.iter().filter(|u| u.security).count() as i64;
                sqlx::query("INSERT INTO patch_reports (host_id, sequence, kind, collected_at, received_at, package_count, pending_count, security_count) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(host_id).bind(report.sequence).bind(report.kind.as_str()).bind(collected).bind(now)
                    .bind(package_count).bind(report.pending.len() as i64).bind(security_count)
                    .execute(&mut *tx).await?;
                let summary = serde_json::json!({
                    "sequence": report.sequence, "kind": report.kind, "packages": package_count,
                    "pending": report.pending.len(), "security": security_count,
                });
                backend::audit(&mut tx, &host_actor(&hostname), "report", "patch_host", Some(host_id), None, Some(summary)).await?;
                if let Some(job) = job {
                    backend::enqueue_job_in(&mut tx, job).await?;
                }
                tx.commit().await?;
                Ok(IngestOutcome::Applied)
            }

            pub async fn list_hosts(pool: &Pool, now: DateTime<Utc>) -> Result<Vec<HostSummary>> {
                let rows = sqlx::query(&format!("{SUMMARY_SQL} ORDER BY h.hostname")).bind(now).fetch_all(pool).await?;
                rows.iter().map(summary_row).collect()
            }

            /// Enrollment times and every pending or resolved span, for compliance and trend.
            pub async fn spans(pool: &Pool, since: DateTime<Utc>) -> Result<(Vec<(i64, DateTime<Utc>)>, Vec<UpdateSpan>)> {
                let mut conn = pool.acquire().await?;
                let hosts = sqlx::query("SELECT id, enrolled_at FROM patch_hosts")
                    .fetch_all(&mut *conn).await?
                    .iter().map(|r| Ok((r.try_get("id")?, r.try_get("enrolled_at")?))).collect::<Result<Vec<_>>>()?;
                let mut spans = Vec::new();
                for r in sqlx::query("SELECT host_id, first_seen_at, due_at FROM patch_pending").fetch_all(&mut *conn).await? {
                    spans.push(UpdateSpan { host_id: r.try_get("host_id")?, first_seen_at: r.try_get("first_seen_at")?, due_at: r.try_get("due_at")?, resolved_at: None });
                }
                for r in sqlx::query("SELECT host_id, first_seen_at, due_at, resolved_at FROM patch_resolved WHERE resolved_at >= $1").bind(since).fetch_all(&mut *conn).await? {
                    spans.push(UpdateSpan { host_id: r.try_get("host_id")?, first_seen_at: r.try_get("first_seen_at")?, due_at: r.try_get("due_at")?, resolved_at: Some(r.try_get("resolved_at")?) });
                }
                Ok((hosts, spans))
            }
        }
    };
}

/// SQLite: reports wait their turn for the single writer in arrival order.
async fn sqlite_turn(pool: &sqlx::SqlitePool) -> Option<opsward_store::sqlite::WriteTurn> {
    Some(opsward_store::sqlite::queue_for_write(pool).await)
}

/// PostgreSQL: reports of different hosts write side by side; the host row lock orders one
/// host's reports.
async fn postgres_turn(_pool: &sqlx::PgPool) -> Option<opsward_store::sqlite::WriteTurn> {
    None
}

/// SQLite: a host's packages as multi-row INSERTs.
async fn sqlite_insert_packages(
    conn: &mut opsward_store::sqlite::Conn,
    host_id: i64,
    packages: &[InstalledPackage],
    upsert: bool,
) -> Result<()> {
    for chunk in packages.chunks(CHUNK) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO patch_host_packages (host_id, name, arch, version, source, source_version) ",
        );
        q.push_values(chunk, |mut b, p| {
            b.push_bind(host_id)
                .push_bind(&p.name)
                .push_bind(&p.arch)
                .push_bind(&p.version)
                .push_bind(&p.source)
                .push_bind(&p.source_version);
        });
        if upsert {
            q.push(UPSERT_PACKAGE);
        }
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// PostgreSQL: a host's packages as five text arrays per statement (`UNNEST`) rather than
/// six parameters per row, which PostgreSQL parses and binds one by one. The same chunks as
/// the multi-row form, so a name repeated in a delta behaves the same.
async fn postgres_insert_packages(
    conn: &mut opsward_store::postgres::Conn,
    host_id: i64,
    packages: &[InstalledPackage],
    upsert: bool,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO patch_host_packages (host_id, name, arch, version, source, source_version) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]){}",
        if upsert { UPSERT_PACKAGE } else { "" }
    );
    for chunk in packages.chunks(CHUNK) {
        let column = |f: fn(&InstalledPackage) -> &str| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(&sql)
            .bind(host_id)
            .bind(column(|p| p.name.as_str()))
            .bind(column(|p| p.arch.as_str()))
            .bind(column(|p| p.version.as_str()))
            .bind(column(|p| p.source.as_str()))
            .bind(column(|p| p.source_version.as_str()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

patches_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE",
    "",
    sqlite_turn,
    sqlite_insert_packages
);
patches_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    "BEGIN",
    " FOR UPDATE",
    postgres_turn,
    postgres_insert_packages
);
