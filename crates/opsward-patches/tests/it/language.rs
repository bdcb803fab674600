//! pip and npm global packages, against the machine's real pip and npm: what the agent
//! reports must be what the tools themselves (and npm's global directory) say. A missing or
//! stalled tool is a note, not a failure. The server keeps the list per host on either backend.

use crate::{have, run, store::full_report};
use chrono::{Duration as Days, Utc};
use opsward_core::Actor;
use opsward_patches::{
    inventory::language::{
        collect, parse_npm_ls, parse_pip_list, LanguageEcosystem, LanguagePackage, LanguageSources,
    },
    store::PatchStore,
};
use opsward_store::Store;
use opsward_testkit::store_test;
use std::{collections::BTreeSet, path::PathBuf, process::Command, sync::Arc, time::Duration};

fn sources(pip: &[&str], npm: Option<&str>) -> LanguageSources {
    LanguageSources {
        pip_interpreters: pip.iter().map(PathBuf::from).collect(),
        npm: npm.map(PathBuf::from),
        timeout: Duration::from_secs(120),
    }
}

/// `name==version` lines of `pip freeze --all`, names lower-cased (pip list and freeze spell
/// a name as its metadata does, but compare case-insensitively to be safe).
fn freeze(python: &str) -> BTreeSet<(String, String)> {
    run(Command::new(python).args([
        "-m",
        "pip",
        "freeze",
        "--all",
        "--disable-pip-version-check",
    ]))
    .lines()
    .filter_map(|l| l.split_once("=="))
    .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
    .collect()
}

#[test]
fn pip_packages_of_each_interpreter_are_what_pip_freeze_says() {
    let mut interpreters = vec!["python3"];
    if std::path::Path::new("/usr/bin/python3").exists() {
        interpreters.push("/usr/bin/python3");
    }
    let pip_works = |p: &str| {
        Command::new(p)
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    interpreters.retain(|p| pip_works(p));
    if interpreters.is_empty() {
        assert!(std::env::var_os("CI").is_none(), "CI has python3 with pip");
        eprintln!("skipping: no python3 with pip");
        return;
    }
    let (packages, notes) = collect(&sources(&interpreters, None));
    assert!(notes.is_empty(), "{notes:?}");
    for python in &interpreters {
        let ours: BTreeSet<(String, String)> = packages
            .iter()
            .filter(|p| p.location == *python)
            .inspect(|p| assert_eq!(p.ecosystem, LanguageEcosystem::PyPI))
            .map(|p| (p.name.to_lowercase(), p.version.clone()))
            .collect();
        let theirs = freeze(python);
        assert!(!theirs.is_empty());
        let missing: Vec<_> = theirs.difference(&ours).collect();
        assert!(
            missing.is_empty(),
            "{python}: pip freeze lists {missing:?} that we do not"
        );
        // pip itself, at the version `pip --version` names.
        let version = run(Command::new(python).args(["-m", "pip", "--version"]));
        let pip = version.split_whitespace().nth(1).unwrap().to_string();
        assert!(ours.contains(&("pip".into(), pip)), "{python}: {ours:?}");
    }
}

/// npm's global packages from its global directory: `<root>/<name>/package.json` and
/// `<root>/@scope/<name>/package.json`.
fn npm_global_dir() -> BTreeSet<(String, String)> {
    let root = PathBuf::from(run(Command::new("npm").args(["root", "-g"])).trim());
    let mut found = BTreeSet::new();
    let read = |dir: PathBuf, name: String, found: &mut BTreeSet<(String, String)>| {
        if let Ok(text) = std::fs::read_to_string(dir.join("package.json")) {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            found.insert((name, json["version"].as_str().unwrap().to_string()));
        }
    };
    for entry in std::fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if name.starts_with('@') {
            for scoped in std::fs::read_dir(entry.path()).unwrap() {
                let scoped = scoped.unwrap();
                let full = format!("{name}/{}", scoped.file_name().to_string_lossy());
                read(scoped.path(), full, &mut found);
            }
        } else {
            read(entry.path(), name, &mut found);
        }
    }
    found
}

#[test]
fn npm_globals_are_the_packages_in_npms_global_directory() {
    if !have("npm") {
        return;
    }
    let (packages, notes) = collect(&sources(&[], Some("npm")));
    assert!(notes.is_empty(), "{notes:?}");
    let ours: BTreeSet<(String, String)> = packages
        .iter()
        .inspect(|p| assert_eq!(p.ecosystem, LanguageEcosystem::Npm))
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(ours, npm_global_dir());
    let npm_version = run(Command::new("npm").arg("--version")).trim().to_string();
    assert!(ours.contains(&("npm".into(), npm_version)), "{ours:?}");
    let root = run(Command::new("npm").args(["root", "-g"]))
        .trim()
        .to_string();
    assert!(
        packages.iter().all(|p| p.location == root),
        "location is npm's global node_modules {root}: {packages:?}"
    );
}

