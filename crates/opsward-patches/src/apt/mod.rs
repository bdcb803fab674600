//! Pending updates of a Debian/Ubuntu host from its apt lists, decided the way apt decides.
//!
//! apt keeps what `apt-get update` fetched in `/var/lib/apt/lists`: per source one `Release`
//! (or clear-signed `InRelease`) file naming the suite, and one `Packages` file per component
//! and architecture, plain or compressed (`.gz`, `.lz4`; Docker images keep them compressed).
//! Each version of a package gets the highest pin priority of the files it appears in, with
//! apt's defaults: 500 for an ordinary release, 1 for `NotAutomatic: yes`, 100 for
//! `NotAutomatic: yes` with `ButAutomaticUpgrades: yes`, 100 for the installed version (the
//! dpkg status file). The candidate is chosen like `pkgPolicy::GetCandidateVer`: versions
//! from newest down, the first with a strictly higher priority wins, and the walk stops at the
//! installed version, which is therefore never downgraded. A package is upgradable when its
//! candidate is newer than what is installed; the update is a security update when the
//! candidate is published in a `*-security` suite.
//!
//! Only default priorities are modelled: `/etc/apt/preferences` pins and `APT::Default-Release`
//! are not read.

mod release;

pub use release::Release;

use crate::{control, InstalledPackage, InventoryError, PendingUpdate};
use debversion::Version;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::Read,
    path::Path,
};

/// Where apt keeps the lists `apt-get update` fetched.
pub const LISTS_DIR: &str = "/var/lib/apt/lists";

/// The priority apt gives the dpkg status file, i.e. the installed version.
pub const INSTALLED_PRIORITY: i32 = 100;

/// One version of one package as published in the lists.
#[derive(Debug, Clone)]
struct Published {
    version: Version,
    text: String,
    source: String,
    /// Indexes into `AptLists::releases`.
    releases: BTreeSet<usize>,
}

/// Everything `apt-get update` fetched, indexed by package name and architecture.
#[derive(Debug, Default)]
pub struct AptLists {
    pub releases: Vec<Release>,
    packages: HashMap<(String, String), Vec<Published>>,
    native_arch: String,
}

impl AptLists {
    /// Read every `Release`/`InRelease` and `*_Packages[.gz|.lz4]` file in `dir`.
    /// `native_arch` is dpkg's architecture (`dpkg --print-architecture`): `Architecture: all`
    /// packages are filed under it, as apt does.
    pub fn read(dir: &Path, native_arch: &str) -> Result<AptLists, InventoryError> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| InventoryError::read(dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut lists = AptLists {
            native_arch: native_arch.to_string(),
            ..AptLists::default()
        };
        // Release stems: "host_path_dists_bookworm" for "host_path_dists_bookworm_InRelease".
        let mut stems: Vec<(String, usize)> = Vec::new();
        for name in &names {
            let stem = if let Some(s) = name.strip_suffix("_InRelease") {
                s
            } else if let Some(s) = name.strip_suffix("_Release") {
                // An InRelease for the same source says the same, signed.
                if names.contains(&format!("{s}_InRelease")) {
                    continue;
                }
                s
            } else {
                continue;
            };
            let path = dir.join(name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| InventoryError::read(&path, e))?;
            let release =
                Release::parse(&text).map_err(|m| InventoryError::format(path.display(), m))?;
            lists.releases.push(release);
            stems.push((format!("{stem}_"), lists.releases.len() - 1));
        }
        // A Packages file without a Release (a flat repository) is an ordinary release.
        let mut unnamed: Option<usize> = None;
        for name in &names {
            let Some(compression) = packages_compression(name) else {
                continue;
            };
            let path = dir.join(name);
            let release = match stems
                .iter()
                .filter(|(stem, _)| name.starts_with(stem.as_str()))
                .max_by_key(|(stem, _)| stem.len())
            {
                Some((_, index)) => *index,
                None => *unnamed.get_or_insert_with(|| {
                    lists.releases.push(Release::default());
                    lists.releases.len() - 1
                }),
            };
            let text = read_compressed(&path, compression)?;
            lists
                .add_packages(&text, release)
                .map_err(|m| InventoryError::format(path.display(), m))?;
        }
        Ok(lists)
    }

    /// Add the paragraphs of one `Packages` file published by `releases[release]`.
    fn add_packages(&mut self, text: &str, release: usize) -> Result<(), String> {
        for p in control::paragraphs(text)? {
            let (Some(name), Some(version_text)) = (p.get("Package"), p.get("Version")) else {
                return Err("a paragraph without Package or Version".into());
            };
            let version: Version = version_text
                .parse()
                .map_err(|e| format!("{name}: version {version_text:?}: {e}"))?;
            let arch = self.arch_key(p.get("Architecture").unwrap_or("all"));
            let source = crate::inventory::dpkg::source_of(name, version_text, p.get("Source")).0;
            let versions = self.packages.entry((name.to_string(), arch)).or_default();
            // apt merges equal versions (1.0 and 1.0-0 compare equal) across files.
            match versions.iter_mut().find(|v| v.version == version) {
                Some(v) => {
                    v.releases.insert(release);
                }
                None => versions.push(Published {
                    version,
                    text: version_text.to_string(),
                    source,
                    releases: BTreeSet::from([release]),
                }),
            }
        }
        Ok(())
    }

