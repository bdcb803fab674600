//! Host package inventories from the patch agent, matched by the same engine as lockfiles.
//!
//! A host's os-release names its OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`,
//! `Alpine:v3.20`, `Rocky Linux:9`, ...). Debian, Ubuntu and Alpine advisories name source
//! packages (Debian's tracker, DSAs and DLAs speak of `openssl`, not `libssl3`), so their
//! binary packages are matched by the source package and its version; the RPM distributions'
//! advisories name binary packages. `link` turns the findings that come out of it around:
//! which pending update closes which finding. `scan` runs it against the store.

mod link;
pub mod scan;
mod sql;

pub use link::{link_fixes, patch_severity};
pub use scan::{
    fleet_updates, host_detail, match_due_hosts, FleetUpdate, HostMatchRun, UpdateQuery,
};
pub use sql::HostScan;

use opsward_core::host_inventory::InstalledPackage;

use crate::inventory::Package;
use crate::version::Scheme;

/// The scheduler's job kind that matches due hosts.
pub const JOB_KIND: &str = "vulns.host_match";

/// A host-matching job, enqueued once per `key` (`host:<id>:<sequence>` after a report,
/// `import:<run id>` after an import).
pub fn match_job(key: &str) -> opsward_core::job::NewJob {
    opsward_core::job::NewJob {
        kind: JOB_KIND.into(),
        payload: serde_json::json!({ "reason": key }),
        run_at: chrono::Utc::now(),
        max_attempts: 5,
        dedupe_key: Some(format!("{JOB_KIND}:{key}")),
    }
}

/// Which package name and version of an installed package advisories of an ecosystem use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageRule {
    /// The source package and its version (Debian, Ubuntu, Alpine).
    Source,
    /// The binary package and its version (RPM distributions).
    Binary,
}

impl PackageRule {
    /// The rule of an OSV ecosystem by its version scheme.
    pub fn of(ecosystem: &str) -> PackageRule {
        match Scheme::for_ecosystem(ecosystem) {
            Some(Scheme::Rpm) => PackageRule::Binary,
            _ => PackageRule::Source,
        }
    }
}

/// A host's OSV ecosystem: its exact name, or (Red Hat, whose ecosystems name a product
/// stream too: `Red Hat:enterprise_linux:9::appstream`) every ecosystem under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEcosystem {
    pub name: String,
    pub prefix: bool,
}

impl HostEcosystem {
    fn exact(name: String) -> HostEcosystem {
        HostEcosystem {
            name,
            prefix: false,
        }
    }

    /// Whether advisories of `ecosystem` apply to this host.
    pub fn includes(&self, ecosystem: &str) -> bool {
        if self.prefix {
            ecosystem == self.name
                || ecosystem
                    .strip_prefix(self.name.as_str())
                    .is_some_and(|rest| rest.starts_with(':'))
        } else {
            ecosystem == self.name
        }
    }

    pub fn rule(&self) -> PackageRule {
        PackageRule::of(&self.name)
    }
}

/// Distribution package ecosystems (versus language ecosystems).
pub fn is_os_ecosystem(ecosystem: &str) -> bool {
    matches!(
        Scheme::for_ecosystem(ecosystem),
        Some(Scheme::Debian | Scheme::Rpm | Scheme::Apk)
    )
}

/// The OSV ecosystem of a host from os-release `ID` and `VERSION_ID`, named as OSV names
/// them; `Err` says why there is none.
pub fn osv_ecosystem(os_id: &str, version_id: &str) -> Result<HostEcosystem, String> {
    let version = version_id.trim();
    let id = os_id.trim().to_ascii_lowercase();
    let numeric = |v: &str| !v.is_empty() && v.split('.').all(|p| p.parse::<u32>().is_ok());
    if !numeric(version) {
        return Err(if id.is_empty() {
            "the host reported no os-release".into()
        } else {
            format!("{id} without a numeric VERSION_ID ({version:?}) has no OSV ecosystem")
        });
    }
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next();
    Ok(match id.as_str() {
        // Debian's VERSION_ID is the major release (`12`).
        "debian" => HostEcosystem::exact(format!("Debian:{major}")),
        // `Ubuntu:22.04:LTS` for long-term releases (even year, April), else `Ubuntu:24.10`.
        "ubuntu" => {
            let Some(minor) = minor else {
                return Err(format!("ubuntu VERSION_ID {version:?} is not YY.MM"));
            };
            let lts = minor == "04" && major.parse::<u32>().is_ok_and(|y| y % 2 == 0);
            HostEcosystem::exact(format!(
                "Ubuntu:{major}.{minor}{}",
                if lts { ":LTS" } else { "" }
            ))
        }
        // `3.20.3` is in `Alpine:v3.20`.
        "alpine" => {
            let Some(minor) = minor else {
                return Err(format!("alpine VERSION_ID {version:?} is not x.y"));
            };
            HostEcosystem::exact(format!("Alpine:v{major}.{minor}"))
        }
        "rocky" => HostEcosystem::exact(format!("Rocky Linux:{major}")),
        "almalinux" => HostEcosystem::exact(format!("AlmaLinux:{major}")),
        "rhel" => HostEcosystem {
            name: format!("Red Hat:enterprise_linux:{major}"),
            prefix: true,
        },
        other => return Err(format!("OSV has no ecosystem for the OS {other:?}")),
    })
}

