//! The port scan against real sockets on 127.0.0.1: a listener that answers, one that accepts
//! and never says anything, a closed port, and a port whose accept queue is full so its
//! connects are never answered (the scan must give up on it after the timeout, not stall).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use opsward_vulns::exposure::{exposures, resolve, scan, PortSet, PortState, ScanLimits};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A port nothing listens on: bound then released.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A listener that never accepts, with its one-slot accept queue filled: further SYNs are
/// dropped, so a connect gets no answer. Returns the socket and the connects that fill it.
async fn unanswering_port() -> (TcpListener, Vec<TcpStream>, u16) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(LOCALHOST, 0)).unwrap();
    let listener = socket.listen(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut filling = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            TcpStream::connect((LOCALHOST, port)),
        )
        .await
        {
            Ok(Ok(stream)) => filling.push(stream),
            _ => return (listener, filling, port),
        }
    }
    panic!("the accept queue of port {port} never filled");
}

#[tokio::test]
async fn scan_tells_open_closed_and_unanswered_ports_apart() {
    // Answers: accepts and writes a banner.
    let answering = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    let answering_port = answering.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = answering.accept().await {
            let _ = stream.write_all(b"SSH-2.0-test\r\n").await;
        }
    });
    // Accepts and then holds the connection without a word.
    let silent = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let closed = closed_port().await;
    let (_queue, _filling, unanswering) = unanswering_port().await;

    let ports: PortSet = format!("{answering_port},{silent_port},{closed},{unanswering}")
        .parse()
        .unwrap();
    let ip = resolve("localhost", Duration::from_secs(2)).await.unwrap();
    assert!(ip.is_loopback(), "{ip}");
    let results = scan(
        LOCALHOST,
        &ports,
        ScanLimits {
            concurrency: 2,
            timeout: Duration::from_millis(500),
        },
    )
    .await;
    let state = |port: u16| results.iter().find(|r| r.port == port).unwrap().state;
    assert_eq!(results.len(), 4);
    assert_eq!(state(answering_port), PortState::Open);
    assert_eq!(state(silent_port), PortState::Open);
    assert_eq!(state(closed), PortState::Closed);
    assert_eq!(state(unanswering), PortState::Filtered);

    let allowed: PortSet = answering_port.to_string().parse().unwrap();
    assert_eq!(exposures(&results, &allowed), vec![silent_port]);
}

#[tokio::test]
async fn an_unresolvable_host_is_an_error() {
    let error = resolve("no-such-host.invalid", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no-such-host.invalid"),
        "{error}"
    );
}
