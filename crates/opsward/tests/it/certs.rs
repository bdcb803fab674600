//! `opsward cert scan ...`: exit codes 0/1/2 and JSON output, against real files and a real
//! `openssl s_server`; no database is opened.

use crate::Env;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Pki {
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "cli test CA");
        let key = KeyPair::generate().unwrap();
        Pki {
            ca_pem: p.self_signed(&key).unwrap().pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A `localhost` leaf valid from `days_from` to `days_to` days from now; writes
    /// `name.crt` and `name.key` into `dir`.
    pub fn leaf(&self, dir: &Path, name: &str, days_from: i64, days_to: i64) -> (PathBuf, PathBuf) {
        let mut p = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, "localhost");
        let at = |days: i64| {
            rcgen::date_time_ymd(1970, 1, 1)
                + Duration::from_secs((chrono::Utc::now().timestamp() + days * 86_400) as u64)
        };
        p.not_before = at(days_from);
        p.not_after = at(days_to);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

pub fn scan(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let out = env.run(args, "");
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn file_scan_exit_codes_and_json() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    let (good, _) = pki.leaf(env.dir.path(), "good", -1, 60);
    let (expired, _) = pki.leaf(env.dir.path(), "expired", -100, -10);

    let (code, stdout, stderr) = scan(
        &env,
        &[
            "cert",
            "scan",
            "files",
            good.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["subject"], "localhost");
    assert_eq!(rows[0]["issuer"], "cli test CA");
    assert_eq!(rows[0]["problems"], serde_json::json!([]));
    assert!((58..=60).contains(&rows[0]["days_left"].as_i64().unwrap()));
    assert_eq!(rows[0]["fingerprint_sha256"].as_str().unwrap().len(), 64);

    let (code, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "files",
            expired.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["severity"], "critical");
    assert!(rows[0]["problems"][0]
        .as_str()
        .unwrap()
        .starts_with("critical expired:"));

    let missing = env.dir.path().join("missing.pem");
    let (code, stdout, _) = scan(&env, &["cert", "scan", "files", missing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "an unreadable file is a finding: {stdout}");
    assert!(stdout.contains("error: cannot read"), "{stdout}");

    let (code, _, _) = scan(&env, &["cert", "scan", "files"]);
    assert_eq!(code, Some(2));
    assert!(
        !env.dir.path().join("data").exists(),
        "cert scans must not create or open the database"
    );
}

/// The CSV of a file scan is the JSON's rows in the table's columns (lists joined by `;`,
/// missing values empty), quoted where a field holds a comma or a quote, in walk order:
/// a bundle, an expiring and an expired leaf, a self-signed leaf, a name with a comma and
/// quotes, a subject with both, a broken PEM file, and the same certificate in two files.
#[tokio::test]
async fn file_scan_csv_is_the_json_in_columns() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    let dir = env.dir.path().join("certs");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let (good, _) = pki.leaf(&dir, "good", -1, 60);
    pki.leaf(&dir, "soon", -80, 10);
    pki.leaf(&dir, "expired", -100, -10);
    let good_pem = std::fs::read_to_string(&good).unwrap();
    std::fs::write(dir.join("sub/copy.pem"), &good_pem).unwrap();
    std::fs::write(
        dir.join("sub/bundle.pem"),
        format!("leaf and CA\r\n{good_pem}{}", pki.ca_pem),
    )
    .unwrap();
    std::fs::write(dir.join("we,ird \"name\".pem"), &good_pem).unwrap();
    let mut p = CertificateParams::new(vec!["acme.test".to_owned()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "Acme, \"Ops\" Ltd");
    let key = KeyPair::generate().unwrap();
    std::fs::write(
        dir.join("acme.crt"),
        p.signed_by(&key, &pki.issuer).unwrap().pem(),
    )
    .unwrap();
    std::fs::write(dir.join("self.crt"), p.self_signed(&key).unwrap().pem()).unwrap();
    std::fs::write(
        dir.join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let target = dir.to_str().unwrap();

    let (json_code, json, stderr) = scan(&env, &["cert", "scan", "files", target, "-o", "json"]);
    assert_eq!(json_code, Some(1), "{json}{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    // 8 certificate files (the bundle gives two rows) and one broken file; the keys are
    // skipped without a row.
    assert_eq!(rows.len(), 10, "{json}");
    let (csv_code, csv, stderr) = scan(&env, &["cert", "scan", "files", target, "-o", "csv"]);
    assert_eq!(csv_code, json_code, "{stderr}");

    let columns = [
        "source",
        "subject",
        "not_after",
        "days_left",
        "issuer",
        "problems",
    ];
    let cell = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    let mut expected = csv::Writer::from_writer(Vec::new());
    expected.write_record(columns).unwrap();
    for row in &rows {
        expected
            .write_record(columns.iter().map(|c| cell(&row[*c])))
            .unwrap();
    }
    let expected = String::from_utf8(expected.into_inner().unwrap()).unwrap();
    assert_eq!(csv, expected);

    // The same by hand for the rows whose fields need quoting.
    let acme = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("acme.crt"))
        .unwrap();
    assert!(
        csv.contains(&format!(
            "\n{},\"Acme, \"\"Ops\"\" Ltd\",{},{},cli test CA,warning long-validity: valid for ",
            acme["source"].as_str().unwrap(),
            acme["not_after"].as_str().unwrap(),
            acme["days_left"]
        )),
        "{csv}"
    );
    assert!(csv.contains(&format!(
        "\n\"{}/we,ird \"\"name\"\".pem\",localhost,",
        target
    )));
    let soon = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("soon.crt"))
        .unwrap();
    assert_eq!(soon["severity"], "warning");
    assert!(csv.contains(",\"warning expires-soon: expires "), "{csv}");
    let broken = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("broken.pem"))
        .unwrap();
    assert_eq!(broken["kind"], "file");
    assert!(broken["error"].as_str().is_some(), "{broken}");
    let selfsigned = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("self.crt"))
        .unwrap();
    assert_eq!(selfsigned["self_signed"], true);
    assert!(selfsigned["problems"][0]
        .as_str()
        .unwrap()
        .starts_with("warning self-signed:"));
    // The copies of one certificate differ only in where they were found.
    let good = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("good.crt"))
        .unwrap();
    let copies: Vec<&Value> = rows
        .iter()
        .filter(|r| r["fingerprint_sha256"] == good["fingerprint_sha256"])
        .collect();
    assert_eq!(copies.len(), 4, "{json}");
    for copy in &copies {
        let mut a = (*copy).clone();
        let mut b = copies[0].clone();
        for field in ["source", "chain_position"] {
            a[field] = Value::Null;
            b[field] = Value::Null;
        }
        assert_eq!(a, b);
    }
    // The bundle's CA is its second certificate and is judged as a CA, not a leaf.
    let ca = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("bundle.pem") && r["chain_position"] == 1)
        .unwrap();
    assert_eq!(
        (ca["is_ca"].clone(), ca["subject"].clone()),
        (Value::Bool(true), Value::from("cli test CA"))
    );
}

