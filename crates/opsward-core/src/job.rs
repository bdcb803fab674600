//! Background jobs: the scheduler's unit of work, shared by every server instance through
//! the store.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    /// Failed and out of attempts.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Dead,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Jobs with the same key are enqueued once; periodic jobs use a key per period.
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    pub dedupe_key: Option<String>,
}

/// Delay before attempt `attempt + 1` after a failure: exponential from `base`, capped, so a
/// broken dependency is retried soon but not hammered.
pub fn retry_delay(attempt: i32, base: Duration, cap: Duration) -> Duration {
    let exp = attempt.clamp(1, 20) as u32 - 1;
    let delay = base * 2i32.pow(exp.min(16));
    delay.min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::seconds(10);
        let cap = Duration::minutes(5);
        assert_eq!(retry_delay(1, base, cap), Duration::seconds(10));
        assert_eq!(retry_delay(2, base, cap), Duration::seconds(20));
        assert_eq!(retry_delay(3, base, cap), Duration::seconds(40));
        assert_eq!(retry_delay(12, base, cap), cap);
    }
}
