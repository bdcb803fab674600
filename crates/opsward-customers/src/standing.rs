//! Where customers stand, in a few aggregate queries for the practice's assessment:
//! satisfaction answers per period, review actions past due, and the reviews recorded
//! against each customer's review schedule.

use crate::{model::SurveyKind, store::CustomersStore};
use chrono::{DateTime, NaiveDate, Utc};
use opsward_store::{Database, StoreError};
use std::collections::HashMap;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How many answers of each score one customer gave to one kind of survey, in the current
/// period and the one before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerCounts {
    pub current: Vec<i32>,
    pub previous: Vec<i32>,
}

/// A review action past its due date and not done.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueAction {
    pub id: i64,
    pub title: String,
    pub owner_person_id: Option<i64>,
    pub due_on: NaiveDate,
    pub customer_id: i64,
}

const ANSWERS: &str = "SELECT customer_id, kind, CAST(CASE WHEN answered_at >= $2 THEN 1 ELSE 0 END AS BIGINT) AS recent, \
     score, COUNT(*) AS answers FROM surveys \
     WHERE state = 'answered' AND score IS NOT NULL AND answered_at >= $1 \
     GROUP BY customer_id, kind, recent, score";

const OVERDUE_ACTIONS: &str = "SELECT a.id, a.title, a.owner_person_id, a.due_on, r.customer_id \
     FROM review_actions a JOIN service_reviews r ON r.id = a.review_id \
     WHERE a.done_at IS NULL AND a.due_on < $1 ORDER BY a.due_on, a.id LIMIT $2";

const OVERDUE_ACTION_COUNT: &str =
    "SELECT COUNT(*) FROM review_actions WHERE done_at IS NULL AND due_on < $1";

/// Evidence recorded on customers' review schedules since a moment: which occurrences
/// have a review.
const REVIEW_EVIDENCE: &str = "SELECT e.activity_id, e.occurrence_at FROM evidence e \
     JOIN customers c ON c.review_activity_id = e.activity_id \
     WHERE e.occurrence_at >= $1";

type AnswerRow = (i64, String, i64, i32, i64);
type ActionRow = (i64, String, Option<i64>, NaiveDate, i64);

/// The rows of one query on whichever backend `db` is, with the same binds on both.
macro_rules! fetch_all {
    ($db:expr, $row:ty, $sql:expr $(, $bind:expr)*) => {
        match $db {
            Database::Sqlite(pool) => {
                sqlx::query_as::<_, $row>($sql)$(.bind($bind))*.fetch_all(pool).await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as::<_, $row>($sql)$(.bind($bind))*.fetch_all(pool).await?
            }
        }
    };
}

impl CustomersStore {
    /// Answers per customer and kind, split at `split`: from `from` up to `split` is the
    /// previous period, from `split` on the current one.
    pub async fn answer_counts(
        &self,
        from: DateTime<Utc>,
        split: DateTime<Utc>,
    ) -> Result<HashMap<(i64, SurveyKind), AnswerCounts>> {
        let rows: Vec<AnswerRow> = fetch_all!(&self.db, AnswerRow, ANSWERS, from, split);
        let mut out: HashMap<(i64, SurveyKind), AnswerCounts> = HashMap::new();
        for (customer, kind, recent, score, answers) in rows {
            let kind: SurveyKind = kind.parse().map_err(StoreError::Corrupt)?;
            let entry = out.entry((customer, kind)).or_default();
            let list = if recent == 1 {
                &mut entry.current
            } else {
                &mut entry.previous
            };
            // Bounded by the scale: at most 11 distinct scores per period.
            list.extend(std::iter::repeat_n(score, answers.max(0) as usize));
        }
        Ok(out)
    }

    /// Review actions due before `today` and not done, oldest first (at most `limit`), and
    /// how many there are in all.
    pub async fn overdue_actions(
        &self,
        today: NaiveDate,
        limit: i64,
    ) -> Result<(Vec<OverdueAction>, usize)> {
        let rows: Vec<ActionRow> = fetch_all!(&self.db, ActionRow, OVERDUE_ACTIONS, today, limit);
        let total: Vec<(i64,)> = fetch_all!(&self.db, (i64,), OVERDUE_ACTION_COUNT, today);
        let actions = rows
            .into_iter()
            .map(
                |(id, title, owner_person_id, due_on, customer_id)| OverdueAction {
                    id,
                    title,
                    owner_person_id,
                    due_on,
                    customer_id,
                },
            )
            .collect();
        let total = total.first().map_or(0, |(n,)| *n) as usize;
        Ok((actions, total))
    }

    /// Occurrences of customers' review schedules that have a review, since `since`.
    pub async fn reviewed_occurrences(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows: Vec<(i64, Option<DateTime<Utc>>)> = fetch_all!(
            &self.db,
            (i64, Option<DateTime<Utc>>),
            REVIEW_EVIDENCE,
            since
        );
        Ok(rows
            .into_iter()
            .filter_map(|(activity, at)| at.map(|at| (activity, at)))
            .collect())
    }

    /// The names of `ids` from the asset register, in one query.
    pub async fn asset_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, name FROM assets WHERE id IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<(i64, String)> = match &self.db {
            Database::Sqlite(pool) => {
                let mut q = sqlx::query_as(&sql);
                for id in ids {
                    q = q.bind(id);
                }
                q.fetch_all(pool).await?
            }
            Database::Postgres(pool) => {
                let mut q = sqlx::query_as(&sql);
                for id in ids {
                    q = q.bind(id);
                }
                q.fetch_all(pool).await?
            }
        };
        Ok(rows.into_iter().collect())
    }
}
