//! Every opsward table exported to, and imported from, a backend-neutral format (see
//! [`format`]): the database half of `opsward backup` and `opsward restore`, so that a backup
//! taken on SQLite restores on PostgreSQL and back.
//!
//! What differs between the backends lives in `sqlite.rs` and `postgres.rs`: how a consistent
//! snapshot is taken (SQLite: `VACUUM INTO` a copy; PostgreSQL: one repeatable-read,
//! read-only transaction), how the schema is read, how values are bound on import.

pub mod format;
#[cfg(test)]
mod format_tests;
mod postgres;
mod sqlite;

use crate::{migrations, Database, StoreError, StoreSettings};
use format::{Cell, Column, FormatError, TableHeader};
use serde::Serialize;
use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The snapshot is not what its manifest says, or not readable as the export format.
    #[error("the snapshot is damaged: {0}")]
    Damaged(String),
    /// The snapshot is sound but does not go into this database.
    #[error("{0}")]
    Refused(String),
    #[error("cannot read or write the snapshot: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TransferError {
    fn from(err: sqlx::Error) -> Self {
        TransferError::Store(StoreError::from(err))
    }
}

impl From<FormatError> for TransferError {
    fn from(err: FormatError) -> Self {
        TransferError::Damaged(err.0)
    }
}

/// A table as the database has it: its columns (generated ones left out: the database
/// computes them again), its primary key and the tables it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub refers_to: Vec<String>,
}

/// How many rows a table had in an export or an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// A finished export: the schema version of the snapshot, every table's row count (each
/// table is in `<dir>/<table>.jsonl`) and the last id handed out per table, so that a
/// restore never hands out again the id of a deleted row (which the audit log still names).
#[derive(Debug, Clone)]
pub struct Export {
    pub schema_version: i64,
    pub tables: Vec<TableCount>,
    pub last_ids: BTreeMap<String, i64>,
}

/// Tables migrations fill with defaults. A database whose only rows are in these is empty;
/// an import replaces their rows with the snapshot's.
pub const SEEDED_TABLES: &[&str] = &[
    "cert_settings",
    "patch_policy",
    "scorecard_criteria",
    "vuln_settings",
];

/// The schema version this build migrates to.
pub fn latest_schema_version() -> i64 {
    migrations::SQLITE.last().map(|m| m.0).unwrap_or(0)
}

/// The highest migration applied to `db`; 0 for a database never migrated.
pub async fn schema_version(db: &Database) -> Result<i64, TransferError> {
    match db {
        Database::Sqlite(pool) => sqlite::schema_version(pool).await,
        Database::Postgres(pool) => postgres::schema_version(pool).await,
    }
}

/// Every opsward table of `db`, by name.
pub async fn tables(db: &Database) -> Result<Vec<TableInfo>, TransferError> {
    match db {
        Database::Sqlite(pool) => sqlite::tables(pool).await,
        Database::Postgres(pool) => postgres::tables(pool).await,
    }
}

