//! Email over SMTP (lettre, rustls): plain, STARTTLS or implicit TLS, optional AUTH.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use crate::config::{parse_mailbox, EmailConfig, SmtpSecurity};
use crate::error::{is_tls_failure, one_line, ConfigError, DeliveryError};
use crate::Notification;

pub(crate) async fn send(
    config: &EmailConfig,
    target: &str,
    n: &Notification,
) -> Result<String, DeliveryError> {
    let message = build_message(config, n)?;
    let transport = transport(config)?;
    let timeout = Duration::from_secs(config.timeout_secs);
    // lettre's timeout is per socket operation; this bounds the whole conversation.
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Err(_) => Err(DeliveryError::Timeout {
            target: target.to_owned(),
            secs: config.timeout_secs,
        }),
        Ok(Ok(response)) => Ok(format!(
            "{} {}",
            response.code(),
            one_line(response.first_line().unwrap_or(""), 200)
        )),
        Ok(Err(e)) => Err(classify(target, config.timeout_secs, &e)),
    }
}

fn build_message(config: &EmailConfig, n: &Notification) -> Result<Message, DeliveryError> {
    let from = parse_mailbox("from", &config.from)?;
    let message_id = message_id(n, &from);
    let mut builder = Message::builder()
        .from(from)
        .subject(header_text(&n.subject))
        .date_now()
        .message_id(Some(message_id))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Opsward-Event"),
            header_text(&n.event),
        ))
        // RFC 3834: tells vacation responders not to answer a machine.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
    let recipients = if n.recipients.is_empty() {
        &config.to
    } else {
        &n.recipients
    };
    for to in recipients {
        builder = builder.to(parse_mailbox("to", to)?);
    }
    let text = match &n.link {
        Some(link) => format!("{}\n\n{link}\n", n.body_text.trim_end()),
        None => n.body_text.clone(),
    };
    let built = match &n.body_html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html.clone())),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text),
        ),
    };
    built.map_err(|e| ConfigError::new("from", format!("cannot build the message: {e}")).into())
}

/// Stable for one occurrence of one notification, so a retried delivery that did reach
/// the mailbox is recognisable as a duplicate; a later occurrence gets a new id.
fn message_id(n: &Notification, from: &Mailbox) -> String {
    let digest = Sha256::new()
        .chain_update(n.id.as_bytes())
        .chain_update(b"\n")
        .chain_update(n.occurred_at.to_rfc3339().as_bytes())
        .finalize();
    format!(
        "<{}.opsward@{}>",
        &hex::encode(digest)[..32],
        from.email.domain()
    )
}

/// Header values are one line; a newline in a subject must not start a new header.
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn transport(config: &EmailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let tls = match config.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls_parameters(config)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(config)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
        .port(config.port)
        .timeout(Some(Duration::from_secs(config.timeout_secs)))
        .tls(tls);
    if let Some(username) = &config.username {
        let password = config.password.clone().unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

fn tls_parameters(config: &EmailConfig) -> Result<TlsParameters, DeliveryError> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.tls_root_pem {
        let certificate = Certificate::from_pem(pem.as_bytes())
            .map_err(|_| ConfigError::new("tls_root_pem", "is not PEM"))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| ConfigError::new("tls_root_pem", format!("unusable: {e}")).into())
}

fn classify(target: &str, secs: u64, e: &lettre::transport::smtp::Error) -> DeliveryError {
    let target = target.to_owned();
    let reason = one_line(&e.to_string(), 300);
    if let Some(code) = e.status() {
        let fallback = if e.is_transient() { 400 } else { 500 };
        return DeliveryError::SmtpRejected {
            target,
            code: code.to_string().parse().unwrap_or(fallback),
            reason,
        };
    }
    if e.is_timeout() {
        DeliveryError::Timeout { target, secs }
    } else if e.is_tls() || is_tls_failure(e) {
        DeliveryError::Tls { target, reason }
    } else if e.is_client() || e.is_response() {
        DeliveryError::Protocol { target, reason }
    } else {
        DeliveryError::Unreachable { target, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_keeps_one_line() {
        assert_eq!(header_text("a\r\nBcc: x@y"), "a  Bcc: x@y");
    }
}
