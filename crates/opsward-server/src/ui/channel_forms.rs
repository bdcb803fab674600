//! One form per notification channel type (email, webhook, Slack, Teams) instead of a JSON
//! textarea: the fields each type needs, checked here with messages that name the field, then
//! by the channel's own validation. The API keeps its JSON `settings`.

use opsward_notify::{
    ChannelConfig, EmailConfig, SlackConfig, SmtpSecurity, TeamsConfig, WebhookConfig,
    DEFAULT_TIMEOUT_SECS,
};
use serde::Deserialize;

/// Seconds a channel waits for its peer, as the JSON settings default to.
const TIMEOUT_SECS: u64 = DEFAULT_TIMEOUT_SECS;

/// A channel form as typed. Secrets (password, webhook secret, webhook URLs that are
/// credentials) are never sent back to the browser.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub from: String,
    /// Recipients, separated by commas, semicolons or new lines.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub webhook_url: String,
}

fn required(field: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        Err(format!("{field}: required"))
    } else {
        Ok(v.to_string())
    }
}

fn optional(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

impl ChannelForm {
    /// The channel's settings, or the first problem in words that name the field.
    pub fn to_config(&self) -> Result<ChannelConfig, String> {
        let config = match self.kind.as_str() {
            "email" => {
                let port = self.port.trim();
                ChannelConfig::Email(EmailConfig {
                    host: required("SMTP server", &self.host)?,
                    port: if port.is_empty() {
                        587
                    } else {
                        port.parse()
                            .map_err(|_| format!("port: {port:?} is not a port number"))?
                    },
                    security: match self.security.as_str() {
                        "" | "starttls" => SmtpSecurity::Starttls,
                        "tls" => SmtpSecurity::Tls,
                        "none" => SmtpSecurity::None,
                        other => return Err(format!("security: {other:?} is not a choice")),
                    },
                    username: optional(&self.username),
                    password: optional(&self.password),
                    from: required("from", &self.from)?,
                    to: self
                        .to
                        .split([',', ';', '\n'])
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_string)
                        .collect(),
                    timeout_secs: TIMEOUT_SECS,
                    tls_root_pem: None,
                })
            }
            "webhook" => ChannelConfig::Webhook(WebhookConfig {
                url: required("URL", &self.url)?,
                secret: required("signing secret", &self.secret)?,
                timeout_secs: TIMEOUT_SECS,
            }),
            "slack" => ChannelConfig::Slack(SlackConfig {
                webhook_url: required("webhook URL", &self.webhook_url)?,
                timeout_secs: TIMEOUT_SECS,
            }),
            "teams" => ChannelConfig::Teams(TeamsConfig {
                webhook_url: required("webhook URL", &self.webhook_url)?,
                timeout_secs: TIMEOUT_SECS,
            }),
            other => return Err(format!("{other:?} is not a channel type")),
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// What the form shows again after a refusal: everything but the secrets.
    pub fn without_secrets(&self) -> ChannelForm {
        ChannelForm {
            password: String::new(),
            secret: String::new(),
            webhook_url: String::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(query: &str) -> ChannelForm {
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn each_type_builds_its_settings() {
        let email = form(
            "name=ops&kind=email&host=smtp.example.com&port=465&security=tls&from=ops%40example.com&to=a%40example.com%2C+b%40example.com",
        )
        .to_config()
        .unwrap();
        let ChannelConfig::Email(e) = email else {
            panic!("not email")
        };
        assert_eq!((e.port, e.security), (465, SmtpSecurity::Tls));
        assert_eq!(e.to, ["a@example.com", "b@example.com"]);
        let hook = form("kind=webhook&url=https%3A%2F%2Fhooks.example.com%2Fx&secret=s3")
            .to_config()
            .unwrap();
        assert_eq!(hook.kind(), "webhook");
        let slack = form("kind=slack&webhook_url=https%3A%2F%2Fhooks.slack.com%2Fservices%2Fx")
            .to_config()
            .unwrap();
        assert_eq!(slack.kind(), "slack");
        assert_eq!(
            form("kind=teams&webhook_url=https%3A%2F%2Fexample.webhook.office.com%2Fx")
                .to_config()
                .unwrap()
                .kind(),
            "teams"
        );
    }

    #[test]
    fn problems_name_the_field() {
        let e = form("kind=webhook&url=https%3A%2F%2Fh.example.com").to_config();
        assert!(e.unwrap_err().contains("signing secret"));
        let e = form("kind=webhook&url=ftp%3A%2F%2Fh&secret=x").to_config();
        assert!(e.unwrap_err().contains("url"));
        let e = form("kind=email&host=smtp.example.com&from=ops%40example.com").to_config();
        assert!(e.unwrap_err().contains("to"));
        let e = form("kind=email&host=smtp&port=x&from=a%40b.c&to=a%40b.c").to_config();
        assert!(e.unwrap_err().contains("port"));
        assert!(form("kind=pager").to_config().is_err());
        let kept = form("kind=webhook&url=u&secret=s").without_secrets();
        assert_eq!((kept.url.as_str(), kept.secret.as_str()), ("u", ""));
    }
}
