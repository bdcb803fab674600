//! The packages one scan asks about, and OSV records cut down to what matching them needs.
//!
//! A scan of a few lockfiles looks up a few thousand names among advisories for hundreds of
//! thousands of package versions; keeping every record whole (details, references, every
//! `versions` list) is most of a scan's memory. A record is still kept for every advisory,
//! because records merge by alias into one vulnerability whose ids, summary and severity
//! come from all of them: only the parts no match of these packages can read are dropped.

use std::collections::HashSet;

use serde_json::Value;

use crate::inventory::Package;
use crate::osv::{Affected, OsvRecord};
use crate::version::normalize_package_name;

/// (ecosystem, normalised name) of every package a scan looks up.
#[derive(Debug, Default, Clone)]
pub struct WantedPackages {
    keys: HashSet<(String, String)>,
    ecosystems: HashSet<String>,
}

impl WantedPackages {
    pub fn new<'a>(packages: impl IntoIterator<Item = &'a Package>) -> WantedPackages {
        let keys: HashSet<(String, String)> = packages
            .into_iter()
            .map(|p| {
                (
                    p.ecosystem.clone(),
                    normalize_package_name(&p.ecosystem, &p.name),
                )
            })
            .collect();
        let ecosystems = keys.iter().map(|(e, _)| e.clone()).collect();
        WantedPackages { keys, ecosystems }
    }

    fn wants(&self, affected: &Affected) -> bool {
        affected.package.as_ref().is_some_and(|p| {
            // Most entries name no wanted ecosystem; skip normalising their names.
            self.ecosystems.contains(&p.ecosystem)
                && self.keys.contains(&(
                    p.ecosystem.clone(),
                    normalize_package_name(&p.ecosystem, &p.name),
                ))
        })
    }

    /// `record` with only what merging, severity, summary and matching these packages read:
    /// ids and aliases, `modified` and `published`, the summary and the first line of the
    /// details (the summary when there is none), severity vectors and `severity` labels, and
    /// the `affected` entries of wanted packages whole. Other entries stay in place (their
    /// positions and severities count) but lose their package, ranges and versions.
    pub fn slim(&self, mut record: OsvRecord) -> OsvRecord {
        record.related = vec![];
        record.upstream = vec![];
        record.references = vec![];
        if let Some(details) = &mut record.details {
            let first = details.lines().next().unwrap_or_default();
            if first.len() < details.len() {
                *details = first.to_owned();
            }
        }
        record.database_specific = severity_only(record.database_specific.take());
        for affected in &mut record.affected {
            if !self.wants(affected) {
                affected.package = None;
                affected.ranges = vec![];
                affected.versions = vec![];
                affected.ecosystem_specific = None;
                affected.database_specific = severity_only(affected.database_specific.take());
            }
        }
        record
    }
}

/// A `database_specific` object reduced to its `severity` label, the only key severity reads.
fn severity_only(value: Option<Value>) -> Option<Value> {
    let mut value = value?;
    let severity = value.get_mut("severity")?.take();
    Some(serde_json::json!({ "severity": severity }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::AdvisoryIndex;
    use crate::osv::{parse_record, Format};

    fn record(json: &str) -> OsvRecord {
        parse_record("t.json", json, Format::Json).unwrap()
    }

    /// The same records, whole and slimmed for one package, give the same matches (ids,
    /// summary from another record's details, severity from an unwanted entry's label).
    #[test]
    fn slimmed_records_match_as_whole_ones() {
        let records = vec![
            record(
                r#"{"id":"RUSTSEC-2020-0001","modified":"2021-01-01T00:00:00Z","aliases":["CVE-2020-1"],
                "affected":[{"package":{"ecosystem":"crates.io","name":"foo"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]},
                            {"package":{"ecosystem":"crates.io","name":"bar"},"versions":["0.1.0"],"database_specific":{"severity":"HIGH","x":[1,2]}}]}"#,
            ),
            record(
                r#"{"id":"GHSA-aaaa-bbbb-cccc","modified":"2021-02-01T00:00:00Z","aliases":["CVE-2020-1"],
                "details":"First line.\nMore text.","references":[{"type":"WEB","url":"https://example.invalid"}],
                "affected":[{"package":{"ecosystem":"PyPI","name":"Baz"},"versions":["1.0"]}]}"#,
            ),
        ];
        let package = Package::new("crates.io", "foo", "1.1.0");
        let wanted = WantedPackages::new([&package]);
        let whole = AdvisoryIndex::build(records.clone());
        let slim = AdvisoryIndex::build(records.into_iter().map(|r| wanted.slim(r)).collect());
        let (mut a, mut b) = (vec![], vec![]);
        let whole_matches = whole.check(&package, &mut a);
        let slim_matches = slim.check(&package, &mut b);
        assert_eq!(whole_matches.len(), 1);
        assert_eq!(
            serde_json::to_value(&whole_matches).unwrap(),
            serde_json::to_value(&slim_matches).unwrap()
        );
        assert_eq!(slim_matches[0].summary.as_deref(), Some("First line."));
        assert_eq!(
            slim_matches[0].ids,
            ["RUSTSEC-2020-0001", "GHSA-aaaa-bbbb-cccc", "CVE-2020-1"]
        );
        assert_eq!(whole.advisory_count(), slim.advisory_count());
        // Packages that were not asked about are not indexed.
        let other = Package::new("crates.io", "bar", "0.1.0");
        assert_eq!(whole.check(&other, &mut a).len(), 1);
        assert!(slim.check(&other, &mut b).is_empty());
    }
}
