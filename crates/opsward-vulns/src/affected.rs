//! Is this version of the package affected? The evaluation the OSV schema specifies:
//! an exact `versions` list, and `SEMVER`/`ECOSYSTEM` ranges whose events are sorted by version
//! and walked (`introduced` opens, `fixed` closes at the version, `last_affected` closes after
//! it), bounded above by `limit` events. `GIT` ranges describe commits, not versions, and are
//! ignored for version matching.

use std::cmp::Ordering;

use crate::osv::{Affected, Event, Range};
use crate::version::{Scheme, Version};

/// The outcome for one `affected` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Affected {
        /// The lowest `fixed` version above the installed one in a range that matched.
        fixed: Option<String>,
    },
    NotAffected,
    /// The entry cannot be evaluated; the reason says why (unparseable versions, unknown scheme).
    Undecidable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
}

/// Evaluates `affected` for `installed`, using `scheme` for `ECOSYSTEM` ranges.
pub fn evaluate(affected: &Affected, scheme: Option<Scheme>, installed: &str) -> Verdict {
    PreparedAffected::new(affected, scheme).evaluate(installed)
}

fn order(a: &Version, b: &Version) -> Ordering {
    a.compare(b).unwrap_or(Ordering::Equal)
}

/// A range with its versions parsed once, events sorted by version ("0" first; at equal
/// versions `introduced` first).
#[derive(Debug, Clone)]
enum PreparedRange {
    Evaluable {
        scheme: Scheme,
        limits: Vec<Version>,
        events: Vec<(Option<Version>, EventKind, String)>,
    },
    /// The range cannot be evaluated, and why.
    Broken(String),
}

/// An `affected` entry ready to be evaluated many times: every version in it parsed once.
#[derive(Debug, Clone)]
pub struct PreparedAffected {
    scheme: Option<Scheme>,
    /// The `versions` list as written, sorted, and parsed (sorted by the ecosystem's order).
    listed_text: Vec<String>,
    listed: Vec<Version>,
    ranges: Vec<PreparedRange>,
}

impl PreparedAffected {
    pub fn new(affected: &Affected, scheme: Option<Scheme>) -> PreparedAffected {
        let mut listed_text = affected.versions.clone();
        listed_text.sort();
        let mut listed: Vec<Version> = scheme
            .map(|s| {
                affected
                    .versions
                    .iter()
                    .filter_map(|v| s.parse(v))
                    .collect()
            })
            .unwrap_or_default();
        listed.sort_by(order);
        let ranges = affected
            .ranges
            .iter()
            .filter_map(|range| {
                let range_scheme = match range.kind.as_str() {
                    "SEMVER" => Scheme::SemVer,
                    "ECOSYSTEM" => match scheme {
                        Some(s) => s,
                        None => {
                            return Some(PreparedRange::Broken(
                                "the ecosystem's version ordering is not supported".into(),
                            ))
                        }
                    },
                    // GIT ranges name commits; a lockfile version cannot be placed in them.
                    _ => return None,
                };
                Some(prepare_range(range, range_scheme).unwrap_or_else(PreparedRange::Broken))
            })
            .collect();
        PreparedAffected {
            scheme,
            listed_text,
            listed,
            ranges,
        }
    }

    pub fn evaluate(&self, installed: &str) -> Verdict {
        let mut parsed: Vec<(Scheme, Option<Version>)> = vec![];
        let mut parse = |scheme: Scheme| -> Option<Version> {
            if let Some((_, v)) = parsed.iter().find(|(s, _)| *s == scheme) {
                return v.clone();
            }
            let v = scheme.parse(installed);
            parsed.push((scheme, v.clone()));
            v
        };

        // The explicit list: string equality, or equality under the ecosystem's ordering
        // (so `1.0` and `1.0.0` are one PyPI version).
        let listed = self
            .listed_text
            .binary_search_by(|v| v.as_str().cmp(installed))
            .is_ok()
            || self
                .scheme
                .and_then(&mut parse)
                .is_some_and(|v| self.listed.binary_search_by(|l| order(l, &v)).is_ok());

        let mut problems = vec![];
        let mut fixed_candidates: Vec<&str> = vec![];
        let mut in_range = false;
        for range in &self.ranges {
            match range {
                PreparedRange::Broken(reason) => problems.push(reason.clone()),
                PreparedRange::Evaluable {
                    scheme,
                    limits,
                    events,
                } => {
                    let Some(version) = parse(*scheme) else {
                        problems.push(format!(
                            "installed version {installed:?} is not a valid {scheme} version"
                        ));
                        continue;
                    };
                    if let Some(fixed) = range_affects(limits, events, &version) {
                        in_range = true;
                        fixed_candidates.extend(fixed);
                    }
                }
            }
        }

        if in_range || listed {
            let scheme = self.scheme.unwrap_or(Scheme::SemVer);
            let fixed = fixed_candidates
                .into_iter()
                .min_by(|a, b| match (scheme.parse(a), scheme.parse(b)) {
                    (Some(a), Some(b)) => order(&a, &b),
                    _ => a.cmp(b),
                })
                .map(str::to_owned);
            return Verdict::Affected { fixed };
        }
        if let Some(reason) = problems.into_iter().next() {
            return Verdict::Undecidable(reason);
        }
        Verdict::NotAffected
    }
}

