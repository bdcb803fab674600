//! Backlog tables on either backend. Everything but full-text search is the same SQL on
//! SQLite and PostgreSQL, so one body is expanded per backend; the search fragments come
//! from [`crate::search`]. Every change writes a history row and an audit row in the same
//! transaction as the change itself.

use crate::{
    business_hours::Pause,
    model::{
        Comment, CommentInput, HistoryEntry, Item, ItemFields, ItemFilter, ItemInput, ItemPatch,
    },
    priority::{Priority, WsjfInput},
    search::{terms, Match},
    sla::{CompiledPolicy, SlaFacts, SlaPolicy, SlaReport},
    watch::WatchEvent,
    workflow::{ItemState, TransitionError},
};
use opsward_core::{
    page::{Page, PageRequest},
    Actor, ValidationError,
};
use opsward_store::{on_backend, Database, Store, StoreError};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What can go wrong changing the backlog: the store's errors, or a workflow move that is
/// not allowed (the API answers that with 422).
#[derive(Debug, thiserror::Error)]
pub enum BacklogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The item changed since the version the caller based its change on.
    #[error("backlog item {id} was changed by someone else meanwhile (you edited version {yours}, it is now at version {current}); reload it and apply your change again")]
    VersionConflict { id: i64, yours: i64, current: i64 },
}

impl From<ValidationError> for BacklogError {
    fn from(e: ValidationError) -> Self {
        BacklogError::Store(e.into())
    }
}

impl From<sqlx::Error> for BacklogError {
    fn from(e: sqlx::Error) -> Self {
        BacklogError::Store(e.into())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether a change must follow the workflow, or is a review's close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workflow {
    Enforce,
    Review,
}

/// Most duplicate suggestions returned on create.
pub const SIMILAR_LIMIT: i64 = 5;

/// Field-by-field difference of two items as `{field: {"before": .., "after": ..}}`;
/// `updated_at` and `version` are left out because they change on every write.
pub fn changes(before: &Item, after: &Item) -> Map<String, Value> {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Map::new();
    };
    a.into_iter()
        .filter(|(k, v)| k != "updated_at" && k != "version" && b.get(k) != Some(v))
        .map(|(k, v)| {
            let old = b.get(&k).cloned().unwrap_or(Value::Null);
            (k, serde_json::json!({ "before": old, "after": v }))
        })
        .collect()
}

