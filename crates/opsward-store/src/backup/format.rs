//! The backend-neutral export format: one JSON-lines file per table. The first line is a
//! [`TableHeader`] naming the table and each column with its [`Kind`]; every further line is
//! one row, a JSON array with one value per column in the header's order.
//!
//! Values are canonical, so that the same data exported from SQLite and from PostgreSQL is
//! byte for byte the same file: timestamps are UTC RFC 3339 to the microsecond (PostgreSQL's
//! precision) written as sqlx writes them to SQLite, booleans are `true`/`false`, JSON
//! objects have their keys sorted, bytes are lowercase hex, real numbers are strings (their
//! shortest exact decimal).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A snapshot that cannot be read as opsward's export format.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

fn bad(message: impl Into<String>) -> FormatError {
    FormatError(message.into())
}

/// What a column holds, the same on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    Real,
    Text,
    Bool,
    Timestamp,
    Date,
    Json,
    Bytes,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        serde_json::from_value(Value::String(name.to_string())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// The first line of a table's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableHeader {
    pub table: String,
    pub columns: Vec<Column>,
}

/// One value of a row, typed by its column's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Timestamp(DateTime<Utc>),
    Date(NaiveDate),
    Json(Value),
    Bytes(Vec<u8>),
}

/// A value as a backend hands it over, before it is made canonical by its column's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
    /// A JSON value, from PostgreSQL's `to_jsonb` of a `jsonb` column.
    Json(Value),
}

/// Table and column names are plain SQL identifiers; anything else in a snapshot is refused
/// before it gets near a statement (where names are quoted as well).
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// Timestamps as sqlx writes a `DateTime<Utc>` to SQLite, cut to microseconds.
pub fn timestamp_text(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .map(|t| t.and_utc())
        })?;
    Some(at.trunc_subsecs(6))
}

fn parse_real(text: &str) -> Result<f64, FormatError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| bad(format!("{text:?} is not a number")))
}

/// The same JSON with every object's keys in order, so `jsonb` and SQLite text agree.
fn sorted_json(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_json).collect()),
        other => other,
    }
}

