//! Version schemes: how each ecosystem writes and orders its versions.
//!
//! Each scheme lives in its own module with the edge cases of its specification as tests; this
//! module only maps an OSV ecosystem name to its scheme and gives them one interface.

pub mod apk;
pub mod debian;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod semver;

use std::cmp::Ordering;

opsward_core::text_enum! {
    /// The ordering rules a version string follows.
    Scheme {
        SemVer => "semver",
        Pep440 => "pep440",
        Debian => "debian",
        Rpm => "rpm",
        Apk => "apk",
        Maven => "maven",
    }
}

/// A parsed version; versions of different schemes are not comparable.
#[derive(Debug, Clone)]
pub enum Version {
    SemVer(semver::SemVer),
    Pep440(pep440::Pep440Version),
    Debian(debian::DebianVersion),
    Rpm(rpm::RpmVersion),
    Apk(apk::ApkVersion),
    Maven(maven::MavenVersion),
}

impl Version {
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        Some(match (self, other) {
            (Version::SemVer(a), Version::SemVer(b)) => a.cmp(b),
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::Debian(a), Version::Debian(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`crates.io`, `PyPI`, `Debian:12`, `Alpine:v3.20`, ...);
    /// `None` for ecosystems whose ordering is not implemented.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "crates.io" | "npm" | "Go" | "Hex" | "Pub" | "SwiftURL" | "Bitnami" => Scheme::SemVer,
            "PyPI" => Scheme::Pep440,
            "Debian" | "Ubuntu" => Scheme::Debian,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Mageia"
            | "openEuler" => Scheme::Rpm,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Maven" => Scheme::Maven,
            _ => return None,
        })
    }

    pub fn parse(self, text: &str) -> Option<Version> {
        match self {
            Scheme::SemVer => semver::SemVer::parse(text).map(Version::SemVer),
            Scheme::Pep440 => pep440::Pep440Version::parse(text).map(Version::Pep440),
            Scheme::Debian => debian::DebianVersion::parse(text).map(Version::Debian),
            Scheme::Rpm => rpm::RpmVersion::parse(text).map(Version::Rpm),
            Scheme::Apk => apk::ApkVersion::parse(text).map(Version::Apk),
            Scheme::Maven => maven::MavenVersion::parse(text).map(Version::Maven),
        }
    }
}

/// The name under which a package is looked up: PyPI names are normalised (PEP 503),
/// everything else is compared as written.
pub fn normalize_package_name(ecosystem: &str, name: &str) -> String {
    match ecosystem.split(':').next() {
        Some("PyPI") => pep440::normalize_name(name),
        _ => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_map_to_their_schemes() {
        assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::SemVer));
        assert_eq!(Scheme::for_ecosystem("Go"), Some(Scheme::SemVer));
        assert_eq!(Scheme::for_ecosystem("PyPI"), Some(Scheme::Pep440));
        assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Debian));
        assert_eq!(Scheme::for_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
        assert_eq!(
            Scheme::for_ecosystem("Red Hat:enterprise_linux:9"),
            Some(Scheme::Rpm)
        );
        assert_eq!(Scheme::for_ecosystem("Maven"), Some(Scheme::Maven));
        assert_eq!(Scheme::for_ecosystem("GIT"), None);
    }

    #[test]
    fn versions_of_different_schemes_do_not_compare() {
        let a = Scheme::SemVer.parse("1.0.0").unwrap();
        let b = Scheme::Pep440.parse("1.0.0").unwrap();
        assert_eq!(a.compare(&b), None);
    }
}
