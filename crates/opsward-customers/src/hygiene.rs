//! The customers practice's hygiene rules and satisfaction targets over live data. Pure:
//! the practice counts, these rules judge and deduct.
//!
//! | What | Points | Cap |
//! |---|---|---|
//! | Service review overdue (a scheduled occurrence passed with no review recorded) | 10 per customer | 30 |
//! | CSAT or NPS of the last 90 days below target, or 10+ points below the 90 days before | 5 per customer | 20 |
//! | Review action past its due date and not done | 3 per action | 15 |
//!
//! Targets: CSAT (share of 4 and 5 answers) at least [`CSAT_TARGET`] percent, NPS at least
//! [`NPS_TARGET`].

use chrono::{DateTime, Utc};
use opsward_core::contract::{count, has, Deduction};

/// CSAT below this percentage is below target.
pub const CSAT_TARGET: f64 = 80.0;
/// NPS below this is below target: more detractors than promoters.
pub const NPS_TARGET: f64 = 0.0;
/// A drop of at least this many points against the previous period counts as falling.
pub const FALLING_POINTS: f64 = 10.0;
/// Length of the period compared (and of the one before it).
pub const PERIOD_DAYS: i64 = 90;

/// How one satisfaction measure (CSAT or NPS) of a customer stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    Below { value: f64, target: f64 },
    Falling { from: f64, to: f64 },
}

/// `current` (this period) against `target` and `previous` (the period before). Below
/// target wins over falling: it is the stronger statement.
pub fn standing(current: Option<f64>, previous: Option<f64>, target: f64) -> Option<Standing> {
    let value = current?;
    if value < target {
        return Some(Standing::Below { value, target });
    }
    match previous {
        Some(from) if from - value >= FALLING_POINTS => Some(Standing::Falling { from, to: value }),
        _ => None,
    }
}

/// The occurrences of a review schedule that are missed at `now`: started, with no review
/// recorded, and after the latest occurrence that has one (a review held late completes
/// the nearest occurrence, so earlier gaps are history, not work).
pub fn missed_occurrences(
    starts: &[DateTime<Utc>],
    done: impl Fn(DateTime<Utc>) -> bool,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let past: Vec<DateTime<Utc>> = starts.iter().copied().filter(|s| *s <= now).collect();
    let after_last_done = past.iter().rposition(|s| done(*s)).map_or(0, |i| i + 1);
    past[after_last_done..].to_vec()
}

/// What the rules count, gathered by the practice from its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerCounts {
    /// Customers with an overdue service review, and the oldest missed occurrence.
    pub reviews_overdue: usize,
    pub oldest_missed: Option<DateTime<Utc>>,
    /// Customers whose CSAT or NPS is below target or falling.
    pub satisfaction_at_risk: usize,
    pub customers_surveyed: usize,
    /// Review actions past due and not done, and the days since the oldest fell due.
    pub actions_overdue: usize,
    pub oldest_action_days: i64,
}

/// The deductions for `c`, in the order of the rule table; rules that found nothing are
/// left out.
pub fn deductions(c: &CustomerCounts) -> Vec<Deduction> {
    let mut out = Vec::new();
    if c.reviews_overdue > 0 {
        let since = c
            .oldest_missed
            .map(|d| format!(" (oldest missed {})", d.date_naive()))
            .unwrap_or_default();
        out.push(Deduction::new(
            (10 * c.reviews_overdue as u32).min(30),
            format!(
                "{} {} an overdue service review{since}",
                count(c.reviews_overdue, "customer", "customers"),
                has(c.reviews_overdue),
            ),
            Some("/calendar?view=overdue&practice=customers"),
        ));
    }
    if c.satisfaction_at_risk > 0 {
        out.push(Deduction::new(
            (5 * c.satisfaction_at_risk as u32).min(20),
            format!(
                "{} of {} surveyed in the last {PERIOD_DAYS} days {} CSAT or NPS below target (CSAT {CSAT_TARGET:.0}%, NPS {NPS_TARGET:.0}) or falling",
                c.satisfaction_at_risk,
                count(c.customers_surveyed, "customer", "customers"),
                has(c.satisfaction_at_risk),
            ),
            Some("/customers"),
        ));
    }
    if c.actions_overdue > 0 {
        out.push(Deduction::new(
            (3 * c.actions_overdue as u32).min(15),
            format!(
                "{} from service reviews {} past due (oldest due {} days ago)",
                count(c.actions_overdue, "action", "actions"),
                if c.actions_overdue == 1 { "is" } else { "are" },
                c.oldest_action_days,
            ),
            Some("/customers"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn below_target_then_falling() {
        assert_eq!(standing(None, Some(90.0), CSAT_TARGET), None);
        assert_eq!(
            standing(Some(50.0), Some(40.0), CSAT_TARGET),
            Some(Standing::Below {
                value: 50.0,
                target: 80.0
            })
        );
        assert_eq!(
            standing(Some(20.0), Some(30.0), NPS_TARGET),
            Some(Standing::Falling {
                from: 30.0,
                to: 20.0
            })
        );
        assert_eq!(
            standing(Some(21.0), Some(30.0), NPS_TARGET),
            None,
            "a drop of 9 points is noise"
        );
        assert_eq!(standing(Some(85.0), None, CSAT_TARGET), None);
    }

    #[test]
    fn missed_occurrences_follow_the_last_review() {
        let t = |d| Utc.with_ymd_and_hms(2026, d, 1, 10, 0, 0).unwrap();
        let starts = [t(1), t(2), t(3), t(4), t(5), t(6)];
        let now = Utc.with_ymd_and_hms(2026, 5, 15, 0, 0, 0).unwrap();
        // February was reviewed: March, April and May are missed; June has not started.
        assert_eq!(
            missed_occurrences(&starts, |s| s == t(2), now),
            vec![t(3), t(4), t(5)]
        );
        assert!(missed_occurrences(&starts, |s| s == t(5), now).is_empty());
        assert_eq!(missed_occurrences(&starts, |_| false, now).len(), 5);
    }

    #[test]
    fn each_rule_counts_and_caps() {
        let c = CustomerCounts {
            reviews_overdue: 2,
            oldest_missed: Some(Utc.with_ymd_and_hms(2026, 9, 1, 10, 0, 0).unwrap()),
            satisfaction_at_risk: 1,
            customers_surveyed: 12,
            actions_overdue: 3,
            oldest_action_days: 20,
        };
        let d = deductions(&c);
        let points: Vec<u8> = d.iter().map(|d| d.points).collect();
        // 2 x 10; 1 x 5; 3 x 3.
        assert_eq!(points, vec![20, 5, 9]);
        assert_eq!(
            d[0].reason,
            "2 customers have an overdue service review (oldest missed 2026-09-01)"
        );
        assert_eq!(
            d[1].reason,
            "1 of 12 customers surveyed in the last 90 days has CSAT or NPS below target (CSAT 80%, NPS 0) or falling"
        );
        assert_eq!(
            d[2].reason,
            "3 actions from service reviews are past due (oldest due 20 days ago)"
        );
        assert_eq!(
            d[0].link.as_deref(),
            Some("/calendar?view=overdue&practice=customers")
        );
        let many = CustomerCounts {
            reviews_overdue: 4,
            satisfaction_at_risk: 5,
            actions_overdue: 6,
            ..c
        };
        let capped: Vec<u8> = deductions(&many).iter().map(|d| d.points).collect();
        assert_eq!(capped, vec![30, 20, 15]);
        assert!(deductions(&CustomerCounts::default()).is_empty());
    }
}
