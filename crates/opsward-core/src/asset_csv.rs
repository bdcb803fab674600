//! CSV import and export of the asset register.
//!
//! Columns: `name,kind,environment,criticality,owner,tags,description`, in any order, with a
//! header. `owner` is `team:<team name>` or `person:<email>`; `tags` are separated by `;`.
//! Parsing checks each row on its own and reports the file line of every bad row, so that an
//! import can either take all good rows with a report or refuse the whole file.

use crate::{
    asset::{Asset, AssetInput, AssetKind, Criticality},
    untrusted::{restore_csv_cell, SafeCsvWriter},
};
use serde::Serialize;
use std::io::{Read, Write};
use utoipa::ToSchema;

pub const COLUMNS: [&str; 7] = [
    "name",
    "kind",
    "environment",
    "criticality",
    "owner",
    "tags",
    "description",
];

/// Who owns an imported asset, by the name a person would type rather than a database id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerRef {
    Team(String),
    Person(String),
}

impl OwnerRef {
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.split_once(':') {
            Some(("team", name)) if !name.trim().is_empty() => {
                Ok(Some(OwnerRef::Team(name.trim().into())))
            }
            Some(("person", email)) if !email.trim().is_empty() => {
                Ok(Some(OwnerRef::Person(email.trim().to_ascii_lowercase())))
            }
            _ => Err(format!(
                "owner {text:?} must be team:<name> or person:<email>"
            )),
        }
    }

    pub fn render(&self) -> String {
        match self {
            OwnerRef::Team(name) => format!("team:{name}"),
            OwnerRef::Person(email) => format!("person:{email}"),
        }
    }
}

/// A row that parsed and validated, with the owner still to be looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetCsvRow {
    /// Line in the file where the record starts (the header is line 1).
    pub line: u64,
    pub input: AssetInput,
    pub owner: Option<OwnerRef>,
}

/// Why one row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = AssetRowError)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

/// A file that cannot be read as an asset CSV at all.
#[derive(Debug, thiserror::Error)]
pub enum CsvFileError {
    #[error("the CSV header is missing required column {0:?}")]
    MissingColumn(&'static str),
    #[error("the CSV header has unknown column {0:?}; known columns are {cols}", cols = COLUMNS.join(", "))]
    UnknownColumn(String),
    #[error("the CSV header names column {0:?} twice")]
    DuplicateColumn(String),
    #[error("the CSV file is empty")]
    Empty,
    #[error("the CSV header opens a quoted field that is never closed")]
    UnterminatedQuote,
    #[error("cannot read CSV: {0}")]
    Read(#[from] csv::Error),
}

/// Parse a whole file. File-level problems are an `Err`; row problems are per row.
pub fn parse_assets_csv<R: Read>(
    reader: R,
) -> Result<Vec<Result<AssetCsvRow, RowError>>, CsvFileError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(QuoteTracker::new(reader));
    let headers = match csv.headers() {
        Ok(h) if h.is_empty() || (h.len() == 1 && h[0].trim().is_empty()) => {
            return Err(CsvFileError::Empty)
        }
        Ok(h) => h.clone(),
        Err(e) => return Err(e.into()),
    };
    let mut index = [None; COLUMNS.len()];
    for (i, raw) in headers.iter().enumerate() {
        let name = raw.trim().to_ascii_lowercase();
        let col = COLUMNS
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| CsvFileError::UnknownColumn(raw.to_string()))?;
        if index[col].replace(i).is_some() {
            return Err(CsvFileError::DuplicateColumn(raw.to_string()));
        }
    }
    for required in [0, 1] {
        if index[required].is_none() {
            return Err(CsvFileError::MissingColumn(COLUMNS[required]));
        }
    }

    let mut rows = Vec::new();
    for record in csv.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let field = |col: usize| {
                    restore_csv_cell(index[col].and_then(|i| record.get(i)).unwrap_or(""))
                };
                rows.push(parse_row(line, field).map_err(|message| RowError { line, message }));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("has {len} fields, the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(e.into());
                }
                rows.push(Err(RowError { line, message }));
            }
        }
    }
    // The csv crate ends a quoted field at the end of the input without complaint, so a
    // missing closing quote silently swallows every row after it into one cell.
    if csv.get_ref().in_quotes() {
        let message = "a quoted field is not closed before the end of the file (the rows \
                       after its opening quote were read into it)"
            .to_string();
        match rows.last_mut() {
            Some(last) => {
                let line = match last {
                    Ok(row) => row.line,
                    Err(e) => e.line,
                };
                *last = Err(RowError { line, message });
            }
            None => return Err(CsvFileError::UnterminatedQuote),
        }
    }
    Ok(rows)
}

/// Whether a whole CSV text ends inside a quoted field (a quote opened and never closed),
/// which the csv crate accepts silently; for the other CSV importers.
pub fn ends_inside_quotes(data: &[u8]) -> bool {
    let mut tracker = QuoteTracker::new(data);
    for &b in data {
        tracker.step(b);
    }
    tracker.in_quotes()
}

