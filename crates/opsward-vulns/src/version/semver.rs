//! Semantic Versioning 2.0.0 precedence, as crates.io, npm and Go use it.
//!
//! Build metadata (`+...`) never takes part in precedence (SemVer §10, and Go's `+incompatible`).
//! Go versions carry a `v` prefix, which is accepted and ignored; Go pseudo-versions
//! (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.2019...`) are ordinary pre-releases and
//! so sort below the release they precede, as the Go toolchain orders them.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Numeric(u64),
    AlphaNumeric(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            // Numeric identifiers always have lower precedence than alphanumeric ones (§11.4.3).
            (Identifier::Numeric(_), Identifier::AlphaNumeric(_)) => Ordering::Less,
            (Identifier::AlphaNumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::AlphaNumeric(a), Identifier::AlphaNumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed semantic version; equality and order follow SemVer precedence.
#[derive(Debug, Clone)]
pub struct SemVer {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pre: Vec<Identifier>,
}

impl SemVer {
    /// Parses `MAJOR.MINOR.PATCH[-PRE][+BUILD]`, with an optional `v` prefix (Go, some npm).
    /// Leading zeros in numeric parts are tolerated, as real registries contain them.
    pub fn parse(text: &str) -> Option<SemVer> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let (text, _build) = match text.split_once('+') {
            Some((head, build)) => (head, Some(build)),
            None => (text, None),
        };
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        let patch = number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|part| {
                    if part.is_empty()
                        || !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    {
                        None
                    } else if part.chars().all(|c| c.is_ascii_digit()) {
                        part.parse().ok().map(Identifier::Numeric)
                    } else {
                        Some(Identifier::AlphaNumeric(part.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(SemVer {
            major,
            minor,
            patch,
            pre,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

fn number(part: &str) -> Option<u64> {
    if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A pre-release has lower precedence than the release (§11.3).
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // A larger set of pre-release fields wins when all before are equal (§11.4.4):
                // the lexicographic order of slices does exactly that.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVer {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SemVer {
        SemVer::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn the_precedence_example_of_the_specification_holds() {
        // SemVer 2.0.0 §11.4 example, in increasing order.
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn numbers_compare_numerically_not_as_text() {
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("0.0.10") > v("0.0.9"));
        assert!(v("1.0.0-rc.10") > v("1.0.0-rc.9"));
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(v("1.0.0+build.1"), v("1.0.0+build.2"));
        assert_eq!(v("v2.0.0+incompatible"), v("2.0.0"));
    }

    #[test]
    fn go_pseudo_versions_sort_before_the_next_release() {
        let pseudo = v("v0.0.0-20191109021931-daa7c04131f5");
        assert!(pseudo.is_prerelease());
        assert!(pseudo < v("v0.0.1"));
        assert!(v("v0.0.0-20191109021931-daa7c04131f5") < v("v0.0.0-20200101000000-aaaaaaaaaaaa"));
        // vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef after a vX.Y.Z release
        assert!(v("v1.2.4-0.20191109021931-daa7c04131f5") > v("v1.2.3"));
        assert!(v("v1.2.4-0.20191109021931-daa7c04131f5") < v("v1.2.4"));
    }

    #[test]
    fn rust_zero_pre_release_is_the_lowest_version() {
        // RustSec's OSV export writes `introduced: 0.0.0-0` for "every version".
        assert!(v("0.0.0-0") < v("0.0.0"));
        assert!(v("0.0.0-0") < v("0.0.0-alpha"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "1.2.x",
            "1.2.3-",
            "1.2.3-a..b",
            "a.b.c",
        ] {
            assert!(SemVer::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }
}
