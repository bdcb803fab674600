//! Peers that are dead, rude or hostile: each must cost one clear per-endpoint error within
//! its timeout, while the other targets of the same scan succeed.

use crate::{
    fixtures::TestCa,
    tls::{free_port, quick, OpensslServer},
};
use opsward_certs::{scan_endpoints, EndpointError, ScanOptions};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// A TCP server on 127.0.0.1:0 that treats each connection with `behaviour`.
struct Peer {
    port: u16,
    task: JoinHandle<()>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    CloseAtOnce,
    PlainHttp,
    Garbage,
    Tarpit,
}

impl Peer {
    async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut held: Vec<TcpStream> = Vec::new();
            while let Ok((mut tcp, _)) = listener.accept().await {
                match behaviour {
                    Behaviour::CloseAtOnce => drop(tcp),
                    Behaviour::PlainHttp => {
                        tokio::spawn(async move {
                            let mut request = [0u8; 1024];
                            let _ = tcp.read(&mut request).await;
                            let _ = tcp
                                .write_all(
                                    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n",
                                )
                                .await;
                        });
                    }
                    Behaviour::Garbage => {
                        let _ = tcp.write_all(&[0x5a; 4096]).await;
                        held.push(tcp);
                    }
                    // Accept, never answer, never close.
                    Behaviour::Tarpit => held.push(tcp),
                }
            }
        });
        Peer { port, task }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_endpoint_fails_alone_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = TestCa::new("ca")
        .issue_current(&["localhost"])
        .write(dir.path(), "good");
    let good = OpensslServer::start(&cert, &key, &[]);
    let close = Peer::start(Behaviour::CloseAtOnce).await;
    let http = Peer::start(Behaviour::PlainHttp).await;
    let garbage = Peer::start(Behaviour::Garbage).await;
    let tarpit = Peer::start(Behaviour::Tarpit).await;
    let closed_port = free_port();

    let targets: Vec<String> = [
        closed_port,
        close.port,
        http.port,
        garbage.port,
        tarpit.port,
        good.port,
    ]
    .iter()
    .map(|port| format!("localhost:{port}"))
    .chain(["no-port-here:".to_owned(), "::1:443".to_owned()])
    .collect();
    let options = quick();
    let started = Instant::now();
    let reports = scan_endpoints(&targets, &options).await;
    let took = started.elapsed();
    assert!(
        took < options.handshake_timeout + Duration::from_secs(1),
        "the scan took {took:?}"
    );

    let error = |i: usize| -> &EndpointError {
        reports[i]
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{} should fail", reports[i].target))
    };
    assert!(
        matches!(error(0), EndpointError::Connect(_)),
        "{}",
        error(0)
    );
    assert!(
        matches!(error(1), EndpointError::Handshake(_)),
        "{}",
        error(1)
    );
    assert!(
        matches!(error(2), EndpointError::Handshake(_)),
        "{}",
        error(2)
    );
    assert!(
        matches!(error(3), EndpointError::Handshake(_)),
        "{}",
        error(3)
    );
    assert!(
        matches!(error(4), EndpointError::HandshakeTimeout(_)),
        "{}",
        error(4)
    );
    assert_eq!(reports[5].result.as_ref().map(Vec::len).ok(), Some(1));
    assert!(matches!(error(6), EndpointError::BadTarget(_)));
    assert!(matches!(error(7), EndpointError::BadTarget(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_against_non_smtp_peers_fails_clearly_within_its_timeout() {
    let http = Peer::start(Behaviour::PlainHttp).await;
    let garbage = Peer::start(Behaviour::Garbage).await;
    let tarpit = Peer::start(Behaviour::Tarpit).await;
    let targets: Vec<String> = [http.port, garbage.port, tarpit.port]
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let options = ScanOptions {
        starttls: opsward_certs::StartTls::Smtp,
        ..quick()
    };
    let started = Instant::now();
    let reports = scan_endpoints(&targets, &options).await;
    assert!(started.elapsed() < options.handshake_timeout + Duration::from_secs(1));
    // The HTTP peer waits for a request before it says anything: a silent peer.
    assert!(
        matches!(reports[0].result, Err(EndpointError::HandshakeTimeout(_))),
        "{:?}",
        reports[0].result
    );
    let garbage_error = reports[1].result.as_ref().unwrap_err();
    assert!(
        matches!(garbage_error, EndpointError::StartTls(m) if m.contains("not an SMTP reply")),
        "{garbage_error}"
    );
    assert!(matches!(
        reports[2].result,
        Err(EndpointError::HandshakeTimeout(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_deadline_bounds_a_scan_of_tarpits() {
    let tarpit = Peer::start(Behaviour::Tarpit).await;
    let targets: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", tarpit.port))
        .collect();
    let options = ScanOptions {
        handshake_timeout: Duration::from_secs(30),
        total_deadline: Duration::from_secs(1),
        concurrency: 1,
        ..ScanOptions::default()
    };
    let started = Instant::now();
    let reports = scan_endpoints(&targets, &options).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for report in &reports {
        assert!(
            matches!(report.result, Err(EndpointError::Deadline)),
            "{report:?}"
        );
    }
}
