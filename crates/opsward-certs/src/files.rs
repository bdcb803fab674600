//! Certificates in files: PEM (bundles, CRLF, text around blocks) and DER, found by walking
//! the given files and directories. Every file gets its own report and a bad file never stops
//! the walk. Private keys are counted and dropped: their content is never kept or logged.

use crate::{error::FileError, keystores, model::CertificateInfo};
use rustls::pki_types::pem::{PemObject, SectionKind};
use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
};

/// Files larger than this are not certificates anyone should keep; refuse rather than read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// In directories only files with these extensions are read (named files are always read):
/// walking `/etc` should not report every configuration file as "not a certificate".
pub const CERTIFICATE_EXTENSIONS: [&str; 15] = [
    "pem",
    "crt",
    "cer",
    "der",
    "cert",
    "ca-bundle",
    "key",
    "chain",
    "p12",
    "pfx",
    "jks",
    "jceks",
    "keystore",
    "yaml",
    "yml",
];

/// What one file held.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub certificates: Vec<CertificateInfo>,
    /// PEM private key blocks seen and skipped.
    pub private_keys_skipped: usize,
    /// Why the file (or its rest, after the certificates above) could not be read.
    pub error: Option<FileError>,
}

impl FileReport {
    fn failed(path: PathBuf, error: FileError) -> Self {
        FileReport {
            path,
            certificates: Vec::new(),
            private_keys_skipped: 0,
            error: Some(error),
        }
    }
}

/// Walk `paths` (files, or directories recursively, following symbolic links) and read
/// every certificate file found.
pub fn scan_paths(paths: &[PathBuf]) -> Vec<FileReport> {
    scan_paths_with(paths, &[])
}

/// Like [`scan_paths`], opening PKCS#12 archives with each of `passwords` (after the empty
/// password) until one works.
pub fn scan_paths_with(paths: &[PathBuf], passwords: &[String]) -> Vec<FileReport> {
    let mut reports = Vec::new();
    scan_paths_each(paths, passwords, default_threads(), |r| reports.push(r));
    reports
}

/// Threads for reading files: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Files read per unit of work handed to a reading thread.
const CHUNK: usize = 64;

/// Walk `paths`, read the files found on up to `threads` threads, and hand each file's report
/// to `each` as soon as it and every report before it are done, in walk order. At most a few
/// chunks of reports wait in memory, however many files there are.
pub fn scan_paths_each(
    paths: &[PathBuf],
    passwords: &[String],
    threads: usize,
    mut each: impl FnMut(FileReport),
) {
    let _span = tracing::info_span!("cert_file_scan", paths = paths.len()).entered();
    let mut walk = Walk::default();
    for path in paths {
        walk.visit(path, true);
    }
    let items = walk.items;
    let threads = threads.clamp(1, items.len().div_ceil(CHUNK).max(1));
    if threads == 1 {
        for item in &items {
            if let Some(report) = item.report(passwords) {
                each(report);
            }
        }
        return;
    }
    let chunks: Vec<&[Item]> = items.chunks(CHUNK).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<Option<FileReport>>)>(threads * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (chunks, next) = (&chunks, &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                let reports = chunk.iter().map(|item| item.report(passwords)).collect();
                if tx.send((i, reports)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut wanted = 0;
        for (i, reports) in rx {
            waiting.insert(i, reports);
            while let Some(reports) = waiting.remove(&wanted) {
                reports.into_iter().flatten().for_each(&mut each);
                wanted += 1;
            }
        }
    });
}

/// A file to read, or what the walk already knows about a path.
enum Item {
    Read {
        path: PathBuf,
        len: u64,
        named: bool,
    },
    Done(std::sync::Mutex<Option<FileReport>>),
}

impl Item {
    fn done(report: FileReport) -> Self {
        Item::Done(std::sync::Mutex::new(Some(report)))
    }

    fn report(&self, passwords: &[String]) -> Option<FileReport> {
        match self {
            Item::Done(report) => report.lock().unwrap_or_else(|p| p.into_inner()).take(),
            Item::Read { path, len, named } => {
                let report = read_file(path, *len, passwords);
                // YAML in a walked directory counts only when it holds a TLS secret.
                let foreign_yaml = !named
                    && is_yaml(path)
                    && report.certificates.is_empty()
                    && matches!(report.error, Some(FileError::NoCertificateInPem));
                (!foreign_yaml).then_some(report)
            }
        }
    }
}

#[derive(Default)]
struct Walk {
    /// Directories already walked, by (device, inode): reached again through another link,
    /// they are not walked twice.
    walked: HashSet<(u64, u64)>,
    /// The directories being walked, outermost first: a link to one of them is a loop.
    ancestors: Vec<(u64, u64)>,
    items: Vec<Item>,
}

