//! opsward-patches: inventory parsers against the machine's own databases and real-format
//! fixtures, and pending updates against apt itself.

mod apt_lists;
mod apt_repo;
mod dummy_repo;
mod ingest_bulk;
mod install;
mod inventory;
mod language;
mod practice;
mod rings;
mod rollout;
mod store;

use std::process::Command;

/// Run a command and return its stdout; panics with its stderr when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Whether the Debian tools the dummy-repository tests run are all present (see [`have`]).
pub fn debian_tools() -> bool {
    ["dpkg-deb", "dpkg", "apt", "apt-get", "apt-ftparchive"]
        .iter()
        .all(|t| have(t))
}

/// Whether `tool` is on PATH. Under CI a missing tool is a failure, never a skip: `.ci/run`
/// installs them.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("{tool} is missing; .ci/run installs it and CI must have it");
    }
    if !found {
        eprintln!("skipping: {tool} is not installed (CI installs it)");
    }
    found
}
