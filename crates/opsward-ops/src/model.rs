use crate::recurrence;
use chrono::{DateTime, NaiveDateTime, Utc};
use opsward_core::{
    practice::Practice,
    validation::{ValidationError, Validator},
};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// Longest activity: one week.
pub const MAX_DURATION_MINUTES: i32 = 7 * 24 * 60;

/// A piece of recurring (or one-off) operations work: "patch window, second Wednesday
/// monthly, 22:00 Europe/Berlin, team ops".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    pub title: String,
    pub practice: Practice,
    /// The built-in template it was made from, if any.
    pub template: Option<String>,
    pub description: String,
    /// RFC 5545 RRULE value, e.g. `FREQ=MONTHLY;BYDAY=2WE`; empty for a one-off activity.
    pub rrule: String,
    /// First start, wall-clock time in `timezone`.
    #[schema(value_type = String, example = "2026-01-14T22:00:00")]
    pub starts_local: NaiveDateTime,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub duration_minutes: i32,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    /// The asset the activity is about, if one.
    pub asset_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityInput {
    pub title: String,
    pub practice: Practice,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub rrule: String,
    #[schema(value_type = String, example = "2026-01-14T22:00:00")]
    pub starts_local: NaiveDateTime,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "default_duration")]
    pub duration_minutes: i32,
    #[serde(default)]
    pub owner_team_id: Option<i64>,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub asset_id: Option<i64>,
    #[serde(default = "default_active")]
    pub active: bool,
}

fn default_timezone() -> String {
    "UTC".into()
}
fn default_duration() -> i32 {
    60
}
fn default_active() -> bool {
    true
}

impl ActivityInput {
    /// Canonical form: the rule without an `RRULE:` prefix or spaces, upper-cased.
    pub fn normalize(mut self) -> Self {
        let rule = self.rrule.trim();
        let rule = rule
            .strip_prefix("RRULE:")
            .or_else(|| rule.strip_prefix("rrule:"))
            .unwrap_or(rule);
        self.rrule = rule
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        self.timezone = self.timezone.trim().to_string();
        self.title = self.title.trim().to_string();
        self
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.name("title", &self.title, 200);
        v.text("description", &self.description, false, 4000);
        if !(1..=MAX_DURATION_MINUTES).contains(&self.duration_minutes) {
            v.error(
                "duration_minutes",
                format!("must be 1-{MAX_DURATION_MINUTES}"),
            );
        }
        if self.owner_team_id.is_some() && self.owner_person_id.is_some() {
            v.error(
                "owner",
                "an activity is owned by a team or by a person, not both",
            );
        }
        match recurrence::parse_timezone(&self.timezone) {
            Err(e) => v.error("timezone", e),
            Ok(tz) => {
                if let Err(e) = recurrence::Schedule::new(self.starts_local, tz, &self.rrule) {
                    v.error("rrule", e);
                }
            }
        }
        v.finish()
    }
}

/// Whether an occurrence's work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OccurrenceState {
    /// Evidence was recorded for it.
    Done,
    /// Its start has passed without evidence.
    Overdue,
    /// Still ahead.
    Upcoming,
}

impl OccurrenceState {
    pub fn of(starts_at: DateTime<Utc>, has_evidence: bool, now: DateTime<Utc>) -> Self {
        if has_evidence {
            OccurrenceState::Done
        } else if starts_at <= now {
            OccurrenceState::Overdue
        } else {
            OccurrenceState::Upcoming
        }
    }

    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            OccurrenceState::Done => "Done",
            OccurrenceState::Overdue => "Overdue",
            OccurrenceState::Upcoming => "Upcoming",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OccurrenceState::Done => "done",
            OccurrenceState::Overdue => "overdue",
            OccurrenceState::Upcoming => "upcoming",
        }
    }
}

/// For one activity's occurrences in start order: whether each is *missed*, that is overdue
/// while a later occurrence has already started. Its evidence was never recorded and the
/// next round is under way; it stays visible as missed rather than silently back-filled by
/// the next result (which completes the latest started occurrence).
pub fn missed(occurrences: &[Occurrence], now: DateTime<Utc>) -> Vec<bool> {
    let latest_started = occurrences
        .iter()
        .filter(|o| o.starts_at <= now)
        .map(|o| o.starts_at)
        .max();
    occurrences
        .iter()
        .map(|o| {
            o.state == OccurrenceState::Overdue && latest_started.is_some_and(|l| o.starts_at < l)
        })
        .collect()
}

/// One occurrence of an activity in a calendar window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Occurrence {
    pub activity_id: i64,
    pub title: String,
    pub practice: Practice,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start as wall-clock time in the activity's time zone.
    pub starts_local: String,
    pub timezone: String,
    pub state: OccurrenceState,
    pub evidence_id: Option<i64>,
    pub result: Option<EvidenceResult>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceResult {
    Passed,
    Failed,
    Partial,
}

impl EvidenceResult {
    pub const ALL: [EvidenceResult; 3] = [
        EvidenceResult::Passed,
        EvidenceResult::Failed,
        EvidenceResult::Partial,
    ];
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceResult::Passed => "Passed",
            EvidenceResult::Failed => "Failed",
            EvidenceResult::Partial => "Partial",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceResult::Passed => "passed",
            EvidenceResult::Failed => "failed",
            EvidenceResult::Partial => "partial",
        }
    }
}

impl fmt::Display for EvidenceResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EvidenceResult {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        EvidenceResult::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| format!("{s:?} is not one of passed, failed, partial"))
    }
}

/// Proof that a piece of work happened: by whom or which job, when, with what result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    pub id: i64,
    pub activity_id: Option<i64>,
    pub practice: Practice,
    pub title: String,
    /// The occurrence it completes.
    pub occurrence_at: Option<DateTime<Utc>>,
    pub recorded_at: DateTime<Utc>,
    /// `user:alice`, `token:alice/ci`, `cli:root` or `system:<job>`.
    pub recorded_by: String,
    pub result: EvidenceResult,
    pub notes: String,
    pub links: Vec<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceInput {
    /// Start of the occurrence being completed (UTC), as listed by the calendar.
    #[serde(default)]
    pub occurrence_at: Option<DateTime<Utc>>,
    pub result: EvidenceResult,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub links: Vec<String>,
}

impl EvidenceInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("notes", &self.notes, false, 20_000);
        if self.links.len() > 20 {
            v.error("links", "at most 20 links");
        }
        for link in &self.links {
            let ok = (link.starts_with("https://") || link.starts_with("http://"))
                && link.len() <= 2000
                && !link.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                v.error("links", format!("{link:?} is not an http(s) URL"));
            }
        }
        v.finish()
    }
}

/// A file kept as part of evidence, stored once by its SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub evidence_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// Which occurrences or evidence a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalendarFilter {
    pub practice: Option<Practice>,
    pub owner_team_id: Option<i64>,
    pub owner_person_id: Option<i64>,
    pub activity_id: Option<i64>,
    /// Activities about this asset.
    pub asset_id: Option<i64>,
}

/// An iCal subscription. The URL's secret exists only in the response that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IcalFeed {
    pub id: i64,
    pub user_id: i64,
    /// A team's calendar instead of the user's own.
    pub team_id: Option<i64>,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}
