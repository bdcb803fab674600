//! The vulnerabilities practice: threat intelligence from OSV advisories, the version
//! orderings of each ecosystem, inventories from lockfiles and SBOMs, and the engine that
//! matches one against the other.
//!
//! Everything here is pure and needs no database: `osv` reads advisories (JSON, YAML, zips,
//! directories), `vulnerability` merges aliases, `severity` scores CVSS, `affected` evaluates
//! OSV ranges with a `version` scheme, `inventory` reads what is installed, `matcher` indexes
//! advisories by package and `scan` puts it together for the stateless `opsward vuln scan`.

pub mod affected;
pub mod burndown;
pub mod exposure;
pub mod exposure_findings;
pub mod feed_upload;
pub mod feeds;
pub mod findings;
pub mod hosts;
pub mod inventory;
pub mod matcher;
pub mod osv;
pub mod overdue;
pub mod policy;
pub mod policy_store;
pub mod posture;
pub mod practice;
pub mod scan;
pub mod settings;
pub mod severity;
pub mod store;
pub mod threat;
pub mod upload;
pub mod version;
pub mod vulnerability;
pub mod wanted;

pub use matcher::{AdvisoryIndex, Match, MatchedAdvisory};
pub use severity::Severity;
pub use store::VulnStore;

#[cfg(test)]
mod fuzz_tests;
