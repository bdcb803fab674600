//! What else a deletion touches: the rows of other tables that refer to one record, found
//! from the database's own foreign keys so that a new table with a reference is counted
//! without anyone remembering to list it. The UI's delete confirmations say this to people
//! before they delete ("also removes its 3 activities").

use crate::{Database, Result};
use serde::Serialize;
use sqlx::Row;

/// What the database does to referring rows when the referred record is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OnDelete {
    /// The referring rows are deleted with it.
    Cascade,
    /// The referring rows stay and lose the link.
    SetNull,
    /// The deletion is refused while referring rows exist.
    Restrict,
}

impl OnDelete {
    fn from_sqlite(action: &str) -> OnDelete {
        match action.to_ascii_uppercase().as_str() {
            "CASCADE" => OnDelete::Cascade,
            "SET NULL" | "SET DEFAULT" => OnDelete::SetNull,
            _ => OnDelete::Restrict,
        }
    }

    /// `pg_constraint.confdeltype`: c cascade, n set null, d set default, r/a restrict.
    fn from_postgres(code: &str) -> OnDelete {
        match code {
            "c" => OnDelete::Cascade,
            "n" | "d" => OnDelete::SetNull,
            _ => OnDelete::Restrict,
        }
    }
}

/// Rows of one table that refer to the record through one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    pub table: String,
    pub column: String,
    pub count: i64,
    pub on_delete: OnDelete,
}

/// Every table and column with a foreign key to `table`, with how many rows refer to `id`;
/// only references with at least one row are returned, ordered by table and column.
pub async fn dependents(db: &Database, table: &str, id: i64) -> Result<Vec<Dependent>> {
    let references = match db {
        Database::Sqlite(pool) => {
            sqlx::query(
                "SELECT m.name AS tbl, p.\"from\" AS col, p.on_delete AS action \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) p \
                 WHERE m.type = 'table' AND p.\"table\" = $1",
            )
            .bind(table)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                let action: String = r.try_get("action")?;
                Ok((
                    r.try_get("tbl")?,
                    r.try_get("col")?,
                    OnDelete::from_sqlite(&action),
                ))
            })
            .collect::<Result<Vec<(String, String, OnDelete)>>>()?
        }
        Database::Postgres(pool) => sqlx::query(
            "SELECT cl.relname::text AS tbl, a.attname::text AS col, c.confdeltype::text AS action \
             FROM pg_constraint c \
             JOIN pg_class cl ON cl.oid = c.conrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.confrelid = to_regclass($1)",
        )
        .bind(table)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let action: String = r.try_get("action")?;
            Ok((
                r.try_get("tbl")?,
                r.try_get("col")?,
                OnDelete::from_postgres(&action),
            ))
        })
        .collect::<Result<Vec<(String, String, OnDelete)>>>()?,
    };
    let mut found = Vec::new();
    for (tbl, col, on_delete) in references {
        // The names come from the database catalogue, never from a request; quoting them
        // keeps any name a valid identifier. The id is a bound parameter.
        let sql = format!(
            "SELECT COUNT(*) AS n FROM \"{}\" WHERE \"{}\" = $1",
            tbl.replace('"', "\"\""),
            col.replace('"', "\"\"")
        );
        let count: i64 = match db {
            Database::Sqlite(pool) => sqlx::query(&sql)
                .bind(id)
                .fetch_one(pool)
                .await?
                .try_get("n")?,
            Database::Postgres(pool) => sqlx::query(&sql)
                .bind(id)
                .fetch_one(pool)
                .await?
                .try_get("n")?,
        };
        if count > 0 {
            found.push(Dependent {
                table: tbl,
                column: col,
                count,
                on_delete,
            });
        }
    }
    found.sort_by(|a, b| (&a.table, &a.column).cmp(&(&b.table, &b.column)));
    Ok(found)
}
