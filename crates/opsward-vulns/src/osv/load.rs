//! Reading OSV records from what people have on disk: one file, a directory tree of files, the
//! `all.zip` osv.dev publishes per ecosystem, or osv-scanner's offline layout
//! `<dir>/<Ecosystem>/all.zip`.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{parse_record, Format, OsvRecord, RecordProblem};

/// Everything read from one path. A caller that must be atomic (the store import) refuses the
/// whole batch when `problems` is not empty; a one-off scan reports them and goes on.
#[derive(Debug, Default)]
pub struct LoadedRecords {
    /// Records that are in force, each with the file it came from.
    pub records: Vec<(String, OsvRecord)>,
    /// Ids of withdrawn records, which are skipped.
    pub withdrawn: Vec<String>,
    /// Ids of records published under RustSec's placeholder number (`RUSTSEC-YYYY-0000`), which
    /// is never assigned: the advisory is also published under its real id and is skipped.
    pub placeholders: Vec<String>,
    pub problems: Vec<RecordProblem>,
    pub files_read: usize,
}

/// What each record in force becomes as it is read (a scan keeps only what it matches).
type Shape<'a> = &'a dyn Fn(OsvRecord) -> OsvRecord;

/// How one load reads: the archive limits and the shape of the records it keeps.
struct Reader<'a> {
    limits: &'a ArchiveLimits,
    shape: Shape<'a>,
}

impl LoadedRecords {
    fn add(&mut self, file: String, text: &str, format: Format, shape: Shape) {
        self.files_read += 1;
        match parse_record(&file, text, format) {
            Ok(record) if record.withdrawn.is_some() => self.withdrawn.push(record.id),
            Ok(record) if is_placeholder(&record.id) => self.placeholders.push(record.id),
            Ok(record) => self.records.push((file, shape(record))),
            Err(problem) => self.problems.push(problem),
        }
    }

    fn problem(&mut self, file: &Path, reason: impl Into<String>) {
        self.problems.push(RecordProblem {
            file: file.display().to_string(),
            line: None,
            reason: reason.into(),
        });
    }
}

fn is_placeholder(id: &str) -> bool {
    id.strip_prefix("RUSTSEC-")
        .is_some_and(|rest| rest.ends_with("-0000"))
}

/// Bounds on what one zip archive may expand to, checked while it is read, so that a zip
/// bomb (a small file that inflates to gigabytes) is refused with bounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest decompressed entry. osv.dev's biggest single records are a few MiB.
    pub max_entry_bytes: u64,
    /// Largest decompressed total of one archive. osv.dev's largest `all.zip` (all
    /// ecosystems) inflates to a few GiB; 16 GiB leaves room to grow.
    pub max_archive_bytes: u64,
    /// Most entries in one archive (osv.dev's largest holds a few hundred thousand).
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entry_bytes: 32 << 20,
            max_archive_bytes: 16 << 30,
            max_entries: 2_000_000,
        }
    }
}

/// The limits [`load_path`] applies: the defaults until the binary sets its configuration
/// (`osv_max_entry_mib`, `osv_max_archive_mib`, `osv_max_entries`) once at start, which then
/// holds for the CLI import and the server's feed job alike.
static CONFIGURED: std::sync::OnceLock<ArchiveLimits> = std::sync::OnceLock::new();

/// Set the process-wide archive limits; only the first call counts.
pub fn configure_archive_limits(limits: ArchiveLimits) {
    let _ = CONFIGURED.set(limits);
}

/// The limits set by [`configure_archive_limits`], or the defaults.
pub fn configured_archive_limits() -> ArchiveLimits {
    CONFIGURED.get().copied().unwrap_or_default()
}

/// Loads every OSV record under `path`. Files that are neither JSON, YAML nor zip are ignored.
pub fn load_path(path: &Path) -> LoadedRecords {
    load_path_with(path, &configured_archive_limits())
}

/// [`load_path`] with explicit archive limits (the `[vulns]` settings of the CLI and the
/// server's feed job).
pub fn load_path_with(path: &Path, limits: &ArchiveLimits) -> LoadedRecords {
    load_path_shaped(path, limits, &|record| record)
}