macro_rules! backlog_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr, $fts:path) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use $fts as fts;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const ITEM_COLUMNS: &str = "backlog_items.id, backlog_items.item_type, backlog_items.title, \
                backlog_items.description, backlog_items.state, backlog_items.impact, backlog_items.urgency, \
                backlog_items.wsjf, backlog_items.team_id, backlog_items.assignee_person_id, backlog_items.tags, \
                backlog_items.asset_ids, backlog_items.created_at, backlog_items.updated_at, backlog_items.version, \
                backlog_items.owned_at, backlog_items.resolved_at";

            fn parse<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
                let text: String = row.try_get(column)?;
                text.parse().map_err(|_| StoreError::Corrupt(format!("{column} has unexpected value {text:?}")))
            }

            fn item_row(row: &DbRow) -> Result<Item> {
                let impact: i32 = row.try_get("impact")?;
                let urgency: i32 = row.try_get("urgency")?;
                let wsjf: Option<Json<WsjfInput>> = row.try_get("wsjf")?;
                let wsjf = wsjf.map(|w| w.0);
                let tags: Json<Vec<String>> = row.try_get("tags")?;
                let assets: Json<Vec<i64>> = row.try_get("asset_ids")?;
                Ok(Item {
                    id: row.try_get("id")?,
                    item_type: parse(row, "item_type")?,
                    title: row.try_get("title")?,
                    description: row.try_get("description")?,
                    state: parse(row, "state")?,
                    impact,
                    urgency,
                    priority: Priority::from_impact_urgency(impact, urgency)
                        .ok_or_else(|| StoreError::Corrupt(format!("impact {impact} urgency {urgency}")))?,
                    wsjf_score: wsjf.and_then(|w| w.score()),
                    wsjf,
                    team_id: row.try_get("team_id")?,
                    assignee_person_id: row.try_get("assignee_person_id")?,
                    tags: tags.0,
                    asset_ids: assets.0,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    version: row.try_get("version")?,
                    owned_at: row.try_get("owned_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                })
            }

            pub(crate) async fn fetch_item(conn: &mut backend::Conn, id: i64) -> Result<Item> {
                let row = sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM backlog_items WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("backlog item"))?;
                item_row(&row)
            }

            async fn check_refs(conn: &mut backend::Conn, f: &ItemFields) -> Result<()> {
                let mut refs = vec![("teams", f.team_id, "team_id"), ("people", f.assignee_person_id, "assignee_person_id")];
                refs.extend(f.asset_ids.iter().map(|a| ("assets", Some(*a), "asset_ids")));
                for (table, id, field) in refs {
                    if let Some(id) = id {
                        let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
                        if found.is_none() {
                            return Err(ValidationError::single(field, format!("{id} does not exist")).into());
                        }
                    }
                }
                Ok(())
            }

            async fn history(conn: &mut backend::Conn, actor: &Actor, item_id: i64, action: &str, changes: Value) -> Result<()> {
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

            /// Close the open pause when an item stops waiting on the customer or a supplier,
            /// open one when it starts.
            async fn record_pause(conn: &mut backend::Conn, id: i64, from: ItemState, to: ItemState, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
                if from.pauses_sla() {
                    sqlx::query("UPDATE backlog_sla_pauses SET ended_at = $1 WHERE item_id = $2 AND ended_at IS NULL")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                }
                if to.pauses_sla() {
                    sqlx::query("INSERT INTO backlog_sla_pauses (item_id, reason, started_at) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(to.as_str())
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            }

            pub async fn create_item(pool: &Pool, actor: &Actor, f: &ItemFields) -> Result<Item> {
                let mut tx = pool.begin_with($begin).await?;
                let created = insert_item(&mut tx, actor, f).await?;
                tx.commit().await?;
                Ok(created)
            }

            /// Every item or none: the first failure rolls the whole batch back and names
            /// the record (0-based) it failed on.
            pub async fn import_items(pool: &Pool, actor: &Actor, batch: &[ItemFields]) -> Result<Vec<Item>, (usize, StoreError)> {
                let mut tx = pool.begin_with($begin).await.map_err(|e| (0, e.into()))?;
                let mut created = Vec::with_capacity(batch.len());
                for (i, f) in batch.iter().enumerate() {
                    created.push(insert_item(&mut tx, actor, f).await.map_err(|e| (i, e))?);
                }
                tx.commit().await.map_err(|e| (batch.len(), e.into()))?;
                Ok(created)
            }

            pub(crate) async fn insert_item(tx: &mut backend::Conn, actor: &Actor, f: &ItemFields) -> Result<Item> {
                let mut tx = tx;
                check_refs(&mut tx, f).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO backlog_items (item_type, title, description, state, impact, urgency, wsjf, team_id, \
                     assignee_person_id, tags, asset_ids, created_at, updated_at, owned_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id",
                )
                .bind(f.item_type.as_str())
                .bind(&f.title)
                .bind(&f.description)
                .bind(f.state.as_str())
                .bind(f.impact)
                .bind(f.urgency)
                .bind(f.wsjf.map(Json))
                .bind(f.team_id)
                .bind(f.assignee_person_id)
                .bind(Json(&f.tags))
                .bind(Json(&f.asset_ids))
                .bind(now)
                .bind(f.assignee_person_id.map(|_| now))
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_item(&mut tx, id).await?;
                let after = serde_json::to_value(&created).ok();
                history(&mut tx, actor, id, "create", after.clone().unwrap_or(Value::Null)).await?;
                backend::audit(&mut tx, actor, "create", "backlog_item", Some(id), None, after).await?;
                Ok(created)
            }

            pub async fn get_item(pool: &Pool, id: i64) -> Result<Item> {
                fetch_item(&mut *pool.acquire().await?, id).await
            }

            /// Apply a patch: the workflow check runs on the stored state inside the
            /// transaction, so two concurrent moves cannot both pass on a stale read.
            pub async fn update_item(pool: &Pool, actor: &Actor, id: i64, patch: &ItemPatch) -> Result<Item, BacklogError> {
                let mut tx = pool.begin_with($begin).await?;
                let after = apply_patch(&mut tx, actor, id, patch, Workflow::Enforce).await?;
                tx.commit().await?;
                Ok(after)
            }

            /// Close an open item on a backlog review's decision: the one move that skips
            /// the workflow (a review may close what nobody will ever work on). The reason
            /// is kept as a comment in the same transaction.
            pub async fn review_close(pool: &Pool, actor: &Actor, id: i64, reason: &str) -> Result<Item, BacklogError> {
                let mut tx = pool.begin_with($begin).await?;
                let patch = ItemPatch { state: Some(ItemState::Closed), ..ItemPatch::default() };
                let after = apply_patch(&mut tx, actor, id, &patch, Workflow::Review).await?;
                insert_comment(&mut tx, actor, &after, reason).await?;
                tx.commit().await?;
                Ok(after)
            }

            /// One patch on many items in one transaction: all change or none does; the
            /// error names the item that refused.
            pub async fn bulk_update(pool: &Pool, actor: &Actor, items: &[(i64, Option<i64>)], patch: &ItemPatch) -> Result<Vec<Item>, (i64, BacklogError)> {
                let mut tx = pool.begin_with($begin).await.map_err(|e| (0, e.into()))?;
                let mut out = Vec::with_capacity(items.len());
                for (id, version) in items {
                    let patch = ItemPatch { version: *version, ..patch.clone() };
                    out.push(apply_patch(&mut tx, actor, *id, &patch, Workflow::Enforce).await.map_err(|e| (*id, e))?);
                }
                tx.commit().await.map_err(|e| (0, e.into()))?;
                Ok(out)
            }

            async fn apply_patch(tx: &mut backend::Conn, actor: &Actor, id: i64, patch: &ItemPatch, workflow: Workflow) -> Result<Item, BacklogError> {
                let mut tx = tx;
                let before = fetch_item(&mut tx, id).await?;
                let based_on = patch.version.unwrap_or(before.version);
                if based_on != before.version {
                    return Err(BacklogError::VersionConflict { id, yours: based_on, current: before.version });
                }
                let f = ItemFields::of(&before).patched(patch);
                if f == ItemFields::of(&before) {
                    // Nothing to record: keep the item as it was, updated_at and version included.
                    return Ok(before);
                }
                match workflow {
                    Workflow::Enforce => {
                        before.state.transition(f.state)?;
                    }
                    Workflow::Review if before.state == ItemState::Closed => {
                        before.state.transition(f.state)?;
                    }
                    Workflow::Review => {}
                }
                f.validate()?;
                check_refs(&mut tx, &f).await?;
                let now = backend::now();
                let owned_at = before.owned_at.or(f.assignee_person_id.map(|_| now));
                let resolved_at = match f.state {
                    s if s == before.state => before.resolved_at,
                    ItemState::Resolved => Some(now),
                    // Closed straight from an open state (a review decision): done now.
                    ItemState::Closed if before.state.is_open() => Some(now),
                    s if s.is_open() => None,
                    _ => before.resolved_at,
                };
                // The version in the WHERE clause makes the check and the write one step: on
                // PostgreSQL a concurrent writer that got here first holds the row, and this
                // statement then sees its new version and matches nothing.
                let written = sqlx::query(
                    "UPDATE backlog_items SET item_type = $1, title = $2, description = $3, state = $4, impact = $5, \
                     urgency = $6, wsjf = $7, team_id = $8, assignee_person_id = $9, tags = $10, asset_ids = $11, \
                     updated_at = $12, owned_at = $14, resolved_at = $15, version = version + 1 \
                     WHERE id = $13 AND version = $16",
                )
                .bind(f.item_type.as_str())
                .bind(&f.title)
                .bind(&f.description)
                .bind(f.state.as_str())
                .bind(f.impact)
                .bind(f.urgency)
                .bind(f.wsjf.map(Json))
                .bind(f.team_id)
                .bind(f.assignee_person_id)
                .bind(Json(&f.tags))
                .bind(Json(&f.asset_ids))
                .bind(now)
                .bind(id)
                .bind(owned_at)
                .bind(resolved_at)
                .bind(before.version)
                .execute(&mut *tx)
                .await?;
                if written.rows_affected() == 0 {
                    let current = fetch_item(&mut tx, id).await?.version;
                    return Err(BacklogError::VersionConflict { id, yours: based_on, current });
                }
                if f.state != before.state {
                    record_pause(&mut tx, id, before.state, f.state, now).await?;
                }
                let after = fetch_item(&mut tx, id).await?;
                let changed = changes(&before, &after);
                history(&mut tx, actor, id, "update", Value::Object(changed)).await?;
                backend::audit(&mut tx, actor, "update", "backlog_item", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                if after.state != before.state {
                    crate::watch::$module::tell(&mut tx, actor, &after, &WatchEvent::State { from: before.state, to: after.state }).await?;
                }
                Ok(after)
            }

            pub async fn list_items(pool: &Pool, filter: &ItemFilter, page: PageRequest) -> Result<Page<Item>> {
                let words = filter.q.as_deref().map(terms);
                if words.as_ref().is_some_and(|w| w.is_empty()) {
                    return Ok(Page { items: Vec::new(), next_cursor: None });
                }
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {ITEM_COLUMNS}"));
                let key = match &words {
                    Some(w) => {
                        fts::push_list_source(&mut query, w);
                        fts::LIST_KEY
                    }
                    None => {
                        query.push(" FROM backlog_items WHERE 1 = 1");
                        "backlog_items.id"
                    }
                };
                if let Some(s) = filter.state {
                    let column = if words.is_some() && filter.team_id.is_none() {
                        fts::state_next_to_words("backlog_items.state")
                    } else {
                        "backlog_items.state".to_string()
                    };
                    query.push(format!(" AND {column} = ")).push_bind(s.as_str());
                }
                if let Some(t) = filter.item_type {
                    query.push(" AND backlog_items.item_type = ").push_bind(t.as_str());
                }
                if let Some(t) = filter.team_id {
                    query.push(" AND backlog_items.team_id = ").push_bind(t);
                }
                if let Some(a) = filter.assignee_person_id {
                    query.push(" AND backlog_items.assignee_person_id = ").push_bind(a);
                }
                if let Some(after) = page.after {
                    query.push(format!(" AND {key} > ")).push_bind(after);
                }
                query.push(format!(" ORDER BY {key} LIMIT ")).push_bind(i64::from(page.limit) + 1);
                let rows = query.build().fetch_all(pool).await?;
                let items = rows.iter().map(item_row).collect::<Result<Vec<_>>>()?;
                Ok(Page::from_rows(items, page.limit, |i| i.id))
            }

            /// Items matching `words`, best match first, among the newest
            /// [`RANK_WINDOW`](crate::search::RANK_WINDOW) matches.
            pub async fn ranked(pool: &Pool, words: &[String], mode: Match, limit: i64) -> Result<Vec<Item>> {
                let documents = fts::document_counts(pool, words).await?;
                let mut query = QueryBuilder::<$db>::new("");
                fts::push_ranked(&mut query, ITEM_COLUMNS, words, &documents, mode, limit);
                query.build().fetch_all(pool).await?.iter().map(item_row).collect()
            }

            /// Every item, for the aging report.
            pub async fn all_items(pool: &Pool) -> Result<Vec<Item>> {
                sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM backlog_items ORDER BY id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(item_row)
                    .collect()
            }

            pub async fn add_comment(pool: &Pool, actor: &Actor, item_id: i64, body: &str) -> Result<Comment> {
                let mut tx = pool.begin_with($begin).await?;
                let item = fetch_item(&mut tx, item_id).await?;
                let comment = insert_comment(&mut tx, actor, &item, body).await?;
                tx.commit().await?;
                Ok(comment)
            }

            /// Store a comment, mark the item active, record it, and tell the watchers.
            pub(crate) async fn insert_comment(tx: &mut backend::Conn, actor: &Actor, item: &Item, body: &str) -> Result<Comment> {
                let mut tx = tx;
                let item_id = item.id;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO backlog_comments (item_id, author, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(item_id)
                .bind(&actor.label)
                .bind(body)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let comment = Comment { id, item_id, author: actor.label.clone(), body: body.to_string(), created_at: now };
                // A comment is activity on the item: it is no longer stale.
                sqlx::query("UPDATE backlog_items SET updated_at = $1 WHERE id = $2").bind(now).bind(item_id).execute(&mut *tx).await?;
                let json = serde_json::to_value(&comment).ok();
                history(&mut tx, actor, item_id, "comment", serde_json::json!({ "comment_id": id })).await?;
                backend::audit(&mut tx, actor, "create", "backlog_comment", Some(id), None, json).await?;
                crate::watch::$module::tell(&mut tx, actor, item, &WatchEvent::Comment { id, body }).await?;
                Ok(comment)
            }

            pub async fn comments(pool: &Pool, item_id: i64) -> Result<Vec<Comment>> {
                let rows = sqlx::query("SELECT id, item_id, author, body, created_at FROM backlog_comments WHERE item_id = $1 ORDER BY id")
                    .bind(item_id)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Comment {
                            id: r.try_get("id")?,
                            item_id: r.try_get("item_id")?,
                            author: r.try_get("author")?,
                            body: r.try_get("body")?,
                            created_at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            pub async fn sla_policy(pool: &Pool) -> Result<Option<SlaPolicy>> {
                let row = sqlx::query("SELECT policy FROM backlog_sla_policy WHERE id = 1").fetch_optional(pool).await?;
                row.map(|r| r.try_get::<Json<SlaPolicy>, _>("policy").map(|p| p.0)).transpose().map_err(Into::into)
            }

            pub async fn set_sla_policy(pool: &Pool, actor: &Actor, policy: &SlaPolicy) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before = sqlx::query("SELECT policy FROM backlog_sla_policy WHERE id = 1")
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get::<Json<Value>, _>("policy").map(|p| p.0))
                    .transpose()?;
                sqlx::query(
                    "INSERT INTO backlog_sla_policy (id, policy, updated_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
                )
                .bind(Json(policy))
                .bind(backend::now())
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "update", "backlog_sla_policy", None, before, serde_json::to_value(policy).ok()).await?;
                tx.commit().await?;
                Ok(())
            }

            /// The pauses of these items, oldest first per item.
            pub async fn pauses_of(pool: &Pool, ids: &[i64]) -> Result<Vec<(i64, Pause)>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let mut q = QueryBuilder::<$db>::new("SELECT item_id, started_at, ended_at FROM backlog_sla_pauses WHERE item_id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(") ORDER BY item_id, started_at");
                    for r in q.build().fetch_all(pool).await? {
                        out.push((r.try_get("item_id")?, Pause { start: r.try_get("started_at")?, end: r.try_get("ended_at")? }));
                    }
                }
                Ok(out)
            }

            /// Items not resolved or closed, the ones whose clocks still run.
            pub async fn open_items(pool: &Pool) -> Result<Vec<Item>> {
                sqlx::query(&format!("SELECT {ITEM_COLUMNS} FROM backlog_items WHERE state NOT IN ('resolved', 'closed') ORDER BY id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(item_row)
                    .collect()
            }

            /// Notices already sent about these items, as (item, kind).
            pub async fn notices_of(pool: &Pool, ids: &[i64]) -> Result<Vec<(i64, String, chrono::DateTime<chrono::Utc>)>> {
                let mut out = Vec::new();
                for chunk in ids.chunks(500) {
                    let mut q = QueryBuilder::<$db>::new("SELECT item_id, kind, notified_at FROM backlog_sla_notices WHERE item_id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(") ORDER BY item_id, notified_at");
                    for r in q.build().fetch_all(pool).await? {
                        out.push((r.try_get("item_id")?, r.try_get("kind")?, r.try_get("notified_at")?));
                    }
                }
                Ok(out)
            }

            /// Remember that `kind` was notified for the item; `false` when it already was.
            pub async fn record_notice(pool: &Pool, item_id: i64, kind: &str, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
                let done = sqlx::query("INSERT INTO backlog_sla_notices (item_id, kind, notified_at) VALUES ($1, $2, $3) ON CONFLICT (item_id, kind) DO NOTHING")
                    .bind(item_id)
                    .bind(kind)
                    .bind(now)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn history_of(pool: &Pool, item_id: i64) -> Result<Vec<HistoryEntry>> {
                let rows = sqlx::query("SELECT id, item_id, at, actor, action, changes FROM backlog_history WHERE item_id = $1 ORDER BY id")
                    .bind(item_id)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let changes: Json<Value> = r.try_get("changes")?;
                        Ok(HistoryEntry {
                            id: r.try_get("id")?,
                            item_id: r.try_get("item_id")?,
                            at: r.try_get("at")?,
                            actor: r.try_get("actor")?,
                            action: r.try_get("action")?,
                            changes: changes.0,
                        })
                    })
                    .collect()
            }
        }
    };
}

backlog_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE",
    crate::search::sqlite_fts
);
backlog_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    "BEGIN",
    crate::search::postgres_fts
);

