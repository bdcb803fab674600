//! Chains explained (issue 24 item 5) against real peers: `openssl s_server` sending the
//! leaf only, or an expired intermediate; a local HTTP server publishing the intermediate at
//! the leaf's AIA `caIssuers` URL as DER, PEM and PKCS#7 (made by `openssl crl2pkcs7`), and
//! hostile answers there (huge, silent, garbage), each a clear problem without a hang.

use crate::{
    fixtures::{openssl, TestCa},
    tls::{quick, OpensslServer},
};
use chrono::Utc;
use opsward_certs::{
    aia::{explain_chain, intermediates_of, IssuerFetcher},
    assess_endpoint, scan_endpoints, CertificateInfo, CheckContext, Finding, TrustStore,
};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use std::{path::Path, sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// What the local HTTP server answers at each path.
#[derive(Clone)]
struct Published {
    der: Vec<u8>,
    pem: Vec<u8>,
    pkcs7: Vec<u8>,
}

/// A plain HTTP/1.1 server on a free loopback port: `/int.der`, `/int.pem`, `/int.p7c`, and
/// hostile `/huge` (2 MiB, no length), `/slow` (never answers) and `/garbage`. Its URL.
async fn http_server(published: Published) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let published = Arc::new(published);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let published = published.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 2048];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body: Vec<u8> = match path.as_str() {
                    "/int.der" => published.der.clone(),
                    "/int.pem" => published.pem.clone(),
                    "/int.p7c" => published.pkcs7.clone(),
                    "/garbage" => b"<html>moved somewhere else</html>".to_vec(),
                    "/huge" => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                            .await;
                        let chunk = vec![0x30u8; 64 * 1024];
                        for _ in 0..32 {
                            if socket.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    "/slow" => {
                        // Holds the connection and says nothing until the client gives up.
                        let _ = socket.read(&mut [0u8; 1]).await;
                        return;
                    }
                    _ => Vec::new(),
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    url
}

struct Pki {
    dir: tempfile::TempDir,
    root: TestCa,
    intermediate: TestCa,
    trust: TrustStore,
    published: Published,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let root = TestCa::new("Explained Root");
    let intermediate = root.intermediate("Explained Intermediate");
    std::fs::write(dir.path().join("root.pem"), &root.pem).unwrap();
    std::fs::write(dir.path().join("int.pem"), &intermediate.pem).unwrap();
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&dir.path().join("root.pem")).unwrap();
    openssl(
        dir.path(),
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "int.pem",
            "-outform",
            "DER",
            "-out",
            "int.p7c",
        ],
    );
    let der = CertificateDer::from_pem_slice(intermediate.pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec();
    let published = Published {
        der,
        pem: intermediate.pem.clone().into_bytes(),
        pkcs7: std::fs::read(dir.path().join("int.p7c")).unwrap(),
    };
    Pki {
        dir,
        root,
        intermediate,
        trust,
        published,
    }
}

fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings[0].problems.iter().map(|p| p.code).collect()
}

/// Scan one `s_server` (leaf, plus `chain` if given) and explain its chain.
async fn scan_and_explain(
    pki: &Pki,
    cert: &Path,
    key: &Path,
    chain: Option<&Path>,
    fetcher: &IssuerFetcher,
) -> Vec<Finding> {
    let extra: Vec<&str> = match chain {
        Some(c) => vec!["-cert_chain", c.to_str().unwrap()],
        None => vec![],
    };
    let server = OpensslServer::start(cert, key, &extra);
    let reports = scan_endpoints(&[format!("localhost:{}", server.port)], &quick()).await;
    let mut findings = assess_endpoint(&reports[0], &pki.trust, &CheckContext::at(Utc::now()));
    assert!(!findings.is_empty(), "{:?}", reports[0].result);
    explain_chain(&mut findings, &[], fetcher, &pki.trust, Utc::now()).await;
    findings
}

