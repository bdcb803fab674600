//! Where and how a notification is sent, and the checks that catch a broken
//! configuration before anything goes over the network.

use std::fmt;

use lettre::message::Mailbox;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Timeout used when a configuration does not name one.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

fn default_timeout_secs() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// One notification channel. Serialized with a `type` tag:
/// `{"type": "slack", "webhook_url": "https://hooks.slack.com/...", "timeout_secs": 10}`.
///
/// `Debug` never shows passwords, webhook secrets or the path of a webhook URL.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    Email(EmailConfig),
    Webhook(WebhookConfig),
    Slack(SlackConfig),
    Teams(TeamsConfig),
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text; only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte, "implicit TLS" (usually port 465).
    Tls,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Sender mailbox, `ops@example.com` or `opsward <ops@example.com>`.
    pub from: String,
    pub to: Vec<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Extra CA certificates (PEM) trusted besides the public roots, for a private CA.
    #[serde(default)]
    pub tls_root_pem: Option<String>,
}

/// A generic receiver: the notification as JSON, signed with HMAC-SHA256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// A Slack incoming webhook. The URL itself is the credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackConfig {
    pub webhook_url: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// A Microsoft Teams incoming webhook (or Workflows webhook). The URL itself is the credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsConfig {
    pub webhook_url: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

impl ChannelConfig {
    /// Short name of the channel kind, as used in the `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Teams(_) => "teams",
        }
    }

    pub fn timeout_secs(&self) -> u64 {
        match self {
            ChannelConfig::Email(c) => c.timeout_secs,
            ChannelConfig::Webhook(c) => c.timeout_secs,
            ChannelConfig::Slack(c) => c.timeout_secs,
            ChannelConfig::Teams(c) => c.timeout_secs,
        }
    }

    /// The peer in a form that is safe to log and show: `smtp.example.com:587` or
    /// `https://hooks.slack.com` (scheme and host only; webhook paths carry tokens).
    pub fn target(&self) -> String {
        match self {
            ChannelConfig::Email(c) => format!("{}:{}", c.host, c.port),
            ChannelConfig::Webhook(c) => redacted_origin(&c.url),
            ChannelConfig::Slack(c) => redacted_origin(&c.webhook_url),
            ChannelConfig::Teams(c) => redacted_origin(&c.webhook_url),
        }
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_timeout(self.timeout_secs())?;
        match self {
            ChannelConfig::Email(c) => c.validate(),
            ChannelConfig::Webhook(c) => {
                check_http_url("url", &c.url)?;
                if c.secret.is_empty() {
                    return Err(ConfigError::new("secret", "must not be empty"));
                }
                Ok(())
            }
            ChannelConfig::Slack(c) => check_http_url("webhook_url", &c.webhook_url).map(drop),
            ChannelConfig::Teams(c) => check_http_url("webhook_url", &c.webhook_url).map(drop),
        }
    }
}

impl EmailConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let host = self.host.trim();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(ConfigError::new(
                "host",
                "must be a host name or IP address",
            ));
        }
        if self.port == 0 {
            return Err(ConfigError::new("port", "must not be 0"));
        }
        parse_mailbox("from", &self.from)?;
        if self.to.is_empty() {
            return Err(ConfigError::new("to", "needs at least one recipient"));
        }
        for to in &self.to {
            parse_mailbox("to", to)?;
        }
        match (&self.username, &self.password) {
            (None, Some(_)) => {
                return Err(ConfigError::new("username", "is required with a password"))
            }
            (Some(user), _) if user.is_empty() => {
                return Err(ConfigError::new("username", "must not be empty"))
            }
            _ => {}
        }
        if let Some(pem) = &self.tls_root_pem {
            let parsed = lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes());
            if !pem.contains("-----BEGIN CERTIFICATE-----") || parsed.is_err() {
                return Err(ConfigError::new(
                    "tls_root_pem",
                    "must hold one or more PEM certificates",
                ));
            }
        }
        Ok(())
    }
}

pub(crate) fn parse_mailbox(field: &'static str, text: &str) -> Result<Mailbox, ConfigError> {
    text.parse::<Mailbox>()
        .map_err(|e| ConfigError::new(field, format!("is not an email address ({e})")))
}

fn check_timeout(secs: u64) -> Result<(), ConfigError> {
    if TIMEOUT_RANGE.contains(&secs) {
        Ok(())
    } else {
        Err(ConfigError::new(
            "timeout_secs",
            format!(
                "must be between {} and {} seconds",
                TIMEOUT_RANGE.start(),
                TIMEOUT_RANGE.end()
            ),
        ))
    }
}

fn check_http_url(field: &'static str, text: &str) -> Result<Url, ConfigError> {
    // url's parse errors describe the problem without repeating the input.
    let url = Url::parse(text).map_err(|e| ConfigError::new(field, format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(field, "must be an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(field, "has no host"));
    }
    Ok(url)
}

/// Scheme, host and port of a URL; everything that may hold a token is dropped.
pub(crate) fn redacted_origin(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => match url.host_str() {
            Some(host) => match url.port() {
                Some(port) => format!("{}://{host}:{port}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            },
            None => "<URL without host>".to_owned(),
        },
        Err(_) => "<invalid URL>".to_owned(),
    }
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelConfig::Email(c) => f.debug_tuple("Email").field(c).finish(),
            ChannelConfig::Webhook(c) => f.debug_tuple("Webhook").field(c).finish(),
            ChannelConfig::Slack(c) => f.debug_tuple("Slack").field(c).finish(),
            ChannelConfig::Teams(c) => f.debug_tuple("Teams").field(c).finish(),
        }
    }
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("timeout_secs", &self.timeout_secs)
            .field("tls_root_pem", &self.tls_root_pem.as_ref().map(|_| "<PEM>"))
            .finish()
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted_origin(&self.url))
            .field("secret", &REDACTED)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("webhook_url", &redacted_origin(&self.webhook_url))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl fmt::Debug for TeamsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsConfig")
            .field("webhook_url", &redacted_origin(&self.webhook_url))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
