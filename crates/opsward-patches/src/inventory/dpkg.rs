//! dpkg's status file (`/var/lib/dpkg/status`).

use crate::{control, InstalledPackage, InventoryError};
use std::path::Path;

/// Where dpkg keeps its database of packages.
pub const STATUS_FILE: &str = "/var/lib/dpkg/status";

/// Whether a dpkg package state (the third word of `Status:`) means the package's files are
/// on the host. Like apt, every state but `not-installed` and `config-files` counts: a package
/// left `half-configured` or `triggers-pending` still runs its old code and still needs patching.
pub fn is_installed_state(state: &str) -> bool {
    !matches!(state, "not-installed" | "config-files")
}

/// The installed packages of a dpkg status file, in file order.
pub fn read_status(path: &Path) -> Result<Vec<InstalledPackage>, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| InventoryError::read(path, e))?;
    parse_status(&text).map_err(|m| InventoryError::format(path.display(), m))
}

/// The installed packages of dpkg status text. The `Source:` field names the source package,
/// with its version in parentheses when it differs from the binary's (binNMUs, `+b1`).
pub fn parse_status(text: &str) -> Result<Vec<InstalledPackage>, String> {
    let mut out = Vec::new();
    for p in control::paragraphs(text)? {
        let name = p.get("Package").ok_or("a paragraph without Package")?;
        let status = p
            .get("Status")
            .ok_or_else(|| format!("package {name} has no Status"))?;
        let state = status.split_whitespace().nth(2).unwrap_or("");
        if !is_installed_state(state) {
            continue;
        }
        let version = p
            .get("Version")
            .ok_or_else(|| format!("installed package {name} has no Version"))?;
        let arch = p.get("Architecture").unwrap_or("all");
        let (source, source_version) = source_of(name, version, p.get("Source"));
        out.push(InstalledPackage {
            name: name.to_string(),
            version: version.to_string(),
            arch: arch.to_string(),
            source,
            source_version,
        });
    }
    Ok(out)
}

/// `(source name, source version)` from a `Source:` field (`openssl`, `glibc (2.36-9)`),
/// defaulting to the binary's own name and version as dpkg does.
pub fn source_of(name: &str, version: &str, field: Option<&str>) -> (String, String) {
    let Some(field) = field.map(str::trim).filter(|f| !f.is_empty()) else {
        return (name.to_string(), version.to_string());
    };
    match field.split_once('(') {
        Some((source, rest)) => (
            source.trim().to_string(),
            rest.trim_end().trim_end_matches(')').trim().to_string(),
        ),
        None => (field.to_string(), version.to_string()),
    }
}
