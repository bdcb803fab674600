//! Slack incoming webhook: a `text` fallback for notifications plus Block Kit blocks.

use serde_json::{json, Value};

use crate::Notification;

// Slack rejects a header block over 150 characters and a section text over 3000.
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;

pub(crate) fn payload(n: &Notification) -> Value {
    let mut fallback = format!("[{}] {}", n.severity.as_str().to_uppercase(), n.subject);
    if let Some(link) = &n.link {
        fallback.push_str(&format!(" <{}|Open in opsward>", escape(link)));
    }
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&n.subject, HEADER_MAX), "emoji": true}
        }),
        json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&escape(&n.body_text), SECTION_MAX)}
        }),
        json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": format!(
                    "{} *{}* · {} · `{}` · {}",
                    severity_emoji(n),
                    n.severity,
                    escape(&n.practice),
                    escape(&n.event),
                    n.occurred_at.format("%Y-%m-%d %H:%M UTC"),
                )
            }]
        }),
    ];
    if let Some(link) = &n.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in opsward"},
                "url": link
            }]
        }));
    }
    json!({ "text": fallback, "blocks": blocks })
}

fn severity_emoji(n: &Notification) -> &'static str {
    match n.severity {
        crate::Severity::Info => ":information_source:",
        crate::Severity::Warning => ":warning:",
        crate::Severity::Critical => ":rotating_light:",
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_truncate() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(
            truncate(&"é".repeat(200), HEADER_MAX).chars().count(),
            HEADER_MAX
        );
    }
}
