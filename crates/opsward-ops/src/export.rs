//! Evidence exports for auditors.

use crate::model::Evidence;
use std::io::Write;

pub const CSV_COLUMNS: [&str; 11] = [
    "id",
    "practice",
    "activity_id",
    "title",
    "occurrence_at",
    "recorded_at",
    "recorded_by",
    "result",
    "notes",
    "links",
    "attachments",
];

/// One row per evidence record; attachments as `name (sha256)` separated by `;`.
pub fn evidence_csv<W: Write>(writer: W, evidence: &[Evidence]) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(CSV_COLUMNS)?;
    for e in evidence {
        let attachments: Vec<String> = e
            .attachments
            .iter()
            .map(|a| format!("{} ({})", a.filename, a.sha256))
            .collect();
        csv.write_record([
            e.id.to_string(),
            e.practice.to_string(),
            e.activity_id.map(|i| i.to_string()).unwrap_or_default(),
            e.title.clone(),
            e.occurrence_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            e.recorded_at.to_rfc3339(),
            e.recorded_by.clone(),
            e.result.to_string(),
            e.notes.clone(),
            e.links.join(" "),
            attachments.join("; "),
        ])?;
    }
    csv.flush()?;
    Ok(())
}
