//! The agent's pip and npm global packages end to end: configured in the agent file, collected
//! from the machine's real pip and npm, reported to a real server, shown by the API and on the
//! host page, and matched by the vulnerability matcher as PyPI and npm packages.

use crate::{
    patches::{bare, viewer_token},
    Env,
};
use serde_json::Value;
use std::{collections::BTreeSet, process::Command};

fn pip_freeze(python: &str) -> BTreeSet<(String, String)> {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "freeze",
            "--all",
            "--disable-pip-version-check",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pip_and_npm_globals_go_from_the_agent_to_the_host_page_and_the_matcher() {
    let have = |tool: &str, arg: &[&str]| {
        Command::new(tool)
            .args(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("python3", &["-m", "pip", "--version"]) || !have("npm", &["--version"]) {
        assert!(std::env::var_os("CI").is_none(), "CI has pip and npm");
        eprintln!("skipping: python3 -m pip or npm missing");
        return;
    }
    let env = Env::new(false).await;
    let token = viewer_token(&env);
    let server = env.serve();
    let enroll = env.ok(&["patch", "enrollment-token", "--name", "fleet"]);
    let token_file = env.write("enroll", enroll.trim());
    let lists = env.dir.path().join("empty-lists");
    std::fs::create_dir_all(&lists).unwrap();
    let config = env.write(
        "agent.toml",
        &format!(
            "server = \"{}\"\n\n[patches]\nenrollment_token_file = \"{}\"\nstate_dir = \"{}\"\napt_lists = \"{}\"\nhostname = \"py-01\"\n\
             pip_interpreters = [\"python3\", \"/nonexistent/python3\"]\nnpm_global = true\npackage_tool_timeout = \"2m\"\n",
            server.url("").trim_end_matches('/'),
            token_file.display(),
            env.dir.path().join("state").display(),
            lists.display()
        ),
    );
    let out = bare()
        .args(["agent", config.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let token = token.clone();
        let url = server.url(&path);
        async move {
            let r = http.get(url).bearer_auth(token).send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.text().await.unwrap()
        }
    };
    let hosts: Value = serde_json::from_str(&get("/api/v1/patches/hosts".into()).await).unwrap();
    let id = hosts[0]["id"].as_i64().unwrap();
    let detail: Value =
        serde_json::from_str(&get(format!("/api/v1/patches/hosts/{id}")).await).unwrap();
    let packages = detail["language_packages"].as_array().unwrap();
    let pypi: BTreeSet<(String, String)> = packages
        .iter()
        .filter(|p| p["ecosystem"] == "PyPI")
        .inspect(|p| assert_eq!(p["location"], "python3"))
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_lowercase(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = pip_freeze("python3").difference(&pypi).cloned().collect();
    assert!(
        missing.is_empty(),
        "pip freeze lists {missing:?} the server does not have"
    );
    let npm_version = String::from_utf8(
        Command::new("npm")
            .arg("--version")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        packages.iter().any(|p| p["ecosystem"] == "npm"
            && p["name"] == "npm"
            && p["version"] == npm_version.trim()),
        "{packages:?}"
    );
    // The interpreter that is not there is a note, not a failed report.
    assert_eq!(
        detail["summary"]["notes"],
        serde_json::json!(["pip (/nonexistent/python3): not installed"])
    );
    let page = get(format!("/patches/hosts/{id}")).await;
    assert!(page.contains("id=\"language-packages\""));
    assert!(page.contains("pip (/nonexistent/python3): not installed"));
    assert!(page.contains(&format!(
        "<td>npm</td><td class=\"wide\">npm</td><td>{}</td>",
        npm_version.trim()
    )));

    // The matcher takes them as they are: PyPI and npm packages, names and versions as
    // reported. The host's own pip is affected by PYSEC-2023-228 in the real PyPI data
    // exactly when it is older than 23.3.
    let index = opsward_vulns::matcher::AdvisoryIndex::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/osv/PyPI"),
    );
    let pip = packages
        .iter()
        .find(|p| p["ecosystem"] == "PyPI" && p["name"] == "pip")
        .expect("python3 has pip");
    let version = pip["version"].as_str().unwrap();
    let package = opsward_vulns::inventory::Package::new("PyPI", "pip", version);
    let matched = index.check(&package, &mut Vec::new());
    let release: Vec<u64> = version.split('.').map_while(|n| n.parse().ok()).collect();
    let old = release.as_slice() < [23, 3].as_slice();
    assert_eq!(
        matched
            .iter()
            .any(|m| m.ids.iter().any(|id| id == "PYSEC-2023-228")),
        old,
        "pip {version}: {matched:?}"
    );
}
