//! A feed file sent through the web UI: an OSV record (JSON or YAML) or an osv.dev zip, the
//! CISA KEV catalog (JSON) or an EPSS file (CSV, or gzip-compressed CSV as FIRST publishes
//! it). Imported by the same code as `opsward vuln import` and the scheduled re-import, so a
//! bad file is a rejected run with its problems and the stored data stays as it was.

use std::io::Read;

use opsward_core::Actor;
use opsward_store::StoreError;

use crate::findings::{FeedKind, ImportProblem, ImportRun};
use crate::osv::load_path;
use crate::threat::{parse_epss, parse_kev};
use crate::VulnStore;

/// Largest file accepted from a browser. osv.dev's per-ecosystem zips fit; `all.zip` for
/// every ecosystem does not and belongs in the scheduled import (a path or URL).
pub const MAX_FEED_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Largest text a gzip-compressed EPSS file may expand to (today's is about 10 MiB).
pub const MAX_EPSS_TEXT_BYTES: u64 = 256 * 1024 * 1024;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// The text of a KEV or EPSS upload: gzip is expanded (within a limit), then the bytes must
/// be UTF-8.
pub fn feed_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = if bytes.starts_with(GZIP_MAGIC) {
        let mut expanded = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_EPSS_TEXT_BYTES + 1)
            .read_to_end(&mut expanded)
            .map_err(|e| format!("not a readable gzip file: {e}"))?;
        if expanded.len() as u64 > MAX_EPSS_TEXT_BYTES {
            return Err(format!("expands to more than {MAX_EPSS_TEXT_BYTES} bytes"));
        }
        expanded
    } else {
        bytes.to_vec()
    };
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Where an uploaded OSV file goes so `load_path` reads it by its name: a zip as `all.zip`,
/// YAML as `record.yaml`, anything else as `record.json`.
fn osv_file_name(filename: &str, bytes: &[u8]) -> &'static str {
    let lower = filename.to_ascii_lowercase();
    if bytes.starts_with(ZIP_MAGIC) {
        "all.zip"
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        "record.yaml"
    } else {
        "record.json"
    }
}

/// Imports one uploaded feed file, recorded as coming from `upload: <filename>`.
pub async fn import_upload(
    vulns: &VulnStore,
    actor: &Actor,
    kind: FeedKind,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<ImportRun, StoreError> {
    let source = format!("upload: {filename}");
    let rejected = |reason: String| {
        vec![ImportProblem {
            file: filename.to_owned(),
            line: None,
            reason,
        }]
    };
    if bytes.is_empty() {
        let problems = rejected("the file is empty".into());
        return vulns.reject_import(actor, kind, &source, problems).await;
    }
    match kind {
        FeedKind::Osv => {
            let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let path = dir.path().join(osv_file_name(filename, &bytes));
            tokio::fs::write(&path, &bytes)
                .await
                .map_err(|e| StoreError::Corrupt(format!("temporary file: {e}")))?;
            let mut loaded = tokio::task::spawn_blocking(move || load_path(&path))
                .await
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // Problems name the temporary file; people know the file by its own name.
            let temp = dir.path().display().to_string();
            for problem in &mut loaded.problems {
                problem.file = problem.file.replace(&temp, filename);
            }
            if loaded.files_read == 0 && loaded.problems.is_empty() {
                let problems = rejected("no OSV records in the file".into());
                return vulns.reject_import(actor, kind, &source, problems).await;
            }
            vulns.import_osv(actor, &source, &loaded).await
        }
        FeedKind::Kev | FeedKind::Epss => {
            let text = match feed_text(&bytes) {
                Ok(text) => text,
                Err(reason) => {
                    return vulns
                        .reject_import(actor, kind, &source, rejected(reason))
                        .await
                }
            };
            let problem = |e: crate::threat::FeedError| {
                vec![ImportProblem {
                    file: e.file,
                    line: e.line,
                    reason: e.reason,
                }]
            };
            if kind == FeedKind::Kev {
                match parse_kev(filename, &text) {
                    Ok(catalog) => vulns.import_kev(actor, &source, &catalog).await,
                    Err(e) => vulns.reject_import(actor, kind, &source, problem(e)).await,
                }
            } else {
                match parse_epss(filename, &text) {
                    Ok(file) => vulns.import_epss(actor, &source, &file).await,
                    Err(e) => vulns.reject_import(actor, kind, &source, problem(e)).await,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    #[test]
    fn gzip_is_expanded_and_plain_text_kept() {
        let csv = "#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(csv.as_bytes()).unwrap();
        assert_eq!(feed_text(&gz.finish().unwrap()).unwrap(), csv);
        assert_eq!(feed_text(csv.as_bytes()).unwrap(), csv);
        assert!(feed_text(&[0x1f, 0x8b, 0, 1, 2]).is_err());
        assert!(feed_text(&[0xff, 0xfe, 0xfd]).is_err());
    }

    #[test]
    fn osv_uploads_are_named_for_the_loader() {
        assert_eq!(osv_file_name("x.bin", b"PK\x03\x04rest"), "all.zip");
        assert_eq!(osv_file_name("PYSEC-1.YAML", b"id: x"), "record.yaml");
        assert_eq!(osv_file_name("RUSTSEC-1.json", b"{}"), "record.json");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any bytes, gzip-looking or not, give text or an error, never a panic.
        #[test]
        fn any_upload_gives_text_or_an_error(mut bytes in prop::collection::vec(any::<u8>(), 0..512), gz in any::<bool>()) {
            if gz {
                bytes.splice(0..0, GZIP_MAGIC.iter().copied());
            }
            let _ = feed_text(&bytes);
        }
    }
}
