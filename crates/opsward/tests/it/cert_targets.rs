//! `opsward cert scan tls` on ranges and assets, `opsward cert asset set|list`, tag
//! thresholds, and file scans whose directories a server walks again; against real
//! `openssl s_server`s and a real server.

use crate::{
    certs::{scan, OpensslServer, Pki},
    Env,
};
use serde_json::Value;

#[tokio::test]
async fn ranges_are_swept_and_oversized_ones_refused() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    let (cert, key) = pki.leaf(env.dir.path(), "range", -1, 200);
    let tls = OpensslServer::start(&cert, &key);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let range = format!("127.0.0.1/32:{},{closed}", tls.1);
    let (code, stdout, stderr) = scan(&env, &["cert", "scan", "tls", &range, "-o", "json"]);
    assert_eq!(code, Some(1), "untrusted private CA: {stderr}");
    assert!(
        stderr.contains("1 swept endpoint(s) had nothing listening"),
        "{stderr}"
    );
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    let sources: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, [format!("127.0.0.1:{}", tls.1)]);
    // Ports for a bare range come from --ports; CSV streams one row per certificate.
    let (code, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "tls",
            "127.0.0.1/32",
            "--ports",
            &tls.1.to_string(),
            "-o",
            "csv",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    for (args, says) in [
        (
            vec!["cert", "scan", "tls", "10.0.0.0/8:443"],
            "at most 4096",
        ),
        (
            vec!["cert", "scan", "tls", "10.0.0.0/33"],
            "invalid address range",
        ),
        (
            vec!["cert", "scan", "tls", "10.0.0.0/30", "--ports", "0"],
            "--ports",
        ),
    ] {
        let (code, _, stderr) = scan(&env, &args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn assets_are_scanned_by_name_with_their_own_thresholds() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    // 100 days left: fine by the default thresholds, "expires soon" by the asset's 120.
    let (cert, key) = pki.leaf(env.dir.path(), "asset", -1, 100);
    let tls = OpensslServer::start(&cert, &key);
    env.ok(&[
        "asset", "add", "--name", "gw-01", "--kind", "host", "--tag", "edge",
    ]);
    let (code, _, stderr) = scan(&env, &["cert", "scan", "tls", "--asset", "gw-01"]);
    assert_eq!(code, Some(2), "no address yet: {stderr}");
    assert!(stderr.contains("no TLS address"), "{stderr}");
    let port = tls.1.to_string();
    let set = env.ok(&[
        "cert",
        "asset",
        "set",
        "gw-01",
        "--hostname",
        "localhost",
        "--address",
        "127.0.0.1",
        "--ports",
        &port,
        "-o",
        "json",
    ]);
    let set: Value = serde_json::from_str(&set).unwrap();
    assert_eq!(set[0]["hostname"], "localhost");
    assert_eq!(set[0]["thresholds"], Value::Null);
    let (_, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "tls",
            "--asset",
            "gw-01",
            "--ca-file",
            pki_file(&env, &pki).as_str(),
            "-o",
            "json",
        ],
    );
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["source"], format!("127.0.0.1:{port}"));
    assert_eq!(rows[0]["sni"], "localhost");
    assert!(rows[0]["problems"].as_array().unwrap().is_empty(), "{rows}");
    // The tag's thresholds apply to its assets; the scan now finds the certificate expiring.
    let tags = env.ok(&[
        "cert",
        "tag-thresholds",
        "edge",
        "--thresholds",
        "120,30",
        "-o",
        "json",
    ]);
    assert!(tags.contains("\"edge\""), "{tags}");
    let (code, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "tls",
            "--asset-tag",
            "edge",
            "--ca-file",
            pki_file(&env, &pki).as_str(),
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "info only: {stdout}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    let problems = rows[0]["problems"].to_string();
    assert!(
        problems.contains("expires-soon") && problems.contains("120-day"),
        "{problems}"
    );
    let listed = env.ok(&["cert", "asset", "list", "-o", "csv"]);
    assert!(
        listed.contains(&format!("gw-01,edge,localhost,127.0.0.1,{port},")),
        "{listed}"
    );
    let (code, _, stderr) = scan(&env, &["cert", "scan", "tls", "--asset", "nope"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no asset named"), "{stderr}");
}

fn pki_file(env: &Env, pki: &Pki) -> String {
    let path = env.dir.path().join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_scanned_directory_is_kept_for_rescans_on_the_server() {
    let env = Env::new(false).await;
    env.run(
        &[
            "user",
            "add",
            "--username",
            "walker",
            "--role",
            "operator",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    let token = env.run(
        &["token", "create", "--username", "walker", "--name", "cron"],
        "",
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let pki = Pki::new();
    let dir = env.dir.path().join("pki");
    std::fs::create_dir_all(&dir).unwrap();
    pki.leaf(&dir, "one", -1, 200);
    let server = env.serve();
    let base = server.url("").trim_end_matches('/').to_string();
    let out = env
        .command()
        .current_dir(env.dir.path())
        .args([
            "cert", "scan", "files", "pki", "--server", &base, "--token", &token, "-o", "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stored on"), "{stderr}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Stored with absolute paths, so the server can walk the directory again.
    assert!(
        rows[0]["source"].as_str().unwrap().starts_with('/'),
        "{rows}"
    );
    let targets: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/certificates/scan-targets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(targets[0]["kind"], "directory");
    assert_eq!(targets[0]["value"], dir.display().to_string());
}
