//! `opsward agent` reporting patches: the local report, enrollment, the spool surviving
//! `kill -9` of the agent and of the server, and `opsward patch status`.

use crate::{Env, Server, BIN, SIGKILL};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

pub(crate) fn bare() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("OPSWARD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `opsward agent --once --output json` needs no server and no file: it prints this host's
/// report, whose packages are exactly dpkg's installed ones.
#[test]
fn the_local_report_needs_no_server() {
    if !Path::new("/var/lib/dpkg/status").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI runs on Debian");
        return;
    }
    let out = bare()
        .args(["agent", "--once", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kind"], "full");
    assert_eq!(report["package_manager"], "dpkg");
    // Other tests install and purge opsward-dummy-* packages meanwhile: leave those out.
    let query = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status} ${Package}\\n"])
        .output()
        .unwrap();
    let mut installed: Vec<String> = String::from_utf8_lossy(&query.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(s, _)| !matches!(*s, "not-installed" | "config-files"))
        .map(|(_, p)| p.to_string())
        .filter(|p| !p.starts_with("opsward-dummy-"))
        .collect();
    let mut reported: Vec<String> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .filter(|p| !p.starts_with("opsward-dummy-"))
        .collect();
    installed.sort();
    reported.sort();
    assert_eq!(reported, installed);
    let uname = Command::new("uname").arg("-r").output().unwrap();
    assert_eq!(
        report["kernel"]["release"],
        String::from_utf8_lossy(&uname.stdout).trim()
    );
}

struct Agent {
    config: PathBuf,
    state: PathBuf,
}

impl Agent {
    /// An agent for `server` whose host is `hostname`. Pending updates come from an empty
    /// apt lists directory (the local report test covers the real ones), so each run is quick.
    fn new(env: &Env, server: &str, hostname: &str) -> Agent {
        let token = env.ok(&["patch", "enrollment-token", "--name", "fleet"]);
        let token_file = env.write(&format!("{hostname}.enroll"), token.trim());
        let lists = env.dir.path().join("empty-lists");
        std::fs::create_dir_all(&lists).unwrap();
        let state = env.dir.path().join(format!("{hostname}-state"));
        let config = env.write(
            &format!("{hostname}.toml"),
            &format!(
                "server = \"{server}\"\n\n[patches]\nenrollment_token_file = \"{}\"\nstate_dir = \"{}\"\nevery = \"10s\"\napt_lists = \"{}\"\nhostname = \"{hostname}\"\n",
                token_file.display(),
                state.display(),
                lists.display()
            ),
        );
        Agent { config, state }
    }

    fn once(&self) -> std::process::Output {
        bare()
            .args(["agent", self.config.to_str().unwrap(), "--once"])
            .output()
            .unwrap()
    }

    fn spooled(&self) -> Vec<i64> {
        let mut seqs: Vec<i64> = std::fs::read_dir(self.state.join("spool"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        let seq = name.strip_suffix(".json")?.parse().ok()?;
                        // Every spooled file is a whole report.
                        let text = std::fs::read(e.path()).unwrap();
                        let report: Value = serde_json::from_slice(&text)
                            .unwrap_or_else(|err| panic!("{name} is not a whole report: {err}"));
                        assert_eq!(report["sequence"], seq);
                        Some(seq)
                    })
                    .collect()
            })
            .unwrap_or_default();
        seqs.sort();
        seqs
    }
}

