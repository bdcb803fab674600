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
    ($module:ident, $db:ty, $all_open_index:expr, $unowned_index:expr) => {
        pub(crate) mod $module {
            use super::*;
            use sqlx::Row;

            type Pool = sqlx::Pool<$db>;

            pub async fn counts(pool: &Pool, now: DateTime<Utc>, stale_after_days: i64) -> Result<AgingCounts> {
                // Age in whole days is below 8 exactly when created after now - 8 days, etc.
                // Each number is a count over a range of a partial index of open items
                // (migration 0028) instead of arithmetic on every open row: the buckets
                // from the few recent items down (the oldest is the rest), stale as the
                // open items minus those updated since the edge (updated_at is NOT NULL).
                let edge = |days: i64| now - Duration::days(days);
                let row = sqlx::query(&format!(
                    "SELECT (SELECT COUNT(*) FROM backlog_items{all} WHERE {OPEN}) AS open, \
                     (SELECT COUNT(*) FROM backlog_items WHERE {OPEN} AND created_at > $1) AS newer_8, \
                     (SELECT COUNT(*) FROM backlog_items WHERE {OPEN} AND created_at > $2) AS newer_31, \
                     (SELECT COUNT(*) FROM backlog_items WHERE {OPEN} AND created_at > $3) AS newer_91, \
                     (SELECT COUNT(*) FROM backlog_items WHERE {OPEN} AND updated_at > $4) AS fresh, \
                     (SELECT COUNT(*) FROM backlog_items{unowned} WHERE {OPEN} AND assignee_person_id IS NULL) AS unowned",
                    all = $all_open_index,
                    unowned = $unowned_index,
                ))
                .bind(edge(8))
                .bind(edge(31))
                .bind(edge(91))
                .bind(edge(stale_after_days))
                .fetch_one(pool)
                .await?;
                let count = |c: &str| -> Result<usize> { Ok(row.try_get::<i64, _>(c)?.max(0) as usize) };
                let open = count("open")?;
                let (newer_8, newer_31, newer_91) = (count("newer_8")?, count("newer_31")?, count("newer_91")?);
                Ok(AgingCounts {
                    at: now,
                    open,
                    buckets: AgingBuckets {
                        days_0_7: newer_8,
                        days_8_30: newer_31.saturating_sub(newer_8),
                        days_31_90: newer_91.saturating_sub(newer_31),
                        days_over_90: open.saturating_sub(newer_91),
                    },
                    stale_after_days,
                    stale: open.saturating_sub(count("fresh")?),
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
                    "SELECT id FROM backlog_items{unowned} WHERE {OPEN} AND assignee_person_id IS NULL ORDER BY created_at, id LIMIT $1",
                    unowned = $unowned_index,
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

// SQLite's planner prefers the assignee index for `IS NULL` and the narrow (state, team)
// index for the open count, reading 300,000 rows or 1,000,000 index entries at 1,000,000
// items; naming the partial indexes keeps both counts to the open items' entries.
aging_sql!(
    sqlite,
    sqlx::Sqlite,
    " INDEXED BY backlog_items_open_created",
    " INDEXED BY backlog_items_open_unowned"
);
aging_sql!(postgres, sqlx::Postgres, "", "");

impl BacklogStore {
    /// How many open items there are per age bucket, stale and unowned, in one statement.
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
