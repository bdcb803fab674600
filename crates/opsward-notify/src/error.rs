//! Why a delivery failed, and whether trying again can help.

use thiserror::Error;

/// A channel configuration that can never work; found before anything is sent.
///
/// The message names the field and the problem, never the field's value, so a
/// misconfigured secret does not end up in a log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    pub field: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// A failed delivery. `target` is always a redacted peer name (`https://hooks.slack.com`,
/// `smtp.example.com:587`): webhook paths and credentials never appear in the message.
#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("invalid channel configuration: {0}")]
    InvalidConfig(#[from] ConfigError),
    #[error("{target} did not answer within {secs} s")]
    Timeout { target: String, secs: u64 },
    #[error("could not reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("{target} answered HTTP {status} {body}")]
    HttpStatus {
        target: String,
        status: u16,
        /// The start of the response body, on one line.
        body: String,
    },
    #[error("mail server {target} refused the message: {reason}")]
    SmtpRejected {
        target: String,
        /// The SMTP reply code; 4xx is transient, 5xx permanent.
        code: u16,
        reason: String,
    },
    #[error("TLS with {target} failed: {reason}")]
    Tls { target: String, reason: String },
    #[error("{target}: {reason}")]
    Protocol { target: String, reason: String },
}

impl DeliveryError {
    /// True when the same delivery may succeed later: the peer was unreachable or slow,
    /// overloaded (HTTP 5xx, 408, 429) or said so itself (SMTP 4xx). Everything else needs
    /// a person to change the configuration or the receiver.
    pub fn is_retryable(&self) -> bool {
        match self {
            DeliveryError::Timeout { .. } | DeliveryError::Unreachable { .. } => true,
            DeliveryError::HttpStatus { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
            DeliveryError::SmtpRejected { code, .. } => (400..500).contains(code),
            DeliveryError::InvalidConfig(_)
            | DeliveryError::Tls { .. }
            | DeliveryError::Protocol { .. } => false,
        }
    }
}

/// The whole chain of an error on one line (`outer: inner: root cause`).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// True when a TLS handshake or certificate check (rustls) is somewhere in the chain:
/// an untrusted or mismatched certificate will not fix itself by retrying.
pub(crate) fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if inner.is::<rustls::Error>() {
                return true;
            }
        }
        current = err.source();
    }
    false
}

/// At most `max` characters of `text` on one line, for quoting a peer's answer.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        line.push('…');
    }
    line.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> DeliveryError {
        DeliveryError::HttpStatus {
            target: "https://example.com".into(),
            status,
            body: String::new(),
        }
    }

    #[test]
    fn http_statuses_are_classified() {
        for status in [500, 502, 503, 504, 408, 429] {
            assert!(http(status).is_retryable(), "{status}");
        }
        for status in [301, 400, 401, 403, 404, 410, 413, 422] {
            assert!(!http(status).is_retryable(), "{status}");
        }
    }

    #[test]
    fn smtp_codes_are_classified() {
        let smtp = |code| DeliveryError::SmtpRejected {
            target: "mx:25".into(),
            code,
            reason: String::new(),
        };
        assert!(smtp(421).is_retryable());
        assert!(smtp(451).is_retryable());
        assert!(!smtp(550).is_retryable());
        assert!(!smtp(530).is_retryable());
    }

    #[test]
    fn one_line_strips_control_characters_and_truncates() {
        assert_eq!(one_line("a\r\nb", 10), "a  b");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
