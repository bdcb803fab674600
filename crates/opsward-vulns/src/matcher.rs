//! One matching engine for every inventory: packages are looked up by (ecosystem, normalised
//! name) in an index of the advisories' `affected` entries, then each candidate entry is
//! evaluated with the ecosystem's version scheme.

use std::collections::HashMap;

use serde::Serialize;

use crate::affected::{PreparedAffected, Verdict};
use crate::inventory::Package;
use crate::osv::{OsvRecord, RecordProblem};
use crate::severity::{CvssScore, Severity};
use crate::version::{normalize_package_name, Scheme};
use crate::vulnerability::{merge, Vulnerability};
use crate::wanted::WantedPackages;

/// Where an `affected` entry is: (vulnerability, record, entry) indexes, and its prepared form.
type EntryRef = (u32, u32, u32, u32);

/// Merged vulnerabilities with a lookup index.
#[derive(Debug, Default)]
pub struct AdvisoryIndex {
    pub vulnerabilities: Vec<Vulnerability>,
    /// (ecosystem, normalised name) -> (vulnerability, record, affected entry)
    by_package: HashMap<(String, String), Vec<EntryRef>>,
    /// Every `affected` entry with its versions parsed once.
    prepared: Vec<PreparedAffected>,
    pub withdrawn: usize,
    pub problems: Vec<RecordProblem>,
}

/// A package affected by a vulnerability.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Match {
    pub package: Package,
    /// The vulnerability's displayed id.
    pub id: String,
    /// Every id and alias of the vulnerability.
    pub ids: Vec<String>,
    /// The advisory records whose `affected` entries matched.
    pub advisories: Vec<MatchedAdvisory>,
    pub summary: Option<String>,
    pub severity: Severity,
    pub cvss: Option<CvssScore>,
    /// The lowest version that fixes it, when the advisory names one.
    pub fixed: Option<String>,
    /// Set when every matching advisory is informational (RustSec `unmaintained`, `unsound`,
    /// `notice`): a warning about the package rather than a vulnerability.
    pub informational: Option<String>,
}

/// One advisory record behind a match, with its own informational kind: two records of one
/// vulnerability can differ (RustSec filed `failure`'s flaw once as unsound, once as unmaintained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MatchedAdvisory {
    pub id: String,
    pub informational: Option<String>,
}

impl Match {
    pub fn advisory_ids(&self) -> impl Iterator<Item = &str> {
        self.advisories.iter().map(|a| a.id.as_str())
    }
}

/// An affected entry that names the package but could not be evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct Undecided {
    pub package: Package,
    pub advisory: String,
    pub reason: String,
}

impl AdvisoryIndex {
    pub fn build(records: Vec<OsvRecord>) -> AdvisoryIndex {
        let vulnerabilities = merge(records);
        let mut by_package: HashMap<(String, String), Vec<EntryRef>> = HashMap::new();
        let mut prepared = vec![];
        for (v, vulnerability) in vulnerabilities.iter().enumerate() {
            for (r, record) in vulnerability.records.iter().enumerate() {
                for (a, affected) in record.affected.iter().enumerate() {
                    let Some(package) = &affected.package else {
                        continue;
                    };
                    let key = (
                        package.ecosystem.clone(),
                        normalize_package_name(&package.ecosystem, &package.name),
                    );
                    let p = prepared.len() as u32;
                    prepared.push(PreparedAffected::new(
                        affected,
                        Scheme::for_ecosystem(&package.ecosystem),
                    ));
                    by_package
                        .entry(key)
                        .or_default()
                        .push((v as u32, r as u32, a as u32, p));
                }
            }
        }
        AdvisoryIndex {
            vulnerabilities,
            by_package,
            prepared,
            withdrawn: 0,
            problems: vec![],
        }
    }

    /// Loads and indexes every OSV record under `path` (file, directory or zip).
    pub fn load(path: &std::path::Path) -> AdvisoryIndex {
        let loaded = crate::osv::load_path(path);
        let mut index = AdvisoryIndex::build(loaded.records.into_iter().map(|(_, r)| r).collect());
        index.withdrawn = loaded.withdrawn.len();
        index.problems = loaded.problems;
        index
    }

    /// [`Self::load`] for a scan of `wanted` alone: every record is read, but only what
    /// matching those packages needs is kept ([`WantedPackages::slim`]), so a scan's memory
    /// follows its packages rather than the whole advisory database. The same matches as
    /// [`Self::load`] for those packages.
    pub fn load_for(path: &std::path::Path, wanted: &WantedPackages) -> AdvisoryIndex {
        let limits = crate::osv::configured_archive_limits();
        let loaded = crate::osv::load_path_shaped(path, &limits, &|r| wanted.slim(r));
        let mut index = AdvisoryIndex::build(loaded.records.into_iter().map(|(_, r)| r).collect());
        index.withdrawn = loaded.withdrawn.len();
        index.problems = loaded.problems;
        index
    }

    /// Every ecosystem some advisory names, sorted.
    pub fn ecosystems(&self) -> Vec<&str> {
        let mut found: Vec<&str> = self.by_package.keys().map(|(e, _)| e.as_str()).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    pub fn advisory_count(&self) -> usize {
        self.vulnerabilities.iter().map(|v| v.records.len()).sum()
    }

    /// The vulnerabilities affecting `package`, one match per vulnerability.
    pub fn check(&self, package: &Package, undecided: &mut Vec<Undecided>) -> Vec<Match> {
        let key = (
            package.ecosystem.clone(),
            normalize_package_name(&package.ecosystem, &package.name),
        );
        let Some(candidates) = self.by_package.get(&key) else {
            return vec![];
        };
        let mut found: Vec<Match> = vec![];
        for &(v, r, a, p) in candidates {
            let vulnerability = &self.vulnerabilities[v as usize];
            let record = &vulnerability.records[r as usize];
            let affected = &record.affected[a as usize];
            match self.prepared[p as usize].evaluate(&package.version) {
                Verdict::NotAffected => {}
                Verdict::Undecidable(reason) => undecided.push(Undecided {
                    package: package.clone(),
                    advisory: record.id.clone(),
                    reason,
                }),
                Verdict::Affected { fixed } => {
                    let informational = affected.informational().map(str::to_owned);
                    match found.iter_mut().find(|m| m.id == vulnerability.id) {
                        Some(existing) => {
                            if !existing.advisories.iter().any(|a| a.id == record.id) {
                                existing.advisories.push(MatchedAdvisory {
                                    id: record.id.clone(),
                                    informational: informational.clone(),
                                });
                            }
                            if existing.fixed.is_none() {
                                existing.fixed = fixed;
                            }
                            // Informational only if every matching advisory is.
                            if informational.is_none() {
                                existing.informational = None;
                            }
                        }
                        None => found.push(Match {
                            package: package.clone(),
                            id: vulnerability.id.clone(),
                            ids: vulnerability.ids.clone(),
                            advisories: vec![MatchedAdvisory {
                                id: record.id.clone(),
                                informational: informational.clone(),
                            }],
                            summary: vulnerability.summary.clone(),
                            severity: vulnerability.severity,
                            cvss: vulnerability.cvss.clone(),
                            fixed,
                            informational,
                        }),
                    }
                }
            }
        }
        found
    }
}
