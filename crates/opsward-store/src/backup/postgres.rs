//! PostgreSQL's side of export and import. Tables are those of the connection's current
//! schema (`search_path`), as opsward's own queries see them.

use super::{
    format::{Cell, Column, Kind, Raw},
    Export, TableCount, TableInfo, TableReader, TableWriter, TransferError,
};
use crate::StoreSettings;
use futures_util::TryStreamExt;
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    PgConnection,
};
use std::{collections::BTreeMap, path::Path, str::FromStr};

fn column_kind(data_type: &str) -> Kind {
    match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "double precision" | "real" | "numeric" => Kind::Real,
        "boolean" => Kind::Bool,
        "timestamp with time zone" => Kind::Timestamp,
        "date" => Kind::Date,
        "jsonb" | "json" => Kind::Json,
        "bytea" => Kind::Bytes,
        _ => Kind::Text,
    }
}

/// A pool on the target of a restore, not migrated.
pub(super) async fn open(settings: &StoreSettings) -> Result<PgPool, TransferError> {
    let options = PgConnectOptions::from_str(&settings.url)
        .map_err(crate::StoreError::from)?
        .application_name("opsward-restore");
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(settings.connect_timeout)
        .connect_with(options)
        .await?)
}

pub(super) async fn schema_version(pool: &PgPool) -> Result<i64, TransferError> {
    let mut conn = pool.acquire().await?;
    schema_version_on(&mut conn).await
}

async fn schema_version_on(conn: &mut PgConnection) -> Result<i64, TransferError> {
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !migrated {
        return Ok(0);
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
    Ok(version.unwrap_or(0))
}

pub(super) async fn tables(pool: &PgPool) -> Result<Vec<TableInfo>, TransferError> {
    let mut conn = pool.acquire().await?;
    tables_on(&mut conn).await
}

/// One column of a table of the current schema, as the catalog describes it.
struct CatalogColumn {
    table: String,
    name: String,
    /// `information_schema`'s type name (`timestamp with time zone`), for its [`Kind`].
    data_type: String,
    /// The type's own name (`timestamptz`), for the casts of an import.
    udt: String,
    generated: bool,
}

/// Every column of every table of the current schema, in table and column order. One query
/// for all tables: catalog queries cost the same however many tables they answer for, and
/// a server with many schemas makes each of them slow.
async fn catalog_columns(conn: &mut PgConnection) -> Result<Vec<CatalogColumn>, TransferError> {
    let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.udt_name::text, \
            c.is_generated <> 'NEVER' \
         FROM information_schema.columns c JOIN information_schema.tables t \
          ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
          AND c.table_name <> '_sqlx_migrations' \
         ORDER BY c.table_name COLLATE \"C\", c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, name, data_type, udt, generated)| CatalogColumn {
            table,
            name,
            data_type,
            udt,
            generated,
        })
        .collect())
}

/// `(table, column)` pairs of a query, grouped by table in the order they came.
fn by_table(pairs: Vec<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, value) in pairs {
        grouped.entry(table).or_default().push(value);
    }
    grouped
}

async fn tables_on(conn: &mut PgConnection) -> Result<Vec<TableInfo>, TransferError> {
    let columns = catalog_columns(conn).await?;
    let mut primary_keys = by_table(
        sqlx::query_as(
            "SELECT c.table_name::text, k.column_name::text FROM information_schema.table_constraints c \
             JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
              AND k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND c.constraint_type = 'PRIMARY KEY' \
             ORDER BY c.table_name, k.ordinal_position",
        )
        .fetch_all(&mut *conn)
        .await?,
    );
    let mut references = by_table(
        sqlx::query_as(
            "SELECT DISTINCT source.relname::text, target.relname::text FROM pg_constraint k \
             JOIN pg_class source ON source.oid = k.conrelid \
             JOIN pg_class target ON target.oid = k.confrelid \
             JOIN pg_namespace n ON n.oid = source.relnamespace \
             WHERE k.contype = 'f' AND n.nspname = current_schema() \
             ORDER BY 1, 2",
        )
        .fetch_all(&mut *conn)
        .await?,
    );
    let mut tables: Vec<TableInfo> = Vec::new();
    for column in columns.into_iter().filter(|c| !c.generated) {
        if tables.last().is_none_or(|t| t.name != column.table) {
            tables.push(TableInfo {
                primary_key: primary_keys.remove(&column.table).unwrap_or_default(),
                refers_to: references.remove(&column.table).unwrap_or_default(),
                name: column.table.clone(),
                columns: Vec::new(),
            });
        }
        if let Some(table) = tables.last_mut() {
            table.columns.push(Column {
                kind: column_kind(&column.data_type),
                name: column.name,
            });
        }
    }
    Ok(tables)
}

