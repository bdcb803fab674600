//! The workspace's dependency rule, read from `cargo metadata`: no practice crate depends on
//! another practice crate, as a dependency, a dev-dependency or a build-dependency. What two
//! practices share belongs in `opsward-core` or `opsward-ops`.

use serde_json::Value;
use std::process::Command;

/// The practice crates. A practice crate that is added must be added here, or the test fails
/// below (every `opsward-*` crate is either a practice or a known foundation crate).
const PRACTICES: &[&str] = &[
    "opsward-certs",
    "opsward-resilience",
    "opsward-patches",
    "opsward-vulns",
    "opsward-backlog",
    "opsward-customers",
    "opsward-suppliers",
];
const FOUNDATION: &[&str] = &[
    "opsward",
    "opsward-server",
    "opsward-ops",
    "opsward-notify",
    "opsward-sso",
    "opsward-store",
    "opsward-core",
    "opsward-testkit",
];

fn workspace_packages() -> Vec<Value> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    metadata["packages"].as_array().expect("packages").clone()
}

#[test]
fn no_practice_crate_depends_on_another() {
    let packages = workspace_packages();
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    for name in &names {
        assert!(
            PRACTICES.contains(name) || FOUNDATION.contains(name),
            "{name} is neither a known practice nor a foundation crate: add it to this test"
        );
    }
    for practice in PRACTICES {
        assert!(
            names.contains(practice),
            "{practice} is missing from the workspace"
        );
    }
    let mut crossings = Vec::new();
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        if !PRACTICES.contains(&name) {
            continue;
        }
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let target = dependency["name"].as_str().unwrap_or_default();
            if PRACTICES.contains(&target) {
                let kind = dependency["kind"].as_str().unwrap_or("normal");
                crossings.push(format!("{name} -> {target} ({kind})"));
            }
        }
    }
    assert!(
        crossings.is_empty(),
        "practice crates depend on other practice crates: {crossings:?}"
    );
}
