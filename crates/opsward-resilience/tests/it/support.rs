//! A fault proxy API on port 0 and an echo server to put behind it.

use opsward_resilience::faultproxy::{router, FaultProxy};
use serde_json::{json, Value};
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub proxy: FaultProxy,
}

impl Api {
    pub async fn start() -> Api {
        let proxy = FaultProxy::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Api {
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            proxy,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A proxy in front of `upstream`; returns its listen address.
    pub async fn proxy_to(&self, name: &str, upstream: SocketAddr) -> SocketAddr {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/proxies",
                Some(json!({"name": name, "upstream": upstream.to_string()})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["listen"].as_str().unwrap().parse().unwrap()
    }

    pub async fn toxic(&self, proxy: &str, toxic: Value) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/proxies/{proxy}/toxics"),
                Some(toxic),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// An echo server: writes back whatever it reads.
pub async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A server that sends `bytes` bytes to each client, then closes.
pub async fn source_server(bytes: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let data = vec![b'x'; bytes];
                let _ = s.write_all(&data).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

/// Send `message` and read the same number of bytes back.
pub async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    let mut back = vec![0u8; message.len()];
    stream.read_exact(&mut back).await?;
    Ok(back)
}
