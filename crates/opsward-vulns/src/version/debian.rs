//! Debian package versions (`[epoch:]upstream_version[-debian_revision]`), compared as
//! Debian Policy §5.6.12 and `dpkg --compare-versions` do: non-digit runs by a modified ASCII
//! order in which `~` sorts before everything, even the end of the string, and letters before
//! non-letters; digit runs numerically.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct DebianVersion {
    epoch: u64,
    upstream: String,
    revision: String,
}

impl DebianVersion {
    pub fn parse(text: &str) -> Option<DebianVersion> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let (epoch, rest) = match text.split_once(':') {
            Some((epoch, rest)) => (epoch.parse().ok()?, rest),
            None => (0, text),
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
        Some(DebianVersion {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }
}

/// The weight of one character in a non-digit run; `None` (end of run) weighs 0.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`.
fn compare_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
            let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            if i < a.len() && !a[i].is_ascii_digit() {
                i += 1;
            }
            if j < b.len() && !b[j].is_ascii_digit() {
                j += 1;
            }
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DebianVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
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
