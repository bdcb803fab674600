//! Property-based fuzz tests of what a host agent reads and sends (issue 19): the package
//! databases and tool outputs it parses, and the report the server accepts from it. Any
//! input gives a value or an error, never a panic, in bounded time (small inputs, a fixed
//! number of cases); a report that parses survives a JSON round trip unchanged.

use crate::{
    apt::parse_apt_list_upgradable,
    inventory::{apk, dpkg, host, language, rpm},
    report::HostReport,
};
use proptest::prelude::*;

fn syntaxish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Package: ",
        "Status: install ok installed",
        "Version: ",
        "Source: ",
        "Architecture: ",
        "\n",
        "\n\n",
        "P:",
        "V:",
        "A:",
        "o:",
        "NAME=",
        "ID=",
        "VERSION_ID=",
        "\"",
        "=",
        "/",
        "[upgradable from: ",
        "]",
        " ",
        "libc6",
        "1:2.36-9+deb12u4",
        "amd64",
        "{",
        "}",
        "[",
        ":",
        ",",
        "\"name\"",
        "\"version\"",
        "\"dependencies\"",
        "\t",
        "(none)",
        "é",
        "\u{0}",
    ]);
    prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_package_databases_and_tool_output(text in syntaxish()) {
        let _ = dpkg::parse_status(&text);
        let _ = apk::parse_installed(&text);
        let _ = rpm::parse_query_output(&text);
        let _ = host::parse_os_release(&text);
        let _ = parse_apt_list_upgradable(&text);
        let _ = language::parse_pip_list(&text, "/usr/lib/python3");
        let _ = language::parse_npm_ls(&text, "/usr/lib/node_modules");
    }

    #[test]
    fn fuzz_agent_reports(text in syntaxish()) {
        if let Ok(report) = serde_json::from_str::<HostReport>(&text) {
            let again: HostReport = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
            prop_assert_eq!(again, report);
        }
    }
}
