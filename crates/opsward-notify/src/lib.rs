//! Notification channels for opsward: the sending layer only.
//!
//! Given one [`Notification`] and one [`ChannelConfig`], [`deliver`] sends it by email
//! (SMTP with STARTTLS or implicit TLS), to a generic webhook (JSON signed with
//! HMAC-SHA256), to a Slack incoming webhook or to a Microsoft Teams webhook, and says
//! whether a failure is worth retrying ([`DeliveryError::is_retryable`], [`retry_delay`],
//! [`MAX_ATTEMPTS`]). Deciding *who* is notified *when*, remembering what was sent and
//! running the retries belong to the caller (the scheduler); this crate keeps no state.
//!
//! Every network operation is bounded by the channel's `timeout_secs`. Passwords, webhook
//! secrets and webhook URLs (which are credentials for Slack and Teams) never reach
//! logs or error messages: peers are named by scheme and host, or SMTP host and port.

mod config;
mod email;
mod error;
mod http;
mod notification;
mod retry;
mod slack;
mod teams;
mod webhook;

pub use config::{
    ChannelConfig, EmailConfig, SlackConfig, SmtpSecurity, TeamsConfig, WebhookConfig,
    DEFAULT_TIMEOUT_SECS,
};
pub use error::{ConfigError, DeliveryError};
pub use notification::{Notification, Severity};
pub use retry::{retry_delay, MAX_ATTEMPTS};
pub use webhook::{signature, EVENT_HEADER, SIGNATURE_HEADER};

use tracing::Instrument;

/// What the peer said when it accepted a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// `email`, `webhook`, `slack` or `teams`.
    pub channel: &'static str,
    /// The peer, redacted as in [`ChannelConfig::target`].
    pub target: String,
    /// The SMTP reply (`250 OK`) or HTTP status (`200 OK`).
    pub response: String,
}

/// Sends `n` through one channel, once. Retrying is the caller's job.
pub async fn deliver(config: &ChannelConfig, n: &Notification) -> Result<Delivered, DeliveryError> {
    let channel = config.kind();
    let target = config.target();
    let span = tracing::info_span!(
        "notify.deliver",
        channel,
        target = %target,
        notification = %n.id,
        event = %n.event,
    );
    async {
        let response = match config.validate() {
            Ok(()) => send(config, &target, n).await,
            Err(invalid) => Err(invalid.into()),
        };
        match response {
            Ok(response) => {
                tracing::info!(%response, "notification delivered");
                Ok(Delivered {
                    channel,
                    target: target.clone(),
                    response,
                })
            }
            Err(error) => {
                tracing::warn!(%error, retryable = error.is_retryable(), "notification not delivered");
                Err(error)
            }
        }
    }
    .instrument(span)
    .await
}

async fn send(
    config: &ChannelConfig,
    target: &str,
    n: &Notification,
) -> Result<String, DeliveryError> {
    match config {
        ChannelConfig::Email(c) => email::send(c, target, n).await,
        ChannelConfig::Webhook(c) => webhook::send(c, target, n).await,
        ChannelConfig::Slack(c) => {
            send_json(&c.webhook_url, target, slack::payload(n), c.timeout_secs).await
        }
        ChannelConfig::Teams(c) => {
            send_json(&c.webhook_url, target, teams::payload(n), c.timeout_secs).await
        }
    }
}

async fn send_json(
    url: &str,
    target: &str,
    payload: serde_json::Value,
    timeout_secs: u64,
) -> Result<String, DeliveryError> {
    let body = payload.to_string().into_bytes();
    http::post_json(url, target, body, Vec::new(), timeout_secs).await
}