fn prepare_range(range: &Range, scheme: Scheme) -> Result<PreparedRange, String> {
    let parse = |text: &str| {
        scheme.parse(text).ok_or_else(|| {
            format!(
                "{} event version {text:?} is not a valid {scheme} version",
                range.kind
            )
        })
    };
    let limits = range
        .events
        .iter()
        .filter_map(|e| e.limit.as_deref())
        .filter(|l| *l != "*")
        .map(parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut events: Vec<(Option<Version>, EventKind, String)> = vec![];
    for event in &range.events {
        let (kind, text) = match event {
            Event {
                introduced: Some(v),
                ..
            } => (EventKind::Introduced, v.as_str()),
            Event { fixed: Some(v), .. } => (EventKind::Fixed, v.as_str()),
            Event {
                last_affected: Some(v),
                ..
            } => (EventKind::LastAffected, v.as_str()),
            _ => continue,
        };
        let parsed = if kind == EventKind::Introduced && text == "0" {
            None
        } else {
            Some(parse(text)?)
        };
        events.push((parsed, kind, text.to_owned()));
    }
    events.sort_by(|a, b| {
        let by_version = match (&a.0, &b.0) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => order(x, y),
        };
        by_version.then(a.1.cmp(&b.1))
    });
    Ok(PreparedRange::Evaluable {
        scheme,
        limits,
        events,
    })
}

