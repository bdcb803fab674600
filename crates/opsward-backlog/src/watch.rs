//! Watchers: users who follow an item. Every state change and every new comment queues one
//! email per watcher in the notification outbox, in the transaction of the change itself
//! (a change that rolls back tells nobody). The watcher who made the change is not told,
//! nor a user without an email address. Mail goes through the first enabled email
//! channel; without one nothing is queued.

use crate::{model::Item, workflow::ItemState};
use chrono::{DateTime, Utc};
use opsward_core::{practice::Practice, Actor};
use opsward_ops::notifications::{Notification, Severity};
use opsward_store::{on_backend, Database, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A user following an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogWatcher)]
pub struct Watcher {
    pub item_id: i64,
    pub user_id: i64,
    pub username: String,
    /// Where the mail goes; without one the watcher is not told.
    pub email: Option<String>,
    pub since: DateTime<Utc>,
}

/// What happened to a watched item.
#[derive(Debug, Clone)]
pub enum WatchEvent<'a> {
    State { from: ItemState, to: ItemState },
    Comment { id: i64, body: &'a str },
}

impl WatchEvent<'_> {
    /// The message for one watcher.
    pub fn notification(&self, item: &Item, actor: &Actor, now: DateTime<Utc>) -> Notification {
        let (what, subject, body, event) = match self {
            WatchEvent::State { from, to } => (
                format!("state:{}", item.version),
                // `[#id]` in the subject: a reply to this mail, fetched by the inbound-email
                // job, becomes a comment on the item.
                format!("[#{}] {} is now {to}", item.id, item.title),
                format!(
                    "{} moved #{} {} from {from} to {to}.",
                    actor.label, item.id, item.title
                ),
                "backlog.watch_state",
            ),
            WatchEvent::Comment { id, body } => (
                format!("comment:{id}"),
                format!("New comment on [#{}] {}", item.id, item.title),
                format!(
                    "{} commented on #{} {}:\n\n{body}",
                    actor.label, item.id, item.title
                ),
                "backlog.watch_comment",
            ),
        };
        Notification {
            id: format!("backlog:{}:watch:{what}", item.id),
            subject,
            body_text: body,
            body_html: None,
            severity: Severity::Info,
            practice: Practice::Backlog.to_string(),
            link: Some(format!("/backlog/{}", item.id)),
            event: event.into(),
            occurred_at: now,
            recipients: Vec::new(),
        }
    }
}

