//! The measures table on either backend: the same SQL on SQLite and PostgreSQL, expanded
//! once per backend. Every change writes its audit row in the same transaction.

use super::model::{Measure, MeasureFilter, MeasureInput};
use opsward_core::{Actor, ValidationError};
use opsward_store::StoreError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

macro_rules! measures_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, asset_id, kind, title, description, procedure, owner_team_id, owner_person_id, \
                check_kind, activity_id, created_at, updated_at";

            fn parse<T: std::str::FromStr<Err = String>>(column: &str, text: &str) -> Result<T> {
                text.parse().map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
            }

            fn measure_row(row: &DbRow) -> Result<Measure> {
                let kind: String = row.try_get("kind")?;
                let check: Option<String> = row.try_get("check_kind")?;
                let procedure: Json<Vec<String>> = row.try_get("procedure")?;
                Ok(Measure {
                    id: row.try_get("id")?,
                    asset_id: row.try_get("asset_id")?,
                    kind: parse("kind", &kind)?,
                    title: row.try_get("title")?,
                    description: row.try_get("description")?,
                    procedure: procedure.0,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    check: check.map(|c| parse("check_kind", &c)).transpose()?,
                    activity_id: row.try_get("activity_id")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<Measure> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM resilience_measures WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("resilience measure"))?;
                measure_row(&row)
            }

            /// The asset and owners must exist; checked inside the writing transaction so a
            /// reference cannot vanish between the check and the write.
            async fn check_refs(conn: &mut backend::Conn, m: &MeasureInput) -> Result<()> {
                let refs = [("assets", Some(m.asset_id), "asset_id"), ("teams", m.owner_team_id, "owner_team_id"), ("people", m.owner_person_id, "owner_person_id")];
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

            /// The same check before the calendar activity is written, so a bad asset id is
            /// a 422 naming the field rather than a foreign-key conflict from the calendar.
            pub async fn refs_exist(pool: &Pool, m: &MeasureInput) -> Result<()> {
                check_refs(&mut *pool.acquire().await?, m).await
            }

            pub async fn create(pool: &Pool, actor: &Actor, m: &MeasureInput, activity_id: i64) -> Result<Measure> {
                let mut tx = pool.begin_with($begin).await?;
                check_refs(&mut tx, m).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO resilience_measures (asset_id, kind, title, description, procedure, owner_team_id, owner_person_id, \
                     check_kind, activity_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(m.asset_id)
                .bind(m.kind.as_str())
                .bind(&m.title)
                .bind(&m.description)
                .bind(Json(&m.procedure))
                .bind(m.owner_team_id)
                .bind(m.owner_person_id)
                .bind(m.check.map(|c| c.as_str()))
                .bind(activity_id)
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "resilience_measure", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<Measure> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            pub async fn update(pool: &Pool, actor: &Actor, id: i64, m: &MeasureInput) -> Result<Measure> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                check_refs(&mut tx, m).await?;
                sqlx::query(
                    "UPDATE resilience_measures SET asset_id = $1, kind = $2, title = $3, description = $4, procedure = $5, \
                     owner_team_id = $6, owner_person_id = $7, check_kind = $8, updated_at = $9 WHERE id = $10",
                )
                .bind(m.asset_id)
                .bind(m.kind.as_str())
                .bind(&m.title)
                .bind(&m.description)
                .bind(Json(&m.procedure))
                .bind(m.owner_team_id)
                .bind(m.owner_person_id)
                .bind(m.check.map(|c| c.as_str()))
                .bind(backend::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "resilience_measure", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn delete(pool: &Pool, actor: &Actor, id: i64) -> Result<Measure> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch(&mut tx, id).await?;
                sqlx::query("DELETE FROM resilience_measures WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "resilience_measure", Some(id), serde_json::to_value(&before).ok(), None).await?;
                tx.commit().await?;
                Ok(before)
            }

            /// Up to `limit` measures with id above `after` matching the stored fields of the
            /// filter, oldest first. The state filter is applied by the caller: state is
            /// computed from the calendar, not stored.
            pub async fn list(pool: &Pool, filter: &MeasureFilter, after: Option<i64>, limit: i64) -> Result<Vec<Measure>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} FROM resilience_measures WHERE 1 = 1"));
                if let Some(a) = filter.asset_id {
                    query.push(" AND asset_id = ").push_bind(a);
                }
                if let Some(k) = filter.kind {
                    query.push(" AND kind = ").push_bind(k.as_str());
                }
                if let Some(after) = after {
                    query.push(" AND id > ").push_bind(after);
                }
                query.push(" ORDER BY id LIMIT ").push_bind(limit);
                query.build().fetch_all(pool).await?.iter().map(measure_row).collect()
            }
        }
    };
}

measures_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
measures_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");
