//! `opsward vuln scan PATH --asset NAME --server URL`: a CI pipeline's lockfile reaches the
//! server (a real `opsward serve` on port 0), which records the asset's findings; the token
//! comes from `--token-file` or `OPSWARD_TOKEN`.

use super::{both_backends, Env};
use serde_json::Value;
use std::path::PathBuf;

pub(crate) const LOCKFILE: &str =
    "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"0.6.9\"\n\
    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

both_backends!(lockfiles_are_sent_to_the_server, |env: Env| async move {
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "ci",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = env.ok(&["token", "create", "--username", "ci", "--name", "pipeline"]);
    let token_file = env.write("token", token.trim());
    env.ok(&["asset", "add", "--name", "build-1", "--kind", "service"]);
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/osv/crates.io/RUSTSEC-2019-0009.json");
    env.ok(&["vuln", "import", "osv", record.to_str().unwrap()]);
    let lockfile = env.write("Cargo.lock", LOCKFILE);

    let server = env.serve();
    let base = server.url("").trim_end_matches('/').to_string();
    let out = env
        .command()
        .args([
            "vuln",
            "scan",
            lockfile.to_str().unwrap(),
            "--asset",
            "build-1",
            "--server",
            &base,
        ])
        .args(["--token-file", token_file.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a vulnerability was found: {stderr}"
    );
    assert!(stderr.contains("1 vulnerabilities; 1 new"), "{stderr}");
    let outcomes: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0]["asset"], "build-1");
    assert_eq!(outcomes[0]["new"], 1);

    // OPSWARD_TOKEN instead of a file; the upgraded lockfile fixes the finding.
    std::fs::write(&lockfile, LOCKFILE.replace("0.6.9", "0.6.10")).unwrap();
    let out = env
        .command()
        .args([
            "vuln",
            "scan",
            lockfile.to_str().unwrap(),
            "--asset",
            "build-1",
            "--server",
            &base,
        ])
        .env("OPSWARD_TOKEN", token.trim())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("0 vulnerabilities; 0 new, 0 reopened, 0 still present, 1 fixed"),
        "{stderr}"
    );

    // An unknown asset is the server's 404, reported as an operational error.
    let out = env
        .command()
        .args([
            "vuln",
            "scan",
            lockfile.to_str().unwrap(),
            "--asset",
            "nowhere",
            "--server",
            &base,
        ])
        .env("OPSWARD_TOKEN", token.trim())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
});
