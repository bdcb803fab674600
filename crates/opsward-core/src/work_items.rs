//! Work items other practices hand to the backlog, without depending on the backlog crate.
//!
//! A practice that files follow-up work (a customer's low satisfaction answer) or reads back
//! items its records point at (the items a customer raised, for a review pack) takes a
//! [`WorkItems`] from its caller; the backlog implements it. Dependencies keep flowing one
//! way: practices name this trait, never each other.

use crate::{contract::ProposedItemType, priority::Priority, Actor, ValidationError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A new work item, as another practice files it. It starts in the backlog's first state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkItem {
    pub item_type: ProposedItemType,
    pub title: String,
    /// Plain text.
    pub description: String,
    /// ITIL impact and urgency, 1 (high) to 3 (low).
    pub impact: i32,
    pub urgency: i32,
    pub team_id: Option<i64>,
    pub assignee_person_id: Option<i64>,
    pub tags: Vec<String>,
    pub asset_ids: Vec<i64>,
}

/// What another practice needs to know about an existing work item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItemSummary {
    pub id: i64,
    pub title: String,
    /// The backlog's state name, e.g. `in_progress`, `resolved`.
    pub state: String,
    /// Still to be worked on (not resolved or closed).
    pub open: bool,
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    /// For a resolved item: when it was resolved (its last change).
    pub updated_at: DateTime<Utc>,
}

/// Why the backlog could not file or find an item.
#[derive(Debug, thiserror::Error)]
pub enum WorkItemError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Anything else (the database, a conflict); the implementation's own error, so a
    /// caller that knows the implementation can recover it by downcasting.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Where a practice files work items and reads back the ones it refers to.
#[async_trait]
pub trait WorkItems: Send + Sync {
    /// File a new item on behalf of `actor`; returns its id.
    async fn file_item(&self, actor: &Actor, item: &NewWorkItem) -> Result<i64, WorkItemError>;

    /// The item `id`.
    async fn work_item(&self, id: i64) -> Result<WorkItemSummary, WorkItemError>;
}