/// Follows the reader's quoting state over the raw bytes (the same rules as the csv crate's
/// defaults: a quote opens a quoted field only at the start of a field, `""` inside one is
/// a literal quote), so that an input ending inside quotes can be told apart.
struct QuoteTracker<R> {
    inner: R,
    state: QuoteState,
    /// Leading bytes that matched a UTF-8 byte order mark so far (the csv crate skips one);
    /// `None` once past the start of the input.
    bom: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the field, or the first half of `""`.
    QuoteInQuoted,
}

impl<R: Read> QuoteTracker<R> {
    fn new(inner: R) -> Self {
        QuoteTracker {
            inner,
            state: QuoteState::FieldStart,
            bom: Some(0),
        }
    }

    fn in_quotes(&self) -> bool {
        self.state == QuoteState::Quoted
    }

    fn step(&mut self, b: u8) {
        use QuoteState::*;
        const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];
        if let Some(matched) = self.bom {
            if b == BOM[matched] {
                self.bom = (matched + 1 < BOM.len()).then_some(matched + 1);
                return;
            }
            self.bom = None;
            if matched > 0 {
                // Not a BOM after all: those bytes were the start of an unquoted field.
                self.state = Unquoted;
            }
        }
        self.state = match (self.state, b) {
            (FieldStart, b'"') => Quoted,
            (FieldStart | Unquoted, b',' | b'\n' | b'\r') => FieldStart,
            (FieldStart | Unquoted, _) => Unquoted,
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (QuoteInQuoted, b'"') => Quoted,
            (QuoteInQuoted, b',' | b'\n' | b'\r') => FieldStart,
            (QuoteInQuoted, _) => Unquoted,
        };
    }
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.step(b);
        }
        Ok(n)
    }
}

fn parse_row<'a>(line: u64, field: impl Fn(usize) -> &'a str) -> Result<AssetCsvRow, String> {
    let mut problems = Vec::new();
    let kind = field(1)
        .parse::<AssetKind>()
        .map_err(|e| problems.push(format!("kind: {e}")))
        .ok();
    let criticality = match field(3).trim() {
        "" => Some(Criticality::Medium),
        text => text
            .parse::<Criticality>()
            .map_err(|e| problems.push(format!("criticality: {e}")))
            .ok(),
    };
    let owner = OwnerRef::parse(field(4))
        .map_err(|e| problems.push(e))
        .ok()
        .flatten();
    let environment = match field(2).trim() {
        "" => "production".to_string(),
        text => text.to_string(),
    };
    if let (Some(kind), Some(criticality)) = (kind, criticality) {
        let input = AssetInput {
            name: field(0).to_string(),
            kind,
            environment,
            criticality,
            owner_team_id: None,
            owner_person_id: None,
            tags: field(5).split(';').map(str::to_string).collect(),
            description: field(6).to_string(),
        }
        .normalize();
        match input.validate() {
            Ok(()) if problems.is_empty() => return Ok(AssetCsvRow { line, input, owner }),
            Ok(()) => {}
            Err(e) => problems.extend(
                e.errors
                    .into_iter()
                    .map(|f| format!("{}: {}", f.field, f.message)),
            ),
        }
    }
    Err(problems.join("; "))
}

