//! Saved list filters: a filter kept under a name, private to the user who saved it or
//! shared with everyone. Saving again under the same name replaces the filter. Filters
//! saved from the CLI belong to nobody and are always shared.

use crate::model::ItemFilter;
use chrono::{DateTime, Utc};
use opsward_core::{
    validation::{ValidationError, Validator},
    Actor,
};
use opsward_store::{on_backend, Database, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogSavedFilter)]
pub struct SavedFilter {
    pub id: i64,
    pub name: String,
    /// The user who saved it; none for filters saved from the CLI.
    pub owner_user_id: Option<i64>,
    /// Listed for everyone, not only its owner.
    pub shared: bool,
    pub filter: ItemFilter,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A filter to save under a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogSavedFilterInput)]
pub struct SavedFilterInput {
    pub name: String,
    #[serde(default)]
    pub shared: bool,
    pub filter: ItemFilter,
}

impl SavedFilterInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 100);
        if let Some(q) = &self.filter.q {
            v.text("filter.q", q, false, 500);
        }
        v.finish()
    }
}

macro_rules! filters_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, name, owner_user_id, shared, filter, created_by, created_at";

            fn row(r: &DbRow) -> Result<SavedFilter> {
                let filter: Json<ItemFilter> = r.try_get("filter")?;
                Ok(SavedFilter {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    owner_user_id: r.try_get("owner_user_id")?,
                    shared: r.try_get("shared")?,
                    filter: filter.0,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            async fn find(conn: &mut backend::Conn, owner: Option<i64>, name: &str) -> Result<Option<SavedFilter>> {
                sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_saved_filters WHERE COALESCE(owner_user_id, 0) = $1 AND name = $2"))
                    .bind(owner.unwrap_or(0))
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await?
                    .as_ref()
                    .map(row)
                    .transpose()
            }

            pub async fn save(pool: &Pool, actor: &Actor, owner: Option<i64>, input: &SavedFilterInput) -> Result<SavedFilter> {
                let mut tx = pool.begin_with($begin).await?;
                let name = input.name.trim();
                let shared = input.shared || owner.is_none();
                let before = find(&mut tx, owner, name).await?;
                if let Some(old) = &before {
                    sqlx::query("DELETE FROM backlog_saved_filters WHERE id = $1").bind(old.id).execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO backlog_saved_filters (name, owner_user_id, shared, filter, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(name)
                .bind(owner)
                .bind(shared)
                .bind(Json(&input.filter))
                .bind(&actor.label)
                .bind(backend::now())
                .execute(&mut *tx)
                .await?;
                let saved = find(&mut tx, owner, name).await?.ok_or(StoreError::NotFound("saved filter"))?;
                let action = if before.is_some() { "update" } else { "create" };
                backend::audit(
                    &mut tx,
                    actor,
                    action,
                    "backlog_saved_filter",
                    Some(saved.id),
                    before.as_ref().and_then(|b| serde_json::to_value(b).ok()),
                    serde_json::to_value(&saved).ok(),
                )
                .await?;
                tx.commit().await?;
                Ok(saved)
            }

            /// The user's own filters and every shared one, by name.
            pub async fn visible(pool: &Pool, user: Option<i64>) -> Result<Vec<SavedFilter>> {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM backlog_saved_filters WHERE shared = $1 OR owner_user_id = $2 ORDER BY name, id"
                ))
                .bind(true)
                .bind(user.unwrap_or(0))
                .fetch_all(pool)
                .await?
                .iter()
                .map(row)
                .collect()
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<SavedFilter> {
                let r = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_saved_filters WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("saved filter"))?;
                row(&r)
            }

            pub async fn delete(pool: &Pool, actor: &Actor, id: i64) -> Result<SavedFilter> {
                let mut tx = pool.begin_with($begin).await?;
                let r = sqlx::query(&format!("SELECT {COLUMNS} FROM backlog_saved_filters WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("saved filter"))?;
                let gone = row(&r)?;
                sqlx::query("DELETE FROM backlog_saved_filters WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "backlog_saved_filter", Some(id), serde_json::to_value(&gone).ok(), None).await?;
                tx.commit().await?;
                Ok(gone)
            }
        }
    };
}

filters_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
filters_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

#[derive(Clone)]
pub struct SavedFilters {
    db: Database,
}

impl SavedFilters {
    pub fn new(store: &dyn Store) -> Self {
        SavedFilters {
            db: store.database(),
        }
    }

    /// Save (or replace) the filter `name` of `owner` (none: a shared filter of nobody).
    pub async fn save(
        &self,
        actor: &Actor,
        owner: Option<i64>,
        input: &SavedFilterInput,
    ) -> Result<SavedFilter> {
        input.validate()?;
        on_backend!(&self.db, save(actor, owner, input))
    }

    /// What `user` may apply: their own filters and the shared ones.
    pub async fn visible(&self, user: Option<i64>) -> Result<Vec<SavedFilter>> {
        on_backend!(&self.db, visible(user))
    }

    /// The filter `name` as `user` sees it: their own first, then a shared one.
    pub async fn named(&self, user: Option<i64>, name: &str) -> Result<SavedFilter> {
        let all = self.visible(user).await?;
        let own = all
            .iter()
            .find(|f| f.name == name && f.owner_user_id.is_some() && f.owner_user_id == user);
        own.or_else(|| all.iter().find(|f| f.name == name && f.shared))
            .cloned()
            .ok_or(StoreError::NotFound("saved filter"))
    }

    pub async fn get(&self, id: i64) -> Result<SavedFilter> {
        on_backend!(&self.db, get(id))
    }

    pub async fn delete(&self, actor: &Actor, id: i64) -> Result<SavedFilter> {
        on_backend!(&self.db, delete(actor, id))
    }
}