impl Walk {
    fn visit(&mut self, path: &Path, named: bool) {
        // `metadata` follows links; a link cycle between links fails here with ELOOP.
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                self.items.push(Item::done(FileReport::failed(
                    path.to_owned(),
                    FileError::Unreadable(e),
                )));
                return;
            }
        };
        if meta.is_dir() {
            self.visit_dir(path, &meta);
        } else if meta.is_file() {
            if named || has_certificate_extension(path) {
                self.items.push(Item::Read {
                    path: path.to_owned(),
                    len: meta.len(),
                    named,
                });
            }
        } else if named {
            // FIFOs and devices: opening one could block forever.
            self.items.push(Item::done(FileReport::failed(
                path.to_owned(),
                FileError::NotACertificate("not a regular file".into()),
            )));
        }
    }

    fn visit_dir(&mut self, path: &Path, meta: &fs::Metadata) {
        use std::os::unix::fs::MetadataExt;
        let id = (meta.dev(), meta.ino());
        if self.ancestors.contains(&id) {
            self.items.push(Item::done(FileReport::failed(
                path.to_owned(),
                FileError::SymlinkLoop,
            )));
            return;
        }
        if !self.walked.insert(id) {
            return;
        }
        let entries = match fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) => {
                self.items.push(Item::done(FileReport::failed(
                    path.to_owned(),
                    FileError::Unreadable(e),
                )));
                return;
            }
        };
        // A regular file without a certificate extension is skipped without a `stat`.
        let mut children: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_type().map_or(true, |t| !t.is_file()) || has_certificate_extension(&e.path())
            })
            .map(|e| e.path())
            .collect();
        children.sort();
        self.ancestors.push(id);
        for child in children {
            self.visit(&child, false);
        }
        self.ancestors.pop();
    }
}

fn has_certificate_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| CERTIFICATE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn read_file(path: &Path, len: u64, passwords: &[String]) -> FileReport {
    if len > MAX_FILE_BYTES {
        return FileReport::failed(
            path.to_owned(),
            FileError::NotACertificate(format!("{len} bytes is too large for a certificate file")),
        );
    }
    match fs::read(path) {
        Ok(bytes) => parse_certificate_file_with(path.to_owned(), &bytes, passwords),
        Err(e) => FileReport::failed(path.to_owned(), FileError::Unreadable(e)),
    }
}

/// Decode a file's bytes as PEM (if it has a BEGIN line) or else as one DER certificate.
pub fn parse_certificate_file(path: PathBuf, bytes: &[u8]) -> FileReport {
    parse_certificate_file_with(path, bytes, &[])
}

/// Decode a file's bytes: a Kubernetes secret (YAML), a Java keystore, PEM, one DER
/// certificate, or a PKCS#12 archive (opened with the empty password or one of `passwords`).
pub fn parse_certificate_file_with(
    path: PathBuf,
    bytes: &[u8],
    passwords: &[String],
) -> FileReport {
    let mut report = FileReport {
        path,
        certificates: Vec::new(),
        private_keys_skipped: 0,
        error: None,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        report.error = Some(FileError::Empty);
        return report;
    }
    let contained = if is_yaml(&report.path) {
        if !keystores::mentions_tls_secret(bytes) {
            report.error = Some(FileError::NoCertificateInPem);
            return report;
        }
        Some(keystores::kubernetes_secret_certificates(bytes))
    } else if keystores::is_java_keystore(bytes) {
        Some(keystores::java_keystore_certificates(bytes))
    } else {
        None
    };
    if let Some(result) = contained {
        match result.and_then(|ders| decode_all(&ders)) {
            Ok(certs) => report.certificates = certs,
            Err(e) => report.error = Some(e),
        }
        return report;
    }
    if !contains(bytes, b"-----BEGIN ") {
        match CertificateInfo::from_der(bytes) {
            Ok(cert) => report.certificates.push(cert),
            Err(der_error) => match keystores::pkcs12_certificates(bytes, passwords) {
                Ok(Some(ders)) => match decode_all(&ders) {
                    Ok(certs) => report.certificates = certs,
                    Err(e) => report.error = Some(e),
                },
                Ok(None) if has_pkcs12_extension(&report.path) => {
                    report.error = Some(FileError::BadKeystore(format!("PKCS#12 ({der_error})")))
                }
                Ok(None) => report.error = Some(FileError::NotACertificate(der_error.to_string())),
                Err(e) => report.error = Some(e),
            },
        }
        return report;
    }
    let mut index = 0;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        match section {
            Ok((SectionKind::Certificate, der)) => {
                index += 1;
                match CertificateInfo::from_der(&der) {
                    Ok(cert) => report.certificates.push(cert),
                    Err(e) => {
                        report.error = Some(FileError::BadPemCertificate {
                            index,
                            reason: e.to_string(),
                        });
                        return report;
                    }
                }
            }
            Ok((
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey,
                _secret,
            )) => report.private_keys_skipped += 1,
            Ok(_) => {}
            Err(e) => {
                // The parser's messages name the missing END marker or the base64 fault,
                // never the block's content.
                report.error = Some(FileError::BadPem(e.to_string()));
                return report;
            }
        }
    }
    if report.certificates.is_empty() && report.private_keys_skipped == 0 {
        report.error = Some(FileError::NoCertificateInPem);
    }
    report
}

fn has_pkcs12_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
}

fn decode_all(ders: &[Vec<u8>]) -> Result<Vec<CertificateInfo>, FileError> {
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            CertificateInfo::from_der(der).map_err(|e| {
                FileError::BadKeystore(format!("container: certificate {}: {e}", i + 1))
            })
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
