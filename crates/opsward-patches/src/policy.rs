//! When an update is due, and how compliant hosts and the fleet are.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use opsward_core::host_inventory::{PatchPolicy, Severity};

/// One pending or resolved update as compliance sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSpan {
    pub host_id: i64,
    pub first_seen_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `None` while still pending.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A host is current when none of its pending updates is overdue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FleetCompliance {
    pub hosts: i64,
    pub current_hosts: i64,
    /// Share of hosts that are current, 0-100 (100 with no hosts).
    pub percent_current: f64,
    pub pending_updates: i64,
    pub security_updates: i64,
    pub overdue_updates: i64,
    /// Mean hours from first seen to installed, over updates installed in the last 90 days.
    pub mean_hours_to_patch: Option<f64>,
}

/// One day of the compliance trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = PatchTrendPoint)]
pub struct TrendPoint {
    pub day: NaiveDate,
    pub hosts: i64,
    pub current_hosts: i64,
    pub overdue_updates: i64,
}

/// Whether `span` was pending and overdue at `at`.
fn overdue_at(span: &UpdateSpan, at: DateTime<Utc>) -> bool {
    span.first_seen_at <= at && span.due_at < at && span.resolved_at.is_none_or(|r| r > at)
}

/// The end of each of the last `days` days (up to `now`), with the hosts enrolled by then
/// and how many had nothing overdue: computed from the spans alone, so the trend also
/// covers days before anyone looked.
pub fn trend(
    enrolled: &[(i64, DateTime<Utc>)],
    spans: &[UpdateSpan],
    now: DateTime<Utc>,
    days: i64,
) -> Vec<TrendPoint> {
    let today = now.date_naive();
    (0..days)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back);
            let end = if back == 0 {
                now
            } else {
                day.and_hms_opt(23, 59, 59).expect("valid time").and_utc()
            };
            let hosts: Vec<i64> = enrolled
                .iter()
                .filter(|(_, at)| *at <= end)
                .map(|(id, _)| *id)
                .collect();
            let overdue: Vec<&UpdateSpan> = spans.iter().filter(|s| overdue_at(s, end)).collect();
            let behind: std::collections::BTreeSet<i64> =
                overdue.iter().map(|s| s.host_id).collect();
            TrendPoint {
                day,
                hosts: hosts.len() as i64,
                current_hosts: hosts.iter().filter(|h| !behind.contains(h)).count() as i64,
                overdue_updates: overdue.len() as i64,
            }
        })
        .collect()
}

/// Mean hours from first seen to resolved over the spans resolved since `since`.
pub fn mean_hours_to_patch(spans: &[UpdateSpan], since: DateTime<Utc>) -> Option<f64> {
    let hours: Vec<f64> = spans
        .iter()
        .filter_map(|s| {
            s.resolved_at
                .filter(|r| *r >= since)
                .map(|r| r - s.first_seen_at)
        })
        .map(|d| d.num_seconds() as f64 / 3600.0)
        .collect();
    (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64)
}
