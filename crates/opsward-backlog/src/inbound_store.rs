//! Storage of inbound email on either backend. Filing a message (a new item, or a comment
//! on the item it names) and recording its key are one transaction whose record insert is
//! `ON CONFLICT DO NOTHING` on the key: the loser of a race, or a rerun after a crash
//! before the message was flagged, rolls its item or comment back. Every change writes an
//! audit row in its transaction.

use crate::{
    model::{Comment, Item, ItemFields},
    store::{BacklogStore, Result},
};
use opsward_core::Actor;
use opsward_store::on_backend;
use serde::{Deserialize, Serialize};

/// A message already filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiledMessage {
    pub id: i64,
    pub message_key: String,
    pub mailbox: String,
    pub sender: String,
    pub subject: String,
    /// `created` or `commented`.
    pub action: String,
    pub item_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub processed_at: chrono::DateTime<chrono::Utc>,
}

/// Where a message came from, to record with what it became.
#[derive(Debug, Clone)]
pub struct MessageOrigin<'a> {
    pub key: &'a str,
    pub mailbox: &'a str,
    pub sender: &'a str,
    pub subject: &'a str,
}

macro_rules! inbound_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr, $items:path) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use $items as items;
            use sqlx::Row;

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, message_key, mailbox, sender, subject, action, item_id, comment_id, processed_at";

            fn filed_row(row: &DbRow) -> Result<FiledMessage> {
                Ok(FiledMessage {
                    id: row.try_get("id")?,
                    message_key: row.try_get("message_key")?,
                    mailbox: row.try_get("mailbox")?,
                    sender: row.try_get("sender")?,
                    subject: row.try_get("subject")?,
                    action: row.try_get("action")?,
                    item_id: row.try_get("item_id")?,
                    comment_id: row.try_get("comment_id")?,
                    processed_at: row.try_get("processed_at")?,
                })
            }

            pub async fn filed(pool: &Pool, key: &str) -> Result<Option<FiledMessage>> {
                sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_inbound_messages WHERE message_key = $1"))
                    .bind(key)
                    .fetch_optional(pool)
                    .await?
                    .as_ref()
                    .map(filed_row)
                    .transpose()
            }

            /// The id and name of the person with this email address, ignoring case.
            pub async fn person_by_email(pool: &Pool, email: &str) -> Result<Option<(i64, String)>> {
                let row = sqlx::query("SELECT id, name FROM people WHERE lower(email) = lower($1) ORDER BY id LIMIT 1")
                    .bind(email)
                    .fetch_optional(pool)
                    .await?;
                Ok(match row {
                    Some(r) => Some((r.try_get("id")?, r.try_get("name")?)),
                    None => None,
                })
            }

            /// Record the message; `false` (nothing written) when its key is known already.
            async fn record(
                conn: &mut backend::Conn,
                actor: &Actor,
                origin: &MessageOrigin<'_>,
                action: &str,
                item_id: i64,
                comment_id: Option<i64>,
            ) -> Result<bool> {
                let id: Option<i64> = sqlx::query(
                    "INSERT INTO backlog_inbound_messages (message_key, mailbox, sender, subject, action, item_id, comment_id, processed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_key) DO NOTHING RETURNING id",
                )
                .bind(origin.key)
                .bind(origin.mailbox)
                .bind(origin.sender)
                .bind(origin.subject)
                .bind(action)
                .bind(item_id)
                .bind(comment_id)
                .bind(backend::now())
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get("id"))
                .transpose()?;
                let Some(id) = id else {
                    return Ok(false);
                };
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_inbound_messages WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                let after = serde_json::to_value(filed_row(&row)?).ok();
                backend::audit(conn, actor, "create", "backlog_inbound_message", Some(id), None, after).await?;
                Ok(true)
            }

            /// Open the item of a new message; `None` when the message was filed already.
            pub async fn create(pool: &Pool, actor: &Actor, origin: &MessageOrigin<'_>, fields: &ItemFields) -> Result<Option<Item>> {
                let mut tx = pool.begin_with($begin).await?;
                let item = items::insert_item(&mut tx, actor, fields).await?;
                if !record(&mut tx, actor, origin, "created", item.id, None).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                tx.commit().await?;
                Ok(Some(item))
            }

            /// Comment on the item a reply names; `None` when the message was filed already.
            pub async fn comment(pool: &Pool, actor: &Actor, origin: &MessageOrigin<'_>, item_id: i64, body: &str) -> Result<Option<Comment>> {
                let mut tx = pool.begin_with($begin).await?;
                let item = items::fetch_item(&mut tx, item_id).await?;
                let comment = items::insert_comment(&mut tx, actor, &item, body).await?;
                if !record(&mut tx, actor, origin, "commented", item_id, Some(comment.id)).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                tx.commit().await?;
                Ok(Some(comment))
            }
        }
    };
}

inbound_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE",
    crate::store::sqlite
);
inbound_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    "BEGIN",
    crate::store::postgres
);

impl BacklogStore {
    /// The record of a message already turned into an item or comment, by its key.
    pub async fn inbound_filed(&self, key: &str) -> Result<Option<FiledMessage>> {
        on_backend!(self.database(), filed(key))
    }

    /// The person (id, name) whose email address this is.
    pub async fn person_by_email(&self, email: &str) -> Result<Option<(i64, String)>> {
        on_backend!(self.database(), person_by_email(email))
    }

    /// Open an item for a message and record the message, in one transaction; `None` when
    /// the message was filed before (nothing is written then).
    pub(crate) async fn file_inbound_item(
        &self,
        actor: &Actor,
        origin: &MessageOrigin<'_>,
        fields: &ItemFields,
    ) -> Result<Option<Item>> {
        fields.validate()?;
        on_backend!(self.database(), create(actor, origin, fields))
    }

    /// Comment on an item for a message and record the message, in one transaction;
    /// `None` when the message was filed before.
    pub(crate) async fn file_inbound_comment(
        &self,
        actor: &Actor,
        origin: &MessageOrigin<'_>,
        item_id: i64,
        body: &str,
    ) -> Result<Option<Comment>> {
        crate::model::CommentInput {
            body: body.to_string(),
        }
        .validate()?;
        on_backend!(self.database(), comment(actor, origin, item_id, body))
    }
}
