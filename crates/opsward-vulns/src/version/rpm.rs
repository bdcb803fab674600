//! RPM versions (`[epoch:]version[-release]`), compared the way `rpmvercmp` in librpm does:
//! alphanumeric segments separated by anything else, digits beat letters, numbers compare
//! numerically, `~` sorts before everything (even the end: `1.0~rc1 < 1.0`) and `^` sorts after
//! the end but before any further segment (`1.0 < 1.0^git1 < 1.0.1`).

use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub struct RpmVersion {
    epoch: u64,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    pub fn parse(text: &str) -> Option<RpmVersion> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let (epoch, rest) = match text.split_once(':') {
            Some((epoch, rest)) => (epoch.parse().ok()?, rest),
            None => (0, text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release.to_owned())),
            None => (rest, None),
        };
        if version.is_empty() {
            return None;
        }
        Some(RpmVersion {
            epoch,
            version: version.to_owned(),
            release,
        })
    }
}

/// librpm's `rpmvercmp`.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        // Tilde: sorts before everything else.
        let a_tilde = a.get(i) == Some(&b'~');
        let b_tilde = b.get(j) == Some(&b'~');
        if a_tilde || b_tilde {
            if !a_tilde {
                return Ordering::Greater;
            }
            if !b_tilde {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret: like the end of the string, except that the end of the other one is lower.
        let a_caret = a.get(i) == Some(&b'^');
        let b_caret = b.get(j) == Some(&b'^');
        if a_caret || b_caret {
            if i >= a.len() {
                return Ordering::Less;
            }
            if j >= b.len() {
                return Ordering::Greater;
            }
            if !a_caret {
                return Ordering::Greater;
            }
            if !b_caret {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let take = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && (if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (start, k)
        };
        let (a_start, a_end) = take(a, i);
        let (b_start, b_end) = take(b, j);
        if b_start == b_end {
            // Segments of different types: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[a_start..a_end], &b[b_start..b_end]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                longer => return longer,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = a_end;
        j = b_end;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        // Whichever still has segments is newer.
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| {
                match (&self.release, &other.release) {
                    (Some(a), Some(b)) => rpmvercmp(a, b),
                    // A missing release matches any release, as rpm does when comparing "1.0" to "1.0-1".
                    _ => Ordering::Equal,
                }
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_agrees_with_the_rpm_test_suite() {
        // Cases from rpm's tests/rpmvercmp.at.
        let cases = [
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1a", "2.0.1a", 0),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("5.5p1", "5.5.1", -1),
            ("1b.fc17", "1.fc17", -1),
            ("1.0a", "1.0", 1),
            ("6.0.rc1", "6.0", 1),
            ("10b2", "10a1", 1),
            ("1.0aa", "1.0a", 1),
            ("10.0001", "10.1", 0),
            ("10.0001", "10.0039", -1),
            ("4.999.9", "5.0", -1),
            ("20101121", "20101122", -1),
            ("2_0", "2_0", 0),
            ("2.0", "2_0", 0),
            ("a", "a", 0),
            ("a+", "a_", 0),
            ("+", "_", 0),
            ("1.0~rc1", "1.0~rc1", 0),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0~rc1~git123", "1.0~rc1", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0", 1),
            ("1.0^git1", "1.01", -1),
            ("1.0^20160101", "1.0.1", -1),
            ("1.0^20160101^git1", "1.0^20160101", 1),
            ("1.0~rc1^git1", "1.0~rc1", 1),
            ("1.0^git1~pre", "1.0^git1", -1),
        ];
        for (a, b, want) in cases {
            let want = want.cmp(&0);
            assert_eq!(rpmvercmp(a, b), want, "rpmvercmp({a}, {b})");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "rpmvercmp({b}, {a})");
        }
    }

    #[test]
    fn epoch_version_release() {
        let v = |s| RpmVersion::parse(s).unwrap();
        assert!(v("1:1.0-1") > v("2.0-1"));
        assert!(v("1.0-2.el9") > v("1.0-1.el9"));
        assert!(v("1.0-1.el9_2") > v("1.0-1.el9"));
        assert_eq!(v("0:1.0-1"), v("1.0-1"));
        assert_eq!(v("1.0"), v("1.0-5"));
        assert!(RpmVersion::parse("").is_none());
        assert!(RpmVersion::parse("x:1").is_none());
    }
}