/// The packages to match for a host: by the ecosystem's rule, once each.
pub fn host_packages(
    ecosystem: &str,
    rule: PackageRule,
    installed: &[InstalledPackage],
) -> Vec<Package> {
    let mut packages: Vec<Package> = installed
        .iter()
        .map(|p| match rule {
            PackageRule::Source => Package::new(ecosystem, &p.source, &p.source_version),
            PackageRule::Binary => Package::new(ecosystem, &p.name, &p.version),
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eco(id: &str, version: &str) -> String {
        osv_ecosystem(id, version).unwrap().name
    }

    #[test]
    fn os_release_names_the_osv_ecosystem() {
        assert_eq!(eco("debian", "12"), "Debian:12");
        assert_eq!(eco("ubuntu", "22.04"), "Ubuntu:22.04:LTS");
        assert_eq!(eco("ubuntu", "24.04"), "Ubuntu:24.04:LTS");
        assert_eq!(eco("ubuntu", "23.04"), "Ubuntu:23.04");
        assert_eq!(eco("ubuntu", "24.10"), "Ubuntu:24.10");
        assert_eq!(eco("alpine", "3.20.3"), "Alpine:v3.20");
        assert_eq!(eco("rocky", "9.3"), "Rocky Linux:9");
        assert_eq!(eco("almalinux", "8.10"), "AlmaLinux:8");
        let rhel = osv_ecosystem("rhel", "9.4").unwrap();
        assert!(rhel.includes("Red Hat:enterprise_linux:9::appstream"));
        assert!(rhel.includes("Red Hat:enterprise_linux:9"));
        assert!(!rhel.includes("Red Hat:enterprise_linux:90::baseos"));
        assert_eq!(rhel.rule(), PackageRule::Binary);
        assert_eq!(
            osv_ecosystem("debian", "12").unwrap().rule(),
            PackageRule::Source
        );
        assert!(
            osv_ecosystem("debian", "").is_err(),
            "testing/sid has no VERSION_ID"
        );
        assert!(osv_ecosystem("arch", "20240101").is_err());
        assert!(osv_ecosystem("", "").is_err());
    }

    #[test]
    fn debian_binaries_are_matched_by_their_source_package() {
        let installed = [
            InstalledPackage {
                name: "libssl3".into(),
                version: "3.0.11-1~deb12u2".into(),
                arch: "amd64".into(),
                source: "openssl".into(),
                source_version: "3.0.11-1~deb12u2".into(),
            },
            InstalledPackage {
                name: "openssl".into(),
                version: "3.0.11-1~deb12u2".into(),
                arch: "amd64".into(),
                source: "openssl".into(),
                source_version: "3.0.11-1~deb12u2".into(),
            },
            InstalledPackage {
                name: "libc6".into(),
                version: "2.36-9+deb12u4+b1".into(),
                arch: "amd64".into(),
                source: "glibc".into(),
                source_version: "2.36-9+deb12u4".into(),
            },
        ];
        assert_eq!(
            host_packages("Debian:12", PackageRule::Source, &installed),
            [
                Package::new("Debian:12", "glibc", "2.36-9+deb12u4"),
                Package::new("Debian:12", "openssl", "3.0.11-1~deb12u2"),
            ]
        );
        assert_eq!(
            host_packages("Rocky Linux:9", PackageRule::Binary, &installed[2..]),
            [Package::new("Rocky Linux:9", "libc6", "2.36-9+deb12u4+b1")]
        );
        assert!(is_os_ecosystem("Debian:12") && is_os_ecosystem("Alpine:v3.20"));
        assert!(!is_os_ecosystem("crates.io") && !is_os_ecosystem("PyPI"));
    }
}