    fn arch_key(&self, arch: &str) -> String {
        if arch == "all" {
            self.native_arch.clone()
        } else {
            arch.to_string()
        }
    }

    /// Number of distinct (package, architecture) pairs published.
    pub fn package_count(&self) -> usize {
        self.packages.len()
    }

    /// The candidate apt would install for `installed`: `None` when no list publishes the
    /// package, else `(version text, source, release indexes)`.
    fn candidate(&self, installed: &InstalledPackage) -> Option<Result<&Published, String>> {
        let key = (installed.name.clone(), self.arch_key(&installed.arch));
        let published = self.packages.get(&key)?;
        let current: Version = match installed.version.parse() {
            Ok(v) => v,
            Err(e) => {
                return Some(Err(format!(
                    "{}: installed version {:?}: {e}",
                    installed.name, installed.version
                )))
            }
        };
        let mut newest_first: Vec<&Published> = published.iter().collect();
        newest_first.sort_by(|a, b| b.version.cmp(&a.version));
        let mut best: Option<&Published> = None;
        let mut max = 0;
        let mut reached_installed = false;
        for v in newest_first {
            if v.version < current {
                break;
            }
            let mut priority = v
                .releases
                .iter()
                .map(|r| self.releases[*r].priority())
                .max()
                .unwrap_or(0);
            if v.version == current {
                priority = priority.max(INSTALLED_PRIORITY);
            }
            if priority > max {
                best = Some(v);
                max = priority;
            }
            if v.version == current {
                reached_installed = true;
                break;
            }
        }
        // The installed version is in the status file with priority 100 even when no list
        // publishes it any more; it beats anything newer with a lower priority.
        if !reached_installed && INSTALLED_PRIORITY > max {
            best = None;
        }
        // `None` with a published package: the installed version (or nothing newer) wins.
        best.map(Ok)
    }

    /// The installed packages whose candidate is newer than the installed version, sorted by
    /// name and architecture. Installed versions that are not valid Debian versions are errors.
    pub fn pending_updates(
        &self,
        installed: &[InstalledPackage],
    ) -> Result<Vec<PendingUpdate>, String> {
        let mut out = BTreeMap::new();
        for package in installed {
            let Some(candidate) = self.candidate(package) else {
                continue;
            };
            let candidate = candidate?;
            let current: Version = package.version.parse().map_err(|e| format!("{e}"))?;
            if candidate.version <= current {
                continue;
            }
            let releases: Vec<&Release> = candidate
                .releases
                .iter()
                .map(|r| &self.releases[*r])
                .collect();
            let mut suites: Vec<String> = releases
                .iter()
                .map(|r| r.name().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            suites.sort();
            suites.dedup();
            out.insert(
                (package.name.clone(), package.arch.clone()),
                PendingUpdate {
                    name: package.name.clone(),
                    arch: package.arch.clone(),
                    installed_version: package.version.clone(),
                    candidate_version: candidate.text.clone(),
                    source: candidate.source.clone(),
                    suites,
                    security: releases.iter().any(|r| r.is_security()),
                },
            );
        }
        Ok(out.into_values().collect())
    }
}

#[derive(Debug, Clone, Copy)]
enum Compression {
    None,
    Gzip,
    Lz4,
}

fn packages_compression(name: &str) -> Option<Compression> {
    if name.ends_with("_Packages") {
        Some(Compression::None)
    } else if name.ends_with("_Packages.gz") {
        Some(Compression::Gzip)
    } else if name.ends_with("_Packages.lz4") {
        Some(Compression::Lz4)
    } else {
        None
    }
}

fn read_compressed(path: &Path, compression: Compression) -> Result<String, InventoryError> {
    let file = std::fs::File::open(path).map_err(|e| InventoryError::read(path, e))?;
    let mut text = String::new();
    let read = match compression {
        Compression::None => std::io::BufReader::new(file).read_to_string(&mut text),
        Compression::Gzip => flate2::read::MultiGzDecoder::new(file).read_to_string(&mut text),
        Compression::Lz4 => lz4_flex::frame::FrameDecoder::new(file).read_to_string(&mut text),
    };
    read.map_err(|e| InventoryError::read(path, e))?;
    Ok(text)
}

/// One line of `apt list --upgradable`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AptListed {
    pub name: String,
    pub arch: String,
    pub candidate_version: String,
    /// The archives (suites) apt names for the candidate.
    pub suites: Vec<String>,
}

/// `apt list --upgradable` output: lines like
/// `bash/stable,stable-security 5.2.15-2+b8 amd64 [upgradable from: 5.2.15-2+b7]`.
pub fn parse_apt_list_upgradable(text: &str) -> Vec<AptListed> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 || !line.contains("[upgradable from:") {
            continue;
        }
        let (name, suites) = fields[0].split_once('/').unwrap_or((fields[0], ""));
        let mut suites: Vec<String> = suites
            .split(',')
            .filter(|s| !s.is_empty() && *s != "now")
            .map(str::to_string)
            .collect();
        suites.sort();
        out.push(AptListed {
            name: name.to_string(),
            arch: fields[2].to_string(),
            candidate_version: fields[1].to_string(),
            suites,
        });
    }
    out.sort();
    out
}