macro_rules! watch_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;

            async fn check(conn: &mut backend::Conn, item_id: i64, user_id: i64) -> Result<()> {
                for (table, id, what) in [("backlog_items", item_id, "backlog item"), ("users", user_id, "user")] {
                    let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
                    if found.is_none() {
                        return Err(StoreError::NotFound(what));
                    }
                }
                Ok(())
            }

            /// `true` when the user was not watching yet.
            pub async fn watch(pool: &Pool, actor: &Actor, item_id: i64, user_id: i64) -> Result<bool> {
                let mut tx = pool.begin_with($begin).await?;
                check(&mut tx, item_id, user_id).await?;
                let added = sqlx::query("INSERT INTO backlog_watchers (item_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (item_id, user_id) DO NOTHING")
                    .bind(item_id)
                    .bind(user_id)
                    .bind(backend::now())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if added {
                    let after = serde_json::json!({ "item_id": item_id, "user_id": user_id });
                    backend::audit(&mut tx, actor, "create", "backlog_watcher", Some(item_id), None, Some(after)).await?;
                }
                tx.commit().await?;
                Ok(added)
            }

            /// `true` when the user was watching.
            pub async fn unwatch(pool: &Pool, actor: &Actor, item_id: i64, user_id: i64) -> Result<bool> {
                let mut tx = pool.begin_with($begin).await?;
                check(&mut tx, item_id, user_id).await?;
                let removed = sqlx::query("DELETE FROM backlog_watchers WHERE item_id = $1 AND user_id = $2")
                    .bind(item_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if removed {
                    let before = serde_json::json!({ "item_id": item_id, "user_id": user_id });
                    backend::audit(&mut tx, actor, "delete", "backlog_watcher", Some(item_id), Some(before), None).await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            pub async fn watchers(pool: &Pool, item_id: i64) -> Result<Vec<Watcher>> {
                sqlx::query(
                    "SELECT w.item_id, w.user_id, u.username, u.email, w.created_at FROM backlog_watchers w \
                     JOIN users u ON u.id = w.user_id WHERE w.item_id = $1 ORDER BY u.username",
                )
                .bind(item_id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(Watcher {
                        item_id: r.try_get("item_id")?,
                        user_id: r.try_get("user_id")?,
                        username: r.try_get("username")?,
                        email: r.try_get("email")?,
                        since: r.try_get("created_at")?,
                    })
                })
                .collect()
            }

            /// Queue one message per watcher with an address (not the actor). The number queued.
            pub(crate) async fn tell(conn: &mut backend::Conn, actor: &Actor, item: &Item, event: &WatchEvent<'_>) -> Result<usize> {
                let rows = sqlx::query(
                    "SELECT u.id, u.email FROM backlog_watchers w JOIN users u ON u.id = w.user_id \
                     WHERE w.item_id = $1 AND u.disabled = $2 AND u.email IS NOT NULL AND u.email <> '' ORDER BY u.id",
                )
                .bind(item.id)
                .bind(false)
                .fetch_all(&mut *conn)
                .await?;
                let mut to: Vec<(i64, String)> = Vec::new();
                for r in &rows {
                    let id: i64 = r.try_get("id")?;
                    if Some(id) != actor.user_id {
                        to.push((id, r.try_get("email")?));
                    }
                }
                if to.is_empty() {
                    return Ok(0);
                }
                let channel: Option<i64> = sqlx::query("SELECT id FROM notification_channels WHERE kind = 'email' AND enabled = $1 ORDER BY id LIMIT 1")
                    .bind(true)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|r| r.try_get("id"))
                    .transpose()?;
                let Some(channel) = channel else {
                    tracing::warn!(item = item.id, "item has watchers but no email channel is enabled; nobody told");
                    return Ok(0);
                };
                let now = backend::now();
                let base = event.notification(item, actor, now);
                for (user_id, email) in &to {
                    let mut n = base.clone();
                    n.id = format!("{}:user:{user_id}", base.id);
                    n.recipients = vec![email.clone()];
                    sqlx::query(
                        "INSERT INTO notification_outbox (rule_id, channel_id, dedupe_key, event, payload, state, attempts, next_attempt_at, created_at) \
                         VALUES (NULL, $1, $2, $3, $4, 'pending', 0, $5, $5)",
                    )
                    .bind(channel)
                    .bind(&n.id)
                    .bind(&n.event)
                    .bind(Json(&n))
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                }
                Ok(to.len())
            }
        }
    };
}

watch_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
watch_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// Watch and unwatch items.
#[derive(Clone)]
pub struct WatchStore {
    db: Database,
}

impl WatchStore {
    pub fn new(store: &dyn Store) -> Self {
        WatchStore {
            db: store.database(),
        }
    }

    /// Start watching; `false` when the user already watched the item.
    pub async fn watch(&self, actor: &Actor, item_id: i64, user_id: i64) -> Result<bool> {
        on_backend!(&self.db, watch(actor, item_id, user_id))
    }

    /// Stop watching; `false` when the user was not watching.
    pub async fn unwatch(&self, actor: &Actor, item_id: i64, user_id: i64) -> Result<bool> {
        on_backend!(&self.db, unwatch(actor, item_id, user_id))
    }

    pub async fn watchers(&self, item_id: i64) -> Result<Vec<Watcher>> {
        on_backend!(&self.db, watchers(item_id))
    }
}