/// The report sequences the server accepted for `hostname`, oldest first.
async fn accepted(server: &Server, token: &str, hostname: &str) -> Vec<i64> {
    let http = reqwest::Client::new();
    let hosts: Value = http
        .get(server.url(&format!("/api/v1/patches/hosts?host={hostname}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = hosts[0]["id"].as_i64().expect("the host is enrolled");
    let detail: Value = http
        .get(server.url(&format!("/api/v1/patches/hosts/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut seqs: Vec<i64> = detail["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["sequence"].as_i64().unwrap())
        .collect();
    seqs.sort();
    seqs
}

pub(crate) fn viewer_token(env: &Env) -> String {
    user_token(env, "viewer", "viewer")
}

/// A user `username` with `role`, added through the CLI, and an API token of theirs.
fn user_token(env: &Env, username: &str, role: &str) -> String {
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            username,
            "--role",
            role,
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success());
    env.ok(&["token", "create", "--username", username, "--name", "t"])
        .trim()
        .to_string()
}

/// Whether the Debian tools the real-package tests need are here; CI installs them, so
/// there their absence is a failure, elsewhere the test is skipped.
fn apt_tools_present() -> bool {
    let tools = ["dpkg-deb", "dpkg", "apt-get", "apt-ftparchive"];
    let present = tools.iter().all(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        present || std::env::var_os("CI").is_none(),
        "CI installs {tools:?}"
    );
    present
}

/// Deliver the whole spool, retrying while a restarted server comes up.
fn drain(agent: &Agent) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = agent.once();
        if out.status.success() && agent.spooled().is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the spool did not drain: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_reports_survive_kill_9_of_agent_and_server() {
    let env = Env::new(false).await;
    let token = viewer_token(&env);
    let mut server = env.serve();
    let addr = server.addr;
    let agent = Agent::new(&env, server.url("").trim_end_matches('/'), "web-07");

    // Enroll and deliver the first (full) report.
    let out = agent.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(accepted(&server, &token, "web-07").await, [1]);
    assert!(agent.spooled().is_empty());

    // Server gone: reports are spooled, the run says so with exit code 2.
    server.signal(SIGKILL);
    server.wait(Duration::from_secs(10));
    for _ in 0..3 {
        let out = agent.once();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(agent.spooled(), [2, 3, 4]);

    // kill -9 of the agent at arbitrary moments never leaves a broken report behind.
    for delay_ms in [1u64, 5, 15, 40, 80, 150, 300, 600] {
        let mut child = bare()
            .args(["agent", agent.config.to_str().unwrap(), "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        agent.spooled();
    }
    let spooled = agent.spooled();
    assert!(spooled.starts_with(&[2, 3, 4]), "{spooled:?}");

    // The server returns where it was; it is killed again while the agent uploads, and
    // comes back once more. Nothing spooled is lost, nothing is applied twice.
    let server = env.serve_on(&addr.to_string());
    let mut uploading = bare()
        .args(["agent", agent.config.to_str().unwrap(), "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    server.signal(SIGKILL);
    drop(server);
    let _ = uploading.wait();
    let delivered_before_restart = agent.spooled();
    let server = env.serve_on(&addr.to_string());
    drain(&agent);
    let got = accepted(&server, &token, "web-07").await;
    let last = *got.last().unwrap();
    assert_eq!(
        got,
        (1..=last).collect::<Vec<_>>(),
        "every report arrived once"
    );
    assert!(last > *spooled.last().unwrap());
    eprintln!("spooled {spooled:?}; still spooled when the server was killed: {delivered_before_restart:?}; accepted 1..={last}");

    // The CLI sees the host.
    let status: Value =
        serde_json::from_str(&env.ok(&["patch", "status", "--host", "web-07", "-o", "json"]))
            .unwrap();
    assert_eq!(status[0]["hostname"], "web-07");
    assert!(status[0]["packages"].as_i64().unwrap() > 50);
    assert_eq!(status[0]["current"], true);
}

/// A TLS front for a plain HTTP server, with a certificate from a private CA.
async fn tls_front(backend: std::net::SocketAddr, cert_pem: &str, key_pem: &str) -> u16 {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()],
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

/// Over HTTPS the agent trusts the CA named in `ca_file`, and without it refuses the
/// server's certificate (its report stays spooled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_verifies_the_server_certificate_against_its_ca() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let env = Env::new(false).await;
    let token = viewer_token(&env);
    let server = env.serve();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "agent test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let port = tls_front(server.addr, &leaf.pem(), &leaf_key.serialize_pem()).await;
    let ca_file = env.write("ca.pem", &ca_pem);

    let untrusting = Agent::new(&env, &format!("https://localhost:{port}"), "db-09");
    let out = untrusting.once();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("enroll"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(untrusting.spooled(), [1]);

    let text = std::fs::read_to_string(&untrusting.config).unwrap();
    std::fs::write(
        &untrusting.config,
        format!("ca_file = \"{}\"\n{text}", ca_file.display()),
    )
    .unwrap();
    let out = untrusting.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(untrusting.spooled().is_empty());
    assert_eq!(accepted(&server, &token, "db-09").await, [1, 2]);
}

/// The judged flow on a real package: the agent reports v2 of the dummy package pending as a
/// security update; an approval for a ring whose window is closed installs nothing; an
/// approval for a ring whose window is open upgrades it, the run is the evidence, and the
/// next report shows v2 with nothing pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_updates_are_installed_inside_the_window_only() {
    use crate::dummy_repo::{DummyRepo, V1, V2};
    if !apt_tools_present() {
        return;
    }
    let env = Env::new(false).await;
    let token = user_token(&env, "ops", "operator");
    let server = env.serve();
    let repo = DummyRepo::build("agent");
    repo.apt("apt-get", &["update", "-qq"]);
    repo.install(V1);

    let agent = Agent::new(&env, server.url("").trim_end_matches('/'), "app-01");
    let options: Vec<String> = repo
        .apt_settings()
        .iter()
        .map(|o| format!("{o:?}"))
        .collect();
    let text = std::fs::read_to_string(&agent.config).unwrap().replace(
        &format!(
            "apt_lists = \"{}\"",
            env.dir.path().join("empty-lists").display()
        ),
        &format!("apt_lists = \"{}\"", repo.lists().display()),
    );
    std::fs::write(
        &agent.config,
        format!(
            "{text}\n[patches.install]\napt_options = [{}]\n",
            options.join(", ")
        ),
    )
    .unwrap();
    let out = agent.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http.get(server.url(&path)).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let hosts = get("/api/v1/patches/hosts?host=app-01".into()).await;
    let host_id = hosts[0]["id"].as_i64().unwrap();
    let detail = get(format!("/api/v1/patches/hosts/{host_id}")).await;
    let pending = detail["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["name"], repo.package.as_str());
    assert_eq!(pending[0]["candidate_version"], V2);
    assert_eq!(pending[0]["security"], true);

    let post = |path: &str, body: Value| {
        let request = http.post(server.url(path)).bearer_auth(&token).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let put_ring = |ring: i64| {
        let request = http
            .put(server.url(&format!("/api/v1/patches/hosts/{host_id}/ring")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"ring_id": ring}));
        async move { assert!(request.send().await.unwrap().status().is_success()) }
    };
    let now = chrono::Utc::now();
    let in_two_hours = (now + chrono::Duration::hours(2))
        .format("%Y-%m-%dT%H:00:00")
        .to_string();
    let closed = post("/api/v1/patches/rings", serde_json::json!({"name": "later", "position": 1, "soak_hours": 0,
        "window": {"rrule": "FREQ=DAILY", "starts_local": in_two_hours, "timezone": "UTC", "minutes": 30}})).await;
    put_ring(closed["id"].as_i64().unwrap()).await;
    post(
        "/api/v1/patches/approvals",
        serde_json::json!({"ring_id": closed["id"], "packages": [repo.package]}),
    )
    .await;
    let out = agent.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        repo.installed_version().as_deref(),
        Some(V1),
        "nothing runs outside the window"
    );
    assert_eq!(
        get("/api/v1/patches/runs".into()).await,
        serde_json::json!([])
    );

    let open = post("/api/v1/patches/rings", serde_json::json!({"name": "now", "position": 2, "soak_hours": 0,
        "window": {"rrule": "FREQ=DAILY", "starts_local": now.format("%Y-%m-%dT00:00:00").to_string(), "timezone": "UTC", "minutes": 1440}})).await;
    put_ring(open["id"].as_i64().unwrap()).await;
    let approval = post(
        "/api/v1/patches/approvals",
        serde_json::json!({"ring_id": open["id"], "packages": [repo.package]}),
    )
    .await;
    let out = agent.once();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(repo.installed_version().as_deref(), Some(V2));

    let runs = get(format!("/api/v1/patches/runs?approval={}", approval["id"])).await;
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let run = &runs[0];
    assert_eq!(
        (
            run["hostname"].as_str(),
            run["approved_by"].as_str(),
            run["succeeded"].as_bool()
        ),
        (Some("app-01"), Some("token:ops/t"), Some(true))
    );
    assert_eq!(run["exit_code"], 0);
    assert_eq!(run["upgraded"][0]["from_version"], V1);
    assert_eq!(run["upgraded"][0]["to_version"], V2);
    let approvals = get("/api/v1/patches/approvals".into()).await;
    assert_eq!(
        approvals
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == approval["id"])
            .unwrap()["state"],
        "succeeded"
    );
    let detail = get(format!("/api/v1/patches/hosts/{host_id}")).await;
    assert_eq!(detail["pending"], serde_json::json!([]));
    let installed = detail["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == repo.package.as_str())
        .unwrap()
        .clone();
    assert_eq!(installed["version"], V2);
    assert_eq!(detail["history"][0]["to_version"], V2);
}

/// Reboots only when the policy says so. The dummy package's v2 sets Debian's reboot flag
/// when installed (as kernel packages do); the agent's reboot command is a script that
/// writes a marker, so the machine itself never reboots. An approval with `never` on a ring
/// whose policy is `if-required` installs, reports the reboot as required and does not run
/// the command; the next approval, under the ring's `if-required`, runs it once, after the
/// run (with the decision) is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_reboots_only_when_the_policy_allows() {
    use crate::dummy_repo::{DummyRepo, REBOOT_FLAG, V1, V2};
    if !apt_tools_present() {
        return;
    }
    let env = Env::new(false).await;
    let token = user_token(&env, "ops", "operator");
    let server = env.serve();
    let repo = DummyRepo::build_rebooting("reboot");
    repo.apt("apt-get", &["update", "-qq"]);
    repo.install(V1);

    // The stand-in for `systemctl reboot`: it leaves a marker and nothing else.
    let marker = env.dir.path().join("rebooted");
    let script = env.write(
        "fake-reboot.sh",
        &format!("#!/bin/sh\necho \"reboot $*\" >> '{}'\n", marker.display()),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let agent = Agent::new(&env, server.url("").trim_end_matches('/'), "db-01");
    let options: Vec<String> = repo
        .apt_settings()
        .iter()
        .map(|o| format!("{o:?}"))
        .collect();
    let text = std::fs::read_to_string(&agent.config).unwrap().replace(
        &format!(
            "apt_lists = \"{}\"",
            env.dir.path().join("empty-lists").display()
        ),
        &format!("apt_lists = \"{}\"", repo.lists().display()),
    );
    std::fs::write(
        &agent.config,
        format!(
            "{text}\n[patches.install]\napt_options = [{}]\nreboot_command = [\"{}\", \"--now\"]\n",
            options.join(", "),
            script.display()
        ),
    )
    .unwrap();
    let once = || {
        let out = agent.once();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    once();

    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http.get(server.url(&path)).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let post = |path: &str, body: Value| {
        let request = http.post(server.url(path)).bearer_auth(&token).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Value>().await.unwrap()
        }
    };
    let hosts = get("/api/v1/patches/hosts?host=db-01".into()).await;
    let host_id = hosts[0]["id"].as_i64().unwrap();
    let now = chrono::Utc::now();
    let ring = post("/api/v1/patches/rings", serde_json::json!({"name": "now", "position": 1, "soak_hours": 0,
        "window": {"rrule": "FREQ=DAILY", "starts_local": now.format("%Y-%m-%dT00:00:00").to_string(), "timezone": "UTC", "minutes": 1440}})).await;
    assert_eq!(ring["reboot_policy"], "never", "the default");
    let assigned = http
        .put(server.url(&format!("/api/v1/patches/hosts/{host_id}/ring")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"ring_id": ring["id"]}))
        .send()
        .await
        .unwrap();
    assert!(assigned.status().is_success());
    // The ring allows reboots (set from the CLI); this approval does not.
    let changed: Value = serde_json::from_str(&env.ok(&[
        "patch",
        "rings",
        "update",
        "now",
        "--reboot",
        "if-required",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(changed["reboot_policy"], "if-required");
    let first = post(
        "/api/v1/patches/approvals",
        serde_json::json!({"ring_id": ring["id"], "packages": [repo.package], "reboot_policy": "never"}),
    )
    .await;
    assert_eq!(first["reboot_policy"], "never");
    once();
    assert_eq!(repo.installed_version().as_deref(), Some(V2));
    assert!(
        std::path::Path::new(REBOOT_FLAG).exists(),
        "v2 asks for a reboot"
    );
    assert!(!marker.exists(), "policy never: no reboot");
    let runs = get(format!("/api/v1/patches/runs?approval={}", first["id"])).await;
    let run = &runs[0];
    assert_eq!(run["succeeded"], true);
    assert_eq!(run["reboot_required"], true);
    assert_eq!(
        run["reboot"],
        serde_json::json!({"policy": "never", "decision": "policy-never", "command": []})
    );

    // Back to v1 (as if the reboot had happened and the update were new), then an approval
    // under the ring's policy: the agent reboots, once.
    repo.clear_reboot_flag();
    repo.install(V1);
    once();
    let second = post(
        "/api/v1/patches/approvals",
        serde_json::json!({"ring_id": ring["id"], "packages": [repo.package]}),
    )
    .await;
    assert_eq!(second["reboot_policy"], Value::Null);
    once();
    assert_eq!(repo.installed_version().as_deref(), Some(V2));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "reboot --now\n",
        "the reboot command ran once"
    );
    let runs = get(format!("/api/v1/patches/runs?approval={}", second["id"])).await;
    assert_eq!(
        runs[0]["reboot"],
        serde_json::json!({"policy": "if-required", "decision": "reboot",
            "command": [script.display().to_string(), "--now"]})
    );
    let listed = env.ok(&[
        "patch",
        "runs",
        "--approval",
        &second["id"].to_string(),
        "-o",
        "csv",
    ]);
    assert!(listed.contains("reboot (policy if-required)"), "{listed}");
    // A cycle with nothing approved never reboots, though the flag is still set.
    once();
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "reboot --now\n");
}
