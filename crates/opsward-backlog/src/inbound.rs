//! Inbound email: messages in an IMAP mailbox become backlog items, and replies become
//! comments on the item they name.
//!
//! A subject carrying an item reference `[#123]` (anywhere, e.g. `Re: [#123] Disk full`) of
//! an existing item adds the message's own text (quoted reply text and signature cut) as a
//! comment; any other message opens a new item titled by its subject. The bare `#123` is not
//! a reference: subjects such as "Order #5 failed" are common in mail from other systems,
//! and reading them as replies would comment on unrelated items.
//!
//! This module holds the settings, the pure rules (reference, reply text, size cap,
//! message parsing) and the report; [`crate::inbound_poll`] talks to the mailbox and
//! [`crate::inbound_store`] records what was done, so each message is handled once.

use crate::model::ItemType;
use chrono::{DateTime, Utc};
use opsward_core::ValidationError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{fmt, net::IpAddr, path::PathBuf};
use utoipa::ToSchema;

/// Environment variable holding the mailbox password (preferred over `password_file`).
pub const PASSWORD_ENV: &str = "OPSWARD_BACKLOG_INBOUND_PASSWORD";

/// Longest comment or description taken from a message, in characters; the rest is cut
/// with a note (the full message stays in the mailbox).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// How the connection to the IMAP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS before login (port 143).
    Starttls,
    /// No TLS: the password crosses the connection in clear text, so only allowed to a
    /// server on the loopback interface (a local Dovecot, a TLS tunnel such as stunnel).
    None,
}

/// A password that never reaches logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `[backlog_inbound]` in the configuration file. Disabled while `host` is unset.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InboundSettings {
    /// IMAP server name; unset disables inbound email.
    pub host: Option<String>,
    /// Default 993 with implicit TLS, 143 otherwise.
    pub port: Option<u16>,
    pub tls: TlsMode,
    pub username: String,
    /// A file whose first line is the password; read at each poll, so a rotated password
    /// needs no restart. The environment variable [`PASSWORD_ENV`] wins when set.
    pub password_file: Option<PathBuf>,
    /// From [`PASSWORD_ENV`]; never read from or written to the file.
    #[serde(skip)]
    pub password: Option<Secret>,
    /// PEM file of CA certificates trusted for the server besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// The mailbox polled for new (unseen) messages.
    pub mailbox: String,
    /// When set, handled messages are moved here; otherwise they are only flagged `\Seen`.
    pub processed_mailbox: Option<String>,
    /// Seconds between scheduled polls (30-86400).
    pub poll_interval_seconds: u32,
    /// Type and team of the items new messages open.
    pub item_type: ItemType,
    pub team_id: Option<i64>,
    /// Seconds allowed to connect (TCP and TLS handshake), and for each IMAP answer.
    pub connect_timeout_seconds: u32,
    pub read_timeout_seconds: u32,
    /// Most messages handled per poll; the rest wait for the next one.
    pub max_messages: u32,
    /// Larger messages are reported and left unread instead of fetched.
    pub max_message_kib: u32,
}

impl Default for InboundSettings {
    fn default() -> Self {
        InboundSettings {
            host: None,
            port: None,
            tls: TlsMode::Implicit,
            username: String::new(),
            password_file: None,
            password: None,
            ca_file: None,
            mailbox: "INBOX".into(),
            processed_mailbox: None,
            poll_interval_seconds: 300,
            item_type: ItemType::Incident,
            team_id: None,
            connect_timeout_seconds: 10,
            read_timeout_seconds: 30,
            max_messages: 50,
            max_message_kib: 10 * 1024,
        }
    }
}

impl fmt::Debug for InboundSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password itself is never shown, only whether one is configured.
        f.debug_struct("InboundSettings")
            .field("host", &self.host)
            .field("port", &self.port())
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_file", &self.password_file)
            .field("mailbox", &self.mailbox)
            .field("processed_mailbox", &self.processed_mailbox)
            .field("poll_interval_seconds", &self.poll_interval_seconds)
            .finish_non_exhaustive()
    }
}

