//! SQLite's side of export and import.

use super::{
    format::{Cell, Column, Kind, Raw},
    Export, TableCount, TableInfo, TableReader, TableWriter, TransferError,
};
use crate::StoreSettings;
use futures_util::TryStreamExt;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow},
    Row, TypeInfo, ValueRef,
};
use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    str::FromStr,
    sync::OnceLock,
};

/// SQLite declares timestamps, dates and JSON as TEXT; which columns hold them is listed
/// (from the PostgreSQL schema, which says) in `column_kinds.txt`.
fn listed_kinds() -> &'static HashMap<(String, String), Kind> {
    static KINDS: OnceLock<HashMap<(String, String), Kind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        include_str!("column_kinds.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|line| {
                let (column, kind) = line.split_once(' ').expect("`table.column kind`");
                let (table, column) = column.split_once('.').expect("`table.column`");
                let kind = Kind::parse(kind.trim()).expect("a known kind");
                ((table.to_string(), column.to_string()), kind)
            })
            .collect()
    })
}

fn column_kind(table: &str, column: &str, declared: &str) -> Kind {
    if let Some(kind) = listed_kinds().get(&(table.to_string(), column.to_string())) {
        return *kind;
    }
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        Kind::Int
    } else if declared.contains("BOOL") {
        Kind::Bool
    } else if declared.contains("REAL") || declared.contains("DOUB") || declared.contains("FLOA") {
        Kind::Real
    } else if declared.contains("BLOB") {
        Kind::Bytes
    } else {
        Kind::Text
    }
}

/// A pool on the target of a restore: created if missing, not migrated.
pub(super) async fn open(settings: &StoreSettings) -> Result<SqlitePool, TransferError> {
    let options = SqliteConnectOptions::from_str(&settings.url)
        .map_err(crate::StoreError::from)?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(15));
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

pub(super) async fn schema_version(pool: &SqlitePool) -> Result<i64, TransferError> {
    let migrated: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await?;
    if !migrated {
        return Ok(0);
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(version.unwrap_or(0))
}

/// Tables that exist only on SQLite, kept by triggers as an index PostgreSQL has natively
/// (migration 0029): not part of a snapshot, so both backends' snapshots hold the same tables.
const SQLITE_INDEX_TABLES: [&str; 1] = ["backlog_item_assets"];

pub(super) async fn tables(pool: &SqlitePool) -> Result<Vec<TableInfo>, TransferError> {
    // `table_list` tells plain tables from virtual ones (the FTS index) and their shadow
    // tables, which the FTS triggers fill again on import. The SQLite-only index tables
    // (`SQLITE_INDEX_TABLES`) are left out the same way: their triggers fill them too.
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names
        .into_iter()
        .filter(|n| !SQLITE_INDEX_TABLES.contains(&n.as_str()))
    {
        let rows: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        let mut keys: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| r.2 > 0)
            .map(|r| (r.2, r.0.clone()))
            .collect();
        keys.sort();
        let columns = rows
            .iter()
            .filter(|r| r.3 == 0)
            .map(|(column, declared, _, _)| Column {
                kind: column_kind(&name, column, declared),
                name: column.clone(),
            })
            .collect();
        let refers_to: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)")
                .bind(&name)
                .fetch_all(pool)
                .await?;
        tables.push(TableInfo {
            name,
            columns,
            primary_key: keys.into_iter().map(|k| k.1).collect(),
            refers_to,
        });
    }
    Ok(tables)
}

/// `VACUUM INTO` a copy (a consistent snapshot, taken while others write), then read the
/// copy at leisure.
pub(super) async fn export(
    pool: &SqlitePool,
    dir: &Path,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Export, TransferError> {
    let copy = dir.join(".snapshot.sqlite");
    if copy.exists() {
        std::fs::remove_file(&copy)?;
    }
    let copy_name = copy
        .to_str()
        .ok_or_else(|| TransferError::Refused("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(copy_name)
        .execute(pool)
        .await?;
    let options = SqliteConnectOptions::new().filename(&copy).read_only(true);
    let snapshot = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let result = export_copy(&snapshot, dir, progress).await;
    snapshot.close().await;
    std::fs::remove_file(&copy)?;
    result
}

async fn export_copy(
    pool: &SqlitePool,
    dir: &Path,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Export, TransferError> {
    let schema_version = schema_version(pool).await?;
    let mut counts = Vec::new();
    for info in tables(pool).await? {
        let sql = format!(
            "SELECT {} FROM \"{}\" ORDER BY {}",
            super::column_list(&info.columns),
            info.name,
            super::order_by(&info, "BINARY")
        );
        let mut writer = TableWriter::create(dir, &info)?;
        let mut rows = sqlx::query(&sql).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            let cells = info
                .columns
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    Cell::from_raw(column.kind, raw(&row, i)?).map_err(|e| {
                        TransferError::Damaged(format!("{}.{}: {}", info.name, column.name, e.0))
                    })
                })
                .collect::<Result<Vec<_>, TransferError>>()?;
            writer.row(&cells)?;
        }
        let count = writer.finish()?;
        progress(&count);
        counts.push(count);
    }
    // AUTOINCREMENT keeps the highest id ever handed out here.
    let last_ids: Vec<(String, i64)> = sqlx::query_as("SELECT name, seq FROM sqlite_sequence")
        .fetch_all(pool)
        .await?;
    Ok(Export {
        schema_version,
        tables: counts,
        last_ids: last_ids.into_iter().collect(),
    })
}

/// A value as SQLite stores it (its storage class, whatever the column's declared type).
fn raw(row: &SqliteRow, i: usize) -> Result<Raw, sqlx::Error> {
    let value = row.try_get_raw(i)?;
    if value.is_null() {
        return Ok(Raw::Null);
    }
    let class = value.type_info().name().to_string();
    Ok(match class.as_str() {
        "INTEGER" => Raw::Int(row.try_get(i)?),
        "REAL" => Raw::Real(row.try_get(i)?),
        "BLOB" => Raw::Bytes(row.try_get(i)?),
        _ => Raw::Text(row.try_get(i)?),
    })
}

/// Insert every table's rows in one transaction. Timestamps are bound as `DateTime<Utc>` so
/// they are written exactly as opsward writes them (its SQL compares them as text).
pub(super) async fn import(
    pool: &SqlitePool,
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
    let mut counts = Vec::new();
    for (info, expected) in plan {
        let mut reader = TableReader::open(dir, info)?;
        let placeholders = vec!["?"; reader.header.columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({placeholders})",
            info.name,
            super::column_list(&reader.header.columns)
        );
        while let Some(cells) = reader.next_row()? {
            let mut query = sqlx::query(&sql);
            for cell in cells {
                query = match cell {
                    Cell::Null => query.bind(None::<String>),
                    Cell::Int(i) => query.bind(i),
                    Cell::Real(r) => query.bind(r),
                    Cell::Text(s) => query.bind(s),
                    Cell::Bool(b) => query.bind(b),
                    Cell::Timestamp(t) => query.bind(t),
                    Cell::Date(d) => query.bind(d),
                    Cell::Json(v) => query.bind(v.to_string()),
                    Cell::Bytes(b) => query.bind(b),
                };
            }
            query.execute(&mut *tx).await?;
        }
        let count = reader.finish(*expected)?;
        progress(&count);
        counts.push(count);
    }
    for (table, id) in last_ids {
        let moved = sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?")
            .bind(id)
            .bind(table)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() == 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")
                .bind(table)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(counts)
}