/// [`load_path_with`] passing each record in force through `shape` as soon as it is parsed,
/// so that what `shape` drops is never held for more than one record.
pub fn load_path_shaped(
    path: &Path,
    limits: &ArchiveLimits,
    shape: &dyn Fn(OsvRecord) -> OsvRecord,
) -> LoadedRecords {
    let mut loaded = LoadedRecords::default();
    let reader = Reader { limits, shape };
    match fs::metadata(path) {
        Err(e) => loaded.problem(path, format!("cannot read: {e}")),
        Ok(meta) if meta.is_dir() => load_dir(path, &reader, &mut loaded),
        Ok(_) => load_file(path, &reader, &mut loaded),
    }
    loaded.records.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    loaded
}

fn load_dir(dir: &Path, reader: &Reader, loaded: &mut LoadedRecords) {
    let mut entries = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) => return loaded.problem(dir, format!("cannot list: {e}")),
    };
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            load_dir(&entry, reader, loaded);
        } else {
            load_file(&entry, reader, loaded);
        }
    }
}

fn load_file(path: &Path, reader: &Reader, loaded: &mut LoadedRecords) {
    let name = path.display().to_string();
    if name.to_ascii_lowercase().ends_with(".zip") {
        return load_zip(path, reader, loaded);
    }
    let Some(format) = Format::of_path(&name) else {
        return;
    };
    match fs::read_to_string(path) {
        Ok(text) => loaded.add(name, &text, format, reader.shape),
        Err(e) => loaded.problem(path, format!("cannot read: {e}")),
    }
}

fn load_zip(path: &Path, reader: &Reader, loaded: &mut LoadedRecords) {
    let limits = reader.limits;
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return loaded.problem(path, format!("cannot open: {e}")),
    };
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(archive) => archive,
        Err(e) => {
            return loaded.problem(
                path,
                format!("not a readable zip archive (truncated?): {e}"),
            )
        }
    };
    if archive.len() > limits.max_entries {
        return loaded.problem(
            path,
            format!(
                "the zip holds {} entries, more than the limit of {}; refused",
                archive.len(),
                limits.max_entries
            ),
        );
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(e) => return loaded.problem(path, format!("zip entry {index}: {e}")),
        };
        if entry.is_dir() {
            continue;
        }
        let inner = format!("{}!{}", path.display(), entry.name());
        let Some(format) = Format::of_path(entry.name()) else {
            continue;
        };
        // Read at most one byte past the limit, whatever size the entry's header claims: the
        // header can lie, the inflated bytes cannot.
        let allowed = limits
            .max_entry_bytes
            .min(limits.max_archive_bytes.saturating_sub(total));
        let mut bytes = Vec::new();
        // A truncated or corrupt entry fails here (length or CRC check).
        if let Err(e) = (&mut entry).take(allowed + 1).read_to_end(&mut bytes) {
            loaded.problems.push(RecordProblem {
                file: inner,
                line: None,
                reason: format!("cannot read from the zip: {e}"),
            });
            continue;
        }
        if bytes.len() as u64 > allowed {
            let reason = if allowed < limits.max_entry_bytes {
                format!(
                    "the zip inflates to more than {} bytes in all (the archive limit); refused as a possible zip bomb",
                    limits.max_archive_bytes
                )
            } else {
                format!(
                    "the entry inflates to more than {} bytes (the entry limit); refused as a possible zip bomb",
                    limits.max_entry_bytes
                )
            };
            loaded.problems.push(RecordProblem {
                file: inner,
                line: None,
                reason,
            });
            // Stop reading this archive: the rest is not worth inflating.
            return;
        }
        total += bytes.len() as u64;
        match String::from_utf8(bytes) {
            Ok(text) => loaded.add(inner, &text, format, reader.shape),
            Err(_) => loaded.problems.push(RecordProblem {
                file: inner,
                line: None,
                reason: "cannot read from the zip: not valid UTF-8".into(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