impl InboundSettings {
    pub fn enabled(&self) -> bool {
        self.host.as_deref().is_some_and(|h| !h.trim().is_empty())
    }

    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("").trim()
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        })
    }

    /// Checked when the configuration is loaded; a disabled section is not checked.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !self.enabled() {
            return Ok(());
        }
        let fail = |field: &str, why: &str| Err(ValidationError::single(field, why));
        if self.tls == TlsMode::None && !is_loopback(self.host()) {
            return fail(
                "tls",
                "none is only allowed for a server on localhost: without TLS the password crosses the network in clear text",
            );
        }
        if self.username.trim().is_empty() {
            return fail("username", "is required when host is set");
        }
        if self.password.is_none() && self.password_file.is_none() {
            return fail(
                "password_file",
                &format!("set password_file or the environment variable {PASSWORD_ENV}"),
            );
        }
        if self.mailbox.trim().is_empty() {
            return fail("mailbox", "must not be empty");
        }
        if let Some(done) = &self.processed_mailbox {
            // Moving into the polled mailbox would hand every message back to the next poll.
            if done.trim().is_empty() || done.trim() == self.mailbox.trim() {
                return fail("processed_mailbox", "must be a mailbox other than mailbox");
            }
        }
        if !(30..=86_400).contains(&self.poll_interval_seconds) {
            return fail("poll_interval_seconds", "must be 30 to 86400");
        }
        for (field, v) in [
            ("connect_timeout_seconds", self.connect_timeout_seconds),
            ("read_timeout_seconds", self.read_timeout_seconds),
        ] {
            if !(1..=600).contains(&v) {
                return fail(field, "must be 1 to 600");
            }
        }
        if !(1..=1000).contains(&self.max_messages) {
            return fail("max_messages", "must be 1 to 1000");
        }
        if !(1..=102_400).contains(&self.max_message_kib) {
            return fail("max_message_kib", "must be 1 to 102400");
        }
        Ok(())
    }

    /// The password: the environment's, else the first line of `password_file`.
    pub fn resolve_password(&self) -> Result<Secret, String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        let path = self
            .password_file
            .as_ref()
            .ok_or_else(|| format!("no password: set {PASSWORD_ENV} or password_file"))?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read password_file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!("password_file {} is empty", path.display()));
        }
        Ok(Secret::new(line))
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The item a subject refers to: the first `[#<digits>]` in it.
pub fn item_reference(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(at) = rest.find("[#") {
        let after = &rest[at + 2..];
        let digits: &str = &after[..after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len())];
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            if let Ok(id) = digits.parse::<i64>() {
                return Some(id);
            }
        }
        rest = after;
    }
    None
}

/// The sender's own words of a reply: stops at the attribution line of the quoted message
/// ("On ... wrote:", Outlook's "-----Original Message-----" or its "From:" block after a
/// rule) or at the signature separator, and drops quoted (`>`) lines. When that leaves
/// nothing (everything was quoted), the whole text is kept rather than lost.
pub fn reply_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
        let attribution = (t.starts_with("On ") && t.ends_with("wrote:"))
            || (t.starts_with("On ") && !t.ends_with("wrote:") && next.ends_with("wrote:"))
            || (t.starts_with("Am ") && t.ends_with("schrieb:"))
            || (t.starts_with("Le ") && t.ends_with("a écrit :"));
        let outlook = t.eq_ignore_ascii_case("-----Original Message-----")
            || (t.starts_with("________________") && next.starts_with("From:"));
        if attribution || outlook || *line == "-- " {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    let own = kept.join("\n").trim().to_string();
    if own.is_empty() {
        text.trim().to_string()
    } else {
        own
    }
}

/// `text` cut to `max` characters, with a note when it was.
pub fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{}\n\n_(cut at {max} characters; the full message is in the mailbox)_",
            &text[..at]
        ),
    }
}

/// What a message says, as far as the backlog needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The Message-ID, or `sha256:<hex>` of the raw message when it has none: the key
    /// that makes each message count once.
    pub key: String,
    pub message_id: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
    pub subject: String,
    /// The plain-text body (HTML-only mail converted to text), untrimmed of quotes.
    pub text: String,
    /// An auto-reply, bounce or list mail (`Auto-Submitted`, `Precedence`): answering or
    /// filing those would start mail loops with opsward's own notifications.
    pub automatic: bool,
}

impl InboundMessage {
    pub fn sender(&self) -> String {
        match &self.from_name {
            Some(name) if !name.trim().is_empty() => {
                format!("{} <{}>", name.trim(), self.from_address)
            }
            _ => format!("<{}>", self.from_address),
        }
    }
}

