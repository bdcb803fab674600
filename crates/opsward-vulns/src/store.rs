//! Vulnerability tables on either backend (one macro body expanded per backend; the SQL is
//! the same). Imports are one transaction each: a batch with any problem is recorded as a
//! rejected run and changes nothing else. Every change writes its audit row in the same
//! transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use opsward_core::Actor;
use opsward_store::{on_backend, Database, Store, StoreError};

use crate::burndown::StateEvent;
use crate::findings::{
    FeedKind, Finding, FindingFilter, FindingKind, FindingState, ImportProblem, ImportRun,
    ScanOutcome, ScanScope, Transition,
};
use crate::matcher::{AdvisoryIndex, Match};
use crate::osv::{LoadedRecords, OsvRecord};
use crate::policy::DuePolicy;
use crate::threat::{EpssFile, KevCatalog};
use crate::wanted::WantedPackages;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct VulnStore {
    db: Database,
}

/// An import's content, checked before the transaction.
pub(crate) enum Batch<'a> {
    Osv(&'a [(String, OsvRecord)], &'a [String]),
    Kev(&'a KevCatalog),
    Epss(&'a EpssFile),
}

macro_rules! vuln_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            pub(crate) const FINDING_COLUMNS: &str = "id, asset_id, kind, ecosystem, package, installed_version, vulnerability_id, ids, summary, \
                severity, cvss, fixed_version, kev, kev_due_date, epss_score, epss_percentile, state, reason, approver, \
                accepted_until, due_date, due_from, first_seen, last_seen, fixed_at";
            const RUN_COLUMNS: &str =
                "id, kind, source, at, outcome, records_read, created, updated, unchanged, removed, problems";

            fn corrupt(column: &str) -> impl Fn(String) -> StoreError + '_ {
                move |e| StoreError::Corrupt(format!("{column}: {e}"))
            }

            pub(crate) fn finding_row(row: &DbRow) -> Result<Finding> {
                let ids: String = row.try_get("ids")?;
                let kind: String = row.try_get("kind")?;
                let severity: String = row.try_get("severity")?;
                let state: String = row.try_get("state")?;
                Ok(Finding {
                    id: row.try_get("id")?,
                    asset_id: row.try_get("asset_id")?,
                    kind: kind.parse::<FindingKind>().map_err(corrupt("kind"))?,
                    ecosystem: row.try_get("ecosystem")?,
                    package: row.try_get("package")?,
                    installed_version: row.try_get("installed_version")?,
                    vulnerability_id: row.try_get("vulnerability_id")?,
                    ids: serde_json::from_str(&ids).map_err(|e| StoreError::Corrupt(format!("ids: {e}")))?,
                    summary: row.try_get("summary")?,
                    severity: severity.parse().map_err(corrupt("severity"))?,
                    cvss: row.try_get("cvss")?,
                    fixed_version: row.try_get("fixed_version")?,
                    kev: row.try_get("kev")?,
                    kev_due_date: row.try_get("kev_due_date")?,
                    epss_score: row.try_get("epss_score")?,
                    epss_percentile: row.try_get("epss_percentile")?,
                    state: state.parse().map_err(corrupt("state"))?,
                    reason: row.try_get("reason")?,
                    approver: row.try_get("approver")?,
                    accepted_until: row.try_get("accepted_until")?,
                    due_date: row.try_get("due_date")?,
                    due_from: row.try_get("due_from")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                    fixed_at: row.try_get("fixed_at")?,
                })
            }

            fn run_row(row: &DbRow) -> Result<ImportRun> {
                let kind: String = row.try_get("kind")?;
                let problems: String = row.try_get("problems")?;
                Ok(ImportRun {
                    id: row.try_get("id")?,
                    kind: kind.parse().map_err(corrupt("kind"))?,
                    source: row.try_get("source")?,
                    at: row.try_get("at")?,
                    outcome: row.try_get("outcome")?,
                    records_read: row.try_get("records_read")?,
                    created: row.try_get("created")?,
                    updated: row.try_get("updated")?,
                    unchanged: row.try_get("unchanged")?,
                    removed: row.try_get("removed")?,
                    problems: serde_json::from_str(&problems).map_err(|e| StoreError::Corrupt(format!("problems: {e}")))?,
                })
            }

            async fn insert_run(conn: &mut backend::Conn, actor: &Actor, run: &ImportRun) -> Result<ImportRun> {
                let id: i64 = sqlx::query(
                    "INSERT INTO vuln_import_runs (kind, source, at, outcome, records_read, created, updated, unchanged, \
                     removed, problems) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(run.kind.as_str())
                .bind(&run.source)
                .bind(run.at)
                .bind(&run.outcome)
                .bind(run.records_read)
                .bind(run.created)
                .bind(run.updated)
                .bind(run.unchanged)
                .bind(run.removed)
                .bind(serde_json::to_string(&run.problems).unwrap_or_else(|_| "[]".into()))
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?;
                let stored = ImportRun { id, ..run.clone() };
                let action = if run.outcome == "imported" { "import" } else { "reject_import" };
                backend::audit(conn, actor, action, "vuln_import", Some(id), None, serde_json::to_value(&stored).ok()).await?;
                Ok(stored)
            }

            pub async fn reject(pool: &Pool, actor: &Actor, run: ImportRun) -> Result<ImportRun> {
                let mut tx = pool.begin_with($begin).await?;
                let stored = insert_run(&mut tx, actor, &run).await?;
                tx.commit().await?;
                Ok(stored)
            }

            pub async fn import(pool: &Pool, actor: &Actor, mut run: ImportRun, batch: Batch<'_>) -> Result<ImportRun> {
                let mut tx = pool.begin_with($begin).await?;
                let now = run.at;
                match batch {
                    Batch::Osv(records, withdrawn) => {
                        let existing: HashMap<String, String> = sqlx::query("SELECT id, modified FROM vuln_advisories")
                            .fetch_all(&mut *tx)
                            .await?
                            .iter()
                            .map(|r| Ok((r.try_get("id")?, r.try_get("modified")?)))
                            .collect::<Result<_>>()?;
                        for (file, record) in records {
                            let change = match existing.get(&record.id) {
                                None => &mut run.created,
                                Some(modified) if *modified == record.modified => {
                                    run.unchanged += 1;
                                    continue;
                                }
                                Some(_) => &mut run.updated,
                            };
                            *change += 1;
                            let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                            sqlx::query(
                                "INSERT INTO vuln_advisories (id, modified, record, source, imported_at) VALUES ($1, $2, $3, $4, $5) \
                                 ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, record = excluded.record, \
                                 source = excluded.source, imported_at = excluded.imported_at",
                            )
                            .bind(&record.id)
                            .bind(&record.modified)
                            .bind(json)
                            .bind(file)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                        for id in withdrawn {
                            let done = sqlx::query("DELETE FROM vuln_advisories WHERE id = $1").bind(id).execute(&mut *tx).await?;
                            run.removed += done.rows_affected() as i64;
                        }
                    }
                    Batch::Kev(catalog) => {
                        let before: HashSet<String> = sqlx::query("SELECT cve FROM vuln_kev")
                            .fetch_all(&mut *tx)
                            .await?
                            .iter()
                            .map(|r| r.try_get("cve"))
                            .collect::<std::result::Result<_, _>>()?;
                        sqlx::query("DELETE FROM vuln_kev").execute(&mut *tx).await?;
                        let mut now_in = HashSet::new();
                        for e in &catalog.entries {
                            if !now_in.insert(e.cve.clone()) {
                                continue;
                            }
                            sqlx::query(
                                "INSERT INTO vuln_kev (cve, vendor, product, name, date_added, due_date, ransomware) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(&e.cve)
                            .bind(&e.vendor)
                            .bind(&e.product)
                            .bind(&e.name)
                            .bind(e.date_added)
                            .bind(e.due_date)
                            .bind(&e.ransomware)
                            .execute(&mut *tx)
                            .await?;
                        }
                        run.created = now_in.difference(&before).count() as i64;
                        run.unchanged = now_in.intersection(&before).count() as i64;
                        run.removed = before.difference(&now_in).count() as i64;
                    }
                    Batch::Epss(file) => {
                        let before: i64 = sqlx::query("SELECT COUNT(*) AS n FROM vuln_epss").fetch_one(&mut *tx).await?.try_get("n")?;
                        sqlx::query("DELETE FROM vuln_epss").execute(&mut *tx).await?;
                        let mut seen = HashSet::new();
                        for (cve, score) in &file.scores {
                            if !seen.insert(cve.as_str()) {
                                continue;
                            }
                            sqlx::query("INSERT INTO vuln_epss (cve, score, percentile) VALUES ($1, $2, $3)")
                                .bind(cve)
                                .bind(score.score)
                                .bind(score.percentile)
                                .execute(&mut *tx)
                                .await?;
                        }
                        run.updated = seen.len() as i64;
                        run.removed = before;
                    }
                }
                let stored = insert_run(&mut tx, actor, &run).await?;
                tx.commit().await?;
                Ok(stored)
            }

            /// Every stored record through `shape`, read a page at a time so that only one
            /// page of whole records is held at once.
            pub async fn records(pool: &Pool, shape: &(dyn Fn(OsvRecord) -> OsvRecord + Sync)) -> Result<Vec<OsvRecord>> {
                let mut records = vec![];
                let mut after = String::new();
                loop {
                    let rows = sqlx::query("SELECT id, record FROM vuln_advisories WHERE id > $1 ORDER BY id LIMIT 500")
                        .bind(&after)
                        .fetch_all(pool)
                        .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.try_get("id")?;
                    for row in &rows {
                        let text: String = row.try_get("record")?;
                        let record = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("advisory record: {e}")))?;
                        records.push(shape(record));
                    }
                }
                Ok(records)
            }

            pub async fn runs(pool: &Pool, limit: i64) -> Result<Vec<ImportRun>> {
                sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM vuln_import_runs ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(run_row)
                    .collect()
            }

            pub(crate) async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<Finding> {
                let row = sqlx::query(&format!("SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("finding"))?;
                finding_row(&row)
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<Finding> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            pub async fn list(pool: &Pool, filter: &FindingFilter, today: NaiveDate) -> Result<Vec<Finding>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE 1 = 1"));
                if let Some(asset) = filter.asset_id {
                    query.push(" AND asset_id = ").push_bind(asset);
                }
                if let Some(kind) = filter.kind {
                    query.push(" AND kind = ").push_bind(kind.as_str());
                }
                if let Some(state) = filter.state {
                    query.push(" AND state = ").push_bind(state.as_str());
                }
                if let Some(severity) = filter.severity {
                    query.push(" AND severity = ").push_bind(severity.as_str());
                }
                if filter.kev {
                    query.push(" AND kev = ").push_bind(true);
                }
                if filter.overdue {
                    query.push(" AND state IN ('open', 'acknowledged') AND due_date < ").push_bind(today);
                }
                if let Some(v) = &filter.vulnerability_id {
                    query.push(" AND vulnerability_id = ").push_bind(v);
                }
                query.push(" ORDER BY due_date, id");
                query.build().fetch_all(pool).await?.iter().map(finding_row).collect()
            }

            /// KEV due date and EPSS of the CVE ids among `ids`.
            async fn threat(conn: &mut backend::Conn, ids: &[String]) -> Result<(Option<NaiveDate>, Option<(f64, f64)>)> {
                let mut kev: Option<NaiveDate> = None;
                let mut epss: Option<(f64, f64)> = None;
                for cve in ids.iter().filter(|i| i.starts_with("CVE-")) {
                    if let Some(row) = sqlx::query("SELECT due_date FROM vuln_kev WHERE cve = $1").bind(cve).fetch_optional(&mut *conn).await? {
                        let due: NaiveDate = row.try_get("due_date")?;
                        kev = Some(kev.map_or(due, |k| k.min(due)));
                    }
                    if let Some(row) = sqlx::query("SELECT score, percentile FROM vuln_epss WHERE cve = $1").bind(cve).fetch_optional(&mut *conn).await? {
                        let found: (f64, f64) = (row.try_get("score")?, row.try_get("percentile")?);
                        if epss.is_none_or(|e| found.0 > e.0) {
                            epss = Some(found);
                        }
                    }
                }
                Ok((kev, epss))
            }

            pub async fn record_scan(
                pool: &Pool,
                actor: &Actor,
                asset_id: i64,
                matches: &[Match],
                policy: &DuePolicy,
                scope: ScanScope,
                now: DateTime<Utc>,
            ) -> Result<ScanOutcome> {
                let mut tx = pool.begin_with($begin).await?;
                if sqlx::query("SELECT id FROM assets WHERE id = $1").bind(asset_id).fetch_optional(&mut *tx).await?.is_none() {
                    return Err(StoreError::NotFound("asset"));
                }
                let mut outcome = ScanOutcome::default();
                let mut present: HashSet<i64> = HashSet::new();
                for m in matches.iter().filter(|m| m.informational.is_none()) {
                    let (kev_due, epss) = threat(&mut tx, &m.ids).await?;
                    let existing = sqlx::query(&format!(
                        "SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE asset_id = $1 AND ecosystem = $2 AND package = $3 \
                         AND vulnerability_id = $4"
                    ))
                    .bind(asset_id)
                    .bind(&m.package.ecosystem)
                    .bind(&m.package.name)
                    .bind(&m.id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let ids = serde_json::to_string(&m.ids).unwrap_or_else(|_| "[]".into());
                    match existing {
                        None => {
                            let due = policy.due_date(m.severity, kev_due, epss.map(|e| e.0), now.date_naive());
                            let id: i64 = sqlx::query(
                                "INSERT INTO vuln_findings (asset_id, ecosystem, package, installed_version, vulnerability_id, ids, \
                                 summary, severity, cvss, fixed_version, kev, kev_due_date, epss_score, epss_percentile, state, \
                                 due_date, first_seen, last_seen, due_from) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', $15, $16, $16, $17) RETURNING id",
                            )
                            .bind(asset_id)
                            .bind(&m.package.ecosystem)
                            .bind(&m.package.name)
                            .bind(&m.package.version)
                            .bind(&m.id)
                            .bind(&ids)
                            .bind(m.summary.clone().unwrap_or_default())
                            .bind(m.severity.as_str())
                            .bind(m.cvss.as_ref().map(|c| c.score))
                            .bind(&m.fixed)
                            .bind(kev_due.is_some())
                            .bind(kev_due)
                            .bind(epss.map(|e| e.0))
                            .bind(epss.map(|e| e.1))
                            .bind(due)
                            .bind(now)
                            .bind(now.date_naive())
                            .fetch_one(&mut *tx)
                            .await?
                            .try_get("id")?;
                            present.insert(id);
                            outcome.new += 1;
                            let created = fetch(&mut tx, id).await?;
                            backend::audit(&mut tx, actor, "open", "vuln_finding", Some(id), None, serde_json::to_value(&created).ok()).await?;
                        }
                        Some(row) => {
                            let before = finding_row(&row)?;
                            present.insert(before.id);
                            // Back to open: a fixed finding that came back, or an expired risk acceptance.
                            let expired = before.state == FindingState::AcceptedRisk
                                && before.accepted_until.is_some_and(|until| until < now.date_naive());
                            let reopen = before.state == FindingState::Fixed || expired;
                            let state = if reopen { FindingState::Open } else { before.state };
                            // A finding back after a fix gets a new deadline, counted from today.
                            let first_seen_day = if before.state == FindingState::Fixed { now.date_naive() } else { before.due_from };
                            let due = policy.due_date(m.severity, kev_due, epss.map(|e| e.0), first_seen_day);
                            sqlx::query(
                                "UPDATE vuln_findings SET installed_version = $1, ids = $2, severity = $3, cvss = $4, fixed_version = $5, \
                                 kev = $6, kev_due_date = $7, epss_score = $8, epss_percentile = $9, state = $10, due_date = $11, \
                                 last_seen = $12, fixed_at = CASE WHEN $13 THEN NULL ELSE fixed_at END, due_from = $15 WHERE id = $14",
                            )
                            .bind(&m.package.version)
                            .bind(&ids)
                            .bind(m.severity.as_str())
                            .bind(m.cvss.as_ref().map(|c| c.score))
                            .bind(&m.fixed)
                            .bind(kev_due.is_some())
                            .bind(kev_due)
                            .bind(epss.map(|e| e.0))
                            .bind(epss.map(|e| e.1))
                            .bind(state.as_str())
                            .bind(due)
                            .bind(now)
                            .bind(reopen)
                            .bind(before.id)
                            .bind(first_seen_day)
                            .execute(&mut *tx)
                            .await?;
                            if reopen {
                                outcome.reopened += 1;
                                let after = fetch(&mut tx, before.id).await?;
                                backend::audit(&mut tx, actor, "reopen", "vuln_finding", Some(before.id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                            } else {
                                outcome.still_present += 1;
                            }
                        }
                    }
                }
                // Whatever this scan of the asset no longer finds is fixed (a false positive stays one).
                let gone = sqlx::query(&format!(
                    "SELECT {FINDING_COLUMNS} FROM vuln_findings WHERE asset_id = $1 AND kind = 'package' \
                     AND state IN ('open', 'acknowledged', 'accepted_risk')"
                ))
                .bind(asset_id)
                .fetch_all(&mut *tx)
                .await?;
                for row in gone {
                    let before = finding_row(&row)?;
                    if present.contains(&before.id) || !scope.covers(&before.ecosystem) {
                        continue;
                    }
                    sqlx::query("UPDATE vuln_findings SET state = 'fixed', fixed_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(before.id)
                        .execute(&mut *tx)
                        .await?;
                    outcome.fixed += 1;
                    let after = fetch(&mut tx, before.id).await?;
                    backend::audit(&mut tx, actor, "fixed", "vuln_finding", Some(before.id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                }
                // When the asset was last scanned in this scope, for the scan-interval rule.
                sqlx::query(
                    "INSERT INTO vuln_asset_scans (asset_id, scope, scanned_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (asset_id, scope) DO UPDATE SET scanned_at = excluded.scanned_at",
                )
                .bind(asset_id)
                .bind(scope.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(outcome)
            }

            pub async fn state_events(pool: &Pool) -> Result<Vec<StateEvent>> {
                sqlx::query(
                    "SELECT entity_id, at, action FROM audit_log WHERE entity_type = 'vuln_finding' AND entity_id IS NOT NULL ORDER BY at, id",
                )
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok(StateEvent {
                        finding_id: row.try_get("entity_id")?,
                        at: row.try_get("at")?,
                        action: row.try_get("action")?,
                    })
                })
                .collect()
            }

            pub async fn transition(pool: &Pool, actor: &Actor, id: i64, change: &Transition) -> Result<Finding> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                let target = change.target(before.state).ok_or_else(|| {
                    StoreError::Conflict(format!("a finding that is {} cannot be changed by {}", before.state, change.name()))
                })?;
                let (reason, approver, until) = match change {
                    Transition::AcceptRisk { reason, approver, until } => (reason.clone(), Some(approver.clone()), Some(*until)),
                    Transition::FalsePositive { reason } => (reason.clone(), None, None),
                    Transition::Acknowledge => (before.reason.clone(), before.approver.clone(), before.accepted_until),
                    Transition::Reopen => (String::new(), None, None),
                };
                sqlx::query("UPDATE vuln_findings SET state = $1, reason = $2, approver = $3, accepted_until = $4 WHERE id = $5")
                    .bind(target.as_str())
                    .bind(reason)
                    .bind(approver)
                    .bind(until)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, change.name(), "vuln_finding", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }
        }
    };
}

vuln_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
vuln_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

fn new_run(kind: FeedKind, source: &str, records_read: usize, now: DateTime<Utc>) -> ImportRun {
    ImportRun {
        id: 0,
        kind,
        source: source.to_owned(),
        at: now,
        outcome: "imported".into(),
        records_read: records_read as i64,
        created: 0,
        updated: 0,
        unchanged: 0,
        removed: 0,
        problems: vec![],
    }
}

impl VulnStore {
    pub fn new(store: &dyn Store) -> Self {
        VulnStore {
            db: store.database(),
        }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// Records a rejected import: the problems, and nothing else.
    pub async fn reject_import(
        &self,
        actor: &Actor,
        kind: FeedKind,
        source: &str,
        problems: Vec<ImportProblem>,
    ) -> Result<ImportRun> {
        let mut run = new_run(kind, source, 0, Utc::now());
        run.outcome = "rejected".into();
        run.problems = problems;
        on_backend!(&self.db, reject(actor, run))
    }

    /// Imports OSV records: new ones are inserted, ones whose `modified` changed re-written,
    /// the rest left alone; withdrawn ones removed. Any problem rejects the whole batch.
    pub async fn import_osv(
        &self,
        actor: &Actor,
        source: &str,
        loaded: &LoadedRecords,
    ) -> Result<ImportRun> {
        if !loaded.problems.is_empty() {
            let problems = loaded
                .problems
                .iter()
                .map(|p| ImportProblem {
                    file: p.file.clone(),
                    line: p.line,
                    reason: p.reason.clone(),
                })
                .collect();
            return self
                .reject_import(actor, FeedKind::Osv, source, problems)
                .await;
        }
        let run = new_run(FeedKind::Osv, source, loaded.files_read, Utc::now());
        on_backend!(
            &self.db,
            import(actor, run, Batch::Osv(&loaded.records, &loaded.withdrawn))
        )
    }

    /// Replaces the KEV catalog with this one.
    pub async fn import_kev(
        &self,
        actor: &Actor,
        source: &str,
        catalog: &KevCatalog,
    ) -> Result<ImportRun> {
        let run = new_run(FeedKind::Kev, source, catalog.entries.len(), Utc::now());
        on_backend!(&self.db, import(actor, run, Batch::Kev(catalog)))
    }

    /// Replaces the EPSS scores with these.
    pub async fn import_epss(
        &self,
        actor: &Actor,
        source: &str,
        file: &EpssFile,
    ) -> Result<ImportRun> {
        let run = new_run(FeedKind::Epss, source, file.scores.len(), Utc::now());
        on_backend!(&self.db, import(actor, run, Batch::Epss(file)))
    }

    pub async fn import_runs(&self, limit: i64) -> Result<Vec<ImportRun>> {
        on_backend!(&self.db, runs(limit))
    }

    /// Every stored advisory, merged and indexed for matching.
    pub async fn advisory_index(&self) -> Result<AdvisoryIndex> {
        let records = on_backend!(&self.db, records(&|r| r))?;
        Ok(AdvisoryIndex::build(records))
    }

    /// [`Self::advisory_index`] for a scan of `wanted` alone ([`AdvisoryIndex::load_for`]).
    pub async fn advisory_index_for(&self, wanted: &WantedPackages) -> Result<AdvisoryIndex> {
        let records = on_backend!(&self.db, records(&|r| wanted.slim(r)))?;
        Ok(AdvisoryIndex::build(records))
    }

    /// Records the vulnerabilities a lockfile or SBOM scan of `asset_id` found (informational
    /// advisories are not findings): new ones open, fixed ones that came back reopen, and the
    /// asset's application findings this scan no longer has are fixed.
    pub async fn record_scan(
        &self,
        actor: &Actor,
        asset_id: i64,
        matches: &[Match],
        policy: &DuePolicy,
    ) -> Result<ScanOutcome> {
        self.record_scan_in(actor, asset_id, matches, policy, ScanScope::Applications)
            .await
    }

    /// [`Self::record_scan`] for the findings of one `scope`: what the scan no longer has is
    /// fixed only among the asset's findings in that scope.
    pub async fn record_scan_in(
        &self,
        actor: &Actor,
        asset_id: i64,
        matches: &[Match],
        policy: &DuePolicy,
        scope: ScanScope,
    ) -> Result<ScanOutcome> {
        on_backend!(
            &self.db,
            record_scan(actor, asset_id, matches, policy, scope, Utc::now())
        )
    }

    pub async fn finding(&self, id: i64) -> Result<Finding> {
        on_backend!(&self.db, get(id))
    }

    pub async fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>> {
        self.findings_on(filter, Utc::now().date_naive()).await
    }

    /// [`Self::findings`] with `overdue` meaning due before `today`.
    pub async fn findings_on(
        &self,
        filter: &FindingFilter,
        today: chrono::NaiveDate,
    ) -> Result<Vec<Finding>> {
        on_backend!(&self.db, list(filter, today))
    }

    /// Every finding's lifecycle events from the audit log, oldest first (for the burn-down).
    pub async fn state_events(&self) -> Result<Vec<StateEvent>> {
        on_backend!(&self.db, state_events())
    }

    pub async fn transition(&self, actor: &Actor, id: i64, change: &Transition) -> Result<Finding> {
        if let Transition::AcceptRisk {
            reason, approver, ..
        } = change
        {
            if reason.trim().is_empty() || approver.trim().is_empty() {
                return Err(opsward_core::ValidationError::single(
                    "reason",
                    "accepting a risk needs a reason and an approver",
                )
                .into());
            }
        }
        on_backend!(&self.db, transition(actor, id, change))
    }
}