/// Write a consistent snapshot of every table into `dir` (which must exist), one file per
/// table; `progress` hears of each table as it is done. Safe while the server writes.
pub async fn export(
    db: &Database,
    dir: &Path,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Export, TransferError> {
    match db {
        Database::Sqlite(pool) => sqlite::export(pool, dir, progress).await,
        Database::Postgres(pool) => postgres::export(pool, dir, progress).await,
    }
}

/// Refuse a database that holds anything besides what migrations put there.
pub async fn check_empty(db: &Database) -> Result<(), TransferError> {
    let mut filled = Vec::new();
    for table in tables(db).await? {
        if SEEDED_TABLES.contains(&table.name.as_str()) {
            continue;
        }
        let sql = format!("SELECT EXISTS (SELECT 1 FROM \"{}\")", table.name);
        let any = match db {
            Database::Sqlite(pool) => sqlx::query_scalar::<_, bool>(&sql).fetch_one(pool).await?,
            Database::Postgres(pool) => sqlx::query_scalar::<_, bool>(&sql).fetch_one(pool).await?,
        };
        if any {
            filled.push(table.name);
        }
    }
    if filled.is_empty() {
        Ok(())
    } else {
        Err(TransferError::Refused(format!(
            "the target database is not empty (rows in {}); restore into a new database",
            filled.join(", ")
        )))
    }
}

/// Open the database `settings` name for an import of a snapshot of schema `version`:
/// created if missing and migrated up to that version, no further (the import's rows must
/// fit that schema; [`crate::connect`] brings it up to date afterwards). A database already
/// past `version` is refused.
pub async fn open_target(
    settings: &StoreSettings,
    version: i64,
) -> Result<Database, TransferError> {
    if version < 1 || version > latest_schema_version() {
        return Err(TransferError::Refused(format!(
            "the snapshot has schema version {version}; this opsward knows versions 1 to {}: \
             restore it with a newer opsward",
            latest_schema_version()
        )));
    }
    let db = match settings.backend()? {
        crate::Backend::Sqlite => Database::Sqlite(sqlite::open(settings).await?),
        crate::Backend::Postgres => Database::Postgres(postgres::open(settings).await?),
    };
    let current = schema_version(&db).await?;
    if current > version {
        return Err(TransferError::Refused(format!(
            "the target database already has schema version {current}, newer than the \
             snapshot's {version}; restore into a new database"
        )));
    }
    crate::migrate_up_to(settings, version).await?;
    Ok(db)
}

/// Import the tables exported in `dir` into `db` (empty, see [`check_empty`]) in one
/// transaction: all of them or, on any error, none. `expected` is every table with its row
/// count from the snapshot's manifest (a table file with other rows is damaged), `last_ids`
/// the export's.
pub async fn import(
    db: &Database,
    dir: &Path,
    expected: &[TableCount],
    last_ids: &BTreeMap<String, i64>,
    progress: &(dyn Fn(&TableCount) + Sync),
) -> Result<Vec<TableCount>, TransferError> {
    let plan = import_plan(tables(db).await?, expected)?;
    if let Some((table, id)) = last_ids
        .iter()
        .find(|(t, id)| **id < 0 || !plan.iter().any(|(p, _)| &p.name == *t))
    {
        return Err(TransferError::Damaged(format!(
            "the last id {id} of table {table:?} does not fit this schema"
        )));
    }
    let mut counts = match db {
        Database::Sqlite(pool) => sqlite::import(pool, dir, &plan, last_ids, progress).await?,
        Database::Postgres(pool) => postgres::import(pool, dir, &plan, last_ids, progress).await?,
    };
    counts.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(counts)
}

/// The target's tables in an order that inserts every referenced row before the rows that
/// refer to it, each with its expected row count.
fn import_plan(
    target: Vec<TableInfo>,
    expected: &[TableCount],
) -> Result<Vec<(TableInfo, u64)>, TransferError> {
    let wanted: BTreeMap<&str, u64> = expected
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    let have: BTreeSet<&str> = target.iter().map(|t| t.name.as_str()).collect();
    let missing: Vec<&str> = have
        .iter()
        .filter(|t| !wanted.contains_key(*t))
        .copied()
        .collect();
    let unknown: Vec<&str> = wanted
        .keys()
        .filter(|t| !have.contains(*t))
        .copied()
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        return Err(TransferError::Refused(format!(
            "the snapshot's tables do not match this schema (missing: {}; unknown: {})",
            list_or_none(&missing),
            list_or_none(&unknown)
        )));
    }
    let mut left: Vec<TableInfo> = target;
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut plan = Vec::new();
    while !left.is_empty() {
        let (ready, waiting): (Vec<_>, Vec<_>) = left.into_iter().partition(|t| {
            t.refers_to
                .iter()
                .all(|r| *r == t.name || placed.contains(r))
        });
        if ready.is_empty() {
            let names: Vec<&str> = waiting.iter().map(|t| t.name.as_str()).collect();
            return Err(TransferError::Refused(format!(
                "tables refer to each other in a cycle: {}",
                names.join(", ")
            )));
        }
        for table in ready {
            placed.insert(table.name.clone());
            let rows = wanted[table.name.as_str()];
            plan.push((table, rows));
        }
        left = waiting;
    }
    Ok(plan)
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The file a table is exported to.
pub fn table_file(dir: &Path, table: &str) -> PathBuf {
    dir.join(format!("{table}.jsonl"))
}

/// Writes one table's file: the header, then one line per row.
pub(crate) struct TableWriter {
    out: BufWriter<std::fs::File>,
    table: String,
    rows: u64,
}

impl TableWriter {
    pub(crate) fn create(dir: &Path, info: &TableInfo) -> std::io::Result<Self> {
        let mut out = BufWriter::new(std::fs::File::create(table_file(dir, &info.name))?);
        let header = TableHeader {
            table: info.name.clone(),
            columns: info.columns.clone(),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        Ok(TableWriter {
            out,
            table: info.name.clone(),
            rows: 0,
        })
    }

    pub(crate) fn row(&mut self, cells: &[Cell]) -> std::io::Result<()> {
        self.out.write_all(format::row_line(cells).as_bytes())?;
        self.out.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> std::io::Result<TableCount> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(TableCount {
            table: self.table,
            rows: self.rows,
        })
    }
}

/// Reads one table's file, checking its header against the table it goes into.
pub(crate) struct TableReader {
    lines: std::io::Lines<BufReader<std::fs::File>>,
    pub(crate) header: TableHeader,
    rows: u64,
}

impl TableReader {
    pub(crate) fn open(dir: &Path, target: &TableInfo) -> Result<Self, TransferError> {
        let path = table_file(dir, &target.name);
        let file = std::fs::File::open(&path)
            .map_err(|e| TransferError::Damaged(format!("cannot open {}: {e}", path.display())))?;
        let mut lines = BufReader::new(file).lines();
        let first = lines
            .next()
            .transpose()?
            .ok_or_else(|| TransferError::Damaged(format!("{} is empty", path.display())))?;
        let header = format::parse_header(&first)?;
        if header.table != target.name {
            return Err(TransferError::Damaged(format!(
                "{} holds table {}",
                path.display(),
                header.table
            )));
        }
        let ours: BTreeSet<(&str, format::Kind)> = target
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        let theirs: BTreeSet<(&str, format::Kind)> = header
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        if ours != theirs {
            return Err(TransferError::Refused(format!(
                "table {}'s columns in the snapshot ({:?}) differ from this schema's ({:?})",
                target.name, header.columns, target.columns
            )));
        }
        Ok(TableReader {
            lines,
            header,
            rows: 0,
        })
    }

    pub(crate) fn next_row(&mut self) -> Result<Option<Vec<Cell>>, TransferError> {
        match self.lines.next().transpose()? {
            None => Ok(None),
            Some(line) => {
                self.rows += 1;
                Ok(Some(format::parse_row(&self.header, &line)?))
            }
        }
    }

    /// The rows read, checked against the count the manifest gives.
    pub(crate) fn finish(self, expected: u64) -> Result<TableCount, TransferError> {
        if self.rows != expected {
            return Err(TransferError::Damaged(format!(
                "table {} has {} rows; the manifest says {expected}",
                self.header.table, self.rows
            )));
        }
        Ok(TableCount {
            table: self.header.table,
            rows: self.rows,
        })
    }
}

/// `ORDER BY` the primary key, text compared byte by byte on both backends (PostgreSQL's
/// locale collation would order rows otherwise than SQLite and the exports would differ).
pub(crate) fn order_by(info: &TableInfo, binary_collation: &str) -> String {
    let keys: Vec<String> = if info.primary_key.is_empty() {
        info.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        info.primary_key.clone()
    };
    keys.iter()
        .map(|k| {
            let text = info
                .columns
                .iter()
                .any(|c| &c.name == k && c.kind == format::Kind::Text);
            if text {
                format!("\"{k}\" COLLATE {binary_collation}")
            } else {
                format!("\"{k}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"a", "b", "c"`: quoted column names.
pub(crate) fn column_list(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}
