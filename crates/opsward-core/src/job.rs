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
    pub const ALL: &'static [JobState] = &[
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Dead,
    ];

    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Running => "Running",
            JobState::Succeeded => "Succeeded",
            JobState::Dead => "Failed for good",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        JobState::ALL.iter().copied().find(|v| v.as_str() == s)
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

/// Why a job run failed. It carries any error (`?` converts), keeps its message for the
/// job's `last_error`, and is retried with backoff by the scheduler.
pub struct JobError(Box<dyn std::error::Error + Send + Sync>);

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for JobError {
    fn from(e: E) -> Self {
        JobError(e.into())
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A kind of job and what running it means. Handlers hold the store handles they need.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Run once. An `Err` is retried with backoff until the job's attempts are used up.
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// A job a practice runs: its kind, how often it recurs (if it does), and its handler.
#[derive(Clone)]
pub struct JobSpec {
    pub kind: String,
    pub every: Option<Duration>,
    pub handler: std::sync::Arc<dyn JobHandler>,
}

impl JobSpec {
    pub fn every(kind: &str, every: Duration, handler: impl JobHandler) -> Self {
        JobSpec {
            kind: kind.to_string(),
            every: Some(every),
            handler: std::sync::Arc::new(handler),
        }
    }

    /// A job that runs only when enqueued (by an API call, say).
    pub fn on_demand(kind: &str, handler: impl JobHandler) -> Self {
        JobSpec {
            kind: kind.to_string(),
            every: None,
            handler: std::sync::Arc::new(handler),
        }
    }
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
