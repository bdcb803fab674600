//! The backlog practice's reads for its conditions and asset facets: the open items whose
//! SLA may be breached, most urgent first and bounded, and the open items of one asset.
//! The SQL is the same on both backends except for reading the JSON list of assets, so
//! each query is one text with a per-backend fragment.

use crate::store::{BacklogStore, Result};
use chrono::{DateTime, Utc};
use opsward_store::Database;
use sqlx::{types::Json, ColumnIndex, Decode, FromRow, Row, Type};

/// An open item as the SLA check sees it, with its first asset and that asset's owner.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaCandidate {
    pub id: i64,
    pub title: String,
    pub impact: i32,
    pub urgency: i32,
    pub team_id: Option<i64>,
    pub assignee_person_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub owned_at: Option<DateTime<Utc>>,
    pub asset_id: Option<i64>,
    pub asset_name: Option<String>,
    pub asset_team_id: Option<i64>,
    pub asset_person_id: Option<i64>,
}

/// An open item linked to an asset, for the asset page.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetItem {
    pub id: i64,
    pub title: String,
    pub state: String,
    pub impact: i32,
    pub urgency: i32,
    pub team_id: Option<i64>,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub owned_at: Option<DateTime<Utc>>,
}

/// Columns both row types decode on either backend.
trait Decodes<'r, R: Row>: Decode<'r, R::Database> + Type<R::Database> {}
impl<'r, R: Row, T: Decode<'r, R::Database> + Type<R::Database>> Decodes<'r, R> for T {}

impl<'r, R: Row> FromRow<'r, R> for SlaCandidate
where
    &'r str: ColumnIndex<R>,
    i64: Decodes<'r, R>,
    i32: Decodes<'r, R>,
    String: Decodes<'r, R>,
    DateTime<Utc>: Decodes<'r, R>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(SlaCandidate {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            impact: row.try_get("impact")?,
            urgency: row.try_get("urgency")?,
            team_id: row.try_get("team_id")?,
            assignee_person_id: row.try_get("assignee_person_id")?,
            created_at: row.try_get("created_at")?,
            owned_at: row.try_get("owned_at")?,
            asset_id: row.try_get("asset_id")?,
            asset_name: row.try_get("asset_name")?,
            asset_team_id: row.try_get("asset_team_id")?,
            asset_person_id: row.try_get("asset_person_id")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for AssetItem
where
    &'r str: ColumnIndex<R>,
    i64: Decodes<'r, R>,
    i32: Decodes<'r, R>,
    String: Decodes<'r, R>,
    DateTime<Utc>: Decodes<'r, R>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(AssetItem {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            state: row.try_get("state")?,
            impact: row.try_get("impact")?,
            urgency: row.try_get("urgency")?,
            team_id: row.try_get("team_id")?,
            assignee: row.try_get("assignee")?,
            created_at: row.try_get("created_at")?,
            owned_at: row.try_get("owned_at")?,
        })
    }
}

/// Open items, most urgent priority first, then oldest: the order of the partial index
/// `backlog_items_open_by_priority`, so the database stops after `limit` rows instead of
/// sorting every open item.
fn sla_candidates_sql(first_asset: &str) -> String {
    format!(
        "SELECT i.id, i.title, i.impact, i.urgency, i.team_id, i.assignee_person_id, i.created_at, \
         i.owned_at, a.id AS asset_id, a.name AS asset_name, a.owner_team_id AS asset_team_id, \
         a.owner_person_id AS asset_person_id \
         FROM backlog_items i LEFT JOIN assets a ON a.id = {first_asset} \
         WHERE i.state NOT IN ('resolved', 'closed') AND i.created_at <= $1 \
         ORDER BY i.impact + i.urgency, i.created_at, i.id LIMIT $2"
    )
}

/// The open items of one asset, newest first. `has_asset` starts from the asset: the link
/// table `backlog_item_assets` on SQLite, the GIN index on the JSON list on PostgreSQL.
fn asset_item_ids_sql(has_asset: &str) -> String {
    format!(
        "SELECT i.id FROM backlog_items i WHERE i.state NOT IN ('resolved', 'closed') AND {has_asset} \
         ORDER BY i.created_at DESC, i.id DESC"
    )
}

fn asset_items_sql(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!(
        "SELECT i.id, i.title, i.state, i.impact, i.urgency, i.team_id, p.name AS assignee, \
         i.created_at, i.owned_at FROM backlog_items i LEFT JOIN people p ON p.id = i.assignee_person_id \
         WHERE i.id IN ({}) ORDER BY i.created_at DESC, i.id DESC",
        list.join(", ")
    )
}

impl BacklogStore {
    /// Up to `limit` open items created at or before `created_before` (no clock can have
    /// run out on a younger one), most urgent first, then oldest.
    pub async fn sla_candidates(
        &self,
        created_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SlaCandidate>> {
        Ok(match self.database() {
            Database::Sqlite(pool) => {
                sqlx::query_as(&sla_candidates_sql("json_extract(i.asset_ids, '$[0]')"))
                    .bind(created_before)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_as(&sla_candidates_sql("(i.asset_ids->>0)::bigint"))
                    .bind(created_before)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// The newest `limit` open items linked to the asset, and how many it has in all.
    pub async fn open_items_of_asset(
        &self,
        asset_id: i64,
        limit: usize,
    ) -> Result<(Vec<AssetItem>, usize)> {
        let ids: Vec<i64> = match self.database() {
            Database::Sqlite(pool) => {
                // `backlog_item_assets` is SQLite's index into the JSON lists (migration 0029).
                sqlx::query_scalar(&asset_item_ids_sql(
                    "i.id IN (SELECT l.item_id FROM backlog_item_assets l WHERE l.asset_id = $1)",
                ))
                .bind(asset_id)
                .fetch_all(pool)
                .await?
            }
            Database::Postgres(pool) => {
                // `@>` on the array is what the GIN index `backlog_items_asset_ids` serves.
                sqlx::query_scalar(&asset_item_ids_sql("i.asset_ids @> $1"))
                    .bind(Json(vec![asset_id]))
                    .fetch_all(pool)
                    .await?
            }
        };
        let newest = &ids[..ids.len().min(limit)];
        if newest.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // Ids from the database, written as numbers: nothing a caller typed reaches the text.
        let sql = asset_items_sql(newest);
        let items = match self.database() {
            Database::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await?,
            Database::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await?,
        };
        Ok((items, ids.len()))
    }
}
