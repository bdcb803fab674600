//! Each toxic's effect, measured on real sockets through the proxy.

use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::{io::AsyncReadExt, net::TcpStream};

#[tokio::test]
async fn passes_bytes_through_unchanged() {
    let api = Api::start().await;
    let listen = api.proxy_to("echo", echo_server().await).await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let message: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(&mut s, &message).await.unwrap(), message);
}

#[tokio::test]
async fn latency_delays_each_direction_it_is_on() {
    let api = Api::start().await;
    let listen = api.proxy_to("slow", echo_server().await).await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    round_trip(&mut s, b"warm").await.unwrap();
    let started = Instant::now();
    round_trip(&mut s, b"ping").await.unwrap();
    let baseline = started.elapsed();

    api.toxic(
        "slow",
        json!({"type": "latency", "attributes": {"latency": 200}}),
    )
    .await;
    api.toxic("slow", json!({"type": "latency", "stream": "upstream", "attributes": {"latency": 100, "jitter": 10}})).await;
    let started = Instant::now();
    round_trip(&mut s, b"ping").await.unwrap();
    let slowed = started.elapsed();
    assert!(
        slowed >= Duration::from_millis(290),
        "200 ms down + 100 +- 10 ms up, got {slowed:?}"
    );
    assert!(
        slowed < Duration::from_millis(1290) + baseline,
        "{slowed:?}"
    );
}

#[tokio::test]
async fn bandwidth_limits_throughput() {
    let api = Api::start().await;
    let listen = api.proxy_to("thin", source_server(100_000).await).await;
    api.toxic(
        "thin",
        json!({"type": "bandwidth", "attributes": {"rate": 200}}),
    )
    .await;
    let started = Instant::now();
    let mut s = TcpStream::connect(listen).await.unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.unwrap();
    let took = started.elapsed();
    assert_eq!(all.len(), 100_000);
    // 100 KB at 200 KB/s: half a second.
    assert!(took >= Duration::from_millis(450), "{took:?}");
}

#[tokio::test]
async fn limit_data_closes_after_that_many_bytes() {
    let api = Api::start().await;
    let listen = api.proxy_to("limited", source_server(50_000).await).await;
    api.toxic(
        "limited",
        json!({"type": "limit_data", "attributes": {"bytes": 1234}}),
    )
    .await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut all))
        .await
        .expect("closed in time");
    assert_eq!(all.len(), 1234);
}

#[tokio::test]
async fn reset_peer_resets_the_connection() {
    let api = Api::start().await;
    let listen = api.proxy_to("reset", echo_server().await).await;
    api.toxic(
        "reset",
        json!({"type": "reset_peer", "attributes": {"timeout": 100}}),
    )
    .await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("ended in time");
    let err = read.expect_err("a reset, not a clean close");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(90));
}

#[tokio::test]
async fn timeout_stops_data_and_closes_after_its_timeout() {
    let api = Api::start().await;
    let listen = api.proxy_to("stuck", echo_server().await).await;
    api.toxic(
        "stuck",
        json!({"type": "timeout", "attributes": {"timeout": 300}}),
    )
    .await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let started = Instant::now();
    let _ = tokio::io::AsyncWriteExt::write_all(&mut s, b"hello").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("closed in time");
    assert!(buf.is_empty(), "no data gets through: {buf:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slicer_delivers_everything_in_pieces() {
    let api = Api::start().await;
    let listen = api.proxy_to("sliced", source_server(2_000).await).await;
    api.toxic("sliced", json!({"type": "slicer", "attributes": {"average_size": 100, "size_variation": 20, "delay": 2000}})).await;
    let started = Instant::now();
    let mut s = TcpStream::connect(listen).await.unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, vec![b'x'; 2_000]);
    // About 20 pieces, 2 ms apart.
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slow_close_delays_the_close() {
    let api = Api::start().await;
    let listen = api.proxy_to("lingering", source_server(10).await).await;
    api.toxic(
        "lingering",
        json!({"type": "slow_close", "attributes": {"delay": 300}}),
    )
    .await;
    let started = Instant::now();
    let mut s = TcpStream::connect(listen).await.unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).await.unwrap();
    assert_eq!(all.len(), 10);
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn toxicity_zero_never_applies_and_removing_a_toxic_heals_new_traffic() {
    let api = Api::start().await;
    let listen = api.proxy_to("maybe", echo_server().await).await;
    api.toxic("maybe", json!({"name": "never", "type": "latency", "toxicity": 0.0, "attributes": {"latency": 1000}})).await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let started = Instant::now();
    round_trip(&mut s, b"quick").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));

    api.toxic(
        "maybe",
        json!({"name": "always", "type": "timeout", "attributes": {"timeout": 0}}),
    )
    .await;
    let blocked =
        tokio::time::timeout(Duration::from_millis(300), round_trip(&mut s, b"stuck")).await;
    assert!(
        blocked.is_err(),
        "a timeout toxic with timeout 0 holds data"
    );
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            "/proxies/maybe/toxics/always",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let mut fresh = TcpStream::connect(listen).await.unwrap();
    assert_eq!(round_trip(&mut fresh, b"healed").await.unwrap(), b"healed");
}

#[tokio::test]
async fn disabling_drops_connections_and_stops_listening() {
    let api = Api::start().await;
    let listen = api.proxy_to("switch", echo_server().await).await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    round_trip(&mut s, b"on").await.unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/proxies/switch",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((status, &body["enabled"]), (200, &json!(false)));
    let mut buf = [0u8; 4];
    let after = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("dropped in time");
    assert!(matches!(after, Ok(0) | Err(_)), "{after:?}");
    assert!(
        TcpStream::connect(listen).await.is_err(),
        "nothing listens while disabled"
    );
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/proxies/switch",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200);
    let mut again = TcpStream::connect(listen).await.unwrap();
    assert_eq!(round_trip(&mut again, b"back").await.unwrap(), b"back");
}

#[tokio::test]
async fn an_unreachable_upstream_closes_the_client_instead_of_hanging() {
    let api = Api::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let listen = api.proxy_to("nowhere", closed).await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let mut buf = [0u8; 4];
    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
}

#[tokio::test]
async fn reset_peer_with_no_timeout_resets_at_once() {
    let api = Api::start().await;
    let listen = api.proxy_to("reset-now", echo_server().await).await;
    api.toxic(
        "reset-now",
        json!({"type": "reset_peer", "attributes": {"timeout": 0}}),
    )
    .await;
    let mut s = TcpStream::connect(listen).await.unwrap();
    let _ = tokio::io::AsyncWriteExt::write_all(&mut s, b"x").await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("ended in time");
    assert!(read.is_err(), "{read:?} {:?}", &buf[..1]);
}
