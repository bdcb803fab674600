//! `opsward agent` reporting patches: the local report, enrollment, the spool surviving
//! `kill -9` of the agent and of the server, and `opsward patch status`.

use crate::{Env, Server, BIN, SIGKILL};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn bare() -> Command {
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
    let query = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}\\n"])
        .output()
        .unwrap();
    let installed = String::from_utf8_lossy(&query.stdout)
        .lines()
        .filter(|s| !matches!(*s, "not-installed" | "config-files"))
        .count();
    assert_eq!(report["packages"].as_array().unwrap().len(), installed);
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

fn viewer_token(env: &Env) -> String {
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "viewer",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(added.status.success());
    env.ok(&["token", "create", "--username", "viewer", "--name", "t"])
        .trim()
        .to_string()
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
