//! `opsward vuln scan` against cargo-audit as the oracle: for real Cargo.lock files (this
//! project's own and lockfiles made here), the RustSec ids found through the OSV export of
//! the advisory database equal those cargo-audit finds in the native database.
//!
//! cargo-audit's `vulnerabilities` are compared with our vulnerabilities; its `warnings` of the
//! kinds `unmaintained`, `unsound` and `notice` with our informational advisories (RustSec marks
//! them `informational` in `database_specific`). Yanked-crate warnings need the crates.io index
//! and are not advisories, so both sides run without them (`--no-yanked`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use opsward_vulns::osv::load_path;
use serde_json::Value;

use super::{both_backends, Env, BIN};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared_data() -> PathBuf {
    let dir = workspace().join("../shared/data");
    assert!(
        dir.join("osv/crates.io").is_dir(),
        "the real advisory data is expected at {}",
        dir.display()
    );
    dir
}

/// cargo-audit from `.tools` (where .ci/run installs it) or the PATH. Without it the oracle
/// tests are skipped locally, and fail in CI.
fn cargo_audit() -> Option<PathBuf> {
    let local = workspace().join(".tools/bin/cargo-audit");
    let found = if local.is_file() {
        Some(local)
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("cargo-audit"))
                .find(|p| p.is_file())
        })
    };
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-audit is required in CI: .ci/run installs it into .tools/bin"
        );
        eprintln!(
            "SKIPPED: cargo-audit is not installed; install it with \
             `cargo install cargo-audit --version '^0.22' --locked --root .tools`"
        );
    }
    found
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// (kind, crate, version, advisory id); kind is `vulnerability` or the informational kind.
type Hit = (String, String, String, String);

fn audit(cargo_audit: &Path, db: &Path, lockfile: &Path) -> BTreeSet<Hit> {
    let output = Command::new(cargo_audit)
        .args(["audit", "--db"])
        .arg(db)
        .args(["--no-fetch", "--no-yanked", "--json", "-f"])
        .arg(lockfile)
        .current_dir(lockfile.parent().unwrap())
        .output()
        .unwrap();
    // Exit code 1 means "vulnerabilities found"; the JSON is the answer.
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo-audit printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut hits = BTreeSet::new();
    let hit = |kind: &str, entry: &Value| {
        (
            kind.to_owned(),
            entry["package"]["name"].as_str().unwrap().to_owned(),
            entry["package"]["version"].as_str().unwrap().to_owned(),
            entry["advisory"]["id"].as_str().unwrap().to_owned(),
        )
    };
    for entry in report["vulnerabilities"]["list"].as_array().unwrap() {
        hits.insert(hit("vulnerability", entry));
    }
    for (kind, entries) in report["warnings"].as_object().unwrap() {
        for entry in entries.as_array().unwrap() {
            hits.insert(hit(kind, entry));
        }
    }
    hits
}

fn opsward_scan(lockfile: &Path) -> BTreeSet<Hit> {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OPSWARD_") {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["vuln", "scan", "--output", "json", "--db"])
        .arg(shared_data().join("osv/crates.io"))
        .arg(lockfile)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{stderr}");
    let report: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let mut hits = BTreeSet::new();
    for list in ["findings", "warnings"] {
        for finding in report[list].as_array().unwrap() {
            for advisory in finding["advisories"].as_array().unwrap() {
                // Each record's own kind: one vulnerability can merge records of different kinds.
                let kind = advisory["informational"]
                    .as_str()
                    .unwrap_or("vulnerability");
                let id = advisory["id"].as_str().unwrap();
                if id.starts_with("RUSTSEC-") {
                    hits.insert((
                        kind.to_owned(),
                        finding["package"]["name"].as_str().unwrap().to_owned(),
                        finding["package"]["version"].as_str().unwrap().to_owned(),
                        id.to_owned(),
                    ));
                }
            }
        }
    }
    hits
}