/// The facts an item's SLA clocks run on.
pub fn sla_facts(item: &Item, pauses: Vec<Pause>) -> SlaFacts {
    SlaFacts {
        priority: item.priority,
        team_id: item.team_id,
        created_at: item.created_at,
        owned_at: item.owned_at,
        resolved_at: item.resolved_at,
        pauses,
    }
}

/// The backlog's storage, next to the foundation store on the same database.
#[derive(Clone)]
pub struct BacklogStore {
    db: Database,
}

impl BacklogStore {
    pub fn new(store: &dyn Store) -> Self {
        BacklogStore {
            db: store.database(),
        }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    pub async fn create_item(&self, actor: &Actor, input: &ItemInput) -> Result<Item> {
        let fields = ItemFields::from_input(input);
        fields.validate()?;
        let item = on_backend!(&self.db, create_item(actor, &fields))?;
        tracing::info!(item = item.id, item_type = %item.item_type, "backlog item created");
        Ok(item)
    }

    pub async fn get_item(&self, id: i64) -> Result<Item> {
        on_backend!(&self.db, get_item(id))
    }

    /// Create every item in one transaction, or none. Each is validated first; a failure
    /// (invalid value, unknown team) names its record, 0-based.
    pub async fn import_items(
        &self,
        actor: &Actor,
        inputs: &[ItemInput],
    ) -> Result<Vec<Item>, (usize, StoreError)> {
        let mut batch = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let fields = ItemFields::from_input(input);
            fields.validate().map_err(|e| (i, e.into()))?;
            batch.push(fields);
        }
        let items = on_backend!(&self.db, import_items(actor, &batch))?;
        tracing::info!(items = items.len(), "backlog items imported");
        Ok(items)
    }

