//! Slack and Teams payloads, as received by a real HTTP receiver on 127.0.0.1.

use axum::http::StatusCode;
use opsward_notify::{deliver, ChannelConfig, Severity, SlackConfig, TeamsConfig};
use serde_json::Value;

use crate::support::{notification, HttpReceiver};

#[tokio::test]
async fn slack_gets_a_text_fallback_and_blocks() {
    let mut receiver = HttpReceiver::start(StatusCode::OK).await;
    let config = ChannelConfig::Slack(SlackConfig {
        webhook_url: format!("{}/services/T000/B000/XXXXSECRET", receiver.base),
        timeout_secs: 5,
    });
    let mut n = notification();
    n.body_text = "Renew <now> & check the chain".into();

    let delivered = deliver(&config, &n).await.unwrap();
    assert_eq!(delivered.channel, "slack");
    assert!(!format!("{delivered:?}").contains("XXXXSECRET"));

    let request = receiver.next_request().await;
    assert_eq!(request.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains(&n.subject), "{text}");
    assert!(text.contains("WARNING"), "{text}");
    assert!(
        text.contains("https://opsward.example.com/certs/42"),
        "{text}"
    );

    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(blocks[0]["text"]["text"], n.subject.as_str());
    assert_eq!(blocks[1]["type"], "section");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[1]["text"]["text"],
        "Renew &lt;now&gt; &amp; check the chain"
    );
    let button = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .map(|b| &b["elements"][0])
        .expect("a button linking into opsward");
    assert_eq!(button["type"], "button");
    assert_eq!(button["url"], "https://opsward.example.com/certs/42");
}

#[tokio::test]
async fn slack_without_a_link_has_no_button() {
    let mut receiver = HttpReceiver::start(StatusCode::OK).await;
    let config = ChannelConfig::Slack(SlackConfig {
        webhook_url: format!("{}/services/T/B/X", receiver.base),
        timeout_secs: 5,
    });
    let mut n = notification();
    n.link = None;

    deliver(&config, &n).await.unwrap();
    let body: Value = serde_json::from_slice(&receiver.next_request().await.body).unwrap();
    assert!(body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["type"] != "actions"));
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_message() {
    // Teams Workflows webhooks answer 202 Accepted.
    let mut receiver = HttpReceiver::start(StatusCode::ACCEPTED).await;
    let config = ChannelConfig::Teams(TeamsConfig {
        webhook_url: format!("{}/webhookb2/abc/IncomingWebhook/def/SECRET", receiver.base),
        timeout_secs: 5,
    });
    let mut n = notification();
    n.severity = Severity::Critical;

    let delivered = deliver(&config, &n).await.unwrap();
    assert_eq!(delivered.channel, "teams");
    assert_eq!(delivered.response, "202 Accepted");

    let body: Value = serde_json::from_slice(&receiver.next_request().await.body).unwrap();
    assert_eq!(body["type"], "message");
    let attachments = body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], n.subject.as_str());
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][1]["text"], n.body_text.as_str());
    let facts = card["body"][2]["facts"].as_array().unwrap();
    assert!(facts
        .iter()
        .any(|f| f["title"] == "Practice" && f["value"] == "certificates"));
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(
        card["actions"][0]["url"],
        "https://opsward.example.com/certs/42"
    );
}
