//! The OSV schema (<https://ossf.github.io/osv-schema/>) as records, read from JSON or from YAML
//! (PyPA's advisory database writes OSV in YAML), and loaded from directories, zips and files.

mod load;

pub use load::{
    configure_archive_limits, configured_archive_limits, load_path, load_path_shaped,
    load_path_with, ArchiveLimits, LoadedRecords,
};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A problem with one advisory file: which file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RecordProblem {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// One OSV record as published.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    pub modified: String,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub related: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub severity: Vec<OsvSeverity>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<AffectedPackage>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub severity: Vec<OsvSeverity>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "lenient_strings")]
    pub versions: Vec<String>,
    #[serde(default)]
    pub ecosystem_specific: Option<Value>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AffectedPackage {
    pub ecosystem: String,
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
}

/// One range event; exactly one field is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub introduced: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub fixed: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub last_affected: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_string"
    )]
    pub limit: Option<String>,
}

impl Affected {
    /// RustSec's informational kind (`unmaintained`, `unsound`, `notice`, ...), if the advisory
    /// is not a vulnerability but a notice about the package.
    pub fn informational(&self) -> Option<&str> {
        self.database_specific
            .as_ref()?
            .get("informational")?
            .as_str()
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A version written as a YAML number (`- 1.2`) is still a version string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl From<Scalar> for String {
    fn from(value: Scalar) -> String {
        match value {
            Scalar::Text(s) => s,
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
        }
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(deserializer)?.map(String::from))
}

fn lenient_strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Scalar>>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect())
}

/// The serialisation a file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    pub fn of_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else {
            None
        }
    }
}

/// Parses one OSV record; `file` names it in the problem.
pub fn parse_record(file: &str, text: &str, format: Format) -> Result<OsvRecord, RecordProblem> {
    let problem = |line: Option<usize>, reason: String| RecordProblem {
        file: file.to_owned(),
        line,
        reason,
    };
    let record: OsvRecord = match format {
        Format::Json => {
            serde_json::from_str(text).map_err(|e| problem(Some(e.line()), e.to_string()))?
        }
        Format::Yaml => serde_yaml_ng::from_str(text)
            .map_err(|e| problem(e.location().map(|l| l.line()), e.to_string()))?,
    };
    if record.id.trim().is_empty() {
        return Err(problem(None, "the record has an empty id".into()));
    }
    if chrono::DateTime::parse_from_rfc3339(&record.modified).is_err() {
        return Err(problem(
            None,
            format!("`modified` is not an RFC 3339 time: {:?}", record.modified),
        ));
    }
    for affected in &record.affected {
        for range in &affected.ranges {
            for event in &range.events {
                let set = [
                    &event.introduced,
                    &event.fixed,
                    &event.last_affected,
                    &event.limit,
                ]
                .iter()
                .filter(|e| e.is_some())
                .count();
                if set != 1 {
                    return Err(problem(None, format!("a {} range event must set exactly one of introduced, fixed, last_affected, limit", range.kind)));
                }
            }
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_numbers_become_version_strings() {
        let yaml = "id: PYSEC-1\nmodified: '2021-01-01T00:00:00Z'\naffected:\n- package: {name: x, ecosystem: PyPI}\n  versions: [1, '1.0', 2.5]\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 2.5\n";
        let record = parse_record("x.yaml", yaml, Format::Yaml).unwrap();
        assert_eq!(record.affected[0].versions, ["1", "1.0", "2.5"]);
        assert_eq!(
            record.affected[0].ranges[0].events[0].introduced.as_deref(),
            Some("0")
        );
        assert_eq!(
            record.affected[0].ranges[0].events[1].fixed.as_deref(),
            Some("2.5")
        );
    }

    #[test]
    fn problems_name_file_and_line() {
        let error = parse_record(
            "bad.json",
            "{\n  \"id\": \"X\",\n  \"modified\": 3\n}",
            Format::Json,
        )
        .unwrap_err();
        assert_eq!(error.file, "bad.json");
        assert_eq!(error.line, Some(3));
        let error = parse_record(
            "bad.yaml",
            "id: X\nmodified: '2021-01-01T00:00:00Z'\naffected: [\n",
            Format::Yaml,
        )
        .unwrap_err();
        assert!(error.line.is_some(), "{error}");
        let error = parse_record(
            "t.json",
            r#"{"id":"X","modified":"yesterday"}"#,
            Format::Json,
        )
        .unwrap_err();
        assert!(error.reason.contains("RFC 3339"), "{error}");
        let two = r#"{"id":"X","modified":"2021-01-01T00:00:00Z","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}"#;
        assert!(parse_record("t.json", two, Format::Json)
            .unwrap_err()
            .reason
            .contains("exactly one"));
    }
}
