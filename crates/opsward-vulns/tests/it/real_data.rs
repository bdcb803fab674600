//! Every real OSV file parses, and every version in it is valid in its ecosystem's scheme.

use std::path::PathBuf;

use opsward_vulns::inventory::Package;
use opsward_vulns::osv::load_path;
use opsward_vulns::version::Scheme;
use opsward_vulns::{AdvisoryIndex, Severity};

pub fn shared_data() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    assert!(
        dir.join("osv").is_dir(),
        "the real advisory data is expected at {}",
        dir.display()
    );
    dir
}

#[test]
fn every_real_osv_file_parses_and_withdrawn_records_are_skipped() {
    let osv = shared_data().join("osv");
    for (ecosystem, files) in [("crates.io", 1206), ("Go", 4291), ("PyPI", 2661)] {
        let loaded = load_path(&osv.join(ecosystem));
        let problems: Vec<String> = loaded.problems.iter().map(ToString::to_string).collect();
        assert!(
            problems.is_empty(),
            "{ecosystem}: {} files did not parse:\n{}",
            problems.len(),
            problems.join("\n")
        );
        assert_eq!(loaded.files_read, files, "{ecosystem}");
        assert_eq!(
            loaded.records.len() + loaded.withdrawn.len() + loaded.placeholders.len(),
            files
        );
        for (file, record) in &loaded.records {
            assert!(record.withdrawn.is_none(), "{file}");
        }
    }
    // The export still has RUSTSEC-2025-0000, a placeholder number, beside RUSTSEC-2025-0065
    // (the same advisory, in the native database only under 0065).
    let placeholders = load_path(&osv.join("crates.io")).placeholders;
    assert_eq!(placeholders, ["RUSTSEC-2025-0000"]);
    // Withdrawn records are not in force.
    let loaded = load_path(&osv.join("crates.io"));
    let withdrawn = &loaded.withdrawn;
    assert!(!withdrawn.is_empty());
    assert!(loaded
        .records
        .iter()
        .all(|(_, r)| !withdrawn.contains(&r.id)));
}

#[test]
fn every_version_in_the_real_data_is_valid_in_its_scheme() {
    let osv = shared_data().join("osv");
    let mut invalid = vec![];
    let mut legacy_listed = vec![];
    let mut checked = 0;
    for ecosystem in ["crates.io", "Go", "PyPI"] {
        for (file, record) in load_path(&osv.join(ecosystem)).records {
            for affected in &record.affected {
                let Some(package) = &affected.package else {
                    continue;
                };
                let scheme =
                    Scheme::for_ecosystem(&package.ecosystem).expect("a supported ecosystem");
                for range in affected.ranges.iter().filter(|r| r.kind != "GIT") {
                    let scheme = if range.kind == "SEMVER" {
                        Scheme::SemVer
                    } else {
                        scheme
                    };
                    for event in &range.events {
                        for v in [
                            &event.introduced,
                            &event.fixed,
                            &event.last_affected,
                            &event.limit,
                        ]
                        .into_iter()
                        .flatten()
                        {
                            if v == "0" || v == "*" {
                                continue;
                            }
                            checked += 1;
                            if scheme.parse(v).is_none() {
                                invalid.push(format!(
                                    "{}: {v:?} ({scheme})",
                                    file.rsplit('/').next().unwrap_or(&file)
                                ));
                            }
                        }
                    }
                }
                for v in &affected.versions {
                    checked += 1;
                    if scheme.parse(v).is_none() {
                        legacy_listed.push((package.name.clone(), v.clone(), record.id.clone()));
                    }
                }
            }
        }
    }
    assert!(checked > 50_000, "{checked}");
    // Two PyPI range events use pre-PEP 440 ("legacy") versions; ranges with them are reported
    // as undecidable rather than guessed.
    assert_eq!(
        invalid,
        [
            "PYSEC-2019-125.yaml: \"2019-09-12\" (pep440)",
            "PYSEC-2021-371.yaml: \"0.2.0-n653\" (pep440)"
        ],
    );
    // Legacy versions in `versions` lists still match, by exact string.
    assert!(legacy_listed.len() > 50, "{}", legacy_listed.len());
    let index = AdvisoryIndex::load(&osv.join("PyPI"));
    for (name, version, id) in legacy_listed {
        let mut undecided = vec![];
        let hits = index.check(&Package::new("PyPI", &name, &version), &mut undecided);
        assert!(
            hits.iter().any(|m| m.advisory_ids().any(|a| a == id)),
            "{name} {version} should match {id}"
        );
    }
}

#[test]
fn aliases_merge_and_severities_are_scored_on_real_data() {
    let index = AdvisoryIndex::load(&shared_data().join("osv/crates.io"));
    assert!(index.problems.is_empty());
    // RUSTSEC-2016-0001 (openssl): one vulnerability with its CVE and GHSA, CVSS 3.0 scored 8.1.
    let openssl = index
        .vulnerabilities
        .iter()
        .find(|v| v.id == "RUSTSEC-2016-0001")
        .unwrap();
    assert_eq!(
        openssl.ids,
        ["RUSTSEC-2016-0001", "GHSA-34p9-f4q3-c4r7", "CVE-2016-10931"]
    );
    assert_eq!(openssl.cvss.as_ref().map(|c| c.score), Some(8.1));
    assert_eq!(openssl.severity, Severity::High);

    let mut undecided = vec![];
    let hit = index.check(
        &Package::new("crates.io", "openssl", "0.8.3"),
        &mut undecided,
    );
    assert!(
        hit.iter()
            .any(|m| m.id == "RUSTSEC-2016-0001" && m.fixed.as_deref() == Some("0.9.0")),
        "{hit:#?}"
    );
    let fixed = index.check(
        &Package::new("crates.io", "openssl", "0.9.0"),
        &mut undecided,
    );
    assert!(fixed.iter().all(|m| m.id != "RUSTSEC-2016-0001"));
    assert!(undecided.is_empty(), "{undecided:?}");
}

#[test]
fn pypi_names_are_matched_normalised() {
    let index = AdvisoryIndex::load(&shared_data().join("osv/PyPI"));
    let mut undecided = vec![];
    // PYSEC-2005-1: trac before 0.10, as "Trac".
    let hit = index.check(&Package::new("PyPI", "Trac", "0.9"), &mut undecided);
    assert!(
        hit.iter()
            .any(|m| m.advisory_ids().any(|a| a == "PYSEC-2005-1")),
        "{hit:#?}"
    );
    let hit = index.check(&Package::new("PyPI", "trac", "0.10"), &mut undecided);
    assert!(!hit
        .iter()
        .any(|m| m.advisory_ids().any(|a| a == "PYSEC-2005-1")));
}
