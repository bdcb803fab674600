//! Alpine apk versions: `number{.number}[letter]{_suffix[number]}[~hash][-rN]`, ordered as
//! apk-tools (and Gentoo, whose rules it follows) order them: numbers numerically except that
//! a component after the first with a leading zero compares as a decimal fraction; then the
//! letter; then suffixes, where `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git <
//! _hg < _p`; then the package revision `-rN`.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suffix {
    Alpha,
    Beta,
    Pre,
    Rc,
    None,
    Cvs,
    Svn,
    Git,
    Hg,
    P,
}

#[derive(Debug, Clone)]
pub struct ApkVersion {
    numbers: Vec<String>,
    letter: Option<u8>,
    suffixes: Vec<(Suffix, u64)>,
    revision: u64,
}

impl ApkVersion {
    pub fn parse(text: &str) -> Option<ApkVersion> {
        let text = text.trim();
        let (text, revision) = match text.rsplit_once("-r") {
            Some((head, rev)) => (head, rev.parse().ok()?),
            None => (text, 0),
        };
        // A `~hash` (commit id) does not take part in ordering.
        let text = text.split_once('~').map_or(text, |(head, _)| head);
        let (main, suffix_text) = match text.split_once('_') {
            Some((main, rest)) => (main, Some(rest)),
            None => (text, None),
        };
        let (digits, letter) = match main.as_bytes().last() {
            Some(c) if c.is_ascii_lowercase() => (&main[..main.len() - 1], Some(*c)),
            _ => (main, None),
        };
        let numbers: Vec<String> = digits.split('.').map(str::to_owned).collect();
        if numbers
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let mut suffixes = vec![];
        if let Some(suffix_text) = suffix_text {
            for part in suffix_text.split('_') {
                let name_end = part
                    .find(|c: char| c.is_ascii_digit())
                    .unwrap_or(part.len());
                let kind = match &part[..name_end] {
                    "alpha" => Suffix::Alpha,
                    "beta" => Suffix::Beta,
                    "pre" => Suffix::Pre,
                    "rc" => Suffix::Rc,
                    "cvs" => Suffix::Cvs,
                    "svn" => Suffix::Svn,
                    "git" => Suffix::Git,
                    "hg" => Suffix::Hg,
                    "p" => Suffix::P,
                    _ => return None,
                };
                let number = if name_end == part.len() {
                    0
                } else {
                    part[name_end..].parse().ok()?
                };
                suffixes.push((kind, number));
            }
        }
        Some(ApkVersion {
            numbers,
            letter,
            suffixes,
            revision,
        })
    }
}

fn compare_component(first: bool, a: &str, b: &str) -> Ordering {
    if !first && (a.starts_with('0') || b.starts_with('0')) {
        // Fractional comparison: "01" < "1", "001" < "01"; trailing zeros do not count.
        return a.trim_end_matches('0').cmp(b.trim_end_matches('0'));
    }
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (index, (a, b)) in self.numbers.iter().zip(&other.numbers).enumerate() {
            match compare_component(index == 0, a, b) {
                Ordering::Equal => {}
                different => return different,
            }
        }
        self.numbers
            .len()
            .cmp(&other.numbers.len())
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| {
                let none = (Suffix::None, 0);
                let longest = self.suffixes.len().max(other.suffixes.len());
                (0..longest)
                    .map(|i| {
                        let a = self.suffixes.get(i).copied().unwrap_or(none);
                        let b = other.suffixes.get(i).copied().unwrap_or(none);
                        a.cmp(&b)
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
            .then_with(|| self.revision.cmp(&other.revision))
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ApkVersion {
        ApkVersion::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn suffixes_order_around_the_release() {
        let ordered = [
            "1.0_alpha1",
            "1.0_alpha2",
            "1.0_beta",
            "1.0_pre1",
            "1.0_rc1",
            "1.0",
            "1.0-r1",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git20240101",
            "1.0_hg",
            "1.0_p1",
            "1.0_p2",
            "1.0a",
            "1.0b",
            "1.0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn revisions_and_numbers() {
        assert!(v("1.2.3-r10") > v("1.2.3-r9"));
        assert!(v("1.10") > v("1.9"));
        assert!(v("10.0") > v("9.99"));
        assert_eq!(v("1.2.3~abc123-r0"), v("1.2.3"));
    }

    #[test]
    fn leading_zeros_after_the_first_component_are_fractions() {
        assert!(v("1.01") < v("1.1"));
        assert!(v("1.001") < v("1.01"));
        assert_eq!(v("1.010"), v("1.01"));
        assert_eq!(v("01.1"), v("1.1"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in ["", "a", "1..2", "1.0_foo", "1.0-rx", "1.0AB"] {
            assert!(ApkVersion::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }
}
