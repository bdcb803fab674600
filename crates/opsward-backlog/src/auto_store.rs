//! Storage of automatic-item links on either backend. Opening an item and its link is one
//! transaction whose link insert is `ON CONFLICT DO NOTHING` on (source, source_key): the
//! loser of a race rolls its item back. Every change writes an audit row in its transaction.

use crate::{
    auto::{fields_for, AutoItem, AutoItemSource, Condition},
    model::Item,
    store::{BacklogError, BacklogStore, Result},
};
use opsward_core::Actor;
use opsward_store::{on_backend, StoreError};
use serde_json::{json, Value};

macro_rules! auto_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr, $items:path) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use $items as items;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, source, source_key, item_id, link, label, impact, urgency, active, \
                opened_at, changed_at, cleared_at";

            fn link_row(row: &DbRow) -> Result<AutoItem> {
                let source: String = row.try_get("source")?;
                Ok(AutoItem {
                    id: row.try_get("id")?,
                    source: source.parse().map_err(|_| StoreError::Corrupt(format!("source has unexpected value {source:?}")))?,
                    source_key: row.try_get("source_key")?,
                    item_id: row.try_get("item_id")?,
                    link: row.try_get("link")?,
                    label: row.try_get("label")?,
                    impact: row.try_get("impact")?,
                    urgency: row.try_get("urgency")?,
                    active: row.try_get("active")?,
                    opened_at: row.try_get("opened_at")?,
                    changed_at: row.try_get("changed_at")?,
                    cleared_at: row.try_get("cleared_at")?,
                })
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<AutoItem> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_auto_items WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("automatic item"))?;
                link_row(&row)
            }

            pub async fn list(pool: &Pool, source: Option<AutoItemSource>, item_id: Option<i64>) -> Result<Vec<AutoItem>> {
                let mut q = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} FROM backlog_auto_items WHERE 1 = 1"));
                if let Some(s) = source {
                    q.push(" AND source = ").push_bind(s.as_str());
                }
                if let Some(i) = item_id {
                    q.push(" AND item_id = ").push_bind(i);
                }
                q.push(" ORDER BY id");
                q.build().fetch_all(pool).await?.iter().map(link_row).collect()
            }

            /// The item and its link, or `None` when another run linked this key first (its
            /// item is then rolled back with the transaction).
            pub async fn open(pool: &Pool, actor: &Actor, source: AutoItemSource, c: &Condition) -> Result<Option<(AutoItem, Item)>> {
                let mut tx = pool.begin_with($begin).await?;
                let item = items::insert_item(&mut tx, actor, &fields_for(source, c)).await?;
                let now = backend::now();
                let id: Option<i64> = sqlx::query(
                    "INSERT INTO backlog_auto_items (source, source_key, item_id, link, label, impact, urgency, active, \
                     opened_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (source, source_key) DO NOTHING RETURNING id",
                )
                .bind(source.as_str())
                .bind(&c.source_key)
                .bind(item.id)
                .bind(&c.link)
                .bind(&c.label)
                .bind(c.impact)
                .bind(c.urgency)
                .bind(true)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
                let Some(id) = id else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let link = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "backlog_auto_item", Some(id), None, serde_json::to_value(&link).ok()).await?;
                tx.commit().await?;
                Ok(Some((link, item)))
            }

            /// Flip `active` if it is still the opposite, and comment on the item in the same
            /// transaction; `false` when another run flipped it first.
            pub async fn set_active(pool: &Pool, actor: &Actor, link_id: i64, active: bool, note: &str) -> Result<bool> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, link_id).await?;
                let now = backend::now();
                let flipped = sqlx::query(
                    "UPDATE backlog_auto_items SET active = $1, changed_at = $2, cleared_at = $3 WHERE id = $4 AND active = $5",
                )
                .bind(active)
                .bind(now)
                .bind((!active).then_some(now))
                .bind(link_id)
                .bind(!active)
                .execute(&mut *tx)
                .await?;
                if flipped.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                let comment_id: i64 = sqlx::query(
                    "INSERT INTO backlog_comments (item_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(before.item_id)
                .bind(&actor.label)
                .bind(note)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                sqlx::query("UPDATE backlog_items SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(before.item_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO backlog_history (item_id, at, actor, action, changes) VALUES ($1, $2, $3, 'comment', $4)")
                    .bind(before.item_id)
                    .bind(now)
                    .bind(&actor.label)
                    .bind(Json(json!({ "comment_id": comment_id })))
                    .execute(&mut *tx)
                    .await?;
                let comment = json!({ "id": comment_id, "item_id": before.item_id, "author": actor.label, "body": note, "created_at": now });
                backend::audit(&mut tx, actor, "create", "backlog_comment", Some(comment_id), None, Some(comment)).await?;
                let after = fetch(&mut tx, link_id).await?;
                backend::audit(&mut tx, actor, "update", "backlog_auto_item", Some(link_id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(true)
            }

            /// Record the severity, link and label the source reports now.
            pub async fn update_link(pool: &Pool, actor: &Actor, link_id: i64, c: &Condition) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, link_id).await?;
                sqlx::query("UPDATE backlog_auto_items SET impact = $1, urgency = $2, link = $3, label = $4, changed_at = $5 WHERE id = $6")
                    .bind(c.impact)
                    .bind(c.urgency)
                    .bind(&c.link)
                    .bind(&c.label)
                    .bind(backend::now())
                    .bind(link_id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch(&mut tx, link_id).await?;
                let changed: Value = serde_json::to_value(&after).unwrap_or(Value::Null);
                backend::audit(&mut tx, actor, "update", "backlog_auto_item", Some(link_id), serde_json::to_value(&before).ok(), Some(changed)).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

auto_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE",
    crate::store::sqlite
);
auto_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    "BEGIN",
    crate::store::postgres
);

impl BacklogStore {
    /// Automatic-item links, optionally of one source or one item, oldest first.
    pub async fn auto_items(
        &self,
        source: Option<AutoItemSource>,
        item_id: Option<i64>,
    ) -> Result<Vec<AutoItem>> {
        on_backend!(self.database(), list(source, item_id))
    }

    /// The source an item was opened for, when it was opened automatically.
    pub async fn auto_item_of(&self, item_id: i64) -> Result<Option<AutoItem>> {
        Ok(self
            .auto_items(None, Some(item_id))
            .await?
            .into_iter()
            .next())
    }

    /// Open the item of a new condition; `None` when another run opened it first.
    pub async fn open_auto_item(
        &self,
        actor: &Actor,
        source: AutoItemSource,
        c: &Condition,
    ) -> Result<Option<(AutoItem, Item)>, BacklogError> {
        let fields = fields_for(source, c);
        fields.validate()?;
        let opened = on_backend!(self.database(), open(actor, source, c))?;
        if let Some((link, item)) = &opened {
            tracing::info!(item = item.id, source = %source, key = %link.source_key, "automatic backlog item opened");
        }
        Ok(opened)
    }

    /// Mark a condition cleared (`active = false`) or back, with `note` as a comment on the
    /// item; `false` when it already was.
    pub async fn set_auto_active(
        &self,
        actor: &Actor,
        link: &AutoItem,
        active: bool,
        note: &str,
    ) -> Result<bool> {
        on_backend!(self.database(), set_active(actor, link.id, active, note))
    }

    /// Store the severity, link and label a condition has now.
    pub async fn update_auto_link(
        &self,
        actor: &Actor,
        link: &AutoItem,
        c: &Condition,
    ) -> Result<()> {
        on_backend!(self.database(), update_link(actor, link.id, c))
    }
}
