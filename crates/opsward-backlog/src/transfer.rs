//! Import and export. CSV comes from other tools (GLPI, Jira and the like) with their own
//! column names and values, so a mapping names which column holds which field and how
//! their types and levels translate. Every row is checked before anything is stored, and
//! every problem is reported with its line, so a file is fixed in one go and imported
//! whole or not at all (the store writes the batch in one transaction).

use crate::{model::ItemFields, Item, ItemInput, ItemType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 50_000;

/// Which CSV column holds each field, and how foreign values translate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnMapping {
    /// Column of the title (required).
    #[serde(default = "col_title")]
    pub title: String,
    #[serde(default = "col_description")]
    pub description: Option<String>,
    #[serde(default = "col_type")]
    pub item_type: Option<String>,
    #[serde(default = "col_impact")]
    pub impact: Option<String>,
    #[serde(default = "col_urgency")]
    pub urgency: Option<String>,
    /// Tags separated by `;`, `,` or spaces.
    #[serde(default = "col_tags")]
    pub tags: Option<String>,
    /// Foreign type names (`Bug`, `Story`) to ours; compared without case.
    #[serde(default)]
    pub types: BTreeMap<String, ItemType>,
    /// Type of rows without a type column or with an empty type.
    #[serde(default)]
    pub default_type: Option<ItemType>,
}

fn col_title() -> String {
    "title".into()
}
fn col_description() -> Option<String> {
    Some("description".into())
}
fn col_type() -> Option<String> {
    Some("item_type".into())
}
fn col_impact() -> Option<String> {
    Some("impact".into())
}
fn col_urgency() -> Option<String> {
    Some("urgency".into())
}
fn col_tags() -> Option<String> {
    Some("tags".into())
}

impl Default for ColumnMapping {
    /// opsward's own export columns, so an export imports again as it is.
    fn default() -> Self {
        ColumnMapping {
            title: col_title(),
            description: col_description(),
            item_type: col_type(),
            impact: col_impact(),
            urgency: col_urgency(),
            tags: col_tags(),
            types: BTreeMap::new(),
            default_type: None,
        }
    }
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogRowError)]
pub struct RowError {
    /// Line in the file (CSV, counting the header as line 1; JSON, where the record starts
    /// is not known, so the record number).
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

/// A level written as 1-3, or in words as GLPI and Jira do (`Very high` .. `Very low`,
/// `Highest` .. `Lowest`, `Critical`, `Major`, `Minor`, ...).
pub fn parse_level(text: &str) -> Option<i32> {
    let t = text.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "1" | "very high" | "highest" | "high" | "critical" | "blocker" | "major" => 1,
        "2" | "medium" | "normal" | "moderate" => 2,
        "3" | "low" | "lowest" | "very low" | "minor" | "trivial" => 3,
        _ => return None,
    })
}

fn parse_type(text: &str, mapping: &ColumnMapping) -> Result<ItemType, String> {
    let t = text.trim();
    if t.is_empty() {
        return mapping
            .default_type
            .ok_or_else(|| "is empty and the mapping has no default_type".to_string());
    }
    if let Some((_, mapped)) = mapping
        .types
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(t))
    {
        return Ok(*mapped);
    }
    t.parse::<ItemType>().map_err(|_| {
        format!(
            "{t:?} is not a type; map it in `types` or use problem, incident, improvement or risk"
        )
    })
}

/// Read a CSV export into items, or every problem found, each with its line.
pub fn read_csv(data: &str, mapping: &ColumnMapping) -> Result<Vec<ItemInput>, Vec<RowError>> {
    read_csv_lines(data, mapping).map(|rows| rows.into_iter().map(|(_, i)| i).collect())
}