    /// Change fields and/or move the state; an illegal move is [`BacklogError::Transition`].
    pub async fn update_item(
        &self,
        actor: &Actor,
        id: i64,
        patch: &ItemPatch,
    ) -> Result<Item, BacklogError> {
        on_backend!(&self.db, update_item(actor, id, patch))
    }

    /// Apply one patch to every item of `ids` in one transaction, all or none; a refusal
    /// names the item. The patch's `version` is ignored: items differ in version.
    pub async fn bulk_update(
        &self,
        actor: &Actor,
        ids: &[i64],
        patch: &ItemPatch,
    ) -> Result<Vec<Item>, (i64, BacklogError)> {
        let items: Vec<(i64, Option<i64>)> = ids.iter().map(|id| (*id, None)).collect();
        self.bulk_update_versions(actor, &items, patch).await
    }

    /// Like [`Self::bulk_update`], each item with the version the caller based the change
    /// on (`None`: whatever is stored). One item changed meanwhile refuses the whole batch
    /// with [`BacklogError::VersionConflict`].
    pub async fn bulk_update_versions(
        &self,
        actor: &Actor,
        items: &[(i64, Option<i64>)],
        patch: &ItemPatch,
    ) -> Result<Vec<Item>, (i64, BacklogError)> {
        on_backend!(&self.db, bulk_update(actor, items, patch))
    }