fn assert_same(name: &str, ours: &BTreeSet<Hit>, theirs: &BTreeSet<Hit>) {
    let only_ours: Vec<_> = ours.difference(theirs).collect();
    let only_theirs: Vec<_> = theirs.difference(ours).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{name}: opsward and cargo-audit disagree\nonly opsward: {only_ours:#?}\nonly cargo-audit: {only_theirs:#?}"
    );
}

fn lock_entry(name: &str, version: &str, source: Option<&str>) -> String {
    let source = source
        .map(|s| format!("source = \"{s}\"\n"))
        .unwrap_or_default();
    format!("[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n{source}\n")
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

#[test]
fn the_projects_own_cargo_lock_gives_the_same_rustsec_ids_as_cargo_audit() {
    let Some(cargo_audit) = cargo_audit() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("advisory-db");
    copy_dir(&shared_data().join("rustsec-advisory-db"), &db);
    let lockfile = temp.path().join("project/Cargo.lock");
    std::fs::create_dir_all(lockfile.parent().unwrap()).unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), &lockfile).unwrap();

    let theirs = audit(&cargo_audit, &db, &lockfile);
    let ours = opsward_scan(&lockfile);
    assert_same("Cargo.lock", &ours, &theirs);
}

#[test]
fn old_vulnerable_crates_give_the_same_rustsec_ids_as_cargo_audit() {
    let Some(cargo_audit) = cargo_audit() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("advisory-db");
    copy_dir(&shared_data().join("rustsec-advisory-db"), &db);

    // A hand-written lockfile (no checksums) of crates with well-known advisories, an
    // unmaintained and an unsound one, a pre-release, and two packages that
    // must not match: a git dependency and a local one named like vulnerable crates.
    let mut lock = String::from("version = 3\n\n");
    lock += &lock_entry("app", "0.1.0", None);
    for (name, version) in [
        ("smallvec", "0.6.9"),
        ("time", "0.1.43"),
        ("hyper", "0.14.9"),
        ("hyper", "0.10.16"),
        ("openssl", "0.8.3"),
        ("tokio", "1.0.0"),
        ("chrono", "0.4.19"),
        ("regex", "1.5.4"),
        ("failure", "0.1.8"),
        ("ansi_term", "0.12.1"),
        ("atty", "0.2.14"),
        ("net2", "0.2.37"),
        ("h2", "0.3.0"),
        ("rustls", "0.19.0"),
        ("crossbeam-deque", "0.7.3"),
        ("rsa", "0.9.6"),
        ("serde_cbor", "0.11.2"),
        ("tar", "0.4.15"),
        ("hyper", "1.0.0-rc.1"),
    ] {
        lock += &lock_entry(name, version, Some(CRATES_IO));
    }
    lock += &lock_entry(
        "smallvec",
        "0.6.8",
        Some("git+https://example.invalid/smallvec.git#0123456789abcdef"),
    );
    lock += &lock_entry("time", "0.1.0", None);
    let lockfile = temp.path().join("old/Cargo.lock");
    std::fs::create_dir_all(lockfile.parent().unwrap()).unwrap();
    std::fs::write(&lockfile, lock).unwrap();

    let theirs = audit(&cargo_audit, &db, &lockfile);
    let ours = opsward_scan(&lockfile);
    assert!(
        theirs.len() > 20,
        "the lockfile should be full of advisories: {theirs:#?}"
    );
    assert!(
        theirs.iter().any(|h| h.0 == "unmaintained") && theirs.iter().any(|h| h.0 == "unsound")
    );
    assert_same("old crates", &ours, &theirs);
}

