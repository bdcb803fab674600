//! Files attached to an item. The bytes live in the attachment store shared with evidence
//! and contract documents (by SHA-256, size-limited); this keeps what names them. Adding
//! and removing one writes a history row and an audit row. Removing a file's record leaves
//! the stored bytes, which other records may share by checksum.

use chrono::{DateTime, Utc};
use opsward_core::Actor;
use opsward_store::{on_backend, Database, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A file on a backlog item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogAttachment)]
pub struct ItemAttachment {
    pub id: i64,
    pub item_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// A file already saved in the attachment store, to record on an item.
#[derive(Debug, Clone)]
pub struct NewItemAttachment {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

macro_rules! files_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, item_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at";

            fn row(r: &DbRow) -> Result<ItemAttachment> {
                Ok(ItemAttachment {
                    id: r.try_get("id")?,
                    item_id: r.try_get("item_id")?,
                    filename: r.try_get("filename")?,
                    content_type: r.try_get("content_type")?,
                    size_bytes: r.try_get("size_bytes")?,
                    sha256: r.try_get("sha256")?,
                    uploaded_by: r.try_get("uploaded_by")?,
                    uploaded_at: r.try_get("uploaded_at")?,
                })
            }

            async fn history(conn: &mut backend::Conn, actor: &Actor, item_id: i64, action: &str, changes: serde_json::Value) -> Result<()> {
                sqlx::query("INSERT INTO backlog_history (item_id, at, actor, action, changes) VALUES ($1, $2, $3, $4, $5)")
                    .bind(item_id)
                    .bind(backend::now())
                    .bind(&actor.label)
                    .bind(action)
                    .bind(Json(changes))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub async fn add(pool: &Pool, actor: &Actor, item_id: i64, file: &NewItemAttachment) -> Result<ItemAttachment> {
                let mut tx = pool.begin_with($begin).await?;
                let exists = sqlx::query("SELECT id FROM backlog_items WHERE id = $1").bind(item_id).fetch_optional(&mut *tx).await?;
                if exists.is_none() {
                    return Err(StoreError::NotFound("backlog item"));
                }
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO backlog_attachments (item_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(item_id)
                .bind(&file.filename)
                .bind(&file.content_type)
                .bind(file.size_bytes)
                .bind(&file.sha256)
                .bind(&actor.label)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let stored = ItemAttachment {
                    id,
                    item_id,
                    filename: file.filename.clone(),
                    content_type: file.content_type.clone(),
                    size_bytes: file.size_bytes,
                    sha256: file.sha256.clone(),
                    uploaded_by: actor.label.clone(),
                    uploaded_at: now,
                };
                let json = serde_json::to_value(&stored).ok();
                history(&mut tx, actor, item_id, "attach", serde_json::json!({ "attachment_id": id, "filename": stored.filename })).await?;
                backend::audit(&mut tx, actor, "create", "backlog_attachment", Some(id), None, json).await?;
                tx.commit().await?;
                Ok(stored)
            }

            pub async fn list(pool: &Pool, item_id: i64) -> Result<Vec<ItemAttachment>> {
                sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_attachments WHERE item_id = $1 ORDER BY id"))
                    .bind(item_id)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(row)
                    .collect()
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<ItemAttachment> {
                let r = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_attachments WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("backlog attachment"))?;
                row(&r)
            }

            pub async fn delete(pool: &Pool, actor: &Actor, id: i64) -> Result<ItemAttachment> {
                let mut tx = pool.begin_with($begin).await?;
                let r = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_attachments WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("backlog attachment"))?;
                let gone = row(&r)?;
                sqlx::query("DELETE FROM backlog_attachments WHERE id = $1").bind(id).execute(&mut *tx).await?;
                history(&mut tx, actor, gone.item_id, "detach", serde_json::json!({ "attachment_id": id, "filename": gone.filename })).await?;
                backend::audit(&mut tx, actor, "delete", "backlog_attachment", Some(id), serde_json::to_value(&gone).ok(), None).await?;
                tx.commit().await?;
                Ok(gone)
            }
        }
    };
}

files_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
files_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// The records of the files on items.
#[derive(Clone)]
pub struct ItemFiles {
    db: Database,
}

impl ItemFiles {
    pub fn new(store: &dyn Store) -> Self {
        ItemFiles {
            db: store.database(),
        }
    }

    pub async fn add(
        &self,
        actor: &Actor,
        item_id: i64,
        file: &NewItemAttachment,
    ) -> Result<ItemAttachment> {
        on_backend!(&self.db, add(actor, item_id, file))
    }

    pub async fn list(&self, item_id: i64) -> Result<Vec<ItemAttachment>> {
        on_backend!(&self.db, list(item_id))
    }

    pub async fn get(&self, id: i64) -> Result<ItemAttachment> {
        on_backend!(&self.db, get(id))
    }

    /// Remove the record (the item's history and the audit log keep it); its metadata.
    pub async fn delete(&self, actor: &Actor, id: i64) -> Result<ItemAttachment> {
        on_backend!(&self.db, delete(actor, id))
    }
}
