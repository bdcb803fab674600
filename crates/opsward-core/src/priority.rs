//! How urgent a work item is: the ITIL impact x urgency matrix with its resolution targets,
//! and WSJF for improvements. Shared by the backlog and every practice that measures
//! against the backlog's targets.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// P1 (critical) .. P5 (planning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Priority {
    /// The standard ITIL matrix, impact and urgency each 1 (high) to 3 (low):
    ///
    /// | impact \ urgency | 1  | 2  | 3  |
    /// |---|---|---|---|
    /// | 1 | P1 | P2 | P3 |
    /// | 2 | P2 | P3 | P4 |
    /// | 3 | P3 | P4 | P5 |
    ///
    /// `None` when either value is outside 1-3.
    pub fn from_impact_urgency(impact: i32, urgency: i32) -> Option<Priority> {
        if !(1..=3).contains(&impact) || !(1..=3).contains(&urgency) {
            return None;
        }
        Some(match impact + urgency - 1 {
            1 => Priority::P1,
            2 => Priority::P2,
            3 => Priority::P3,
            4 => Priority::P4,
            _ => Priority::P5,
        })
    }

    /// Calendar days allowed from raising an item to resolving it. Review packs and supplier
    /// scorecards measure against these until the backlog has SLA calendars of its own.
    pub fn resolution_target_days(self) -> i64 {
        match self {
            Priority::P1 => 1,
            Priority::P2 => 3,
            Priority::P3 => 10,
            Priority::P4 => 30,
            Priority::P5 => 90,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The inputs of Weighted Shortest Job First, each on the team's relative scale (commonly
/// the Fibonacci numbers 1-20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WsjfInput {
    pub business_value: i32,
    pub time_criticality: i32,
    pub risk_reduction: i32,
    pub job_size: i32,
}

/// Largest value accepted for any WSJF input.
pub const WSJF_MAX: i32 = 100;

impl WsjfInput {
    /// Cost of delay divided by job size; `None` when an input is out of 1-[`WSJF_MAX`]
    /// (a zero job size would divide by zero, a negative value would invert the order).
    pub fn score(&self) -> Option<f64> {
        let parts = [
            self.business_value,
            self.time_criticality,
            self.risk_reduction,
            self.job_size,
        ];
        if parts.iter().any(|p| !(1..=WSJF_MAX).contains(p)) {
            return None;
        }
        let cost_of_delay = self.business_value + self.time_criticality + self.risk_reduction;
        Some(f64::from(cost_of_delay) / f64::from(self.job_size))
    }
}

#[cfg(test)]
mod tests {
    use super::Priority::*;
    use super::*;

    #[test]
    fn itil_matrix() {
        let expected = [[P1, P2, P3], [P2, P3, P4], [P3, P4, P5]];
        for impact in 1..=3 {
            for urgency in 1..=3 {
                assert_eq!(
                    Priority::from_impact_urgency(impact, urgency),
                    Some(expected[(impact - 1) as usize][(urgency - 1) as usize]),
                    "impact {impact} urgency {urgency}"
                );
            }
        }
        assert_eq!(Priority::from_impact_urgency(0, 1), None);
        assert_eq!(Priority::from_impact_urgency(2, 4), None);
        assert!(P1 < P5, "P1 sorts first");
    }

    #[test]
    fn wsjf_is_cost_of_delay_over_job_size() {
        let w = WsjfInput {
            business_value: 8,
            time_criticality: 5,
            risk_reduction: 2,
            job_size: 3,
        };
        assert_eq!(w.score(), Some(5.0));
        let small_job = WsjfInput { job_size: 1, ..w };
        assert_eq!(small_job.score(), Some(15.0));
        assert_eq!(WsjfInput { job_size: 0, ..w }.score(), None);
        assert_eq!(
            WsjfInput {
                risk_reduction: -1,
                ..w
            }
            .score(),
            None
        );
    }
}
