//! Where each supplier stands on reviews, in one aggregate query for the practice's
//! assessment: its latest review and that review's weighted score.

use super::{Result, SupplierStore};
use crate::review::weighted_mean;
use chrono::NaiveDate;
use opsward_store::Database;

/// A supplier's latest review, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestReview {
    pub supplier_id: i64,
    pub review_date: NaiveDate,
    /// Weighted mean of its scores, 1-5; `None` when it has no scores with weight.
    pub weighted_score: Option<f64>,
}

/// The latest review per supplier (by review date, then id, as the review history orders
/// them), with the sums its weighted score is made of. Served by the
/// `supplier_reviews_supplier` index.
const LATEST_REVIEWS: &str = "SELECT r.supplier_id, r.review_date, \
     SUM(sc.weight * sc.score) AS weighted, SUM(sc.weight) AS weights \
     FROM supplier_reviews r LEFT JOIN supplier_review_scores sc ON sc.review_id = r.id \
     WHERE NOT EXISTS (SELECT 1 FROM supplier_reviews later WHERE later.supplier_id = r.supplier_id \
     AND (later.review_date > r.review_date OR (later.review_date = r.review_date AND later.id > r.id))) \
     GROUP BY r.supplier_id, r.id, r.review_date ORDER BY r.supplier_id";

type LatestRow = (i64, NaiveDate, Option<i64>, Option<i64>);

impl SupplierStore {
    /// Every supplier's latest review with its weighted score.
    pub async fn latest_reviews(&self) -> Result<Vec<LatestReview>> {
        let rows: Vec<LatestRow> = match &self.db {
            Database::Sqlite(pool) => sqlx::query_as(LATEST_REVIEWS).fetch_all(pool).await?,
            Database::Postgres(pool) => sqlx::query_as(LATEST_REVIEWS).fetch_all(pool).await?,
        };
        Ok(rows
            .into_iter()
            .map(
                |(supplier_id, review_date, weighted, weights)| LatestReview {
                    supplier_id,
                    review_date,
                    weighted_score: weighted_mean(weighted.unwrap_or(0), weights.unwrap_or(0)),
                },
            )
            .collect())
    }
}
