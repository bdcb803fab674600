use super::*;

fn email() -> EmailConfig {
    EmailConfig {
        host: "smtp.example.com".into(),
        port: 587,
        security: SmtpSecurity::Starttls,
        username: Some("opsward".into()),
        password: Some("hunter2-smtp".into()),
        from: "opsward <ops@example.com>".into(),
        to: vec!["oncall@example.com".into()],
        timeout_secs: 10,
        tls_root_pem: None,
    }
}

fn slack(url: &str) -> ChannelConfig {
    ChannelConfig::Slack(SlackConfig {
        webhook_url: url.into(),
        timeout_secs: 10,
    })
}

#[test]
fn a_complete_email_config_is_valid() {
    assert_eq!(ChannelConfig::Email(email()).validate(), Ok(()));
}

type Breakage = Box<dyn Fn(&mut EmailConfig)>;

#[test]
fn email_problems_name_the_field() {
    let cases: Vec<(&str, Breakage)> = vec![
        ("host", Box::new(|c| c.host = " ".into())),
        ("port", Box::new(|c| c.port = 0)),
        ("from", Box::new(|c| c.from = "not an address".into())),
        ("to", Box::new(|c| c.to.clear())),
        ("to", Box::new(|c| c.to.push("oncall@".into()))),
        ("username", Box::new(|c| c.username = None)),
        ("timeout_secs", Box::new(|c| c.timeout_secs = 0)),
        ("timeout_secs", Box::new(|c| c.timeout_secs = 301)),
        (
            "tls_root_pem",
            Box::new(|c| c.tls_root_pem = Some("junk".into())),
        ),
    ];
    for (field, break_it) in cases {
        let mut config = email();
        break_it(&mut config);
        let err = ChannelConfig::Email(config).validate().unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
}

#[test]
fn webhook_urls_must_be_http_or_https() {
    assert_eq!(
        slack("https://hooks.slack.com/services/T/B/x").validate(),
        Ok(())
    );
    assert_eq!(slack("http://127.0.0.1:8080/hook").validate(), Ok(()));
    for bad in [
        "ftp://example.com/x",
        "hooks.slack.com/services",
        "",
        "file:///etc/passwd",
    ] {
        assert!(slack(bad).validate().is_err(), "{bad}");
    }
}

#[test]
fn webhook_secret_is_required() {
    let config = ChannelConfig::Webhook(WebhookConfig {
        url: "https://example.com/hook".into(),
        secret: String::new(),
        timeout_secs: 5,
    });
    assert_eq!(config.validate().unwrap_err().field, "secret");
}

#[test]
fn config_errors_never_repeat_the_secret_url() {
    let err = slack("https://hooks.slack.com:99999/services/T0/B0/SECRETTOKEN")
        .validate()
        .unwrap_err();
    assert!(!err.to_string().contains("SECRETTOKEN"), "{err}");
}

#[test]
fn debug_and_target_hide_secrets() {
    let configs = [
        ChannelConfig::Email(email()),
        ChannelConfig::Webhook(WebhookConfig {
            url: "https://receiver.example.com/in/TOKENPATH?key=QUERYKEY".into(),
            secret: "whsec-VERYSECRET".into(),
            timeout_secs: 5,
        }),
        slack("https://hooks.slack.com/services/T0/B0/SLACKTOKEN"),
        ChannelConfig::Teams(TeamsConfig {
            webhook_url: "https://example.webhook.office.com/webhookb2/TEAMSTOKEN".into(),
            timeout_secs: 5,
        }),
    ];
    for config in configs {
        let shown = format!("{config:?} {}", config.target());
        for secret in [
            "hunter2-smtp",
            "TOKENPATH",
            "QUERYKEY",
            "VERYSECRET",
            "SLACKTOKEN",
            "TEAMSTOKEN",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    assert_eq!(
        slack("https://hooks.slack.com/services/T0/B0/X").target(),
        "https://hooks.slack.com"
    );
}

#[test]
fn serde_uses_a_type_tag_and_default_timeout() {
    let json = r#"{"type":"email","host":"mx","port":25,"security":"none",
        "from":"ops@example.com","to":["a@example.com"]}"#;
    let config: ChannelConfig = serde_json::from_str(json).unwrap();
    let ChannelConfig::Email(email) = &config else {
        panic!("{config:?}")
    };
    assert_eq!(email.timeout_secs, DEFAULT_TIMEOUT_SECS);
    assert_eq!(email.security, SmtpSecurity::None);
    let teams: ChannelConfig =
        serde_json::from_str(r#"{"type":"teams","webhook_url":"https://x.example/y"}"#).unwrap();
    assert_eq!(teams.kind(), "teams");
    let back = serde_json::to_value(&teams).unwrap();
    assert_eq!(back["type"], "teams");
    assert_eq!(back["timeout_secs"], 10);
    let tls: SmtpSecurity = serde_json::from_str(r#""tls""#).unwrap();
    assert_eq!(tls, SmtpSecurity::Tls);
}
