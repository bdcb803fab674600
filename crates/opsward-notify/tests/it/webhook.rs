//! Signed webhook channel against real HTTP receivers on 127.0.0.1.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use opsward_notify::{deliver, ChannelConfig, DeliveryError, Notification, WebhookConfig};
use sha2::Sha256;

use crate::support::{closed_port, notification, silent_listener, HttpReceiver};

const SECRET: &str = "whsec-test-0123456789";

fn webhook(url: String) -> ChannelConfig {
    ChannelConfig::Webhook(WebhookConfig {
        url,
        secret: SECRET.into(),
        timeout_secs: 5,
    })
}

/// What a receiver does: recompute the HMAC over the raw body and compare in constant time.
fn verifies(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

#[tokio::test]
async fn webhook_posts_the_notification_signed_with_the_secret() {
    let mut receiver = HttpReceiver::start(StatusCode::OK).await;
    let n = notification();
    let config = webhook(format!("{}/hooks/opsward?token=abc", receiver.base));

    let delivered = deliver(&config, &n).await.unwrap();
    assert_eq!(delivered.channel, "webhook");
    assert_eq!(
        delivered.target, receiver.base,
        "only scheme, host and port"
    );
    assert_eq!(delivered.response, "200 OK");

    let request = receiver.next_request().await;
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("x-opsward-event"), "certificate.expiring");
    let parsed: Notification = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(parsed, n);

    let signature = header("x-opsward-signature");
    assert!(signature.starts_with("sha256="), "{signature}");
    let hex_part = &signature["sha256=".len()..];
    assert_eq!(hex_part.len(), 64);
    assert!(hex_part
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    assert!(verifies(SECRET, &request.body, &signature));
    assert!(!verifies("another-secret", &request.body, &signature));
    let mut tampered = request.body.to_vec();
    tampered[10] ^= 1;
    assert!(!verifies(SECRET, &tampered, &signature));
    assert_eq!(
        signature,
        opsward_notify::signature(SECRET.as_bytes(), &request.body)
    );
}

#[tokio::test]
async fn a_server_error_is_retryable() {
    let mut receiver = HttpReceiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;

    let err = deliver(&webhook(format!("{}/hook", receiver.base)), &notification())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("receiver says no"), "{err}");
    receiver.next_request().await;
}

#[tokio::test]
async fn rate_limiting_is_retryable() {
    let receiver = HttpReceiver::start(StatusCode::TOO_MANY_REQUESTS).await;
    let err = deliver(&webhook(format!("{}/hook", receiver.base)), &notification())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_client_error_is_permanent() {
    let receiver = HttpReceiver::start(StatusCode::BAD_REQUEST).await;

    let err = deliver(
        &webhook(format!("{}/hook/SECRETPATH", receiver.base)),
        &notification(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, DeliveryError::HttpStatus { status: 400, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("SECRETPATH"), "{err}");
}

#[tokio::test]
async fn a_hanging_receiver_times_out_within_the_configured_timeout() {
    let (addr, _listener) = silent_listener().await;
    let config = ChannelConfig::Webhook(WebhookConfig {
        url: format!("http://{addr}/hook/SECRETPATH"),
        secret: SECRET.into(),
        timeout_secs: 1,
    });

    let started = Instant::now();
    let err = deliver(&config, &notification()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(
        matches!(err, DeliveryError::Timeout { secs: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("SECRETPATH"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_retryable_and_the_url_stays_secret() {
    let addr = closed_port().await;

    let err = deliver(
        &webhook(format!("http://{addr}/hook/SECRETPATH")),
        &notification(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DeliveryError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRETPATH"), "{shown}");
}

#[tokio::test]
async fn an_invalid_url_is_a_permanent_config_error() {
    let err = deliver(&webhook("ftp://127.0.0.1/hook".into()), &notification())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::InvalidConfig(_)), "{err:?}");
    assert!(!err.is_retryable());
}
