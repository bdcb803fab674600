//! What the practice contract reads: resilience activities (each measure's test activity and
//! any other activity host agents report on) with their newest evidence, the completions of
//! their scheduled tests, and critical assets without a measure. A fixed handful of bounded
//! queries, the same SQL on both backends.

use chrono::{DateTime, NaiveDateTime, Utc};
use opsward_store::{Database, StoreError};
use sqlx::Row;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Most rows one query returns.
pub const MAX_ROWS: i64 = 5000;

/// Run `$body` with `$pool` bound to the pool of either backend: the SQL is the same, only
/// the row type differs, so the body is type-checked once per backend.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

/// A resilience activity with its measure (if it is one's), its asset and its newest
/// evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct TestedActivity {
    pub activity_id: i64,
    pub activity_title: String,
    pub rrule: String,
    pub starts_local: NaiveDateTime,
    pub timezone: String,
    pub activity_team_id: Option<i64>,
    pub activity_person_id: Option<i64>,
    pub measure_id: Option<i64>,
    pub measure_title: Option<String>,
    pub measure_kind: Option<String>,
    pub measure_team_id: Option<i64>,
    pub measure_person_id: Option<i64>,
    pub asset_id: Option<i64>,
    pub asset_name: Option<String>,
    pub asset_team_id: Option<i64>,
    pub asset_person_id: Option<i64>,
    pub last_evidence_id: Option<i64>,
    /// `passed`, `failed` or `partial`.
    pub last_result: Option<String>,
    pub last_recorded_at: Option<DateTime<Utc>>,
    /// The first characters of its notes: enough to tell a host agent's report.
    pub last_notes_head: Option<String>,
}

/// Resilience activities (active, or a measure's), by id; with `asset_id`, only that
/// asset's.
pub async fn tested_activities(
    db: &Database,
    asset_id: Option<i64>,
) -> Result<Vec<TestedActivity>> {
    let mut sql = String::from(
        "SELECT a.id AS activity_id, a.title AS activity_title, a.rrule, a.starts_local, a.timezone, \
            a.owner_team_id AS activity_team_id, a.owner_person_id AS activity_person_id, \
            m.id AS measure_id, m.title AS measure_title, m.kind AS measure_kind, \
            m.owner_team_id AS measure_team_id, m.owner_person_id AS measure_person_id, \
            s.id AS asset_id, s.name AS asset_name, s.owner_team_id AS asset_team_id, s.owner_person_id AS asset_person_id, \
            e.id AS last_evidence_id, e.result AS last_result, e.recorded_at AS last_recorded_at, \
            SUBSTR(e.notes, 1, 40) AS last_notes_head \
         FROM activities a \
         LEFT JOIN resilience_measures m ON m.activity_id = a.id \
         LEFT JOIN assets s ON s.id = COALESCE(m.asset_id, a.asset_id) \
         LEFT JOIN evidence e ON e.id = (SELECT e2.id FROM evidence e2 WHERE e2.activity_id = a.id \
             ORDER BY e2.recorded_at DESC, e2.id DESC LIMIT 1) \
         WHERE a.practice = 'resilience' AND (a.active OR m.id IS NOT NULL)",
    );
    if asset_id.is_some() {
        // The `IN` list starts from the asset (indexes `resilience_measures_asset` and
        // `activities_asset`) so that one asset's page does not test every activity.
        sql.push_str(
            " AND a.id IN (SELECT activity_id FROM resilience_measures WHERE asset_id = $2 \
              UNION SELECT id FROM activities WHERE asset_id = $2) \
             AND COALESCE(m.asset_id, a.asset_id) = $2",
        );
    }
    sql.push_str(" ORDER BY a.id LIMIT $1");
    on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql).bind(MAX_ROWS);
        if let Some(a) = asset_id {
            query = query.bind(a);
        }
        let rows = query.fetch_all(pool).await?;
        rows.iter()
            .map(|r| {
                let starts: String = r.try_get("starts_local")?;
                Ok(TestedActivity {
                    activity_id: r.try_get("activity_id")?,
                    activity_title: r.try_get("activity_title")?,
                    rrule: r.try_get("rrule")?,
                    starts_local: NaiveDateTime::parse_from_str(&starts, "%Y-%m-%dT%H:%M:%S")
                        .map_err(|_| StoreError::Corrupt(format!("starts_local {starts:?}")))?,
                    timezone: r.try_get("timezone")?,
                    activity_team_id: r.try_get("activity_team_id")?,
                    activity_person_id: r.try_get("activity_person_id")?,
                    measure_id: r.try_get("measure_id")?,
                    measure_title: r.try_get("measure_title")?,
                    measure_kind: r.try_get("measure_kind")?,
                    measure_team_id: r.try_get("measure_team_id")?,
                    measure_person_id: r.try_get("measure_person_id")?,
                    asset_id: r.try_get("asset_id")?,
                    asset_name: r.try_get("asset_name")?,
                    asset_team_id: r.try_get("asset_team_id")?,
                    asset_person_id: r.try_get("asset_person_id")?,
                    last_evidence_id: r.try_get("last_evidence_id")?,
                    last_result: r.try_get("last_result")?,
                    last_recorded_at: r.try_get("last_recorded_at")?,
                    last_notes_head: r.try_get("last_notes_head")?,
                })
            })
            .collect()
    })
}

/// `(activity, occurrence start)` of every evidence on a resilience activity that completes
/// a scheduled test starting in `[from, to)`.
pub async fn completions(
    db: &Database,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    let sql = "SELECT e.activity_id, e.occurrence_at FROM evidence e JOIN activities a ON a.id = e.activity_id \
        WHERE a.practice = 'resilience' AND e.occurrence_at >= $1 AND e.occurrence_at < $2";
    on_pool!(db, |pool| {
        let rows = sqlx::query(sql).bind(from).bind(to).fetch_all(pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("activity_id")?, r.try_get("occurrence_at")?)))
            .collect()
    })
}

/// A critical asset no measure protects.
#[derive(Debug, Clone, PartialEq)]
pub struct UnprotectedAsset {
    pub id: i64,
    pub name: String,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// How many assets are critical, and those of them without any measure, by id.
pub async fn unprotected_critical_assets(db: &Database) -> Result<(i64, Vec<UnprotectedAsset>)> {
    let count_sql = "SELECT COUNT(*) AS n FROM assets WHERE criticality = 'critical'";
    let list_sql = "SELECT id, name, owner_team_id, owner_person_id, created_at FROM assets a \
        WHERE criticality = 'critical' AND NOT EXISTS (SELECT 1 FROM resilience_measures m WHERE m.asset_id = a.id) \
        ORDER BY id LIMIT $1";
    on_pool!(db, |pool| {
        let critical: i64 = sqlx::query(count_sql).fetch_one(pool).await?.try_get("n")?;
        let rows = sqlx::query(list_sql).bind(MAX_ROWS).fetch_all(pool).await?;
        let list = rows
            .iter()
            .map(|r| {
                Ok(UnprotectedAsset {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    owner_team_id: r.try_get("owner_team_id")?,
                    owner_person_id: r.try_get("owner_person_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((critical, list))
    })
}
