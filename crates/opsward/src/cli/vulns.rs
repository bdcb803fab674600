//! `opsward vuln ...`.

use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum VulnCommand {
    /// Match a lockfile, an SBOM or every lockfile under a directory against OSV advisories,
    /// with no server or database (like osv-scanner). `--output sarif` writes SARIF 2.1.0.
    /// Exit code 1 when a vulnerability at or above --fail-on is found.
    Scan {
        /// Cargo.lock, go.mod, go.sum, requirements*.txt, poetry.lock, package-lock.json,
        /// a CycloneDX or SPDX JSON SBOM, or a directory to search for them.
        path: PathBuf,
        /// OSV advisories: a directory of JSON/YAML records, an osv.dev `all.zip`, an
        /// osv-scanner offline directory (`<dir>/<Ecosystem>/all.zip`) or one record.
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// Lowest severity that makes the exit code 1: unknown (any vulnerability), low,
        /// medium, high or critical.
        #[arg(long, value_name = "SEVERITY", default_value = "unknown")]
        fail_on: String,
    },
}
