//! Microsoft Teams incoming webhook: a message with one Adaptive Card (schema 1.4).

use serde_json::{json, Value};

use crate::{Notification, Severity};

pub(crate) fn payload(n: &Notification) -> Value {
    let color = match n.severity {
        Severity::Info => "Default",
        Severity::Warning => "Warning",
        Severity::Critical => "Attention",
    };
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": n.subject,
                "size": "Medium",
                "weight": "Bolder",
                "color": color,
                "wrap": true
            },
            {"type": "TextBlock", "text": n.body_text, "wrap": true},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Severity", "value": n.severity.as_str()},
                    {"title": "Practice", "value": n.practice},
                    {"title": "Event", "value": n.event},
                    {"title": "Occurred", "value": n.occurred_at.format("%Y-%m-%d %H:%M UTC").to_string()}
                ]
            }
        ]
    });
    if let Some(link) = &n.link {
        card["actions"] = json!([
            {"type": "Action.OpenUrl", "title": "Open in opsward", "url": link}
        ]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card
        }]
    })
}