/// `text` without control characters other than newline and tab: a decoded body may carry
/// NUL bytes, which PostgreSQL refuses in text, and would fail the message at every poll.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// Parse a raw RFC 5322 message. Refused (and so left unread) when it has no usable sender
/// address, or neither subject nor text.
pub fn parse_message(raw: &[u8]) -> Result<InboundMessage, String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or("not an email message (no header could be read)")?;
    let from = msg
        .from()
        .and_then(|a| a.first())
        .ok_or("the message has no From address")?;
    let from_address = from
        .address()
        .map(str::trim)
        .filter(|a| a.contains('@') && !a.contains(char::is_whitespace))
        .ok_or("the From header has no valid email address")?
        .to_string();
    let subject = printable(msg.subject().unwrap_or("")).trim().to_string();
    // Mail lines end in CRLF; stored text uses plain newlines like the rest of the backlog.
    let text = msg
        .body_text(0)
        .map(|t| printable(&t.replace("\r\n", "\n")))
        .unwrap_or_default();
    if subject.is_empty() && text.trim().is_empty() {
        return Err("the message has neither a subject nor any text".into());
    }
    let header = |name: &str| {
        msg.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let auto_submitted = header("Auto-Submitted");
    let precedence = header("Precedence");
    let automatic = (!auto_submitted.is_empty() && auto_submitted != "no")
        || matches!(precedence.as_str(), "bulk" | "junk" | "list" | "auto_reply");
    let message_id = msg
        .message_id()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty());
    let key = match &message_id {
        Some(id) => format!("<{id}>"),
        None => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    Ok(InboundMessage {
        key,
        message_id,
        from_address,
        from_name: from.name().map(printable),
        subject,
        text,
        automatic,
    })
}

opsward_core::text_enum!(
    /// What a poll did with one message.
    InboundAction {
        /// A new item was opened.
        Created => "created",
        /// A comment was added to the item named in the subject.
        Commented => "commented",
        /// Handled before (its Message-ID is recorded); only flagged now.
        AlreadyProcessed => "already_processed",
        /// An auto-reply or bulk mail: flagged, not filed.
        Ignored => "ignored",
        /// Could not be handled; left unread, tried again at the next poll.
        Failed => "failed",
    }
);

/// One message of a poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogInboundMessage)]
pub struct MessageReport {
    /// The message's IMAP UID in the polled mailbox.
    pub uid: u32,
    pub message_id: Option<String>,
    /// The sender as `Name <address>`.
    pub from: Option<String>,
    /// The sender's bare address.
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub action: InboundAction,
    pub item_id: Option<i64>,
    pub comment_id: Option<i64>,
    /// The customer a new item was linked to, when the sender is one of its contacts.
    pub customer_id: Option<i64>,
    /// Why the message failed, or a note (e.g. the referenced item does not exist).
    pub detail: Option<String>,
}

/// What one poll of the mailbox did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogInboundRun)]
pub struct InboundRun {
    pub at: Option<DateTime<Utc>>,
    pub mailbox: String,
    /// Unseen messages found (at most `max_messages` are handled per poll).
    pub unseen: usize,
    pub messages: Vec<MessageReport>,
    /// Why the mailbox could not be polled (or the poll stopped): connection, login,
    /// timeout. Messages not reached stay unread for the next poll.
    pub error: Option<String>,
}