/// [`read_csv`], each item with the line its row starts on.
pub fn read_csv_lines(
    data: &str,
    mapping: &ColumnMapping,
) -> Result<Vec<(u64, ItemInput)>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(data.as_bytes());
    let headers = reader.headers().map_err(|e| {
        vec![RowError {
            line: 1,
            field: "header".into(),
            message: e.to_string(),
        }]
    })?;
    let headers: Vec<String> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut errors = Vec::new();
    let title_col = find(&mapping.title);
    if title_col.is_none() {
        errors.push(RowError {
            line: 1,
            field: "title".into(),
            message: format!(
                "no column {:?} (columns are {})",
                mapping.title,
                headers.join(", ")
            ),
        });
    }
    let mut optional = |field: &str, column: &Option<String>| match column {
        Some(name) => match find(name) {
            Some(i) => Some(i),
            // opsward's own default names may simply be absent; a name chosen in the
            // mapping must exist.
            None if *column == ColumnMapping::default().column(field) => None,
            None => {
                errors.push(RowError {
                    line: 1,
                    field: field.into(),
                    message: format!("no column {name:?}"),
                });
                None
            }
        },
        None => None,
    };
    let cols = [
        optional("description", &mapping.description),
        optional("item_type", &mapping.item_type),
        optional("impact", &mapping.impact),
        optional("urgency", &mapping.urgency),
        optional("tags", &mapping.tags),
    ];
    if !errors.is_empty() {
        return Err(errors);
    }
    let [description_col, type_col, impact_col, urgency_col, tags_col] = cols;
    let mut items = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(n as u64 + 2, |p| p.line());
                errors.push(RowError {
                    line,
                    field: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(n as u64 + 2, |p| p.line());
        if items.len() + errors.len() >= MAX_IMPORT_ROWS {
            errors.push(RowError {
                line,
                field: "row".into(),
                message: format!("more than {MAX_IMPORT_ROWS} rows; split the file"),
            });
            break;
        }
        let cell = |col: Option<usize>| {
            opsward_core::untrusted::restore_csv_cell(col.and_then(|i| record.get(i)).unwrap_or(""))
        };
        let mut row_errors = Vec::new();
        let item_type = parse_type(cell(type_col), mapping)
            .map_err(|m| row_errors.push(("item_type", m)))
            .ok();
        let mut level = |name: &'static str, col: Option<usize>| {
            let text = cell(col);
            if text.trim().is_empty() {
                return 3;
            }
            parse_level(text).unwrap_or_else(|| {
                row_errors.push((name, format!("{text:?} is not 1-3 or high, medium, low")));
                3
            })
        };
        let impact = level("impact", impact_col);
        let urgency = level("urgency", urgency_col);
        let input = ItemInput {
            item_type: item_type.unwrap_or(ItemType::Incident),
            title: cell(title_col).to_string(),
            description: cell(description_col).to_string(),
            impact,
            urgency,
            wsjf: None,
            team_id: None,
            assignee_person_id: None,
            tags: cell(tags_col)
                .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            asset_ids: Vec::new(),
        };
        if let Err(v) = ItemFields::from_input(&input).validate() {
            row_errors.extend(v.errors.into_iter().map(|e| {
                let field: &'static str = match e.field.as_str() {
                    "title" => "title",
                    "description" => "description",
                    "tags" => "tags",
                    _ => "row",
                };
                (field, e.message)
            }));
        }
        if row_errors.is_empty() {
            items.push((line, input));
        } else {
            errors.extend(row_errors.into_iter().map(|(field, message)| RowError {
                line,
                field: field.into(),
                message,
            }));
        }
    }
    // The csv crate ends a quoted field at the end of the input without complaint, so a
    // missing closing quote would swallow every row after it into one cell.
    if opsward_core::asset_csv::ends_inside_quotes(data.as_bytes()) {
        let line = items.last().map_or(2, |(line, _)| *line);
        items.pop();
        errors.push(RowError {
            line,
            field: "row".into(),
            message: "a quoted field is not closed before the end of the file".into(),
        });
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

impl ColumnMapping {
    fn column(&self, field: &str) -> Option<String> {
        match field {
            "description" => self.description.clone(),
            "item_type" => self.item_type.clone(),
            "impact" => self.impact.clone(),
            "urgency" => self.urgency.clone(),
            "tags" => self.tags.clone(),
            _ => Some(self.title.clone()),
        }
    }
}

/// Read a JSON array of items (the API's create shape), or every problem with its record.
pub fn read_json(data: &str) -> Result<Vec<ItemInput>, Vec<RowError>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(data).map_err(|e| {
        vec![RowError {
            line: e.line() as u64,
            field: "json".into(),
            message: e.to_string(),
        }]
    })?;
    if values.len() > MAX_IMPORT_ROWS {
        return Err(vec![RowError {
            line: 1,
            field: "json".into(),
            message: format!("more than {MAX_IMPORT_ROWS} records; split the file"),
        }]);
    }
    let mut errors = Vec::new();
    let mut items = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let record = i as u64 + 1;
        match serde_json::from_value::<ItemInput>(v) {
            Ok(input) => match ItemFields::from_input(&input).validate() {
                Ok(()) => items.push(input),
                Err(v) => errors.extend(v.errors.into_iter().map(|e| RowError {
                    line: record,
                    field: e.field,
                    message: e.message,
                })),
            },
            Err(e) => errors.push(RowError {
                line: record,
                field: "record".into(),
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

/// Columns of a CSV export; the importable ones carry the default mapping's names.
pub const EXPORT_COLUMNS: &[&str] = &[
    "id",
    "item_type",
    "title",
    "description",
    "state",
    "impact",
    "urgency",
    "priority",
    "tags",
    "team_id",
    "assignee_person_id",
    "created_at",
    "updated_at",
    "resolved_at",
];

/// Items as CSV with a header row.
pub fn write_csv(items: &[Item]) -> Result<String, csv::Error> {
    // Cells a spreadsheet would run as formulas get a leading `'` (restored on import).
    let mut w = opsward_core::untrusted::SafeCsvWriter::from_writer(Vec::new());
    w.write_record(EXPORT_COLUMNS)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for i in items {
        w.write_record([
            i.id.to_string(),
            i.item_type.to_string(),
            i.title.clone(),
            i.description.clone(),
            i.state.to_string(),
            i.impact.to_string(),
            i.urgency.to_string(),
            i.priority.to_string(),
            i.tags.join(";"),
            opt(i.team_id),
            opt(i.assignee_person_id),
            i.created_at.to_rfc3339(),
            i.updated_at.to_rfc3339(),
            i.resolved_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ])?;
    }
    let bytes = w.into_inner()?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jira() -> ColumnMapping {
        serde_json::from_value(serde_json::json!({
            "title": "Summary", "description": "Description", "item_type": "Issue Type",
            "impact": "Impact", "urgency": "Priority", "tags": "Labels",
            "types": {"Bug": "problem", "Story": "improvement", "Task": "improvement"},
            "default_type": "incident"
        }))
        .unwrap()
    }

    #[test]
    fn jira_like_export_with_mapping() {
        let csv = "Issue key,Summary,Issue Type,Priority,Impact,Labels,Description\n\
                   OPS-1,Login slow,Bug,Highest,Medium,auth perf,\"Two lines,\nwith a comma\"\n\
                   OPS-2,Automate certs,Story,Low,,pki,\n\
                   OPS-3,Printer jam,,Medium,Low,,\n";
        let items = read_csv(csv, &jira()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].item_type, ItemType::Problem);
        assert_eq!((items[0].impact, items[0].urgency), (2, 1));
        assert_eq!(items[0].tags, ["auth", "perf"]);
        assert_eq!(items[0].description, "Two lines,\nwith a comma");
        assert_eq!(items[1].item_type, ItemType::Improvement);
        assert_eq!((items[1].impact, items[1].urgency), (3, 3));
        assert_eq!(items[2].item_type, ItemType::Incident, "the default type");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        // Line 3 is a quoted multi-line description: the bad rows after it are on lines 5-7.
        let csv = "Summary,Issue Type,Priority,Impact,Description\n\
                   Fine,Bug,High,Low,\n\
                   Also fine,Bug,Low,Low,\"spans\ntwo lines\"\n\
                   ,Bug,Low,Low,\n\
                   Bad type,Epic,Low,Low,\n\
                   Bad level,Bug,Urgent!,4,\n\
                   Too,many,columns,here,x,y\n";
        let no_labels = ColumnMapping {
            tags: None,
            ..jira()
        };
        let errors = read_csv(csv, &no_labels).unwrap_err();
        let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "title"),
                (6, "item_type"),
                (7, "impact"),
                (7, "urgency"),
                (8, "row")
            ],
            "{errors:#?}"
        );
        assert!(errors[1].message.contains("\"Epic\""), "{}", errors[1]);
        assert_eq!(errors[0].to_string(), "line 5: title: is required");
    }

    #[test]
    fn missing_columns_are_named() {
        let errors = read_csv("Name,Kind\nx,y\n", &jira()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields[0], "title");
        assert!(errors.iter().all(|e| e.line == 1));
        assert!(errors[0].message.contains("Summary"), "{}", errors[0]);
    }

    #[test]
    fn json_records_are_checked() {
        let data = r#"[
            {"item_type": "risk", "title": "Single DNS provider"},
            {"item_type": "risk"},
            {"item_type": "risk", "title": "x", "impact": 9}
        ]"#;
        let errors = read_json(data).unwrap_err();
        let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(got, [(2, "record"), (3, "impact")]);
        let syntax = read_json("[\n{\"item_type\": \"risk\",\n}").unwrap_err();
        assert_eq!((syntax[0].line, syntax[0].field.as_str()), (3, "json"));
        assert_eq!(
            read_json(r#"[{"item_type": "risk", "title": "ok"}]"#)
                .unwrap()
                .len(),
            1
        );
    }
}
