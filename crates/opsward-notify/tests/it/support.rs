//! Fixtures shared by the test modules: a notification and local HTTP peers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::{TimeZone, Utc};
use opsward_notify::{Notification, Severity};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn notification() -> Notification {
    Notification {
        id: "cert-expiry:asset-42:2025-06-01".into(),
        subject: "Certificate for www.example.com expires in 7 days".into(),
        body_text: "The certificate for www.example.com expires on 2025-06-08.\nRenew it.".into(),
        body_html: None,
        severity: Severity::Warning,
        practice: "certificates".into(),
        link: Some("https://opsward.example.com/certs/42".into()),
        event: "certificate.expiring".into(),
        occurred_at: Utc.with_ymd_and_hms(2025, 6, 1, 8, 30, 0).unwrap(),
        recipients: Vec::new(),
    }
}

/// What a local HTTP receiver saw in one request.
pub struct Captured {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An axum server on 127.0.0.1:0 that answers every POST with `status` and hands each
/// request to the test. Stopped when dropped.
pub struct HttpReceiver {
    pub base: String,
    requests: mpsc::UnboundedReceiver<Captured>,
    task: JoinHandle<()>,
}

impl HttpReceiver {
    pub async fn start(status: StatusCode) -> Self {
        let (tx, requests) = mpsc::unbounded_channel();
        let state = Arc::new((tx, status));
        let app = Router::new()
            .route("/{*path}", post(capture))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            requests,
            task,
        }
    }

    pub async fn next_request(&mut self) -> Captured {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("the receiver got no request in time")
            .expect("the receiver stopped")
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type CaptureState = Arc<(mpsc::UnboundedSender<Captured>, StatusCode)>;

async fn capture(
    State(state): State<CaptureState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let _ = state.0.send(Captured { headers, body });
    let text = if state.1.is_success() {
        "ok"
    } else {
        "receiver says no"
    };
    (state.1, text)
}

/// Accepts TCP connections and never answers: a receiver that hangs.
pub async fn silent_listener() -> (std::net::SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, task)
}

/// An address nothing listens on: bound once to get a free port, then released.
pub async fn closed_port() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
