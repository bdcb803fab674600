//! Who hears about what, and the outbox that makes sure they do.
//!
//! Practices raise [`Event`]s ("this occurrence is overdue"). [`Notifier::emit`] matches
//! them against the notification rules and, in one transaction, writes an outbox row per
//! matching rule and remembers what was notified, so the same subject in the same state is
//! never sent twice (deduplication) and a snoozed subject stays quiet. A delivery run
//! ([`Notifier::deliver_due`]) claims due rows with a lease, sends each through its channel
//! with the channel's timeout, all channels in parallel, and records delivery, or a retry
//! with exponential backoff, or gives up after the last attempt. A failing or hanging
//! channel therefore only ever delays its own rows.

pub mod conditions;
pub mod events;
mod rules;
mod store;
mod worker;

pub use rules::{in_quiet_hours, quiet_hours_end, QuietHours};
pub use store::{Notifier, OutboxBacklog};
pub use worker::{DeliveryPolicy, DeliveryReport};

use chrono::{DateTime, Utc};
use opsward_core::practice::Practice;
pub use opsward_notify::{ChannelConfig, Notification, Severity};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Something a person may need to act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `activity.overdue`, `activity.due_soon`, `activity.failed`, ...
    pub kind: String,
    pub practice: Practice,
    pub severity: Severity,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// Identifies what the event is about (`activity:12:2026-03-30T07:00:00Z`): events with
    /// the same key and state are notified once per rule.
    pub dedupe_key: String,
    /// The subject's state; a new state is news again.
    pub state: String,
    pub occurred_at: DateTime<Utc>,
}

/// A channel as shown to users: never its configuration, which holds credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// `email`, `webhook`, `slack` or `teams`.
    pub kind: String,
    /// Where it sends: SMTP host and port, or the webhook's scheme and host.
    pub target: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub channel_id: i64,
    /// A user's own rule (their preferences); `None` for a team-wide rule.
    pub user_id: Option<i64>,
    /// Event kinds; empty means every kind.
    pub events: Vec<String>,
    pub practice: Option<Practice>,
    #[schema(value_type = String)]
    pub min_severity: Severity,
    /// Only events about things this team owns.
    pub owner_team_id: Option<i64>,
    /// Only events about things this person owns.
    pub owner_person_id: Option<i64>,
    /// Collect into one daily message instead of sending each.
    pub digest: bool,
    pub quiet_hours: Option<QuietHours>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleInput {
    pub name: String,
    pub channel_id: i64,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub practice: Option<Practice>,
    #[serde(default = "default_severity")]
    #[schema(value_type = String)]
    pub min_severity: Severity,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub digest: bool,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_severity() -> Severity {
    Severity::Info
}
fn default_true() -> bool {
    true
}

/// One message on its way to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboxEntry {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub channel_id: i64,
    pub dedupe_key: String,
    pub event: String,
    pub subject: String,
    /// `pending`, `digest` (waiting for the daily digest), `digested`, `delivered`, `dead`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}