impl InboundRun {
    /// Any message failed, or the mailbox could not be polled.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.failures() > 0
    }

    pub fn failures(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.action == InboundAction::Failed)
            .count()
    }

    /// One line naming each message that failed, or `None` when none did.
    pub fn failure_summary(&self) -> Option<String> {
        let failed: Vec<String> = self
            .messages
            .iter()
            .filter(|m| m.action == InboundAction::Failed)
            .map(|m| format!("uid {}: {}", m.uid, m.detail.as_deref().unwrap_or("failed")))
            .collect();
        (!failed.is_empty()).then(|| {
            format!(
                "{} of {} messages could not be filed and were left unread: {}",
                failed.len(),
                self.messages.len(),
                failed.join("; ")
            )
        })
    }

    pub fn count(&self, action: InboundAction) -> usize {
        self.messages.iter().filter(|m| m.action == action).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_bracketed_hash_numbers() {
        assert_eq!(item_reference("Re: [#123] Disk full"), Some(123));
        assert_eq!(item_reference("[#7]"), Some(7));
        assert_eq!(item_reference("Fwd: RE: [ticket] [#42] x [#43]"), Some(42));
        assert_eq!(item_reference("Order #5 failed"), None);
        assert_eq!(item_reference("[#] [#12a] [# 3]"), None);
        assert_eq!(item_reference("[#99999999999999999999999]"), None);
    }

    #[test]
    fn reply_text_cuts_quotes_and_signature() {
        let body = "Still broken after the reboot.\n\nOn Tue, 3 Nov 2026 at 10:00, ops <ops@example.com> wrote:\n> Please reboot.\n> Thanks\n";
        assert_eq!(reply_text(body), "Still broken after the reboot.");
        let wrapped =
            "Fixed.\nOn Tue, 3 Nov 2026 at 10:00, Some Body\n<x@example.com> wrote:\n> old";
        assert_eq!(reply_text(wrapped), "Fixed.");
        let outlook = "Done\r\n\r\n-----Original Message-----\r\nFrom: a\r\n";
        assert_eq!(reply_text(outlook), "Done");
        let signed = "See log.\n> quoted inline\nmore\n-- \nAlice\nOps";
        assert_eq!(reply_text(signed), "See log.\nmore");
        assert_eq!(reply_text("> only quotes\n> here"), "> only quotes\n> here");
    }

    #[test]
    fn cap_counts_characters_not_bytes() {
        assert_eq!(cap("äöü", 3), "äöü");
        assert!(cap("äöüß", 3).starts_with("äöü\n\n_(cut at 3"));
    }

    #[test]
    fn parses_sender_subject_text_and_auto_replies() {
        let raw = b"From: Alice Example <alice@example.com>\r\nTo: backlog@example.com\r\nSubject: Printer on fire\r\nMessage-ID: <m1@example.com>\r\n\r\nIt smokes.\r\n";
        let m = parse_message(raw).unwrap();
        assert_eq!(m.key, "<m1@example.com>");
        assert_eq!(m.sender(), "Alice Example <alice@example.com>");
        assert_eq!(m.subject, "Printer on fire");
        assert_eq!(m.text.trim(), "It smokes.");
        assert!(!m.automatic);
        let auto = b"From: a@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway\r\n";
        let m = parse_message(auto).unwrap();
        assert!(m.automatic);
        assert!(m.key.starts_with("sha256:"), "no Message-ID: {}", m.key);
        assert!(parse_message(b"\x00\x01 garbage without headers").is_err());
        let nul = b"From: n@example.com\r\nSubject: a\x07b\r\n\r\nline\x00one\r\n\ttwo\r\n";
        let m = parse_message(nul).unwrap();
        assert_eq!(
            (m.subject.as_str(), m.text.trim_end()),
            ("ab", "lineone\n\ttwo")
        );
        let html = b"From: b@example.com\r\nSubject: Html\r\nContent-Type: text/html\r\n\r\n<p>Server <b>down</b></p>\r\n";
        let m = parse_message(html).unwrap();
        assert!(
            m.text.contains("Server") && !m.text.contains("<b>"),
            "{}",
            m.text
        );
        assert!(parse_message(b"Subject: no sender\r\n\r\ntext\r\n").is_err());
    }

    #[test]
    fn validation_refuses_plain_text_to_remote_hosts() {
        let base = InboundSettings {
            host: Some("imap.example.com".into()),
            username: "backlog".into(),
            password: Some(Secret::new("pw")),
            ..Default::default()
        };
        assert!(base.validate().is_ok());
        let plain = InboundSettings {
            tls: TlsMode::None,
            ..base.clone()
        };
        assert!(plain
            .validate()
            .unwrap_err()
            .to_string()
            .contains("localhost"));
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            let local = InboundSettings {
                host: Some(host.into()),
                ..plain.clone()
            };
            assert!(local.validate().is_ok(), "{host}");
        }
        let no_password = InboundSettings {
            password: None,
            ..base.clone()
        };
        assert!(no_password.validate().is_err());
        assert!(InboundSettings::default().validate().is_ok(), "disabled");
        let into_itself = InboundSettings {
            processed_mailbox: Some("INBOX".into()),
            ..base.clone()
        };
        assert!(into_itself.validate().is_err());
        assert!(!format!("{base:?}").contains("pw\""));
    }
}
