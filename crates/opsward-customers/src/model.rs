//! Customers, contacts, surveys, service reviews and their actions: what is stored and what
//! a caller sends.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use opsward_core::validation::{ValidationError, Validator};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

pub const MAX_ASSETS: usize = 100;
pub const MAX_ATTENDEES: usize = 50;
pub const MAX_ACTIONS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub notes: String,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The services and assets the customer uses.
    pub asset_ids: Vec<i64>,
    /// The recurring service review in the calendar, once scheduled.
    pub review_activity_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerInput {
    pub name: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub asset_ids: Vec<i64>,
}

impl CustomerInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 200);
        v.text("notes", &self.notes, false, 20_000);
        if self.asset_ids.len() > MAX_ASSETS {
            v.error("asset_ids", format!("at most {MAX_ASSETS} assets"));
        }
        v.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CustomerContact)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    /// Asked not to be surveyed.
    pub surveys_opt_out: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub surveys_opt_out: bool,
}

impl ContactInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("name", &self.name, 200);
        v.email("email", &self.email);
        v.text("role", &self.role, false, 100);
        v.finish()
    }
}

/// Which customer and contact raised a backlog item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemLink {
    pub item_id: i64,
    pub customer_id: i64,
    #[serde(default)]
    pub contact_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SurveyKind {
    /// Customer satisfaction with one resolved item, 1-5.
    Csat,
    /// Net Promoter Score, 0-10, asked periodically.
    Nps,
}

impl SurveyKind {
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            SurveyKind::Csat => "Satisfaction (CSAT)",
            SurveyKind::Nps => "Net Promoter Score (NPS)",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Csat => "csat",
            SurveyKind::Nps => "nps",
        }
    }
    /// The scores a person can give.
    pub fn scale(self) -> std::ops::RangeInclusive<i32> {
        match self {
            SurveyKind::Csat => 1..=5,
            SurveyKind::Nps => 0..=10,
        }
    }
}

impl fmt::Display for SurveyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SurveyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csat" => Ok(SurveyKind::Csat),
            "nps" => Ok(SurveyKind::Nps),
            _ => Err(format!("{s:?} is not one of csat, nps")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SurveyState {
    Sent,
    Answered,
    /// Decided against (not sampled, throttled, no contact): recorded so it is decided once.
    Skipped,
}

impl SurveyState {
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            SurveyState::Sent => "Sent",
            SurveyState::Answered => "Answered",
            SurveyState::Skipped => "Skipped",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyState::Sent => "sent",
            SurveyState::Answered => "answered",
            SurveyState::Skipped => "skipped",
        }
    }
}

impl FromStr for SurveyState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sent" => Ok(SurveyState::Sent),
            "answered" => Ok(SurveyState::Answered),
            "skipped" => Ok(SurveyState::Skipped),
            _ => Err(format!("{s:?} is not one of sent, answered, skipped")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Survey {
    pub id: i64,
    pub kind: SurveyKind,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    /// The resolved item a CSAT survey asks about.
    pub item_id: Option<i64>,
    pub state: SurveyState,
    /// `not_sampled`, `throttled`, `no_contact` or `opted_out`.
    pub skip_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub score: Option<i32>,
    pub comment: Option<String>,
    /// The backlog item opened because the score was low.
    pub followup_item_id: Option<i64>,
}

/// How surveys go out. Stored in the database so every server uses the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SurveySettings {
    /// The email channel surveys are sent through; none means surveys are not sent.
    pub channel_id: Option<i64>,
    /// Where the people answering reach opsward, e.g. `https://ops.example.com`.
    pub base_url: String,
    /// How long after an item is resolved its CSAT survey goes out.
    pub csat_delay_minutes: i32,
    /// Share of resolved items that get a survey, 0-100.
    pub sampling_percent: i32,
    /// At most one survey per contact in this many days.
    pub throttle_days: i32,
    /// How long a survey link can be answered.
    pub link_valid_days: i32,
    /// Days between NPS surveys of a customer's contacts; 0 turns NPS surveys off.
    pub nps_interval_days: i32,
    /// Seed of the sampling hash: the same seed gives the same sample.
    pub sampling_seed: String,
}

impl SurveySettings {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://"))
            || self.base_url.len() > 500
        {
            v.error(
                "base_url",
                "must be an http(s) URL of at most 500 characters",
            );
        }
        let ranges = [
            (
                "csat_delay_minutes",
                self.csat_delay_minutes,
                0,
                60 * 24 * 30,
            ),
            ("sampling_percent", self.sampling_percent, 0, 100),
            ("throttle_days", self.throttle_days, 0, 3650),
            ("link_valid_days", self.link_valid_days, 1, 365),
            ("nps_interval_days", self.nps_interval_days, 0, 3650),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                v.error(field, format!("must be between {min} and {max}"));
            }
        }
        v.name("sampling_seed", &self.sampling_seed, 100);
        v.finish()
    }
}

/// An answer given through a survey link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    pub score: i32,
    #[serde(default)]
    pub comment: String,
}

/// When a customer's service review recurs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewSchedule {
    /// RFC 5545 rule, e.g. `FREQ=MONTHLY;INTERVAL=3`.
    pub rrule: String,
    #[schema(value_type = String, example = "2026-01-14T10:00:00")]
    pub starts_local: NaiveDateTime,
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceReview {
    pub id: i64,
    pub customer_id: i64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub held_on: NaiveDate,
    pub attendees: Vec<String>,
    pub notes: String,
    /// The evidence recorded on the review's calendar occurrence.
    pub evidence_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub actions: Vec<ReviewAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ServiceReviewInput)]
pub struct ReviewInput {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub held_on: NaiveDate,
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub actions: Vec<ActionInput>,
}

impl ReviewInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        if self.period_end < self.period_start {
            v.error("period_end", "must not be before period_start");
        }
        if self.attendees.len() > MAX_ATTENDEES {
            v.error("attendees", format!("at most {MAX_ATTENDEES} attendees"));
        }
        for a in &self.attendees {
            v.name("attendees", a, 200);
        }
        v.text("notes", &self.notes, false, 50_000);
        if self.actions.len() > MAX_ACTIONS {
            v.error("actions", format!("at most {MAX_ACTIONS} actions"));
        }
        for a in &self.actions {
            v.name("actions.title", &a.title, 300);
        }
        v.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewAction {
    pub id: i64,
    pub review_id: i64,
    pub title: String,
    pub owner_person_id: Option<i64>,
    pub due_on: Option<NaiveDate>,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CustomerActionInput)]
pub struct ActionInput {
    pub title: String,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}