/// `openssl s_server` on a free port, killed on drop.
pub struct OpensslServer(Child, pub u16);

impl OpensslServer {
    pub fn start(cert: &Path, key: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &port.to_string(),
                "-cert",
            ])
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = OpensslServer(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn tls_scan_exit_codes_and_table() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    let (cert, key) = pki.leaf(env.dir.path(), "server", -1, 60);
    let ca_file = env.write("ca.pem", &pki.ca_pem);
    let server = OpensslServer::start(&cert, &key);
    let target = format!("localhost:{}", server.1);
    let ca = ca_file.to_str().unwrap();

    let (code, stdout, stderr) = scan(&env, &["cert", "scan", "tls", &target, "--ca-file", ca]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let header = stdout.lines().next().unwrap();
    for column in [
        "SOURCE",
        "SUBJECT",
        "NOT_AFTER",
        "DAYS_LEFT",
        "ISSUER",
        "PROBLEMS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(stdout.contains(&target), "{stdout}");

    // The same endpoint without the private CA: an untrusted chain is a problem.
    let (code, stdout, _) = scan(&env, &["cert", "scan", "tls", &target, "-o", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert!(rows[0]["problems"][0]
        .as_str()
        .unwrap()
        .contains("untrusted-chain"));

    let closed = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let (code, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "tls",
            &closed,
            &target,
            "--ca-file",
            ca,
            "--timeout",
            "2",
            "-o",
            "csv",
        ],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.starts_with("source,subject,not_after,days_left,issuer,problems"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 3, "{stdout}");

    for usage in [
        vec!["cert", "scan", "tls", "::1:443"],
        vec![
            "cert",
            "scan",
            "tls",
            &target,
            "--ca-file",
            "/nonexistent/ca.pem",
        ],
        vec!["cert", "scan", "tls", &target, "--starttls", "gopher"],
        vec!["cert", "scan", "tls"],
    ] {
        let (code, _, stderr) = scan(&env, &usage);
        assert_eq!(code, Some(2), "{usage:?}: {stderr}");
    }
}

/// Results stored on a server through its API (`--server`, token from OPSWARD_TOKEN), then
/// listed from the server and from the database, with the list's exit codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_stored_on_a_server_are_listed() {
    let env = Env::new(false).await;
    let added = env.run(
        &[
            "user",
            "add",
            "--username",
            "scanner",
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
    let token = env.run(
        &["token", "create", "--username", "scanner", "--name", "cron"],
        "",
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let pki = Pki::new();
    let (cert, key) = pki.leaf(env.dir.path(), "server", -1, 200);
    let (soon, _) = pki.leaf(env.dir.path(), "soon", -80, 10);
    let tls = OpensslServer::start(&cert, &key);
    let target = format!("localhost:{}", tls.1);
    let server = env.serve();
    let base = server.url("").trim_end_matches('/').to_string();

    let out = env
        .command()
        .args([
            "cert", "scan", "tls", &target, "--server", &base, "-o", "json",
        ])
        .env("OPSWARD_TOKEN", &token)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Untrusted (a private CA): a problem, and stored all the same.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stored on") && stderr.contains("1 new certificates"),
        "{stderr}"
    );
    let out = env
        .command()
        .args([
            "cert",
            "scan",
            "files",
            soon.to_str().unwrap(),
            "--server",
            &base,
            "--token",
            &token,
        ])
        .output()
        .unwrap();
    // The task is opened by this upload or by the server's scheduler, whichever is first.
    assert!(String::from_utf8_lossy(&out.stderr).contains("renewal tasks opened"));

    let (code, stdout, stderr) = scan(
        &env,
        &[
            "cert", "list", "--server", &base, "--token", &token, "-o", "json",
        ],
    );
    assert_eq!(
        code,
        Some(1),
        "an untrusted chain needs attention: {stdout}{stderr}"
    );
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["subject"], "localhost", "soonest expiry first");
    assert!((9..=10).contains(&rows[0]["days_left"].as_i64().unwrap()));
    let (fingerprint, _) = (rows[1]["fingerprint_sha256"].as_str().unwrap(), ());
    let expected = crate::certs::openssl_sha256(&cert);
    assert_eq!(fingerprint, expected);
    assert!(rows[1]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().contains("untrusted-chain")));

    // The same from the database, filtered; CSV has the documented columns.
    let (code, stdout, _) = scan(
        &env,
        &["cert", "list", "--expiring-within", "30d", "-o", "csv"],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.starts_with("id,subject,issuer,not_after,days_left,places,owner_team_id,problems\n"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let (code, stdout, _) = scan(
        &env,
        &["cert", "list", "--expiring-within", "1d", "-o", "json"],
    );
    assert_eq!((code, stdout.trim()), (Some(0), "[]"));
    let (code, _, _) = scan(&env, &["cert", "list", "--problem", "no-such-problem"]);
    assert_eq!(code, Some(0));

    for usage in [
        vec!["cert", "list", "--expiring-within", "3m"],
        vec!["cert", "list", "--owner", "nobody"],
        vec!["cert", "list", "--server", &base],
    ] {
        let (code, _, stderr) = scan(&env, &usage);
        assert_eq!(code, Some(2), "{usage:?}: {stderr}");
    }
    drop(server);
}

/// `openssl x509 -fingerprint -sha256` of a PEM file, lower-case hex without colons.
pub fn openssl_sha256(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .split_once('=')
        .unwrap()
        .1
        .replace(':', "")
        .to_ascii_lowercase()
}

/// PKCS#12 archives open with a password from --password-file; without it the file is an
/// error row (exit code 1) and the other files are still read.
#[tokio::test]
async fn pkcs12_passwords_come_from_a_file() {
    let env = Env::new(false).await;
    let pki = Pki::new();
    let (crt, key) = pki.leaf(env.dir.path(), "web", -1, 90);
    let p12 = env.dir.path().join("web.p12");
    let out = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:hunter22", "-in"])
        .arg(&crt)
        .arg("-inkey")
        .arg(&key)
        .arg("-out")
        .arg(&p12)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwords = env.write("passwords.txt", "first-guess\nhunter22\n");
    let (code, stdout, stderr) = scan(
        &env,
        &[
            "cert",
            "scan",
            "files",
            p12.to_str().unwrap(),
            "--password-file",
            passwords.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        rows[0]["fingerprint_sha256"],
        crate::certs::openssl_sha256(&crt)
    );
    let (code, stdout, _) = scan(
        &env,
        &[
            "cert",
            "scan",
            "files",
            p12.to_str().unwrap(),
            crt.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(1));
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{stdout}");
    assert!(
        stdout.contains("no password opens this PKCS#12 archive") && !stdout.contains("hunter22"),
        "{stdout}"
    );
}
