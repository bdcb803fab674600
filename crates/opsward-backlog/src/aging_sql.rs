//! The aging report computed by the database: counts per age bucket and the ids of stale
//! and unowned open items, without loading every item. Same rules as [`crate::aging::aging`]
//! (whole days, future timestamps count as new), which the tests hold it to.

use crate::{
    aging::{AgingBuckets, AgingReport},
    store::{BacklogStore, Result},
};
use chrono::{DateTime, Duration, Utc};
use opsward_store::on_backend;

const OPEN: &str = "state NOT IN ('resolved', 'closed')";

/// The aging report's numbers without the item ids: what the list page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgingCounts {
    pub at: DateTime<Utc>,
    pub open: usize,
    pub buckets: AgingBuckets,
    pub stale_after_days: i64,
    pub stale: usize,
    pub unowned: usize,
}

macro_rules! aging_sql {
    ($module:ident, $db:ty) => {
        pub(crate) mod $module {
            use super::*;
            use sqlx::Row;

            type Pool = sqlx::Pool<$db>;

            pub async fn counts(pool: &Pool, now: DateTime<Utc>, stale_after_days: i64) -> Result<AgingCounts> {
                // Age in whole days is below 8 exactly when created after now - 8 days, etc.
                let edge = |days: i64| now - Duration::days(days);
                let row = sqlx::query(&format!(
                    "SELECT COUNT(*) AS open, \
                     COALESCE(SUM(CASE WHEN created_at > $1 THEN 1 ELSE 0 END), 0) AS b0, \
                     COALESCE(SUM(CASE WHEN created_at <= $1 AND created_at > $2 THEN 1 ELSE 0 END), 0) AS b1, \
                     COALESCE(SUM(CASE WHEN created_at <= $2 AND created_at > $3 THEN 1 ELSE 0 END), 0) AS b2, \
                     COALESCE(SUM(CASE WHEN created_at <= $3 THEN 1 ELSE 0 END), 0) AS b3, \
                     COALESCE(SUM(CASE WHEN updated_at <= $4 THEN 1 ELSE 0 END), 0) AS stale, \
                     COALESCE(SUM(CASE WHEN assignee_person_id IS NULL THEN 1 ELSE 0 END), 0) AS unowned \
                     FROM backlog_items WHERE {OPEN}"
                ))
                .bind(edge(8))
                .bind(edge(31))
                .bind(edge(91))
                .bind(edge(stale_after_days))
                .fetch_one(pool)
                .await?;
                let count = |c: &str| -> Result<usize> { Ok(row.try_get::<i64, _>(c)?.max(0) as usize) };
                Ok(AgingCounts {
                    at: now,
                    open: count("open")?,
                    buckets: AgingBuckets {
                        days_0_7: count("b0")?,
                        days_8_30: count("b1")?,
                        days_31_90: count("b2")?,
                        days_over_90: count("b3")?,
                    },
                    stale_after_days,
                    stale: count("stale")?,
                    unowned: count("unowned")?,
                })
            }

            pub async fn report(
                pool: &Pool,
                now: DateTime<Utc>,
                stale_after_days: i64,
                ids_limit: usize,
            ) -> Result<AgingReport> {
                let limit = i64::try_from(ids_limit).unwrap_or(i64::MAX);
                let counts = counts(pool, now, stale_after_days).await?;
                let edge = |days: i64| now - Duration::days(days);
                let stale = sqlx::query(&format!(
                    "SELECT id FROM backlog_items WHERE {OPEN} AND updated_at <= $1 ORDER BY updated_at, id LIMIT $2"
                ))
                .bind(edge(stale_after_days))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<Vec<i64>, _>>()?;
                let unowned = sqlx::query(&format!(
                    "SELECT id FROM backlog_items WHERE {OPEN} AND assignee_person_id IS NULL ORDER BY created_at, id LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<Result<Vec<i64>, _>>()?;
                Ok(AgingReport {
                    at: now,
                    open: counts.open,
                    buckets: counts.buckets,
                    stale_after_days,
                    stale,
                    stale_total: counts.stale,
                    unowned,
                    unowned_total: counts.unowned,
                })
            }
        }
    };
}

aging_sql!(sqlite, sqlx::Sqlite);
aging_sql!(postgres, sqlx::Postgres);

impl BacklogStore {
    /// How many open items there are per age bucket, stale and unowned, in one pass.
    pub async fn aging_counts(
        &self,
        now: DateTime<Utc>,
        stale_after_days: i64,
    ) -> Result<AgingCounts> {
        on_backend!(self.database(), counts(now, stale_after_days))
    }

    /// The aging report of the open backlog at `now`, computed in the database, with at
    /// most `ids_limit` ids in each list (the totals count them all).
    pub async fn aging_report(
        &self,
        now: DateTime<Utc>,
        stale_after_days: i64,
        ids_limit: usize,
    ) -> Result<AgingReport> {
        on_backend!(self.database(), report(now, stale_after_days, ids_limit))
    }
}
