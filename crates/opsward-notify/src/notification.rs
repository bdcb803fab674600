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
