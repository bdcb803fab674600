//! `--output table|json|csv` for every listing command.

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;
use std::io::Write;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// Every field, for scripts (`jq`).
    Json,
    /// The table's columns as CSV, for spreadsheets.
    Csv,
    /// SARIF 2.1.0 for code-scanning tools (`vuln scan`; elsewhere the same as json).
    Sarif,
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// Print `rows`: JSON gets every field; table and CSV get `columns`.
pub fn print<T: Serialize>(format: OutputFormat, rows: &[T], columns: &[&str]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        OutputFormat::Json | OutputFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, rows)?;
            writeln!(out)?;
        }
        OutputFormat::Csv => {
            // Every CSV opsward writes neutralises formula cells (findings, certificates...).
            let mut csv = opsward_core::untrusted::SafeCsvWriter::from_writer(out);
            csv.write_record(columns)?;
            for row in rows {
                let value = serde_json::to_value(row)?;
                csv.write_record(columns.iter().map(|c| cell(&value[*c])))?;
            }
            csv.flush()?;
        }
        OutputFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    let value = serde_json::to_value(row).unwrap_or(Value::Null);
                    columns
                        .iter()
                        .map(|c| cell(&value[*c]).replace(['\n', '\r', '\t'], " "))
                        .collect()
                })
                .collect();
            let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
            for row in &cells {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count()).min(60);
                }
            }
            let line = |items: Vec<String>| -> String {
                items
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{:<w$}", truncate(c, *w), w = *w))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            writeln!(
                out,
                "{}",
                line(columns.iter().map(|c| c.to_uppercase()).collect())
            )?;
            for row in cells {
                writeln!(out, "{}", line(row))?;
            }
        }
    }
    Ok(())
}

/// One record: JSON as an object; otherwise `key: value` lines.
pub fn print_one<T: Serialize>(format: OutputFormat, item: &T) -> Result<()> {
    match format {
        OutputFormat::Json | OutputFormat::Sarif => {
            println!("{}", serde_json::to_string_pretty(item)?);
        }
        OutputFormat::Csv => {
            let value = serde_json::to_value(item)?;
            let keys: Vec<&str> = value
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            print(format, std::slice::from_ref(item), &keys)?;
        }
        OutputFormat::Table => {
            let value = serde_json::to_value(item)?;
            if let Some(map) = value.as_object() {
                let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
                for (k, v) in map {
                    println!("{k:<width$}  {}", cell(v));
                }
            }
        }
    }
    Ok(())
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A row that renders its table columns itself, in their order and exactly as [`cell`]
/// renders its JSON fields (lists joined by `;`, nothing for a missing value).
pub trait Cells<const N: usize> {
    fn cells(&self) -> [std::borrow::Cow<'_, str>; N];
}

/// Rows printed as they come: CSV and JSON are written at once (JSON as an array with one
/// row per line), so a long listing never waits in memory; a table needs every row for its
/// column widths, so it keeps only the cells of its columns until [`RowStream::finish`].
pub struct RowStream {
    format: OutputFormat,
    columns: Vec<String>,
    out: std::io::BufWriter<std::io::Stdout>,
    csv: Option<opsward_core::untrusted::SafeCsvWriter<std::io::Stdout>>,
    rows: usize,
    table: Vec<Value>,
}

impl RowStream {
    pub fn new(format: OutputFormat, columns: &[&str]) -> Result<Self> {
        let mut stream = RowStream {
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            csv: None,
            rows: 0,
            table: Vec::new(),
        };
        match format {
            OutputFormat::Csv => {
                let mut csv =
                    opsward_core::untrusted::SafeCsvWriter::from_writer(std::io::stdout());
                csv.write_record(columns)?;
                stream.csv = Some(csv);
            }
            OutputFormat::Json | OutputFormat::Sarif => stream.out.write_all(b"[")?,
            OutputFormat::Table => {}
        }
        Ok(stream)
    }

    pub fn push<T: Serialize>(&mut self, row: &T) -> Result<()> {
        match self.format {
            OutputFormat::Json | OutputFormat::Sarif => {
                self.out
                    .write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, row)?;
            }
            OutputFormat::Csv => {
                let value = serde_json::to_value(row)?;
                if let Some(csv) = &mut self.csv {
                    csv.write_record(self.columns.iter().map(|c| cell(&value[c.as_str()])))?;
                }
            }
            OutputFormat::Table => {
                let value = serde_json::to_value(row)?;
                let kept: serde_json::Map<String, Value> = self
                    .columns
                    .iter()
                    .map(|c| (c.clone(), value[c.as_str()].clone()))
                    .collect();
                self.table.push(Value::Object(kept));
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Like [`RowStream::push`] for a row that renders its own cells: CSV then writes them
    /// without building the row's JSON value, which in a long scan costs more than the row.
    pub fn push_cells<T: Serialize + Cells<N>, const N: usize>(&mut self, row: &T) -> Result<()> {
        match (&mut self.csv, self.format) {
            (Some(csv), OutputFormat::Csv) => {
                debug_assert_eq!(N, self.columns.len());
                csv.write_record(row.cells().iter())?;
                self.rows += 1;
                Ok(())
            }
            _ => self.push(row),
        }
    }

    pub fn finish(mut self) -> Result<()> {
        match self.format {
            OutputFormat::Json | OutputFormat::Sarif => {
                self.out.write_all(b"\n]\n")?;
                self.out.flush()?;
            }
            OutputFormat::Csv => {
                if let Some(csv) = &mut self.csv {
                    csv.flush()?;
                }
            }
            OutputFormat::Table => {
                self.out.flush()?;
                let columns: Vec<&str> = self.columns.iter().map(String::as_str).collect();
                print(OutputFormat::Table, &self.table, &columns)?;
            }
        }
        Ok(())
    }
}
