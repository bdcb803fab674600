//! Debian package versions (`[epoch:]upstream_version[-debian_revision]`), ordered by the
//! `debversion` crate (Debian Policy §5.6.12, `dpkg --compare-versions`) — the same ordering the
//! patches practice computes apt's candidates with, so both practices agree on which version
//! is newer. What this module adds is the stricter check of what an advisory may call a version.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct DebianVersion(debversion::Version);

impl DebianVersion {
    pub fn parse(text: &str) -> Option<DebianVersion> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let rest = match text.split_once(':') {
            Some((epoch, rest)) => {
                epoch.parse::<u64>().ok()?;
                rest
            }
            None => text,
        };
        // The revision is everything after the last hyphen.
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, ""),
        };
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".+~-:".contains(c);
        if !upstream.chars().all(allowed)
            || !revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c))
        {
            return None;
        }
        text.parse().ok().map(DebianVersion)
    }
}

impl Ord for DebianVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for DebianVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DebianVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DebianVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DebianVersion {
        DebianVersion::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn tilde_sorts_before_everything_even_the_end() {
        // Debian Policy §5.6.12: ~~ < ~~a < ~ < (empty) < a
        let ordered = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert!(v("2.30~rc1-1") < v("2.30-1"));
    }

    #[test]
    fn epochs_dominate() {
        assert!(v("1:0.1") > v("99.0"));
        assert_eq!(v("0:1.0-1"), v("1.0-1"));
    }

    #[test]
    fn revisions_compare_after_upstream() {
        assert!(v("1.0-2") > v("1.0-1"));
        assert!(v("1.0-10") > v("1.0-9"));
        assert!(v("1.0-1ubuntu1") > v("1.0-1"));
        assert!(v("1.0-1+deb12u1") > v("1.0-1"));
        assert!(v("1.0-1~bpo12+1") < v("1.0-1"));
        // The revision is after the LAST hyphen; upstream may contain hyphens.
        assert!(v("1.0-beta-2") > v("1.0-beta-1"));
    }

    #[test]
    fn letters_sort_before_other_characters_and_digits_numerically() {
        assert!(v("1.0a") < v("1.0+"));
        assert!(v("1.0.10") > v("1.0.9"));
        assert_eq!(v("1.002"), v("1.2"));
        assert!(v("1.0") < v("1.0.1"));
        assert!(v("2.7.4+dfsg") > v("2.7.4"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in ["", "a1.0", "x:1.0", "1.0 1", "1.0-1_2"] {
            assert!(
                DebianVersion::parse(bad).is_none(),
                "{bad:?} should not parse"
            );
        }
    }
}
