//! The backlog's hygiene rules: pure functions over counts the store gathers, so the
//! numbers can be checked by hand.
//!
//! | Rule | Points | Cap |
//! |---|---|---|
//! | Open items past their SLA (time to own or to resolve) | 30 × breached / open, rounded up | 30 |
//! | Stale open items (no change for the review's stale days, 14 by default) | 15 × stale / open, rounded up | 15 |
//! | Unowned open items (nobody assigned) | 10 × unowned / open, rounded up | 10 |

use chrono::{DateTime, Utc};
use opsward_core::contract::{count, has, share_points, Deduction};

/// Weight and cap of SLA breaches.
pub const SLA_BREACH_POINTS: u32 = 30;
/// Weight and cap of stale items.
pub const STALE_POINTS: u32 = 15;
/// Weight and cap of unowned items.
pub const UNOWNED_POINTS: u32 = 10;

/// Where the breaches are listed: the backlog list shows each item's SLA.
pub const SLA_LINK: &str = "/backlog";

/// The review list of stale and unowned items, at `stale_days`.
pub fn review_link(stale_days: i64) -> String {
    format!("/backlog/review?stale_days={stale_days}")
}

/// What the rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogCounts {
    pub open: usize,
    /// Open items past their SLA among those checked.
    pub breached: usize,
    /// Every open item that could be breached was checked; otherwise `breached` is a lower
    /// bound (the check reads a bounded number of the most urgent items).
    pub breaches_complete: bool,
    /// The earliest due time among the breaches.
    pub oldest_breach_due: Option<DateTime<Utc>>,
    pub stale: usize,
    pub stale_after_days: i64,
    pub unowned: usize,
}

fn days_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now - then).num_days() {
        d if d <= 0 => "today".to_string(),
        1 => "1 day ago".to_string(),
        d => format!("{d} days ago"),
    }
}

/// Open items past their SLA.
pub fn sla_breaches(c: &BacklogCounts, now: DateTime<Utc>) -> Option<Deduction> {
    let points = share_points(SLA_BREACH_POINTS, c.breached, c.open).min(SLA_BREACH_POINTS);
    if points == 0 {
        return None;
    }
    let at_least = if c.breaches_complete { "" } else { "at least " };
    let oldest = c
        .oldest_breach_due
        .map(|due| format!(" (oldest due {})", days_ago(due, now)))
        .unwrap_or_default();
    Some(Deduction::new(
        points,
        format!(
            "{at_least}{} of {} {} breached the SLA{oldest}",
            c.breached,
            count(c.open, "open backlog item", "open backlog items"),
            has(c.breached),
        ),
        Some(SLA_LINK),
    ))
}

/// Open items nobody changed for the stale period.
pub fn stale_items(c: &BacklogCounts) -> Option<Deduction> {
    let points = share_points(STALE_POINTS, c.stale, c.open).min(STALE_POINTS);
    if points == 0 {
        return None;
    }
    Some(Deduction::new(
        points,
        format!(
            "{} of {} {} not changed for {} days or more",
            c.stale,
            count(c.open, "open backlog item", "open backlog items"),
            if c.stale == 1 { "was" } else { "were" },
            c.stale_after_days,
        ),
        Some(&review_link(c.stale_after_days)),
    ))
}

/// Open items with nobody assigned.
pub fn unowned_items(c: &BacklogCounts) -> Option<Deduction> {
    let points = share_points(UNOWNED_POINTS, c.unowned, c.open).min(UNOWNED_POINTS);
    if points == 0 {
        return None;
    }
    Some(Deduction::new(
        points,
        format!(
            "{} of {} {} nobody assigned",
            c.unowned,
            count(c.open, "open backlog item", "open backlog items"),
            has(c.unowned),
        ),
        Some(&review_link(c.stale_after_days)),
    ))
}

/// Every rule, worst first; rules that cost nothing are left out.
pub fn deductions(c: &BacklogCounts, now: DateTime<Utc>) -> Vec<Deduction> {
    [sla_breaches(c, now), stale_items(c), unowned_items(c)]
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn counts() -> BacklogCounts {
        BacklogCounts {
            open: 40,
            breached: 3,
            breaches_complete: true,
            oldest_breach_due: Some(now() - Duration::days(12)),
            stale: 10,
            stale_after_days: 14,
            unowned: 1,
        }
    }

    #[test]
    fn breaches_cost_a_share_of_thirty() {
        // 30 × 3 / 40 = 2.25, rounded up to 3.
        let d = sla_breaches(&counts(), now()).unwrap();
        assert_eq!(d.points, 3);
        assert_eq!(
            d.reason,
            "3 of 40 open backlog items have breached the SLA (oldest due 12 days ago)"
        );
        assert_eq!(d.link.as_deref(), Some("/backlog"));
        let partial = BacklogCounts {
            breached: 40,
            breaches_complete: false,
            oldest_breach_due: Some(now() - Duration::hours(3)),
            ..counts()
        };
        let d = sla_breaches(&partial, now()).unwrap();
        assert_eq!(d.points, 30, "every open item breached costs the cap");
        assert_eq!(
            d.reason,
            "at least 40 of 40 open backlog items have breached the SLA (oldest due today)"
        );
    }

    #[test]
    fn stale_and_unowned_cost_their_shares() {
        // 15 × 10 / 40 = 3.75 -> 4; 10 × 1 / 40 = 0.25 -> 1.
        let stale = stale_items(&counts()).unwrap();
        assert_eq!(stale.points, 4);
        assert_eq!(
            stale.reason,
            "10 of 40 open backlog items were not changed for 14 days or more"
        );
        assert_eq!(stale.link.as_deref(), Some("/backlog/review?stale_days=14"));
        let unowned = unowned_items(&counts()).unwrap();
        assert_eq!(unowned.points, 1);
        assert_eq!(
            unowned.reason,
            "1 of 40 open backlog items has nobody assigned"
        );
        let all_stale = BacklogCounts {
            stale: 40,
            unowned: 40,
            ..counts()
        };
        assert_eq!(stale_items(&all_stale).unwrap().points, 15);
        assert_eq!(unowned_items(&all_stale).unwrap().points, 10);
    }

    #[test]
    fn a_healthy_or_empty_backlog_costs_nothing() {
        let healthy = BacklogCounts {
            breached: 0,
            oldest_breach_due: None,
            stale: 0,
            unowned: 0,
            ..counts()
        };
        assert!(deductions(&healthy, now()).is_empty());
        let empty = BacklogCounts { open: 0, ..healthy };
        assert!(deductions(&empty, now()).is_empty());
        let points: Vec<u8> = deductions(&counts(), now())
            .iter()
            .map(|d| d.points)
            .collect();
        assert_eq!(
            points,
            [3, 4, 1],
            "breaches first, then stale, then unowned"
        );
    }
}