/// The one known difference: a package whose source is written as the sparse crates.io index
/// (`sparse+https://index.crates.io/`) is a crates.io package to opsward, but cargo-audit 0.22
/// compares the advisory's source (the git index) by kind and URL and so never matches it.
/// Cargo itself writes crates.io packages with the git index URL whichever protocol it used,
/// so real lockfiles rarely show this.
#[test]
fn the_sparse_crates_io_index_is_crates_io_where_cargo_audit_differs() {
    let Some(cargo_audit) = cargo_audit() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("advisory-db");
    copy_dir(&shared_data().join("rustsec-advisory-db"), &db);
    let lockfile = temp.path().join("sparse/Cargo.lock");
    std::fs::create_dir_all(lockfile.parent().unwrap()).unwrap();
    std::fs::write(
        &lockfile,
        lock_entry("smallvec", "0.6.9", Some("sparse+https://index.crates.io/")),
    )
    .unwrap();

    let theirs = audit(&cargo_audit, &db, &lockfile);
    let ours = opsward_scan(&lockfile);
    assert!(
        theirs.is_empty(),
        "cargo-audit now matches the sparse index: {theirs:#?}"
    );
    assert!(ours.iter().any(|h| h.3 == "RUSTSEC-2019-0009"), "{ours:#?}");
}

#[test]
fn every_boundary_version_of_every_advisory_gives_the_same_answer_as_cargo_audit() {
    let Some(cargo_audit) = cargo_audit() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let db = temp.path().join("advisory-db");
    copy_dir(&shared_data().join("rustsec-advisory-db"), &db);

    // For every crate with an advisory, the versions where the answer changes: each event
    // version, a pre-release of it, and the next patch release; plus one far above.
    let mut versions: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, record) in load_path(&shared_data().join("osv/crates.io")).records {
        for affected in &record.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let mut add = |v: String| {
                versions.insert((package.name.clone(), v));
            };
            add("99.0.0".into());
            for range in &affected.ranges {
                for event in &range.events {
                    for v in [&event.introduced, &event.fixed, &event.last_affected]
                        .into_iter()
                        .flatten()
                    {
                        add(v.clone());
                        if !v.contains(['-', '+']) {
                            add(format!("{v}-alpha.1"));
                            let mut parts: Vec<u64> =
                                v.split('.').map(|p| p.parse().unwrap()).collect();
                            parts[2] += 1;
                            add(format!("{}.{}.{}", parts[0], parts[1], parts[2]));
                        }
                    }
                }
            }
        }
    }
    assert!(versions.len() > 3000, "{}", versions.len());
    let mut lock = String::from("version = 3\n\n");
    for (name, version) in &versions {
        lock += &lock_entry(name, version, Some(CRATES_IO));
    }
    let lockfile = temp.path().join("boundaries/Cargo.lock");
    std::fs::create_dir_all(lockfile.parent().unwrap()).unwrap();
    std::fs::write(&lockfile, lock).unwrap();

    let theirs = audit(&cargo_audit, &db, &lockfile);
    let ours = opsward_scan(&lockfile);
    assert!(theirs.len() > 2000, "{}", theirs.len());
    assert_same("boundary versions", &ours, &theirs);
}

fn scan_command(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OPSWARD_") {
            command.env_remove(key);
        }
    }
    command.args(["vuln", "scan"]).args(args).output().unwrap()
}

