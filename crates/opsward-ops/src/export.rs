//! Evidence exports for auditors.

use crate::{attachments::AttachmentStore, model::Evidence};
use std::{collections::HashMap, io::Write};

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

/// One row per evidence record; attachments as `name (sha256)` separated by `;`. Cells a
/// spreadsheet would run as formulas get a leading `'`.
pub fn evidence_csv<W: Write>(writer: W, evidence: &[Evidence]) -> csv::Result<()> {
    let mut csv = opsward_core::untrusted::SafeCsvWriter::from_writer(writer);
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

/// The stored files of `list`'s attachments by SHA-256, or why one could not be read: what
/// `evidence_zip` packs (fetched first, as the file store may be remote).
pub async fn fetch_attachments(
    list: &[Evidence],
    store: &AttachmentStore,
) -> HashMap<String, Result<Vec<u8>, String>> {
    let mut files = HashMap::new();
    for a in list.iter().flat_map(|e| &e.attachments) {
        if !files.contains_key(&a.sha256) {
            let read = store.read(&a.sha256).await.map_err(|e| e.to_string());
            files.insert(a.sha256.clone(), read);
        }
    }
    files
}

/// Evidence with its files (from `fetch_attachments`) as one ZIP for an auditor:
/// `evidence.csv`, every attachment under `files/<evidence id>/`, and `SHA256SUMS` to check
/// them. A stored file that is missing or no longer matches its checksum is replaced by a
/// `.MISSING.txt` note saying so.
pub fn evidence_zip(
    list: &[Evidence],
    files: &HashMap<String, Result<Vec<u8>, String>>,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut sums = String::new();
    // evidence.csv is listed in SHA256SUMS too: an auditor checks the records, not only
    // the files.
    let mut csv = Vec::new();
    evidence_csv(&mut csv, list)?;
    zip.start_file("evidence.csv", options)?;
    zip.write_all(&csv)?;
    {
        use sha2::{Digest, Sha256};
        sums.push_str(&format!("{:x}  evidence.csv\n", Sha256::digest(&csv)));
    }
    for e in list {
        for a in &e.attachments {
            let path = format!("files/{}/{}", e.id, a.filename);
            let missing = Err("not fetched".to_string());
            match files.get(&a.sha256).unwrap_or(&missing) {
                Ok(bytes) => {
                    zip.start_file(path.as_str(), options)?;
                    zip.write_all(bytes)?;
                    sums.push_str(&format!("{}  {path}\n", a.sha256));
                }
                Err(err) => {
                    zip.start_file(format!("{path}.MISSING.txt"), options)?;
                    writeln!(
                        zip,
                        "{path} (sha256 {}) could not be exported: {err}",
                        a.sha256
                    )?;
                }
            }
        }
    }
    zip.start_file("SHA256SUMS", options)?;
    zip.write_all(sums.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}