impl Cell {
    /// Make a backend's value canonical for a column of `kind`.
    pub fn from_raw(kind: Kind, raw: Raw) -> Result<Cell, FormatError> {
        let cell = match (kind, raw) {
            (_, Raw::Null) => Cell::Null,
            (Kind::Int, Raw::Int(i)) => Cell::Int(i),
            (Kind::Real, Raw::Real(r)) => Cell::Real(r),
            (Kind::Real, Raw::Int(i)) => Cell::Real(i as f64),
            (Kind::Real, Raw::Text(s)) => Cell::Real(parse_real(&s)?),
            (Kind::Text, Raw::Text(s)) => Cell::Text(s),
            (Kind::Bool, Raw::Bool(b)) => Cell::Bool(b),
            (Kind::Bool, Raw::Int(i @ (0 | 1))) => Cell::Bool(i == 1),
            (Kind::Timestamp, Raw::Text(s)) => Cell::Timestamp(
                parse_timestamp(&s).ok_or_else(|| bad(format!("{s:?} is not a timestamp")))?,
            ),
            (Kind::Date, Raw::Text(s)) => Cell::Date(
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| bad(format!("{s:?} is not a date")))?,
            ),
            (Kind::Json, Raw::Json(Value::Null)) => Cell::Null,
            (Kind::Json, Raw::Json(v)) => Cell::Json(sorted_json(v)),
            (Kind::Json, Raw::Text(s)) => Cell::Json(sorted_json(
                serde_json::from_str(&s).map_err(|e| bad(format!("not JSON: {e}")))?,
            )),
            (Kind::Bytes, Raw::Bytes(b)) => Cell::Bytes(b),
            // PostgreSQL's JSON rendering of bytea.
            (Kind::Bytes, Raw::Text(s)) => Cell::Bytes(
                s.strip_prefix("\\x")
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| bad("bytes are not hex"))?,
            ),
            (kind, raw) => return Err(bad(format!("a {kind:?} column holds {raw:?}"))),
        };
        Ok(cell)
    }

    /// The value as written in an export file.
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::from(*i),
            // A string: Rust writes the shortest text that reads back as the same number,
            // and reads it back exactly, which serde_json's number parser does not promise.
            Cell::Real(r) => Value::String(r.to_string()),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Timestamp(t) => Value::String(timestamp_text(t)),
            Cell::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Cell::Json(v) => v.clone(),
            Cell::Bytes(b) => Value::String(hex::encode(b)),
        }
    }

    /// Read a value of a column of `kind` from an export file.
    pub fn from_json(kind: Kind, value: &Value) -> Result<Cell, FormatError> {
        let text = || {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("a {kind:?} value must be a string, not {value}")))
        };
        let cell = match (kind, value) {
            (_, Value::Null) => Cell::Null,
            (Kind::Int, v) => Cell::Int(
                v.as_i64()
                    .ok_or_else(|| bad(format!("{v} is not an integer")))?,
            ),
            (Kind::Real, Value::String(s)) => Cell::Real(parse_real(s)?),
            (Kind::Real, v) => Cell::Real(
                v.as_f64()
                    .ok_or_else(|| bad(format!("{v} is not a number")))?,
            ),
            (Kind::Bool, v) => Cell::Bool(
                v.as_bool()
                    .ok_or_else(|| bad(format!("{v} is not a boolean")))?,
            ),
            (Kind::Text, _) => Cell::Text(text()?),
            (Kind::Timestamp | Kind::Date, _) => Cell::from_raw(kind, Raw::Text(text()?))?,
            (Kind::Json, v) => Cell::Json(sorted_json(v.clone())),
            (Kind::Bytes, _) => {
                Cell::Bytes(hex::decode(text()?).map_err(|_| bad("bytes are not hex".to_string()))?)
            }
        };
        Ok(cell)
    }

    /// The value as PostgreSQL reads it from text (`CAST($n AS type)`).
    pub fn to_postgres_text(&self) -> Option<String> {
        Some(match self {
            Cell::Null => return None,
            Cell::Int(i) => i.to_string(),
            Cell::Real(r) => r.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Bool(b) => b.to_string(),
            Cell::Timestamp(t) => timestamp_text(t),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Json(v) => v.to_string(),
            Cell::Bytes(b) => format!("\\x{}", hex::encode(b)),
        })
    }
}

/// Read a table file's first line.
pub fn parse_header(line: &str) -> Result<TableHeader, FormatError> {
    let header: TableHeader =
        serde_json::from_str(line).map_err(|e| bad(format!("bad table header: {e}")))?;
    if !is_identifier(&header.table) {
        return Err(bad(format!("bad table name {:?}", header.table)));
    }
    if header.columns.is_empty() {
        return Err(bad(format!("table {} has no columns", header.table)));
    }
    let mut names = std::collections::BTreeSet::new();
    for column in &header.columns {
        if !is_identifier(&column.name) || !names.insert(column.name.as_str()) {
            return Err(bad(format!(
                "bad or repeated column {:?} in table {}",
                column.name, header.table
            )));
        }
    }
    Ok(header)
}

/// Read one row line of a table whose header is `header`.
pub fn parse_row(header: &TableHeader, line: &str) -> Result<Vec<Cell>, FormatError> {
    let values: Vec<Value> =
        serde_json::from_str(line).map_err(|e| bad(format!("bad row: {e}")))?;
    if values.len() != header.columns.len() {
        return Err(bad(format!(
            "a row of {} has {} values for {} columns",
            header.table,
            values.len(),
            header.columns.len()
        )));
    }
    header
        .columns
        .iter()
        .zip(&values)
        .map(|(column, value)| {
            Cell::from_json(column.kind, value)
                .map_err(|e| bad(format!("{}.{}: {}", header.table, column.name, e.0)))
        })
        .collect()
}

/// One row line (without its newline).
pub fn row_line(cells: &[Cell]) -> String {
    Value::Array(cells.iter().map(Cell::to_json).collect()).to_string()
}
