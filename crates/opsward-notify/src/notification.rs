//! The message a channel delivers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How urgent a notification is; channels use it for colour and wording.
/// Ordered: a rule for `warning` also takes `critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Warning => "Warning",
            Severity::Critical => "Critical",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!("{s:?} is not one of info, warning, critical")),
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing opsward wants a person to know about, independent of the channel.
///
/// The webhook channel sends exactly this structure as its JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Dedupe key: the same event for the same object keeps the same id across retries.
    pub id: String,
    pub subject: String,
    pub body_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    pub severity: Severity,
    /// The practice that raised it, e.g. "certificates".
    pub practice: String,
    /// Where in opsward the reader can act on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// What happened, e.g. "activity.overdue".
    pub event: String,
    pub occurred_at: DateTime<Utc>,
    /// Addresses this one message is for (a survey to a customer's contact), instead of the
    /// channel's own list. Only the email channel can address a person; empty means the
    /// channel's configured recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
}

impl Notification {
    /// The same message with its link made absolute under `public_url` (the address people
    /// reach opsward at): practices link to paths such as `/certificates/1`, which nobody can
    /// click in an email or a chat message. Without a public URL the link stays a path.
    pub fn with_links_under(mut self, public_url: Option<&str>) -> Self {
        if let (Some(base), Some(link)) = (public_url, self.link.as_deref()) {
            self.link = Some(absolute_link(base, link));
        }
        self
    }
}

/// `path` under `base` when it is a path on opsward (one leading slash); anything else (an
/// absolute URL already, a protocol-relative `//host` link) is left as it is.
pub fn absolute_link(base: &str, path: &str) -> String {
    if path.starts_with('/') && !path.starts_with("//") {
        format!("{}{path}", base.trim_end_matches('/'))
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::absolute_link;

    #[test]
    fn paths_become_links_under_the_public_url_and_urls_stay() {
        let base = "https://ops.example.com/opsward/";
        assert_eq!(
            absolute_link(base, "/certificates/1"),
            "https://ops.example.com/opsward/certificates/1"
        );
        assert_eq!(
            absolute_link(base, "https://elsewhere.example/x"),
            "https://elsewhere.example/x"
        );
        assert_eq!(absolute_link(base, "//evil.example/x"), "//evil.example/x");
    }
}