    /// Close an item on a review decision, whatever open state it is in; `reason` becomes
    /// a comment. A closed item stays closed (refused as an illegal move).
    pub async fn review_close(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<Item, BacklogError> {
        CommentInput {
            body: reason.to_string(),
        }
        .validate()?;
        on_backend!(&self.db, review_close(actor, id, reason))
    }

    pub async fn list_items(&self, filter: &ItemFilter, page: PageRequest) -> Result<Page<Item>> {
        on_backend!(&self.db, list_items(filter, page))
    }

    /// Items containing every word of `query`, best match first among the newest
    /// [`RANK_WINDOW`](crate::search::RANK_WINDOW) matches.
    pub async fn search(&self, query: &str, limit: i64) -> Result<Vec<Item>> {
        let words = terms(query);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        on_backend!(&self.db, ranked(&words, Match::All, limit))
    }

    /// Up to [`SIMILAR_LIMIT`] items sharing words with a title and description, best match
    /// first among the newest [`RANK_WINDOW`](crate::search::RANK_WINDOW) items sharing any
    /// word: the possible duplicates to show before a new item is filed.
    pub async fn similar(&self, title: &str, description: &str) -> Result<Vec<Item>> {
        let words = terms(&format!("{title} {description}"));
        if words.is_empty() {
            return Ok(Vec::new());
        }
        on_backend!(&self.db, ranked(&words, Match::Any, SIMILAR_LIMIT))
    }

    pub async fn all_items(&self) -> Result<Vec<Item>> {
        on_backend!(&self.db, all_items())
    }

    pub async fn add_comment(
        &self,
        actor: &Actor,
        item_id: i64,
        input: &CommentInput,
    ) -> Result<Comment> {
        input.validate()?;
        on_backend!(&self.db, add_comment(actor, item_id, &input.body))
    }

    pub async fn comments(&self, item_id: i64) -> Result<Vec<Comment>> {
        on_backend!(&self.db, comments(item_id))
    }

    pub async fn history(&self, item_id: i64) -> Result<Vec<HistoryEntry>> {
        on_backend!(&self.db, history_of(item_id))
    }

    /// The stored SLA policy, or the built-in default when none was set.
    pub async fn sla_policy(&self) -> Result<SlaPolicy> {
        Ok(on_backend!(&self.db, sla_policy())?.unwrap_or_default())
    }

    /// The policy, checked, ready to evaluate items with.
    pub async fn compiled_sla_policy(&self) -> Result<CompiledPolicy> {
        self.sla_policy()
            .await?
            .compile()
            .map_err(|e| StoreError::Corrupt(format!("stored SLA policy: {e}")))
    }

    /// Replace the policy; refused unless every calendar and target is valid.
    pub async fn set_sla_policy(&self, actor: &Actor, policy: &SlaPolicy) -> Result<SlaPolicy> {
        policy.compile()?;
        on_backend!(&self.db, set_sla_policy(actor, policy))?;
        Ok(policy.clone())
    }

    /// The pause intervals of each of `ids`.
    pub async fn pauses(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<Pause>>> {
        let mut by_item: HashMap<i64, Vec<Pause>> = HashMap::new();
        for (id, p) in on_backend!(&self.db, pauses_of(ids))? {
            by_item.entry(id).or_default().push(p);
        }
        Ok(by_item)
    }

    /// Where each item's clocks stand at `now`; items whose priority has no target are left
    /// out.
    pub async fn sla_reports(
        &self,
        policy: &CompiledPolicy,
        items: &[Item],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<HashMap<i64, SlaReport>> {
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let mut pauses = self.pauses(&ids).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let facts = sla_facts(item, pauses.remove(&item.id).unwrap_or_default());
                policy.evaluate(&facts, now).map(|r| (item.id, r))
            })
            .collect())
    }

    /// The SLA report of one item under the current policy.
    pub async fn sla_report(
        &self,
        item: &Item,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<SlaReport>> {
        let policy = self.compiled_sla_policy().await?;
        Ok(self
            .sla_reports(&policy, std::slice::from_ref(item), now)
            .await?
            .remove(&item.id))
    }

    pub async fn open_items(&self) -> Result<Vec<Item>> {
        on_backend!(&self.db, open_items())
    }

    /// (item, kind, when) of the SLA notices already sent about `ids`.
    pub async fn sla_notices(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, String, chrono::DateTime<chrono::Utc>)>> {
        on_backend!(&self.db, notices_of(ids))
    }

    /// Remember a notice; `false` when this kind was already sent for the item.
    pub async fn record_sla_notice(
        &self,
        item_id: i64,
        kind: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        on_backend!(&self.db, record_notice(item_id, kind, now))
    }
}