#[test]
fn scan_formats_exit_codes_and_errors() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    std::fs::create_dir_all(project.join("web")).unwrap();
    std::fs::create_dir_all(project.join("target")).unwrap();
    let mut lock = String::from("version = 3\n\n");
    lock += &lock_entry("smallvec", "0.6.9", Some(CRATES_IO));
    lock += &lock_entry("ansi_term", "0.12.1", Some(CRATES_IO));
    std::fs::write(project.join("Cargo.lock"), &lock).unwrap();
    std::fs::write(project.join("web/requirements.txt"), "trac==0.9\n").unwrap();
    // Build output is not searched.
    std::fs::write(
        project.join("target/requirements.txt"),
        "this is not parsed\n",
    )
    .unwrap();
    let db = shared_data().join("osv");
    let db = db.to_str().unwrap();
    let dir = project.to_str().unwrap();

    // A directory: every lockfile under it, against every ecosystem's advisories.
    let out = scan_command(&["--db", db, "--output", "json", dir]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 2);
    let ids: BTreeSet<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains("RUSTSEC-2019-0009") && ids.contains("PYSEC-2005-1"),
        "{ids:?}"
    );
    let warnings = report["warnings"].as_array().unwrap();
    assert!(warnings
        .iter()
        .any(|w| w["id"] == "RUSTSEC-2021-0139" && w["informational"] == "unmaintained"));
    let smallvec = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "RUSTSEC-2019-0009")
        .unwrap();
    assert_eq!(smallvec["fixed"], "0.6.10");
    assert!(smallvec["ids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i.as_str().unwrap().starts_with("CVE-")));

    // --fail-on: nothing here is critical... unless it is; compare with the report.
    let worst = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap().to_owned())
        .collect::<BTreeSet<_>>();
    let out = scan_command(&["--db", db, "--fail-on", "critical", dir]);
    assert_eq!(
        out.status.code(),
        Some(if worst.contains("critical") { 1 } else { 0 })
    );
    let only_unmaintained = temp.path().join("Cargo.lock");
    std::fs::write(
        &only_unmaintained,
        lock_entry("ansi_term", "0.12.1", Some(CRATES_IO)),
    )
    .unwrap();
    let out = scan_command(&["--db", db, only_unmaintained.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "informational advisories alone do not fail the scan"
    );

    // SARIF 2.1.0, CSV with one row per finding.
    let out = scan_command(&["--db", db, "--output", "sarif", dir]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "RUSTSEC-2019-0009"
        && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("Cargo.lock")));
    let out = scan_command(&["--db", db, "--output", "csv", dir]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("kind,severity,ecosystem,package,version,id,aliases,fixed,file\n"),
        "{csv}"
    );
    assert!(csv
        .lines()
        .any(|l| l.starts_with("unmaintained,") && l.contains("ansi_term")));

    // A malformed lockfile: exit 2, with file and line.
    let broken = temp.path().join("broken/Cargo.lock");
    std::fs::create_dir_all(broken.parent().unwrap()).unwrap();
    std::fs::write(
        &broken,
        "version = 3\n\n[[package]]\nname = \"a\"\nversion = \n",
    )
    .unwrap();
    let out = scan_command(&["--db", db, broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:5:", broken.display())),
        "{stderr}"
    );
    // An unknown severity is a usage error.
    let out = scan_command(&["--db", db, "--fail-on", "severe", dir]);
    assert_eq!(out.status.code(), Some(2));
}

both_backends!(
    imports_scans_and_findings_through_the_database,
    |env: Env| async move {
        let data = shared_data();
        // smallvec's advisories: three vulnerabilities and one unsound notice.
        let osv = env.dir.path().join("osv");
        std::fs::create_dir_all(&osv).unwrap();
        for id in [
            "RUSTSEC-2019-0009",
            "RUSTSEC-2019-0012",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2018-0018",
        ] {
            std::fs::copy(
                data.join(format!("osv/crates.io/{id}.json")),
                osv.join(format!("{id}.json")),
            )
            .unwrap();
        }
        let run: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "vuln",
            "import",
            "osv",
            osv.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(
            (run["outcome"].as_str(), run["created"].as_i64()),
            (Some("imported"), Some(4))
        );
        let kev = data.join("kev/known_exploited_vulnerabilities.json");
        let run: Value = serde_json::from_str(&env.ok(&[
            "-o",
            "json",
            "vuln",
            "import",
            "kev",
            kev.to_str().unwrap(),
        ]))
        .unwrap();
        assert_eq!(run["created"].as_i64(), Some(1404));
        // A broken EPSS file is rejected with its line, and exit code 1.
        let epss = env.write("epss.csv", "#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2019-15551,oops,0.5\n");
        let out = env.run(&["vuln", "import", "epss", epss.to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("epss.csv:3:"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let epss = env.write("epss.csv", "#model_version:v1,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2019-15551,1.2e-01,0.95\n");
        env.ok(&["vuln", "import", "epss", epss.to_str().unwrap()]);
        let imports = env.ok(&["-o", "csv", "vuln", "imports"]);
        assert_eq!(imports.lines().count(), 5, "{imports}");

        env.ok(&["asset", "add", "--name", "build-01", "--kind", "host"]);
        let lock = env.write(
            "Cargo.lock",
            &lock_entry("smallvec", "0.6.9", Some(CRATES_IO)),
        );
        // No --db: the imported advisories are used; the findings are recorded for the asset.
        let out = env.run(
            &[
                "vuln",
                "scan",
                lock.to_str().unwrap(),
                "--asset",
                "build-01",
            ],
            "",
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("3 new"));
        let findings: Value = serde_json::from_str(
            &env.ok(&["-o", "json", "vuln", "findings", "--asset", "build-01"]),
        )
        .unwrap();
        let findings = findings.as_array().unwrap();
        assert_eq!(
            findings.len(),
            3,
            "the unsound advisory is a warning, not a finding"
        );
        let double_free = findings
            .iter()
            .find(|f| f["vulnerability_id"] == "RUSTSEC-2019-0009")
            .unwrap();
        assert_eq!(double_free["epss_score"].as_f64(), Some(0.12));
        assert_eq!(double_free["kev"], false);
        let id = double_free["id"].as_i64().unwrap().to_string();
        let acked: Value =
            serde_json::from_str(&env.ok(&["-o", "json", "vuln", "finding", &id, "acknowledge"]))
                .unwrap();
        assert_eq!(acked["state"], "acknowledged");
        let out = env.run(
            &[
                "vuln",
                "finding",
                &id,
                "accept-risk",
                "--reason",
                "x",
                "--approver",
                "ciso",
                "--until",
                "soon",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(2));
        // Upgraded: the rescan fixes them all.
        let lock = env.write(
            "Cargo.lock",
            &lock_entry("smallvec", "1.13.2", Some(CRATES_IO)),
        );
        env.ok(&[
            "vuln",
            "scan",
            lock.to_str().unwrap(),
            "--asset",
            "build-01",
        ]);
        let open = env.ok(&["-o", "csv", "vuln", "findings", "--state", "open"]);
        assert_eq!(open.lines().count(), 1, "{open}");
        let fixed = env.ok(&["-o", "csv", "vuln", "findings", "--state", "fixed"]);
        assert_eq!(fixed.lines().count(), 4, "{fixed}");
    }
);

/// `opsward vuln exposure` with no OPSWARD_ settings: exit code and JSON rows.
fn opsward_exposure(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OPSWARD_") {
            command.env_remove(key);
        }
    }
    let output = command
        .args(["--output", "json", "vuln", "exposure", "127.0.0.1"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let rows = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), rows, stderr)
}

#[test]
fn exposure_reports_open_ports_the_policy_does_not_allow() {
    let ssh = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let web = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ssh, web) = (
        ssh.local_addr().unwrap().port(),
        web.local_addr().unwrap().port(),
    );
    let ports = format!("{ssh},{web},{closed}");
    let (code, rows, stderr) = opsward_exposure(&["--ports", &ports, "--allow", &ssh.to_string()]);
    assert_eq!(code, Some(1), "{stderr}");
    let open: Vec<(u64, bool)> = rows
        .as_array()
        .unwrap_or_else(|| panic!("{stderr}"))
        .iter()
        .map(|r| {
            (
                r["port"].as_u64().unwrap(),
                r["exposure"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![(u64::from(ssh), false), (u64::from(web), true)];
    expected.sort();
    assert_eq!(open, expected, "the closed port is not listed");
    assert!(stderr.contains("3 ports scanned, 2 open"), "{stderr}");

    let allow = format!("{ssh},{web}");
    let (code, _, stderr) = opsward_exposure(&["--ports", &ports, "--allow", &allow]);
    assert_eq!(code, Some(0), "everything open is allowed: {stderr}");
    let (code, _, stderr) = opsward_exposure(&["--ports", "22-1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("22-1"), "{stderr}");
}
