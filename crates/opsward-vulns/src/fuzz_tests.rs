//! Property-based fuzz tests of every parser of outside input in this crate (issue 19):
//! OSV records (JSON and YAML), the KEV catalogue, EPSS files and every lockfile and SBOM
//! kind. The property is robustness: any input gives a value or an error, never a panic, and
//! within a bounded time (small inputs, a fixed number of cases so CI stays fast). The zips
//! are fuzzed in `osv/load_tests.rs`.

use crate::{
    inventory::{self, InventoryKind},
    osv::{parse_record, Format},
    threat::{parse_epss, parse_kev},
};
use proptest::prelude::*;

/// Text that is sometimes nearly valid: random pieces of the formats' own syntax mixed with
/// arbitrary characters, so the parsers get past their first check now and then.
fn syntaxish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "\"",
        ":",
        ",",
        "\n",
        "=",
        "#",
        "-",
        " ",
        "id",
        "\"id\"",
        "\"affected\"",
        "\"package\"",
        "\"ranges\"",
        "\"events\"",
        "\"introduced\"",
        "\"fixed\"",
        "\"0\"",
        "\"1.2.3\"",
        "\"name\"",
        "\"version\"",
        "[[package]]",
        "name = ",
        "version = ",
        "cve,epss,percentile",
        "#model_version:v1",
        "CVE-2024-0001,0.5,0.9",
        "\"vulnerabilities\"",
        "\"cveID\"",
        "\"components\"",
        "\"spdxVersion\"",
        "\"packages\"",
        "require (",
        "v1.0.0",
        "h1:",
        "==",
        "1e-5",
        "\u{feff}",
        "\u{0}",
        "é",
        "9999999999999999999999",
    ]);
    prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_osv_records(text in syntaxish()) {
        let _ = parse_record("fuzz.json", &text, Format::Json);
        let _ = parse_record("fuzz.yaml", &text, Format::Yaml);
    }

    #[test]
    fn fuzz_kev_and_epss(text in syntaxish()) {
        let _ = parse_kev("kev.json", &text);
        let _ = parse_epss("epss.csv", &text);
    }

    #[test]
    fn fuzz_lockfiles_and_sboms(text in syntaxish()) {
        for kind in InventoryKind::ALL {
            if let Ok(parsed) = inventory::parse("fuzz", *kind, &text) {
                prop_assert_eq!(parsed.kind, *kind);
            }
        }
    }
}