/// The agent's e2e test (crates/opsward) shows a missing interpreter next to a working one.
#[test]
fn a_missing_or_stalled_tool_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    // A "python" that never answers: a real process the collector must kill.
    let stalled = dir.path().join("python-stalled");
    std::fs::write(&stalled, "#!/bin/sh\nexec sleep 60\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stalled, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut s = sources(&["/nonexistent/python3"], Some("/nonexistent/npm"));
    s.pip_interpreters.push(stalled.clone());
    s.timeout = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let (packages, notes) = collect(&s);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stalled tool was not stopped"
    );
    assert!(packages.is_empty());
    assert_eq!(
        notes,
        [
            "pip (/nonexistent/python3): not installed".to_string(),
            format!("pip ({}): no answer within 2 s", stalled.display()),
            "npm (/nonexistent/npm): not installed".to_string(),
        ]
    );
}

#[test]
fn npm_problems_are_notes_and_broken_entries_are_not_packages() {
    // The shape npm 10/11 prints for a global tree with a missing and an invalid package.
    let text = r#"{
      "name": "lib",
      "problems": ["missing: left-pad@1.3.0, required by lib", "invalid: typescript@4.0.0 /usr/lib/node_modules/typescript"],
      "dependencies": {
        "corepack": {"version": "0.34.6", "overridden": false},
        "left-pad": {"required": "1.3.0", "missing": true, "problems": ["missing: left-pad@1.3.0, required by lib"]},
        "typescript": {"version": "4.0.0", "invalid": "\"^5\" from the root project", "overridden": false},
        "@angular/cli": {"version": "17.3.1", "overridden": false}
      }
    }"#;
    let (packages, notes) = parse_npm_ls(text, "/usr/lib/node_modules").unwrap();
    let names: Vec<(&str, &str)> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(names, [("@angular/cli", "17.3.1"), ("corepack", "0.34.6")]);
    assert!(
        notes.iter().any(|n| n.contains("missing: left-pad")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("typescript is missing or invalid")),
        "{notes:?}"
    );
    assert!(parse_npm_ls("npm ERR! code E404", "/usr/lib/node_modules").is_err());
    assert!(packages
        .iter()
        .all(|p| p.location == "/usr/lib/node_modules"));
    assert!(parse_pip_list("[{\"name\": \"x\"}]", "python3").is_err());
    // Editable installs carry one more field, which changes nothing.
    let editable = r#"[{"name": "opsward-docs", "version": "0.1.0", "editable_project_location": "/src/docs"}]"#;
    assert_eq!(
        parse_pip_list(editable, "python3").unwrap()[0].version,
        "0.1.0"
    );
}

fn lang(
    ecosystem: LanguageEcosystem,
    name: &str,
    version: &str,
    location: &str,
) -> LanguagePackage {
    LanguagePackage {
        ecosystem,
        name: name.into(),
        version: version.into(),
        location: location.into(),
    }
}

store_test!(
    a_hosts_pip_and_npm_packages_and_notes_are_kept_per_report,
    |store: Arc<dyn Store>| async move {
        let patches = PatchStore::new(store.as_ref());
        let t = Actor::system("t");
        patches
            .create_enrollment_token(&t, "t", "tok-l", Utc::now() + Days::days(1))
            .await
            .unwrap();
        let id = patches
            .enroll("tok-l", "lang-1", "cred-l")
            .await
            .unwrap()
            .unwrap()
            .id;
        let mut first = full_report(1, vec![], vec![]);
        first.language_packages = vec![
            lang(
                LanguageEcosystem::PyPI,
                "requests",
                "2.31.0",
                "/usr/bin/python3",
            ),
            lang(
                LanguageEcosystem::PyPI,
                "requests",
                "2.32.3",
                "/opt/venv/bin/python",
            ),
            lang(
                LanguageEcosystem::Npm,
                "npm",
                "11.19.1",
                "/usr/lib/node_modules",
            ),
        ];
        first.notes = vec!["pip (/usr/bin/python3.9): not installed".into()];
        patches.ingest(id, &first).await.unwrap();
        let detail = patches.host_detail(id, Utc::now()).await.unwrap();
        let mut want = first.language_packages.clone();
        want.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.location).cmp(&(b.ecosystem, &b.name, &b.location))
        });
        assert_eq!(detail.language_packages, want);
        assert_eq!(detail.summary.host.notes, first.notes);

        // A delta carries the whole list again; the server replaces it, notes too.
        let mut second = full_report(2, vec![], vec![]).delta_from(&first);
        second.language_packages = vec![lang(
            LanguageEcosystem::Npm,
            "npm",
            "11.20.0",
            "/usr/lib/node_modules",
        )];
        second.notes = vec![];
        patches.ingest(id, &second).await.unwrap();
        let detail = patches.host_detail(id, Utc::now()).await.unwrap();
        assert_eq!(detail.language_packages, second.language_packages);
        assert!(detail.summary.host.notes.is_empty());
        let listed = patches.list_hosts(Utc::now()).await.unwrap();
        assert!(listed[0].host.notes.is_empty());
    }
);
