//! The suppliers practice's hygiene rules over live data. Pure: the practice counts, these
//! rules turn the counts into deductions.
//!
//! | What | Points | Cap |
//! |---|---|---|
//! | Contract notice deadline passed, contract still running, no renew/terminate decision | 10 per contract | 30 |
//! | Notice deadline within 30 days, no renew/terminate decision | 5 per contract | 15 |
//! | Supplier review overdue (last review, or registration, plus the criticality's cadence) | 20 × share of suppliers | 20 |
//! | Latest review's weighted score below the threshold (default 3.0 of 5) | 5 per supplier | 20 |

use chrono::NaiveDate;
use opsward_core::contract::{count, has, share_points, Deduction};

/// The list every rule links to: the supplier register shows contracts, reviews and scores
/// per supplier (its filters are name and criticality only).
pub const SUPPLIERS_LINK: &str = "/suppliers";

/// What the rules count, gathered by the practice from its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupplierCounts {
    pub suppliers: usize,
    /// Running contracts whose notice deadline has passed with no decision, and the
    /// earliest such deadline.
    pub notice_passed: usize,
    pub earliest_passed: Option<NaiveDate>,
    /// Contracts whose notice deadline is within 30 days with no decision, and the nearest.
    pub notice_near: usize,
    pub nearest_deadline: Option<NaiveDate>,
    /// Suppliers overdue for review, and the days since the oldest review fell due.
    pub reviews_overdue: usize,
    pub oldest_overdue_days: i64,
    /// Suppliers whose latest review scored below `score_below`, and the lowest score.
    pub low_scores: usize,
    pub lowest_score: Option<f64>,
    pub score_below: f64,
}

/// The deductions for `c`, in the order of the rule table; rules that found nothing are
/// left out.
pub fn deductions(c: &SupplierCounts) -> Vec<Deduction> {
    let mut out = Vec::new();
    let link = Some(SUPPLIERS_LINK);
    if c.notice_passed > 0 {
        let since = c
            .earliest_passed
            .map(|d| format!(" (earliest {d})"))
            .unwrap_or_default();
        out.push(Deduction::new(
            (10 * c.notice_passed as u32).min(30),
            format!(
                "{} {} passed {} notice deadline with no renew or terminate decision{since}",
                count(c.notice_passed, "contract", "contracts"),
                has(c.notice_passed),
                if c.notice_passed == 1 { "its" } else { "their" },
            ),
            link,
        ));
    }
    if c.notice_near > 0 {
        let next = c
            .nearest_deadline
            .map(|d| format!(" (next {d})"))
            .unwrap_or_default();
        out.push(Deduction::new(
            (5 * c.notice_near as u32).min(15),
            format!(
                "{} {} a notice deadline within 30 days and no renew or terminate decision{next}",
                count(c.notice_near, "contract", "contracts"),
                has(c.notice_near),
            ),
            link,
        ));
    }
    if c.reviews_overdue > 0 {
        out.push(Deduction::new(
            share_points(20, c.reviews_overdue, c.suppliers),
            format!(
                "{} of {} {} overdue for review (oldest due {} days ago)",
                c.reviews_overdue,
                count(c.suppliers, "supplier", "suppliers"),
                if c.reviews_overdue == 1 { "is" } else { "are" },
                c.oldest_overdue_days,
            ),
            link,
        ));
    }
    if c.low_scores > 0 {
        let lowest = c
            .lowest_score
            .map(|s| format!(" (lowest {s:.2})"))
            .unwrap_or_default();
        out.push(Deduction::new(
            (5 * c.low_scores as u32).min(20),
            format!(
                "{} scored below {:.1} of 5 in {} latest review{lowest}",
                count(c.low_scores, "supplier", "suppliers"),
                c.score_below,
                if c.low_scores == 1 { "its" } else { "their" },
            ),
            link,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_healthy_register_loses_nothing() {
        let c = SupplierCounts {
            suppliers: 40,
            score_below: 3.0,
            ..SupplierCounts::default()
        };
        assert!(deductions(&c).is_empty());
    }

    #[test]
    fn each_rule_counts_and_caps() {
        let c = SupplierCounts {
            suppliers: 40,
            notice_passed: 2,
            earliest_passed: Some(day("2026-11-02")),
            notice_near: 1,
            nearest_deadline: Some(day("2026-12-09")),
            reviews_overdue: 3,
            oldest_overdue_days: 45,
            low_scores: 2,
            lowest_score: Some(1.95),
            score_below: 3.0,
        };
        let d = deductions(&c);
        let points: Vec<u8> = d.iter().map(|d| d.points).collect();
        // 2 x 10; 1 x 5; ceil(20 x 3 / 40) = 2; 2 x 5.
        assert_eq!(points, vec![20, 5, 2, 10]);
        assert_eq!(
            d[0].reason,
            "2 contracts have passed their notice deadline with no renew or terminate decision (earliest 2026-11-02)"
        );
        assert_eq!(
            d[1].reason,
            "1 contract has a notice deadline within 30 days and no renew or terminate decision (next 2026-12-09)"
        );
        assert_eq!(
            d[2].reason,
            "3 of 40 suppliers are overdue for review (oldest due 45 days ago)"
        );
        assert_eq!(
            d[3].reason,
            "2 suppliers scored below 3.0 of 5 in their latest review (lowest 1.95)"
        );
        assert!(d.iter().all(|d| d.link.as_deref() == Some("/suppliers")));

        let many = SupplierCounts {
            notice_passed: 7,
            notice_near: 9,
            reviews_overdue: 40,
            low_scores: 11,
            ..c
        };
        let capped: Vec<u8> = deductions(&many).iter().map(|d| d.points).collect();
        assert_eq!(capped, vec![30, 15, 20, 20]);
    }
}