/// `Some(fixed)` when the version is in the range (with the `fixed` version that ends the
/// interval it is in, if any), `None` when it is not.
fn range_affects<'a>(
    limits: &[Version],
    events: &'a [(Option<Version>, EventKind, String)],
    version: &Version,
) -> Option<Option<&'a str>> {
    // Limits bound the whole range from above: the version must be below at least one.
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|l| version.compare(l) == Some(Ordering::Less))
    {
        return None;
    }
    let mut affected = false;
    let mut fixed_after: Option<&str> = None;
    for (event_version, kind, text) in events {
        let position = event_version.as_ref().and_then(|e| version.compare(e));
        match kind {
            EventKind::Introduced => {
                if event_version.is_none()
                    || matches!(position, Some(Ordering::Greater | Ordering::Equal))
                {
                    affected = true;
                    fixed_after = None;
                }
            }
            EventKind::Fixed => {
                if matches!(position, Some(Ordering::Greater | Ordering::Equal)) {
                    affected = false;
                } else if affected && fixed_after.is_none() {
                    fixed_after = Some(text);
                }
            }
            EventKind::LastAffected => {
                if position == Some(Ordering::Greater) {
                    affected = false;
                }
            }
        }
    }
    affected.then_some(fixed_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::AffectedPackage;

    fn event(kind: &str, v: &str) -> Event {
        let mut e = Event::default();
        let value = Some(v.to_owned());
        match kind {
            "introduced" => e.introduced = value,
            "fixed" => e.fixed = value,
            "last_affected" => e.last_affected = value,
            _ => e.limit = value,
        }
        e
    }

    fn affected(kind: &str, events: &[(&str, &str)], versions: &[&str]) -> Affected {
        Affected {
            package: Some(AffectedPackage {
                ecosystem: "PyPI".into(),
                name: "x".into(),
                purl: None,
            }),
            severity: vec![],
            ranges: vec![Range {
                kind: kind.into(),
                repo: None,
                events: events.iter().map(|(k, v)| event(k, v)).collect(),
            }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            ecosystem_specific: None,
            database_specific: None,
        }
    }

    fn check(a: &Affected, scheme: Scheme, version: &str) -> Verdict {
        evaluate(a, Some(scheme), version)
    }

    #[test]
    fn introduced_and_fixed_make_half_open_intervals() {
        let a = affected(
            "ECOSYSTEM",
            &[
                ("introduced", "0"),
                ("fixed", "1.0"),
                ("introduced", "2.0"),
                ("fixed", "2.5"),
            ],
            &[],
        );
        let yes = |fixed: &str| Verdict::Affected {
            fixed: Some(fixed.into()),
        };
        assert_eq!(check(&a, Scheme::Pep440, "0.1"), yes("1.0"));
        assert_eq!(check(&a, Scheme::Pep440, "1.0"), Verdict::NotAffected);
        assert_eq!(check(&a, Scheme::Pep440, "1.5"), Verdict::NotAffected);
        assert_eq!(check(&a, Scheme::Pep440, "2.0"), yes("2.5"));
        assert_eq!(check(&a, Scheme::Pep440, "2.4.9"), yes("2.5"));
        assert_eq!(check(&a, Scheme::Pep440, "2.5"), Verdict::NotAffected);
        // Events in any order mean the same.
        let shuffled = affected(
            "ECOSYSTEM",
            &[
                ("fixed", "2.5"),
                ("introduced", "2.0"),
                ("fixed", "1.0"),
                ("introduced", "0"),
            ],
            &[],
        );
        assert_eq!(check(&shuffled, Scheme::Pep440, "2.1"), yes("2.5"));
        assert_eq!(
            check(&shuffled, Scheme::Pep440, "1.2"),
            Verdict::NotAffected
        );
    }

    #[test]
    fn last_affected_includes_its_version() {
        let a = affected(
            "ECOSYSTEM",
            &[("introduced", "1.0"), ("last_affected", "1.4")],
            &[],
        );
        assert_eq!(check(&a, Scheme::Pep440, "0.9"), Verdict::NotAffected);
        assert_eq!(
            check(&a, Scheme::Pep440, "1.4"),
            Verdict::Affected { fixed: None }
        );
        assert_eq!(check(&a, Scheme::Pep440, "1.4.post1"), Verdict::NotAffected);
    }

    #[test]
    fn limit_bounds_the_range() {
        let a = affected("SEMVER", &[("introduced", "0"), ("limit", "2.0.0")], &[]);
        assert_eq!(
            check(&a, Scheme::SemVer, "1.9.9"),
            Verdict::Affected { fixed: None }
        );
        assert_eq!(check(&a, Scheme::SemVer, "2.0.0"), Verdict::NotAffected);
        let star = affected("SEMVER", &[("introduced", "1.0.0"), ("limit", "*")], &[]);
        assert_eq!(
            check(&star, Scheme::SemVer, "9.0.0"),
            Verdict::Affected { fixed: None }
        );
    }

    #[test]
    fn a_version_list_matches_exactly_under_the_ecosystem_ordering() {
        let a = affected(
            "GIT",
            &[("introduced", "abc123"), ("fixed", "def456")],
            &["1.0", "1.1"],
        );
        assert_eq!(
            check(&a, Scheme::Pep440, "1.1"),
            Verdict::Affected { fixed: None }
        );
        assert_eq!(
            check(&a, Scheme::Pep440, "1.1.0"),
            Verdict::Affected { fixed: None }
        );
        assert_eq!(
            check(&a, Scheme::Pep440, "1.2"),
            Verdict::NotAffected,
            "GIT ranges are not version ranges"
        );
    }

    #[test]
    fn semver_ranges_ignore_the_ecosystem_scheme_and_rust_zero_prerelease_opens_everything() {
        let a = affected(
            "SEMVER",
            &[("introduced", "0.0.0-0"), ("fixed", "0.9.0")],
            &[],
        );
        assert_eq!(
            check(&a, Scheme::SemVer, "0.1.0-alpha"),
            Verdict::Affected {
                fixed: Some("0.9.0".into())
            }
        );
        assert_eq!(
            check(&a, Scheme::SemVer, "0.9.0-rc.1"),
            Verdict::Affected {
                fixed: Some("0.9.0".into())
            }
        );
        assert_eq!(check(&a, Scheme::SemVer, "0.9.0"), Verdict::NotAffected);
    }

    #[test]
    fn unparseable_versions_are_reported_not_guessed() {
        let a = affected(
            "ECOSYSTEM",
            &[("introduced", "0"), ("fixed", "not a version")],
            &[],
        );
        assert!(
            matches!(check(&a, Scheme::Pep440, "1.0"), Verdict::Undecidable(r) if r.contains("not a version"))
        );
        let b = affected("ECOSYSTEM", &[("introduced", "0"), ("fixed", "2.0")], &[]);
        assert!(matches!(
            check(&b, Scheme::Pep440, "banana"),
            Verdict::Undecidable(_)
        ));
    }
}
