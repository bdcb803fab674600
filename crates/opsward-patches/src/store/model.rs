use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An enrollment token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub uses: i64,
}

pub use opsward_core::host_inventory::{
    Host, HostDetail, HostSummary, PendingRow, ReportRow, ResolvedRow, UpdateFix, UpdateFixes,
};

/// What the server did with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Applied now.
    Applied,
    /// Applied before (a retried upload): nothing changed.
    Duplicate,
}
