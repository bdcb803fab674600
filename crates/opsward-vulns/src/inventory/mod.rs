//! Inventories: the packages a lockfile or SBOM says are installed, each in its OSV ecosystem.
//!
//! Supported: `Cargo.lock`, `go.mod` (and `go.sum` alone), pinned `requirements.txt`,
//! `poetry.lock`, `package-lock.json`/`npm-shrinkwrap.json` (lockfile v1 to v3), CycloneDX JSON
//! and SPDX JSON (through package URLs). A malformed file is an error naming the file and line.

mod cargo;
mod go;
mod npm;
mod purl;
mod python;
mod sbom;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use purl::Purl;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct Package {
    /// OSV ecosystem name: `crates.io`, `Go`, `PyPI`, `npm`, `Maven`, ...
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

impl Package {
    pub fn new(ecosystem: &str, name: &str, version: &str) -> Package {
        Package {
            ecosystem: ecosystem.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
        }
    }
}

/// A package an inventory lists but that cannot be matched, and why (a path or git
/// dependency, an unpinned requirement, a package URL of an unknown type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

opsward_core::text_enum! {
    InventoryKind {
        CargoLock => "cargo_lock",
        GoMod => "go_mod",
        GoSum => "go_sum",
        Requirements => "requirements",
        PoetryLock => "poetry_lock",
        PackageLock => "package_lock",
        CycloneDx => "cyclonedx",
        Spdx => "spdx",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub file: String,
    pub kind: InventoryKind,
    pub packages: Vec<Package>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InventoryError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

/// What the parsers return before the file name is attached.
pub(crate) struct Parsed {
    packages: Vec<Package>,
    skipped: Vec<Skipped>,
}

/// A parse failure before the file name is attached.
pub(crate) struct ParseFailure {
    line: Option<usize>,
    reason: String,
}

impl ParseFailure {
    pub(crate) fn at(line: usize, reason: impl Into<String>) -> ParseFailure {
        ParseFailure {
            line: Some(line),
            reason: reason.into(),
        }
    }
    pub(crate) fn whole(reason: impl Into<String>) -> ParseFailure {
        ParseFailure {
            line: None,
            reason: reason.into(),
        }
    }
    pub(crate) fn json(error: serde_json::Error) -> ParseFailure {
        ParseFailure::at(error.line(), error.to_string())
    }
    pub(crate) fn toml(text: &str, error: toml::de::Error) -> ParseFailure {
        let line = error.span().map(|span| line_of(text, span.start));
        ParseFailure {
            line,
            reason: error.message().to_owned(),
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl InventoryKind {
    /// The kind of a file by its name, then (for JSON SBOMs) by its content.
    pub fn detect(path: &Path, text: Option<&str>) -> Option<InventoryKind> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        Some(match name.as_str() {
            "cargo.lock" => InventoryKind::CargoLock,
            "go.mod" => InventoryKind::GoMod,
            "go.sum" => InventoryKind::GoSum,
            "poetry.lock" => InventoryKind::PoetryLock,
            "package-lock.json" | "npm-shrinkwrap.json" => InventoryKind::PackageLock,
            n if n.starts_with("requirements") && n.ends_with(".txt") => {
                InventoryKind::Requirements
            }
            n if n.ends_with(".json") => {
                let head: String = text?.chars().take(4096).collect();
                if head.contains("\"bomFormat\"") && head.contains("CycloneDX") {
                    InventoryKind::CycloneDx
                } else if head.contains("\"spdxVersion\"") {
                    InventoryKind::Spdx
                } else {
                    return None;
                }
            }
            _ => return None,
        })
    }
}

/// Parses `text` as an inventory of `kind`; `file` names it in errors.
pub fn parse(file: &str, kind: InventoryKind, text: &str) -> Result<Inventory, InventoryError> {
    let parsed = match kind {
        InventoryKind::CargoLock => cargo::parse_cargo_lock(text),
        InventoryKind::GoMod => go::parse_go_mod(text),
        InventoryKind::GoSum => go::parse_go_sum(text),
        InventoryKind::Requirements => python::parse_requirements(text),
        InventoryKind::PoetryLock => python::parse_poetry_lock(text),
        InventoryKind::PackageLock => npm::parse_package_lock(text),
        InventoryKind::CycloneDx => sbom::parse_cyclonedx(text),
        InventoryKind::Spdx => sbom::parse_spdx(text),
    }
    .map_err(|f| InventoryError {
        file: file.to_owned(),
        line: f.line,
        reason: f.reason,
    })?;
    Ok(Inventory {
        file: file.to_owned(),
        kind,
        packages: parsed.packages,
        skipped: parsed.skipped,
    })
}

/// Reads one inventory file, recognising its kind.
pub fn read_file(path: &Path) -> Result<Inventory, InventoryError> {
    let file = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|e| InventoryError {
        file: file.clone(),
        line: None,
        reason: format!("cannot read: {e}"),
    })?;
    let kind = InventoryKind::detect(path, Some(&text)).ok_or_else(|| InventoryError {
        file: file.clone(),
        line: None,
        reason: "not a recognised lockfile or SBOM (Cargo.lock, go.mod, go.sum, requirements*.txt, poetry.lock, \
                 package-lock.json, CycloneDX or SPDX JSON)"
            .into(),
    })?;
    parse(&file, kind, &text)
}

/// Directories never searched for lockfiles: build output and vendored dependency trees.
const SKIPPED_DIRS: [&str; 6] = [
    "target",
    "node_modules",
    ".git",
    ".venv",
    "vendor",
    "__pycache__",
];

/// Finds inventory files under `dir` (recursively). A `go.sum` next to a `go.mod` is not
/// listed: `go.mod` holds the selected versions.
pub fn find_in_dir(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let mut found = vec![];
    walk(dir, &mut found)?;
    found.retain(|p| !(p.ends_with("go.sum") && p.with_file_name("go.mod").exists()));
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let entries = fs::read_dir(dir).map_err(|e| InventoryError {
        file: dir.display().to_string(),
        line: None,
        reason: format!("cannot list: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) && !name.starts_with('.') {
                walk(&path, found)?;
            }
        } else {
            let lower = name.to_ascii_lowercase();
            let text = if lower.ends_with(".json")
                && !lower.contains("lock")
                && !lower.contains("shrinkwrap")
            {
                fs::read_to_string(&path).ok()
            } else {
                None
            };
            if InventoryKind::detect(&path, text.as_deref()).is_some() {
                found.push(path);
            }
        }
    }
    Ok(())
}