/// Write assets in the import format, so an export can be edited and imported again. Cells
/// that a spreadsheet would run as a formula get a leading `'`, which the import removes.
pub fn write_assets_csv<W: Write>(
    writer: W,
    assets: &[(Asset, Option<OwnerRef>)],
) -> csv::Result<()> {
    let mut csv = SafeCsvWriter::from_writer(writer);
    csv.write_record(COLUMNS)?;
    for (a, owner) in assets {
        csv.write_record([
            a.name.as_str(),
            a.kind.as_str(),
            a.environment.as_str(),
            a.criticality.as_str(),
            owner
                .as_ref()
                .map(OwnerRef::render)
                .unwrap_or_default()
                .as_str(),
            a.tags.join(";").as_str(),
            a.description.as_str(),
        ])?;
    }
    csv.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_bad_rows_with_their_lines() {
        let text = "\u{feff}name,kind,criticality,owner,tags\n\
                    web-01,host,high,team:ops,web;linux\n\
                    ,host,low,,\n\
                    db-01,server,low,,\n\
                    \"multi\nline\",service,bogus,nobody,\n\
                    too,many,fields,here,x,y\n\
                    api,application,,person:Ann@Example.com,\n";
        let rows = parse_assets_csv(text.as_bytes()).unwrap();
        let errors: Vec<_> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.line)
            .collect();
        assert_eq!(errors, [3, 4, 5, 7]);
        let good: Vec<_> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].input.tags, ["linux", "web"]);
        assert_eq!(good[0].owner, Some(OwnerRef::Team("ops".into())));
        assert_eq!(good[1].line, 8);
        assert_eq!(
            good[1].owner,
            Some(OwnerRef::Person("ann@example.com".into()))
        );
        let bad_row = rows[3].as_ref().unwrap_err();
        assert!(
            bad_row.message.contains("criticality") && bad_row.message.contains("owner"),
            "{bad_row:?}"
        );
    }

    #[test]
    fn file_level_errors() {
        assert!(matches!(
            parse_assets_csv("".as_bytes()),
            Err(CsvFileError::Empty)
        ));
        assert!(matches!(
            parse_assets_csv("name\nx\n".as_bytes()),
            Err(CsvFileError::MissingColumn("kind"))
        ));
        assert!(matches!(
            parse_assets_csv("name,kind,colour\n".as_bytes()),
            Err(CsvFileError::UnknownColumn(_))
        ));
    }

    #[test]
    fn invalid_utf8_is_a_row_error() {
        let mut bytes = b"name,kind\nok,host\n".to_vec();
        bytes.extend_from_slice(b"bad\xff,host\n");
        let rows = parse_assets_csv(bytes.as_slice()).unwrap();
        assert!(rows[0].is_ok());
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
    }

    #[test]
    fn a_quote_left_open_at_the_end_is_an_error_for_its_row() {
        let text = "name,kind,description\nweb-01,host,\"fine\"\ndb-01,host,\"never closed\nmail-01,host,x\n";
        let rows = parse_assets_csv(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[0].is_ok());
        let err = rows[1].as_ref().unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("not closed"), "{err:?}");
        // Escaped quotes, quotes inside unquoted fields, a BOM and CRLF are all still fine.
        let text = "\u{feff}\"name\",kind,description\r\nweb-01,host,\"say \"\"hi\"\"\"\r\nx\"y,host,a\"b\r\n";
        let rows = parse_assets_csv(text.as_bytes()).unwrap();
        assert!(rows.iter().all(Result::is_ok), "{rows:?}");
        assert!(matches!(
            parse_assets_csv("\"name,kind\nweb,host\n".as_bytes()),
            Err(CsvFileError::UnknownColumn(_) | CsvFileError::UnterminatedQuote)
        ));
    }

    #[test]
    fn export_neutralises_formulas_and_import_restores_them() {
        let now = chrono::Utc::now();
        let asset = Asset {
            id: 1,
            name: "web-01".into(),
            kind: AssetKind::Host,
            environment: "production".into(),
            criticality: Criticality::High,
            owner_team_id: None,
            owner_person_id: None,
            tags: vec![],
            description: "=HYPERLINK(\"http://evil.example\")".into(),
            created_at: now,
            updated_at: now,
        };
        let mut out = Vec::new();
        write_assets_csv(&mut out, &[(asset.clone(), None)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("'=HYPERLINK"), "{text}");
        let rows = parse_assets_csv(text.as_bytes()).unwrap();
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.input.description, asset.description);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any bytes: rows or a file error, never a panic; `ends_inside_quotes` agrees with
        /// the parser about the last row.
        #[test]
        fn fuzz_asset_csv(text in "(name,kind|\\PC|[\",\\n\\r=;]){0,200}") {
            let _ = parse_assets_csv(text.as_bytes());
        }

        /// What opsward writes, it reads back the same (formula cells included).
        #[test]
        fn fuzz_asset_csv_round_trip(
            name in "[a-z][a-z0-9.-]{0,20}",
            description in "\\PC{0,40}|[=+@-][\\PC]{0,10}",
            tags in proptest::collection::vec("[a-z0-9=+@-]{1,8}", 0..4),
        ) {
            let now = chrono::Utc::now();
            let asset = Asset {
                id: 1,
                name,
                kind: AssetKind::Service,
                environment: "staging".into(),
                criticality: Criticality::Low,
                owner_team_id: None,
                owner_person_id: None,
                tags,
                description,
                created_at: now,
                updated_at: now,
            };
            let input = AssetInput {
                name: asset.name.clone(),
                kind: asset.kind,
                environment: asset.environment.clone(),
                criticality: asset.criticality,
                owner_team_id: None,
                owner_person_id: None,
                tags: asset.tags.clone(),
                description: asset.description.clone(),
            }
            .normalize();
            proptest::prop_assume!(input.validate().is_ok());
            let mut out = Vec::new();
            write_assets_csv(&mut out, &[(asset, Some(OwnerRef::Team("ops".into())))]).unwrap();
            let rows = parse_assets_csv(out.as_slice()).unwrap();
            proptest::prop_assert_eq!(rows.len(), 1);
            let row = rows[0].as_ref().unwrap();
            proptest::prop_assert_eq!(&row.input, &input);
            proptest::prop_assert_eq!(row.owner.clone(), Some(OwnerRef::Team("ops".into())));
        }
    }
}
