//! When an update is due, and how compliant hosts and the fleet are.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

opsward_core::text_enum! {
    /// The severity of the worst vulnerability a security update fixes, when known.
    Severity {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

impl Severity {
    /// The highest of `severities` (a security update's severity is that of the worst
    /// vulnerability it fixes); `None` for none.
    pub fn highest(severities: impl IntoIterator<Item = Severity>) -> Option<Severity> {
        // Declared worst first, so the derived order's minimum is the highest.
        severities.into_iter().min()
    }
}

/// Days to install a security update by severity; months for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatchPolicy {
    pub critical_days: i64,
    pub high_days: i64,
    /// Security updates of medium, low or unknown severity.
    pub other_security_days: i64,
    /// Non-security updates follow a monthly cycle: due this many months after first seen.
    pub non_security_months: i64,
}

impl Default for PatchPolicy {
    fn default() -> Self {
        PatchPolicy {
            critical_days: 7,
            high_days: 14,
            other_security_days: 30,
            non_security_months: 1,
        }
    }
}

impl PatchPolicy {
    pub fn validate(&self) -> Result<(), opsward_core::ValidationError> {
        let mut v = opsward_core::validation::Validator::new();
        for (field, value, max) in [
            ("critical_days", self.critical_days, 365),
            ("high_days", self.high_days, 365),
            ("other_security_days", self.other_security_days, 365),
            ("non_security_months", self.non_security_months, 24),
        ] {
            if !(1..=max).contains(&value) {
                v.error(field, format!("must be 1-{max}"));
            }
        }
        v.finish()
    }

    /// The due date of an update first seen at `first_seen`.
    pub fn due_at(
        &self,
        first_seen: DateTime<Utc>,
        security: bool,
        severity: Option<Severity>,
    ) -> DateTime<Utc> {
        if !security {
            let months = Months::new(self.non_security_months.clamp(1, 24) as u32);
            return first_seen
                .checked_add_months(months)
                .unwrap_or(first_seen + Duration::days(30 * self.non_security_months));
        }
        let days = match severity {
            Some(Severity::Critical) => self.critical_days,
            Some(Severity::High) => self.high_days,
            _ => self.other_security_days,
        };
        first_seen + Duration::days(days)
    }
}

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