fn quick_fetcher() -> IssuerFetcher {
    IssuerFetcher::new(Duration::from_secs(1), 64 * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_its_intermediate_is_told_to_send_it() {
    let pki = pki();
    let url = http_server(pki.published.clone()).await;
    let issued = pki
        .intermediate
        .issue_with_aia(&["localhost"], &format!("{url}/int.der"));
    let (cert, key) = issued.write(pki.dir.path(), "leaf");
    let findings = scan_and_explain(&pki, &cert, &key, None, &quick_fetcher()).await;
    assert_eq!(codes(&findings), ["missing-intermediate"]);
    let message = &findings[0].problems[0].message;
    assert!(
        message.contains("\"Explained Intermediate\"")
            && message.contains(&format!("{url}/int.der")),
        "{message}"
    );
    assert!(
        message.contains("send the certificate followed by the intermediate"),
        "{message}"
    );

    // Sent the intermediate, the same certificate has nothing wrong with its chain.
    let findings = scan_and_explain(
        &pki,
        &cert,
        &key,
        Some(&pki.dir.path().join("int.pem")),
        &quick_fetcher(),
    )
    .await;
    assert_eq!(codes(&findings), Vec::<&str>::new());

    // PEM and PKCS#7 at the URL serve as well as DER.
    for path in ["int.pem", "int.p7c"] {
        let leaf = leaf_for(&pki, &format!("{url}/{path}"));
        let (found, _) = quick_fetcher().missing_issuers(&[leaf], &[]).await;
        // Found; its own issuer (the root) is for the trust store to know.
        assert_eq!(found.len(), 1, "{path}");
        assert_eq!(
            found[0].certificate.subject_cn.as_deref(),
            Some("Explained Intermediate")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_another_server_sent_completes_the_chain_without_a_download() {
    let pki = pki();
    // No AIA at all: only the scan's other server can tell which intermediate is missing.
    let (cert, key) = pki
        .intermediate
        .issue_current(&["localhost"])
        .write(pki.dir.path(), "plain");
    let full = OpensslServer::start(
        &cert,
        &key,
        &[
            "-cert_chain",
            pki.dir.path().join("int.pem").to_str().unwrap(),
        ],
    );
    let bare = OpensslServer::start(&cert, &key, &[]);
    let targets = [
        format!("localhost:{}", full.port),
        format!("localhost:{}", bare.port),
    ];
    let reports = scan_endpoints(&targets, &quick()).await;
    let pool = intermediates_of(
        reports
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .map(Vec::as_slice),
    );
    assert_eq!(pool.len(), 1);
    let mut findings = assess_endpoint(&reports[1], &pki.trust, &CheckContext::at(Utc::now()));
    assert_eq!(codes(&findings), ["untrusted-chain"]);
    explain_chain(
        &mut findings,
        &pool,
        &quick_fetcher(),
        &pki.trust,
        Utc::now(),
    )
    .await;
    assert_eq!(codes(&findings), ["missing-intermediate"]);
    assert!(findings[0].problems[0]
        .message
        .contains("other servers of this scan"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_nobody_trusts_and_an_expired_intermediate_are_their_own_problems() {
    let pki = pki();
    // Issued by a CA in no trust store, and no AIA to look further.
    let stranger = TestCa::new("Stranger CA");
    let (cert, key) = stranger
        .issue_current(&["localhost"])
        .write(pki.dir.path(), "stranger");
    let findings = scan_and_explain(&pki, &cert, &key, None, &quick_fetcher()).await;
    assert_eq!(codes(&findings), ["untrusted-chain"]);
    let message = &findings[0].problems[0].message;
    assert!(
        message.contains("issued by a CA nobody trusts (Stranger CA)"),
        "{message}"
    );
    assert!(message.contains("names no caIssuers URL"), "{message}");

    // The server sends an intermediate that expired yesterday (the leaf is still current).
    let old = pki
        .root
        .intermediate_around_now("Retired Intermediate", -400, -1);
    std::fs::write(pki.dir.path().join("old.pem"), &old.pem).unwrap();
    let (cert, key) = old
        .issue_around_now(&["localhost"], -30, 60)
        .write(pki.dir.path(), "under-old");
    let findings = scan_and_explain(
        &pki,
        &cert,
        &key,
        Some(&pki.dir.path().join("old.pem")),
        &quick_fetcher(),
    )
    .await;
    assert_eq!(codes(&findings), ["expired-intermediate"]);
    assert!(findings[0].problems[0]
        .message
        .contains("\"Retired Intermediate\", which expired on"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_aia_endpoint_gives_a_clear_problem_and_no_hang() {
    let pki = pki();
    let url = http_server(pki.published.clone()).await;
    let closed = format!("http://127.0.0.1:{}/int.der", crate::tls::free_port());
    let fetcher = quick_fetcher();
    for (target, expected) in [
        (format!("{url}/huge"), "larger than 65536 bytes"),
        (format!("{url}/slow"), "no answer within 1s"),
        (format!("{url}/garbage"), "not a certificate, PEM or PKCS#7"),
        (closed.clone(), "could not be used"),
    ] {
        let leaf = leaf_for(&pki, &target);
        let (found, why) = fetcher
            .missing_issuers(std::slice::from_ref(&leaf), &[])
            .await;
        assert!(found.is_empty(), "{target}");
        let problem =
            opsward_certs::chain::check_chain_with(&[leaf], &pki.trust, &found, &why, Utc::now())
                .unwrap();
        assert_eq!(problem.code, "untrusted-chain", "{target}");
        assert!(
            problem.message.contains(expected) && problem.message.contains(&target),
            "{target}: {}",
            problem.message
        );
    }
}

fn leaf_for(pki: &Pki, url: &str) -> CertificateInfo {
    let leaf = pki.intermediate.issue_with_aia(&["localhost"], url);
    CertificateInfo::from_der(
        CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes())
            .unwrap()
            .as_ref(),
    )
    .unwrap()
}
