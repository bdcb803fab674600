//! The old-protocol probe against real `openssl s_server`s that speak only TLS 1.0, only
//! TLS 1.1, TLS 1.0 to 1.3, and TLS 1.2+ only (which must not be flagged); and against hostile
//! peers (garbage, an immediate close, silence), each a clear error within the timeout.

use crate::{
    fixtures::TestCa,
    tls::{quick, OpensslServer},
};
use opsward_certs::{
    assess_endpoint,
    protocols::{probe, probe_legacy, LegacyVersion, ProbeError, Verdict},
    scan_endpoints, CheckContext, ScanOptions, Target, TrustStore,
};
use std::time::Duration;
use tokio::{io::AsyncWriteExt, net::TcpListener, task::JoinHandle};

const LEGACY: [&str; 2] = ["-cipher", "DEFAULT:@SECLEVEL=0"];

fn target(port: u16) -> Target {
    Target::parse(&format!("localhost:{port}")).unwrap()
}

fn accepted(result: &Result<Verdict, ProbeError>) -> bool {
    matches!(result, Ok(Verdict::Accepted { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_versions_are_found_where_openssl_accepts_them_and_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = TestCa::new("probe CA")
        .issue_current(&["localhost"])
        .write(dir.path(), "leaf");
    let tls10 = OpensslServer::start(&cert, &key, &[&["-tls1"][..], &LEGACY[..]].concat());
    let tls11 = OpensslServer::start(&cert, &key, &[&["-tls1_1"][..], &LEGACY[..]].concat());
    let modern = OpensslServer::start(&cert, &key, &["-min_protocol", "TLSv1.2"]);
    let options = quick();

    let on_10 = probe_legacy(&target(tls10.port), &options).await;
    assert_eq!(on_10[0].version, LegacyVersion::Tls10);
    match &on_10[0].result {
        Ok(Verdict::Accepted { chain, .. }) => {
            let leaf = opsward_certs::CertificateInfo::from_der(&chain[0]).unwrap();
            assert_eq!(leaf.san_dns, ["localhost"], "the chain read in the clear");
        }
        other => panic!("TLS 1.0 on a TLS 1.0 server: {other:?}"),
    }
    // Offered TLS 1.1, a TLS 1.0 server answers with its newest version: not 1.1.
    assert!(
        matches!(&on_10[1].result, Ok(Verdict::Refused { reason }) if reason == "the server answered with TLSv1.0"),
        "{:?}",
        on_10[1].result
    );

    // Offered TLS 1.0, a TLS 1.1-only server refuses with an alert.
    let on_11 = probe_legacy(&target(tls11.port), &options).await;
    assert!(
        matches!(&on_11[0].result, Ok(Verdict::Refused { reason }) if reason.starts_with("alert ")),
        "{:?}",
        on_11[0].result
    );
    assert!(accepted(&on_11[1].result), "{:?}", on_11[1].result);

    for check in probe_legacy(&target(modern.port), &options).await {
        assert!(
            matches!(check.result, Ok(Verdict::Refused { .. })),
            "{}: {:?}",
            check.version,
            check.result
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_reports_old_protocols_as_a_problem_of_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("scan CA");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let mut trust = TrustStore::public_roots();
    trust.add_pem_file(&ca_file).unwrap();
    let (cert, key) = ca.issue_current(&["localhost"]).write(dir.path(), "leaf");
    // TLS 1.0 to 1.3: rustls gets the chain, the probe finds 1.0 (and perhaps 1.1) accepted.
    let wide = OpensslServer::start(
        &cert,
        &key,
        &[&["-min_protocol", "TLSv1"][..], &LEGACY[..]].concat(),
    );
    // Only TLS 1.0: rustls cannot talk to it, the probe reads the chain.
    let only_10 = OpensslServer::start(&cert, &key, &[&["-tls1"][..], &LEGACY[..]].concat());
    let modern = OpensslServer::start(&cert, &key, &[]);
    let targets: Vec<String> = [wide.port, only_10.port, modern.port]
        .iter()
        .map(|p| format!("localhost:{p}"))
        .collect();
    let reports = scan_endpoints(&targets, &quick()).await;
    let ctx = CheckContext::at(chrono::Utc::now());
    let problems: Vec<Vec<(String, String)>> = reports
        .iter()
        .map(|r| {
            assert!(r.result.is_ok(), "{}: {:?}", r.target, r.result);
            assess_endpoint(r, &trust, &ctx)[0]
                .problems
                .iter()
                .map(|p| (p.code.to_owned(), p.message.clone()))
                .collect()
        })
        .collect();
    let old = |i: usize| {
        problems[i]
            .iter()
            .find(|(code, _)| code == "old-protocol")
            .cloned()
    };
    let wide_old = old(0).expect("the wide server accepts TLS 1.0");
    assert!(wide_old.1.starts_with("accepts TLSv1.0 ("), "{wide_old:?}");
    let only = old(1).expect("the TLS 1.0 server");
    assert!(
        only.1.contains("TLSv1.0") && !only.1.contains("TLSv1.1"),
        "{only:?}"
    );
    assert_eq!(
        old(2),
        None,
        "TLS 1.2+ only is not flagged: {:?}",
        problems[2]
    );
    assert_eq!(problems[2], [], "a good endpoint has no problem at all");

    // Turned off, nothing is probed (and the TLS 1.0-only server gives no chain).
    let off = ScanOptions {
        legacy_protocols: false,
        ..quick()
    };
    let reports = scan_endpoints(&targets, &off).await;
    assert!(reports.iter().all(|r| r.protocols.is_empty()));
    assert!(reports[0].result.is_ok() && reports[1].result.is_err());
}

/// A TCP peer on 127.0.0.1:0 that answers every connection the same way.
struct Hostile {
    port: u16,
    task: JoinHandle<()>,
}

#[derive(Clone, Copy)]
enum Rude {
    Garbage,
    CloseAtOnce,
    Silent,
}

impl Hostile {
    async fn start(rude: Rude) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut tcp, _)) = listener.accept().await {
                match rude {
                    Rude::Garbage => {
                        let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
                        held.push(tcp);
                    }
                    Rude::CloseAtOnce => drop(tcp),
                    Rude::Silent => held.push(tcp),
                }
            }
        });
        Hostile { port, task }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_give_clear_errors_within_the_timeout() {
    let garbage = Hostile::start(Rude::Garbage).await;
    let close = Hostile::start(Rude::CloseAtOnce).await;
    let silent = Hostile::start(Rude::Silent).await;
    let options = ScanOptions {
        connect_timeout: Duration::from_secs(1),
        handshake_timeout: Duration::from_secs(1),
        ..ScanOptions::default()
    };
    // Each bounded: the silent peer's error is the timeout's, not a hang.
    let (g, c, s) = (
        target(garbage.port),
        target(close.port),
        target(silent.port),
    );
    let (g, c, s) = tokio::join!(
        probe(&g, LegacyVersion::Tls10, &options),
        probe(&c, LegacyVersion::Tls10, &options),
        probe(&s, LegacyVersion::Tls11, &options),
    );
    let g = g.unwrap_err();
    assert!(matches!(g, ProbeError::NotTls(_)), "{g:?}");
    assert!(
        g.to_string()
            .starts_with("the answer is not TLS: record header"),
        "{g}"
    );
    let c = c.unwrap_err();
    assert!(matches!(c, ProbeError::Closed | ProbeError::Io(_)), "{c:?}");
    let s = s.unwrap_err();
    assert!(matches!(s, ProbeError::Timeout(_)), "{s:?}");
    assert_eq!(s.to_string(), "no TLS answer within 1s");
}
