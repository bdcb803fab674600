//! Email channel against a real aiosmtpd server.

use std::time::{Duration, Instant};

use opsward_notify::{deliver, ChannelConfig, DeliveryError, EmailConfig, SmtpSecurity};

use crate::support::{closed_port, notification, silent_listener};
use opsward_testkit::smtp::{Mode, SmtpPeer, TlsFixture, SMTP_PASSWORD, SMTP_USER};

fn email(port: u16, security: SmtpSecurity) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security,
        username: None,
        password: None,
        from: "opsward <opsward@ops.example.com>".into(),
        to: vec![
            "oncall@example.com".into(),
            "Team Lead <lead@example.com>".into(),
        ],
        timeout_secs: 5,
        tls_root_pem: None,
    }
}

#[tokio::test]
async fn plain_smtp_delivers_headers_and_text_body() {
    let server = SmtpPeer::start(Mode::Plain, None).await;
    let n = notification();
    let config = ChannelConfig::Email(email(server.port, SmtpSecurity::None));

    let delivered = deliver(&config, &n).await.unwrap();
    assert_eq!(delivered.channel, "email");
    assert_eq!(delivered.target, format!("127.0.0.1:{}", server.port));
    assert!(delivered.response.starts_with("250"), "{delivered:?}");

    let mail = server.message(1).await;
    assert_eq!(mail.mail_from, "opsward@ops.example.com");
    assert_eq!(mail.rcpt_tos, ["oncall@example.com", "lead@example.com"]);
    assert!(!mail.tls);
    assert_eq!(
        mail.header("From").unwrap(),
        "opsward <opsward@ops.example.com>"
    );
    let to = mail.header("To").unwrap();
    assert!(
        to.contains("oncall@example.com") && to.contains("<lead@example.com>"),
        "{to}"
    );
    assert_eq!(mail.header("Subject").unwrap(), n.subject);
    assert_eq!(
        mail.header("X-Opsward-Event").unwrap(),
        "certificate.expiring"
    );
    assert_eq!(mail.header("Auto-Submitted").unwrap(), "auto-generated");
    assert!(mail.header("Date").is_some());
    let message_id = mail.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@ops.example.com>"),
        "{message_id}"
    );
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        mail.content.contains("expires on 2025-06-08."),
        "{}",
        mail.content
    );
    assert!(mail
        .content
        .contains("https://opsward.example.com/certs/42"));

    // A retry of the same notification carries the same Message-ID, so mail clients
    // can recognise the duplicate.
    deliver(&config, &n).await.unwrap();
    assert_eq!(
        server.message(2).await.header("Message-ID").unwrap(),
        message_id
    );
}

#[tokio::test]
async fn html_body_is_sent_as_multipart_alternative() {
    let server = SmtpPeer::start(Mode::Plain, None).await;
    let mut n = notification();
    n.body_html = Some("<p>The certificate <b>expires</b> soon.</p>".into());
    let config = ChannelConfig::Email(email(server.port, SmtpSecurity::None));

    deliver(&config, &n).await.unwrap();

    let mail = server.message(1).await;
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(mail.content.contains("text/plain"));
    assert!(mail.content.contains("text/html"));
    assert!(mail.content.contains("<b>expires</b>"), "{}", mail.content);
    assert!(mail.content.contains("Renew it."));
}

#[tokio::test]
async fn starttls_with_a_private_ca_delivers_encrypted() {
    let tls = TlsFixture::generate();
    let server = SmtpPeer::start(Mode::Starttls, Some(&tls)).await;
    let mut config = email(server.port, SmtpSecurity::Starttls);
    config.tls_root_pem = Some(tls.ca_pem.clone());

    deliver(&ChannelConfig::Email(config), &notification())
        .await
        .unwrap();

    let mail = server.message(1).await;
    assert!(mail.tls, "the message should have arrived over TLS");
    assert_eq!(
        mail.header("X-Opsward-Event").unwrap(),
        "certificate.expiring"
    );
}

#[tokio::test]
async fn plain_text_against_a_server_requiring_starttls_fails_permanently() {
    let tls = TlsFixture::generate();
    let server = SmtpPeer::start(Mode::Starttls, Some(&tls)).await;
    let config = ChannelConfig::Email(email(server.port, SmtpSecurity::None));

    let err = deliver(&config, &notification()).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpRejected { code: 530, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn starttls_with_an_untrusted_certificate_fails_permanently() {
    let tls = TlsFixture::generate();
    let server = SmtpPeer::start(Mode::Starttls, Some(&tls)).await;
    // No tls_root_pem: the test CA is not among the public roots.
    let config = ChannelConfig::Email(email(server.port, SmtpSecurity::Starttls));

    let err = deliver(&config, &notification()).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Tls { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let tls = TlsFixture::generate();
    let server = SmtpPeer::start(Mode::ImplicitTls, Some(&tls)).await;
    let mut config = email(server.port, SmtpSecurity::Tls);
    config.tls_root_pem = Some(tls.ca_pem.clone());

    deliver(&ChannelConfig::Email(config), &notification())
        .await
        .unwrap();
    assert!(server.message(1).await.tls);
}

#[tokio::test]
async fn smtp_auth_sends_credentials_and_a_wrong_password_is_permanent() {
    let server = SmtpPeer::start(Mode::Auth, None).await;
    let mut config = email(server.port, SmtpSecurity::None);
    config.username = Some(SMTP_USER.into());
    config.password = Some(SMTP_PASSWORD.into());

    deliver(&ChannelConfig::Email(config.clone()), &notification())
        .await
        .unwrap();
    assert_eq!(server.message(1).await.login.as_deref(), Some(SMTP_USER));

    config.password = Some("wrong-password-xyzzy".into());
    let err = deliver(&ChannelConfig::Email(config), &notification())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpRejected { code: 535, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("xyzzy"), "{err}");
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn smtp_reply_codes_decide_retryability() {
    let server = SmtpPeer::start(Mode::Plain, None).await;

    let mut busy = email(server.port, SmtpSecurity::None);
    busy.to = vec!["busy@example.com".into()];
    let err = deliver(&ChannelConfig::Email(busy), &notification())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpRejected { code: 451, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());

    let mut unknown = email(server.port, SmtpSecurity::None);
    unknown.to = vec!["nobody@example.com".into()];
    let err = deliver(&ChannelConfig::Email(unknown), &notification())
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::SmtpRejected { code: 550, .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn a_silent_smtp_server_times_out_retryably() {
    let (addr, _listener) = silent_listener().await;
    let mut config = email(addr.port(), SmtpSecurity::None);
    config.timeout_secs = 1;

    let started = Instant::now();
    let err = deliver(&ChannelConfig::Email(config), &notification())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, DeliveryError::Timeout { secs: 1, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_closed_smtp_port_is_retryable() {
    let addr = closed_port().await;
    let config = ChannelConfig::Email(email(addr.port(), SmtpSecurity::None));

    let err = deliver(&config, &notification()).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_invalid_email_config_fails_before_connecting() {
    let mut config = email(25, SmtpSecurity::None);
    config.to = vec!["not-an-address".into()];

    let err = deliver(&ChannelConfig::Email(config), &notification())
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::InvalidConfig(_)), "{err:?}");
    assert!(!err.is_retryable());
}