/// Read every table in one repeatable-read, read-only transaction: one consistent snapshot
/// however much the servers write meanwhile.
pub(super) async fn export(
    pool: &PgPool,
    dir: &Path,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Export, TransferError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let schema_version = schema_version_on(&mut tx).await?;
    let mut counts = Vec::new();
    let mut last_ids = BTreeMap::new();
    let identities = identity_columns(&mut tx).await?;
    for info in tables_on(&mut tx).await? {
        // Sequences are outside transactions: this may be past the snapshot's rows, which
        // only means a restore skips some ids.
        for column in identities.get(&info.name).into_iter().flatten() {
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence(quote_ident($1), $2)::regclass)",
            )
            .bind(&info.name)
            .bind(column)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(last) = last {
                last_ids.insert(info.name.clone(), last);
            }
        }
        // `to_jsonb` hands every type over as JSON: no per-type decoding here. Reals come
        // as text besides, as JSON numbers are not read back exactly.
        let reals: Vec<&str> = info
            .columns
            .iter()
            .filter(|c| c.kind == Kind::Real)
            .map(|c| c.name.as_str())
            .collect();
        let real_texts = reals
            .iter()
            .map(|c| format!(", \"{c}\"::text"))
            .collect::<String>();
        let sql = format!(
            "SELECT json_build_array(to_jsonb(t) {real_texts})::text FROM \"{}\" t ORDER BY {}",
            info.name,
            super::order_by(&info, "\"C\"")
        );
        let mut writer = TableWriter::create(dir, &info)?;
        let mut rows = sqlx::query_scalar::<_, String>(&sql).fetch(&mut *tx);
        while let Some(text) = rows.try_next().await? {
            let (mut object, real_texts) = split_row(&text).ok_or_else(|| {
                TransferError::Damaged(format!("a row of {} is not JSON", info.name))
            })?;
            for (column, value) in reals.iter().zip(real_texts) {
                object.insert(column.to_string(), value);
            }
            let cells = info
                .columns
                .iter()
                .map(|column| {
                    let value = object
                        .remove(&column.name)
                        .unwrap_or(serde_json::Value::Null);
                    Cell::from_raw(column.kind, raw(column.kind, value)).map_err(|e| {
                        TransferError::Damaged(format!("{}.{}: {}", info.name, column.name, e.0))
                    })
                })
                .collect::<Result<Vec<_>, TransferError>>()?;
            writer.row(&cells)?;
        }
        drop(rows);
        let count = writer.finish()?;
        progress(&count);
        counts.push(count);
    }
    tx.commit().await?;
    Ok(Export {
        schema_version,
        tables: counts,
        last_ids,
    })
}

/// `[row object, "real as text", ...]` as selected above.
fn split_row(
    text: &str,
) -> Option<(
    serde_json::Map<String, serde_json::Value>,
    Vec<serde_json::Value>,
)> {
    let mut parts: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
    if parts.is_empty() {
        return None;
    }
    let object = match parts.remove(0) {
        serde_json::Value::Object(map) => map,
        _ => return None,
    };
    Some((object, parts))
}

fn raw(kind: Kind, value: serde_json::Value) -> Raw {
    use serde_json::Value;
    match (kind, value) {
        (_, Value::Null) => Raw::Null,
        (Kind::Json, v) => Raw::Json(v),
        (_, Value::Bool(b)) => Raw::Bool(b),
        (_, Value::Number(n)) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            None => Raw::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        (_, Value::String(s)) => Raw::Text(s),
        (_, other) => Raw::Text(other.to_string()),
    }
}

/// Insert every table's rows in one transaction, each value as text cast to its column's
/// type, then move every identity column's sequence past the highest id restored.
pub(super) async fn import(
    pool: &PgPool,
    dir: &Path,
    plan: &[(TableInfo, u64)],
    last_ids: &BTreeMap<String, i64>,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Vec<TableCount>, TransferError> {
    let mut tx = pool.begin().await?;
    for (info, _) in plan.iter().rev() {
        if super::SEEDED_TABLES.contains(&info.name.as_str()) {
            sqlx::query(&format!("DELETE FROM \"{}\"", info.name))
                .execute(&mut *tx)
                .await?;
        }
    }
    let catalog = catalog_columns(&mut tx).await?;
    let identities = identity_columns(&mut tx).await?;
    let mut counts = Vec::new();
    for (info, expected) in plan {
        let mut reader = TableReader::open(dir, info)?;
        let values = reader
            .header
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let udt = catalog
                    .iter()
                    .find(|c| c.table == info.name && c.name == column.name)
                    .map(|c| c.udt.as_str())
                    .unwrap_or("text");
                format!("CAST(${} AS \"{udt}\")", i + 1)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({values})",
            info.name,
            super::column_list(&reader.header.columns)
        );
        while let Some(cells) = reader.next_row()? {
            let mut query = sqlx::query(&sql);
            for cell in &cells {
                query = query.bind(cell.to_postgres_text());
            }
            query.execute(&mut *tx).await?;
        }
        let count = reader.finish(*expected)?;
        let columns = identities.get(&info.name).map_or(&[][..], Vec::as_slice);
        let last_id = last_ids.get(&info.name).copied();
        reset_identities(&mut tx, &info.name, columns, last_id).await?;
        progress(&count);
        counts.push(count);
    }
    tx.commit().await?;
    Ok(counts)
}

/// The identity columns of every table of the current schema, by table.
async fn identity_columns(
    conn: &mut PgConnection,
) -> Result<BTreeMap<String, Vec<String>>, TransferError> {
    Ok(by_table(
        sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND is_identity = 'YES' \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&mut *conn)
        .await?,
    ))
}

/// Move every identity sequence of `table` past its highest id and the last id handed out
/// where the snapshot was taken.
async fn reset_identities(
    conn: &mut PgConnection,
    table: &str,
    identity_columns: &[String],
    last_id: Option<i64>,
) -> Result<(), TransferError> {
    for column in identity_columns {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence(quote_ident($1), $2), \
             GREATEST(COALESCE(MAX(\"{column}\"), 0), $3, 1), \
             GREATEST(COALESCE(MAX(\"{column}\"), 0), $3) > 0) FROM \"{table}\""
        );
        sqlx::query(&sql)
            .bind(table)
            .bind(column)
            .bind(last_id.unwrap_or(0))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
