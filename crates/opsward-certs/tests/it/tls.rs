use crate::fixtures::{openssl_fingerprint_and_end, openssl_self_signed, TestCa};
use opsward_certs::{
    assess_endpoint, scan_endpoints, CheckContext, EndpointReport, Finding, ScanOptions, StartTls,
    TrustStore,
};
use std::{
    net::{IpAddr, SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// `openssl s_server` on a free port, killed on drop.
pub struct OpensslServer {
    child: Child,
    pub port: u16,
}

impl OpensslServer {
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> Self {
        Self::start_on(IpAddr::from([127, 0, 0, 1]), cert, key, extra)
    }

    pub fn start_on(ip: IpAddr, cert: &Path, key: &Path, extra: &[&str]) -> Self {
        let port = TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_at(ip, port, cert, key, extra)
    }

    /// On 127.0.0.1:`port`, e.g. to replace a stopped server with one serving another chain.
    pub fn start_on_port(port: u16, cert: &Path, key: &Path) -> Self {
        Self::start_at(IpAddr::from([127, 0, 0, 1]), port, cert, key, &[])
    }

    /// On `ip`:`port`, e.g. two servers on one port of two loopback addresses.
    pub fn start_at(ip: IpAddr, port: u16, cert: &Path, key: &Path, extra: &[&str]) -> Self {
        let accept = SocketAddr::from((ip, port)).to_string();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &accept, "-cert"])
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed");
        let server = OpensslServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((ip, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "openssl s_server did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn quick() -> ScanOptions {
    ScanOptions {
        connect_timeout: Duration::from_secs(2),
        handshake_timeout: Duration::from_secs(2),
        ..ScanOptions::default()
    }
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings[0].problems.iter().map(|p| p.code).collect()
}

fn assess(report: &EndpointReport, trust: &TrustStore) -> Vec<Finding> {
    assert!(
        report.result.is_ok(),
        "{}: {:?}",
        report.target,
        report.result
    );
    assess_endpoint(report, trust, &CheckContext::at(chrono::Utc::now()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_openssl_servers_and_judges_their_chains() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("scan CA");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&ca_file).unwrap();

    let (good_cert, good_key) = ca
        .issue_current(&["localhost", "127.0.0.1"])
        .write(dir.path(), "good");
    let (expired_cert, expired_key) = ca
        .issue(&["localhost"], (2020, 1, 1), (2021, 1, 1))
        .write(dir.path(), "expired");
    let (future_cert, future_key) = ca
        .issue(&["localhost"], (2099, 1, 1), (2099, 6, 1))
        .write(dir.path(), "future");
    let (other_cert, other_key) = ca.issue_current(&["other.test"]).write(dir.path(), "other");
    let (wild_cert, wild_key) = ca.issue_current(&["*.localhost"]).write(dir.path(), "wild");
    let good = OpensslServer::start(&good_cert, &good_key, &[]);
    let expired = OpensslServer::start(&expired_cert, &expired_key, &[]);
    let future = OpensslServer::start(&future_cert, &future_key, &[]);
    let other = OpensslServer::start(&other_cert, &other_key, &[]);
    let wild = OpensslServer::start(&wild_cert, &wild_key, &[]);

    let targets = vec![
        format!("localhost:{}", good.port),
        format!("127.0.0.1:{}", good.port),
        format!("localhost:{}", expired.port),
        format!("localhost:{}", future.port),
        format!("localhost:{}", other.port),
        format!("localhost:{}", wild.port),
    ];
    let reports = scan_endpoints(&targets, &quick()).await;
    assert_eq!(reports.len(), targets.len());

    let by_name = assess(&reports[0], &trust);
    assert_eq!(codes(&by_name), Vec::<&str>::new(), "{by_name:#?}");
    let (fingerprint, not_after) = openssl_fingerprint_and_end(dir.path(), &good_cert);
    assert_eq!(by_name[0].certificate.fingerprint_sha256, fingerprint);
    assert_eq!(by_name[0].certificate.not_after, not_after);
    let by_ip = assess(&reports[1], &trust);
    assert!(by_ip[0].problems.is_empty(), "{:?}", by_ip[0].problems);
    assert!(matches!(
        &by_ip[0].sighting.source,
        opsward_certs::Source::Endpoint { sni: None, .. }
    ));

    assert_eq!(codes(&assess(&reports[2], &trust)), ["expired"]);
    assert_eq!(codes(&assess(&reports[3], &trust)), ["not-yet-valid"]);
    assert_eq!(codes(&assess(&reports[4], &trust)), ["hostname-mismatch"]);
    // `*.localhost` covers a.localhost, not localhost itself.
    assert_eq!(codes(&assess(&reports[5], &trust)), ["hostname-mismatch"]);

    // Without the private CA the same good chain is untrusted, with webpki's reason.
    let untrusted = assess(&reports[0], &TrustStore::public_roots());
    assert_eq!(codes(&untrusted), ["untrusted-chain"]);
    assert!(untrusted[0].problems[0].message.contains("UnknownIssuer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_key_and_sha1_signature_are_seen_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_self_signed(dir.path(), "weak", "rsa:1024", "sha1", "localhost");
    // Security level 0 lets OpenSSL 3 serve what it would otherwise refuse to.
    let server = OpensslServer::start(&cert, &key, &["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let reports = scan_endpoints(&[format!("localhost:{}", server.port)], &quick()).await;
    let findings = assess(&reports[0], &TrustStore::public_roots());
    let cert = &findings[0].certificate;
    assert_eq!(cert.key, opsward_certs::KeyType::Rsa { bits: 1024 });
    assert_eq!(cert.signature_algorithm, "sha1WithRSAEncryption");
    let mut found = codes(&findings);
    found.sort();
    // And at that level it still speaks TLS 1.0.
    assert_eq!(
        found,
        ["old-protocol", "self-signed", "weak-key", "weak-signature"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_starttls_chain_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("smtp CA");
    let leaf = ca.issue_current(&["localhost"]);
    let (cert_path, _) = leaf.write(dir.path(), "smtp");
    let server = crate::smtp_server::SmtpStarttlsServer::start(&leaf).await;
    let target = format!("localhost:{}", server.port);

    let mut options = quick();
    options.starttls = StartTls::Smtp;
    let reports = scan_endpoints(std::slice::from_ref(&target), &options).await;
    let chain = reports[0].result.as_ref().expect("STARTTLS scan");
    let (fingerprint, _) = openssl_fingerprint_and_end(dir.path(), &cert_path);
    assert_eq!(chain[0].fingerprint_sha256, fingerprint);

    // Without STARTTLS the ClientHello meets an SMTP banner: a clear error, no hang.
    options.starttls = StartTls::None;
    let plain = scan_endpoints(&[target], &options).await;
    let error = plain[0].result.as_ref().unwrap_err().to_string();
    assert!(error.contains("TLS handshake failed"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_targets_use_ip_sans_and_no_sni() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("v6 CA");
    let (cert, key) = ca.issue_current(&["::1"]).write(dir.path(), "v6");
    let server = OpensslServer::start_on("::1".parse().unwrap(), &cert, &key, &[]);
    let target = format!("[::1]:{}", server.port);
    let reports = scan_endpoints(std::slice::from_ref(&target), &quick()).await;
    let mut trust = TrustStore::public_roots();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    trust.add_pem_file(&ca_file).unwrap();
    let findings = assess(&reports[0], &trust);
    assert_eq!(
        findings[0].certificate.san_ip,
        ["::1".parse::<IpAddr>().unwrap()]
    );
    assert!(
        findings[0].problems.is_empty(),
        "{:?}",
        findings[0].problems
    );
    assert_eq!(
        findings[0].sighting.source,
        opsward_certs::Source::Endpoint {
            address: target,
            sni: None
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_omits_its_intermediate_has_an_incomplete_chain() {
    let dir = tempfile::tempdir().unwrap();
    let root = TestCa::new("root CA");
    let intermediate = root.intermediate("intermediate CA");
    let (cert, key) = intermediate
        .issue_current(&["localhost"])
        .write(dir.path(), "leaf");
    let chain_file = dir.path().join("intermediate.pem");
    std::fs::write(&chain_file, &intermediate.pem).unwrap();
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, &root.pem).unwrap();
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&root_file).unwrap();

    let leaf_only = OpensslServer::start(&cert, &key, &[]);
    let full = OpensslServer::start(&cert, &key, &["-cert_chain", chain_file.to_str().unwrap()]);
    let targets = [
        format!("localhost:{}", leaf_only.port),
        format!("localhost:{}", full.port),
    ];
    let reports = scan_endpoints(&targets, &quick()).await;

    let incomplete = assess(&reports[0], &trust);
    assert_eq!(incomplete.len(), 1);
    assert_eq!(codes(&incomplete), ["untrusted-chain"]);

    let complete = assess(&reports[1], &trust);
    assert_eq!(complete.len(), 2);
    assert!(
        complete[0].problems.is_empty(),
        "{:?}",
        complete[0].problems
    );
    assert_eq!(complete[1].sighting.chain_position, 1);
    assert_eq!(
        complete[1].certificate.subject_cn.as_deref(),
        Some("intermediate CA")
    );
    assert!(complete[1].certificate.is_ca && !complete[1].certificate.self_signed);
}
