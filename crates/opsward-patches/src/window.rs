//! Maintenance windows: a start that recurs by an RFC 5545 rule in the window's own time
//! zone (so "Tuesdays 02:00 Europe/Berlin" stays at 02:00 across daylight-saving changes),
//! and a length.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use opsward_ops::recurrence::{parse_timezone, Schedule};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceWindow {
    /// `FREQ=WEEKLY;BYDAY=TU`; empty for a one-off window.
    pub rrule: String,
    /// The first window's start, local time in `timezone`.
    pub starts_local: NaiveDateTime,
    pub timezone: String,
    pub minutes: i64,
}

impl MaintenanceWindow {
    fn schedule(&self) -> Result<Schedule, String> {
        if !(1..=24 * 60 * 7).contains(&self.minutes) {
            return Err("minutes: must be 1-10080".into());
        }
        Schedule::new(
            self.starts_local,
            parse_timezone(&self.timezone)?,
            &self.rrule,
        )
    }

    /// Whether `rrule`, start and time zone make a valid window.
    pub fn validate(&self) -> Result<(), String> {
        self.schedule().map(|_| ())
    }

    /// The end of the window open at `now`, or `None` when no window is open.
    pub fn open_until(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        let length = Duration::minutes(self.minutes);
        let starts = self.schedule()?.between(
            now - length + Duration::seconds(1),
            now + Duration::seconds(1),
        );
        Ok(starts.last().map(|s| *s + length).filter(|end| *end > now))
    }

    /// The next window start after `now` (within a year).
    pub fn next_start(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        Ok(self
            .schedule()?
            .between(now, now + Duration::days(366))
            .into_iter()
            .next())
    }
}
