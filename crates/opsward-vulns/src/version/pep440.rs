//! PEP 440 versions (PyPI): parsing with the specification's normalisation rules and ordering
//! as `packaging.version` defines it.
//!
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive, with the alternate spellings
//! PEP 440 normalises: a leading `v`, `alpha`/`beta`/`c`/`pre`/`preview`, `rev`/`r` for post,
//! `-`/`_`/`.` separators, implicit numbers (`1.0a` = `1.0a0`) and implicit post releases (`1.0-1`).

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    ReleaseCandidate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum LocalPart {
    Number(u64),
    Text(String),
}

impl Ord for LocalPart {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalPart::Number(a), LocalPart::Number(b)) => a.cmp(b),
            // Numeric local segments sort after alphanumeric ones.
            (LocalPart::Number(_), LocalPart::Text(_)) => Ordering::Greater,
            (LocalPart::Text(_), LocalPart::Number(_)) => Ordering::Less,
            (LocalPart::Text(a), LocalPart::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for LocalPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreKind, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<LocalPart>,
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }
    fn done(&self) -> bool {
        self.at >= self.text.len()
    }
    fn number(&mut self) -> Option<u64> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        if start == self.at {
            return None;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()?
            .parse()
            .ok()
    }
    /// Consumes one of `words` (the longest that matches), returning its index.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.text[self.at..];
        let (index, word) = words
            .iter()
            .enumerate()
            .filter(|(_, w)| rest.starts_with(w.as_bytes()))
            .max_by_key(|(_, w)| w.len())?;
        self.at += word.len();
        Some(index)
    }
    fn separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    /// Tries `step`; on `None` rewinds so an optional part leaves the cursor untouched.
    fn attempt<T>(&mut self, step: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let saved = self.at;
        let result = step(self);
        if result.is_none() {
            self.at = saved;
        }
        result
    }
}

impl Pep440Version {
    pub fn parse(text: &str) -> Option<Pep440Version> {
        let lowered = text.trim().to_ascii_lowercase();
        let lowered = lowered.strip_prefix('v').unwrap_or(&lowered);
        let (public, local) = match lowered.split_once('+') {
            Some((public, local)) => (public, Some(local)),
            None => (lowered, None),
        };
        let mut cursor = Cursor {
            text: public.as_bytes(),
            at: 0,
        };

        let mut epoch = 0;
        let first = cursor.number()?;
        let mut release = vec![];
        if cursor.peek() == Some(b'!') {
            cursor.at += 1;
            epoch = first;
            release.push(cursor.number()?);
        } else {
            release.push(first);
        }
        while cursor.peek() == Some(b'.')
            && cursor
                .text
                .get(cursor.at + 1)
                .is_some_and(u8::is_ascii_digit)
        {
            cursor.at += 1;
            release.push(cursor.number()?);
        }

        let pre = cursor.attempt(|c| {
            c.separator();
            let kind = match c.word(&["a", "alpha", "b", "beta", "c", "rc", "pre", "preview"])? {
                0 | 1 => PreKind::Alpha,
                2 | 3 => PreKind::Beta,
                _ => PreKind::ReleaseCandidate,
            };
            let number = c.attempt(|c| {
                c.separator();
                c.number()
            });
            Some((kind, number.unwrap_or(0)))
        });

        let post = cursor
            .attempt(|c| {
                c.separator();
                c.word(&["post", "rev", "r"])?;
                let number = c.attempt(|c| {
                    c.separator();
                    c.number()
                });
                Some(number.unwrap_or(0))
            })
            // The implicit post release: `1.0-1` is `1.0.post1`.
            .or_else(|| {
                cursor.attempt(|c| {
                    if c.peek() != Some(b'-') {
                        return None;
                    }
                    c.at += 1;
                    c.number()
                })
            });

        let dev = cursor.attempt(|c| {
            c.separator();
            c.word(&["dev"])?;
            let number = c.attempt(|c| {
                c.separator();
                c.number()
            });
            Some(number.unwrap_or(0))
        });

        if !cursor.done() {
            return None;
        }

        let local = match local {
            None => vec![],
            Some(local) => local
                .split(['.', '-', '_'])
                .map(|part| {
                    if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
                        None
                    } else if part.chars().all(|c| c.is_ascii_digit()) {
                        part.parse().ok().map(LocalPart::Number)
                    } else {
                        Some(LocalPart::Text(part.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };

        Some(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The ordering key of `packaging.version._cmpkey`, with `None`/`Some` playing the roles of
    /// its negative and positive infinities.
    fn key(&self) -> (u64, &[u64], PreKey, PostKey, DevKey, &[LocalPart]) {
        let mut release: &[u64] = &self.release;
        while let [head @ .., 0] = release {
            release = head;
        }
        let pre = match (self.pre, self.post, self.dev) {
            // A dev release of a final version sorts before its pre-releases: 1.0.dev0 < 1.0a0.
            (None, None, Some(_)) => PreKey::BeforeAll,
            (None, _, _) => PreKey::Final,
            (Some((kind, n)), _, _) => PreKey::Pre(kind, n),
        };
        let post = match self.post {
            None => PostKey::None,
            Some(n) => PostKey::Post(n),
        };
        let dev = match self.dev {
            None => DevKey::None,
            Some(n) => DevKey::Dev(n),
        };
        (self.epoch, release, pre, post, dev, &self.local)
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    BeforeAll,
    Pre(PreKind, u64),
    Final,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PostKey {
    None,
    Post(u64),
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey {
    Dev(u64),
    None,
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

/// PEP 503 name normalisation: lower case, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            in_separator = true;
        } else {
            if in_separator && !out.is_empty() {
                out.push('-');
            }
            in_separator = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Pep440Version {
        Pep440Version::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn the_ordering_example_of_pep_440_holds() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        let ordered = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.15",
            "1.1.dev1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn alternate_spellings_normalise_to_the_same_version() {
        let same = [
            ("1.0", "1.0.0"),
            ("1.0", "v1.0"),
            ("1.0a1", "1.0alpha1"),
            ("1.0a1", "1.0-a.1"),
            ("1.0b2", "1.0beta2"),
            ("1.0rc1", "1.0c1"),
            ("1.0rc1", "1.0pre1"),
            ("1.0rc1", "1.0preview1"),
            ("1.0a0", "1.0a"),
            ("1.0.post0", "1.0.post"),
            ("1.0.post1", "1.0-1"),
            ("1.0.post1", "1.0.rev1"),
            ("1.0.post1", "1.0r1"),
            ("1.0.dev0", "1.0.dev"),
            ("1.0.dev0", "1.0-dev"),
            ("1.0RC1", "1.0rc1"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
        ];
        for (a, b) in same {
            assert_eq!(v(a), v(b), "{a} == {b}");
        }
    }

    #[test]
    fn epochs_win_over_release_numbers() {
        assert!(v("1!0.1") > v("2024.1"));
        assert_eq!(v("0!1.0"), v("1.0"));
    }

    #[test]
    fn release_segments_compare_numerically() {
        assert!(v("1.10") > v("1.9"));
        assert!(v("0.10") > v("0.9.9"));
    }

    #[test]
    fn malformed_versions_are_rejected() {
        for bad in ["", "a", "1.0.x", "1.0+", "1.0+a..b", "1.0-foo", "1.0 2"] {
            assert!(
                Pep440Version::parse(bad).is_none(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn names_normalise_as_pep_503_says() {
        assert_eq!(normalize_name("Django"), "django");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("Foo__Bar-.baz"), "foo-bar-baz");
    }
}
