//! Revocation by CRL against real peers: a CRL made by `openssl ca -gencrl` served by a
//! local HTTP server (`python3 -m http.server`), chains served by `openssl s_server`.

use crate::tls::{quick, OpensslServer};
use opsward_certs::{
    assess_endpoint,
    revocation::{revoked_at, CrlChecker, RevocationError},
    scan_endpoints, CertificateInfo, CheckContext, TrustStore,
};
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DnType, IsCa, Issuer, KeyPair,
    SerialNumber,
};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// `python3 -m http.server` serving `dir` on a free loopback port, killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> HttpServer {
        let port = crate::tls::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
}

/// A CA written as `NAME.crt`/`NAME.key`, and a CRL from it (by `openssl ca -gencrl`, DER)
/// revoking `revoked_serial`, as `NAME.crl`.
fn ca_with_crl(dir: &Path, name: &str, revoked_serial: &[u8]) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, format!("{name} CA"));
    let key = KeyPair::generate().unwrap();
    std::fs::write(
        dir.join(format!("{name}.crt")),
        p.self_signed(&key).unwrap().pem(),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    let serial: String = revoked_serial.iter().map(|b| format!("{b:02X}")).collect();
    std::fs::write(
        dir.join(format!("{name}.index")),
        format!(
            "R\t301231000000Z\t250101000000Z,keyCompromise\t{serial}\tunknown\t/CN=revoked.test\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.crlnumber")), "01\n").unwrap();
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {name}.index\ncrlnumber = {name}.crlnumber\n\
             default_md = sha256\ndefault_crl_days = 30\n"
        ),
    )
    .unwrap();
    let (cnf, crt, k, pem) = (
        format!("{name}.cnf"),
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.crl.pem"),
    );
    openssl(
        dir,
        &[
            "ca", "-gencrl", "-config", &cnf, "-cert", &crt, "-keyfile", &k, "-out", &pem,
        ],
    );
    openssl(
        dir,
        &[
            "crl",
            "-in",
            &pem,
            "-outform",
            "DER",
            "-out",
            &format!("{name}.crl"),
        ],
    );
    Ca {
        issuer: Issuer::new(p, key),
    }
}

/// A leaf for localhost with `serial`, naming `crl_url`, written as `NAME.crt` (leaf then
/// CA) and `NAME.key`.
fn leaf(dir: &Path, ca: &Ca, ca_name: &str, name: &str, serial: &[u8], crl_url: &str) {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.serial_number = Some(SerialNumber::from(serial.to_vec()));
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![crl_url.to_string()],
    }];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    let chain = format!(
        "{}{}",
        cert.pem(),
        std::fs::read_to_string(dir.join(format!("{ca_name}.crt"))).unwrap()
    );
    std::fs::write(dir.join(format!("{name}.crt")), chain).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

async fn codes_of(dir: &Path, name: &str, checker: &CrlChecker) -> Vec<&'static str> {
    let ca = dir.join("corp.crt");
    let server = OpensslServer::start(
        &dir.join(format!("{name}.crt")),
        &dir.join(format!("{name}.key")),
        &["-cert_chain", ca.to_str().unwrap()],
    );
    let reports = scan_endpoints(&[format!("localhost:{}", server.port)], &quick()).await;
    let mut findings = assess_endpoint(
        &reports[0],
        &TrustStore::public_roots(),
        &CheckContext::at(chrono::Utc::now()),
    );
    assert_eq!(findings.len(), 2, "leaf and CA presented");
    checker.annotate(&mut findings).await;
    findings[0].problems.iter().map(|p| p.code).collect()
}

#[tokio::test]
async fn a_certificate_listed_in_its_crl_is_revoked_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_with_crl(dir.path(), "corp", &[0x10, 0x01]);
    let other = ca_with_crl(dir.path(), "other", &[0x10, 0x02]);
    let http = HttpServer::start(dir.path());
    let url = format!("http://127.0.0.1:{}/corp.crl", http.port);
    leaf(dir.path(), &ca, "corp", "bad", &[0x10, 0x01], &url);
    leaf(dir.path(), &ca, "corp", "good", &[0x10, 0x03], &url);
    // Serial 10:02 is revoked by the other CA's CRL, which the corp CA did not sign.
    let foreign = format!("http://127.0.0.1:{}/other.crl", http.port);
    leaf(dir.path(), &ca, "corp", "foreign", &[0x10, 0x02], &foreign);
    drop(other);

    let checker = CrlChecker::new(Duration::from_secs(3), 1 << 20);
    assert!(codes_of(dir.path(), "bad", &checker)
        .await
        .contains(&"revoked"));
    assert!(!codes_of(dir.path(), "good", &checker)
        .await
        .contains(&"revoked"));
    assert!(!codes_of(dir.path(), "foreign", &checker)
        .await
        .contains(&"revoked"));

    // The same CRL read directly: listed, with openssl's revocation date; the other CA's
    // CRL is refused for not being signed by this issuer.
    let bad_pem = std::fs::read(dir.path().join("bad.crt")).unwrap();
    let certs: Vec<CertificateInfo> =
        opsward_certs::files::parse_certificate_file("bad.crt".into(), &bad_pem).certificates;
    let crl = checker.fetch(&url).await.unwrap();
    let at = revoked_at(&url, &crl, &certs[0], &certs[1])
        .unwrap()
        .unwrap();
    assert_eq!(at.format("%Y-%m-%d").to_string(), "2025-01-01");
    let other_crl = std::fs::read(dir.path().join("other.crl")).unwrap();
    assert!(matches!(
        revoked_at(&foreign, &other_crl, &certs[0], &certs[1]),
        Err(RevocationError::NotFromIssuer { .. })
    ));
    // A PEM CRL reads the same.
    let pem = std::fs::read(dir.path().join("corp.crl.pem")).unwrap();
    assert!(revoked_at(&url, &pem, &certs[0], &certs[1])
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn crl_fetches_are_bounded_in_size_and_time() {
    let dir = tempfile::tempdir().unwrap();
    ca_with_crl(dir.path(), "big", &[0x01]);
    std::fs::write(dir.path().join("huge.crl"), vec![0u8; 300_000]).unwrap();
    let http = HttpServer::start(dir.path());
    let small = CrlChecker::new(Duration::from_secs(3), 100_000);
    let url = format!("http://127.0.0.1:{}/huge.crl", http.port);
    assert!(matches!(
        small.fetch(&url).await,
        Err(RevocationError::TooLarge { .. })
    ));
    let missing = format!("http://127.0.0.1:{}/missing.crl", http.port);
    assert!(matches!(
        small.fetch(&missing).await,
        Err(RevocationError::Fetch { .. })
    ));
    // A server that accepts and never answers costs the timeout, no more.
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slow.crl", tarpit.local_addr().unwrap());
    let quick_checker = CrlChecker::new(Duration::from_millis(800), 100_000);
    let started = Instant::now();
    let result = quick_checker.fetch(&url).await;
    assert!(result.is_err(), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
