//! When a finding must be remediated: CISA's KEV due date wins; otherwise a number of days
//! after it was first seen by severity (critical 7, high 30, medium 90, low 180 by default),
//! raised one band when the EPSS probability is at or above a threshold.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::severity::Severity;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuePolicy {
    pub critical_days: u32,
    pub high_days: u32,
    pub medium_days: u32,
    pub low_days: u32,
    /// Findings with an EPSS score at or above this are treated one severity band higher.
    pub epss_threshold: f64,
}

impl Default for DuePolicy {
    fn default() -> Self {
        DuePolicy {
            critical_days: 7,
            high_days: 30,
            medium_days: 90,
            low_days: 180,
            epss_threshold: 0.1,
        }
    }
}

impl DuePolicy {
    pub fn days_for(&self, severity: Severity) -> u32 {
        match severity {
            Severity::Critical => self.critical_days,
            Severity::High => self.high_days,
            Severity::Medium => self.medium_days,
            // Without a severity (Go's advisories have none) the longest period applies.
            Severity::Low | Severity::Unknown => self.low_days,
        }
    }

    pub fn due_date(
        &self,
        severity: Severity,
        kev_due: Option<NaiveDate>,
        epss: Option<f64>,
        first_seen: NaiveDate,
    ) -> NaiveDate {
        if let Some(kev_due) = kev_due {
            return kev_due;
        }
        let raised = match epss {
            Some(score) if score >= self.epss_threshold => match severity {
                Severity::Unknown | Severity::Low => Severity::Medium,
                Severity::Medium => Severity::High,
                _ => Severity::Critical,
            },
            _ => severity,
        };
        first_seen + Days::new(u64::from(self.days_for(raised)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kev_wins_then_severity_then_epss_raises() {
        let policy = DuePolicy::default();
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let kev = NaiveDate::from_ymd_opt(2025, 1, 22).unwrap();
        assert_eq!(policy.due_date(Severity::Low, Some(kev), None, day), kev);
        assert_eq!(
            policy.due_date(Severity::Critical, None, None, day),
            NaiveDate::from_ymd_opt(2025, 1, 8).unwrap()
        );
        assert_eq!(
            policy.due_date(Severity::High, None, None, day),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()
        );
        assert_eq!(
            policy.due_date(Severity::Medium, None, None, day),
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
        );
        assert_eq!(
            policy.due_date(Severity::Low, None, None, day),
            NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
        );
        assert_eq!(
            policy.due_date(Severity::Medium, None, Some(0.5), day),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()
        );
        assert_eq!(
            policy.due_date(Severity::Medium, None, Some(0.01), day),
            NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
        );
    }
}
