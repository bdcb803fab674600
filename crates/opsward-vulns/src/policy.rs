//! When a finding must be remediated: CISA's KEV due date wins (or the sooner of it and the
//! severity's, as configured); otherwise a number of days after it was first seen (or came
//! back) by severity (critical 7, high 30, medium 90, low 180 by default), raised one band
//! when the EPSS probability is at or above a threshold. The policy is part of the practice's
//! settings in the database, so every server computes the same dates.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::severity::Severity;

opsward_core::text_enum! {
    /// How a KEV finding's due date is chosen.
    KevDue {
        /// CISA's due date for the vulnerability wins, sooner or later than the severity's.
        Catalog => "catalog",
        /// The sooner of CISA's due date and the one its severity gives.
        Earlier => "earlier",
    }
}

/// The remediation deadlines of findings, kept in the practice's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnDuePolicy)]
#[serde(default, deny_unknown_fields)]
pub struct DuePolicy {
    /// Days after first seen (or after coming back) to remediate a critical finding.
    pub critical_days: u32,
    pub high_days: u32,
    pub medium_days: u32,
    /// Also for findings without a severity (Go's advisories have none).
    pub low_days: u32,
    /// Findings with an EPSS score at or above this are treated one severity band higher;
    /// `null`: EPSS never changes a due date.
    pub epss_threshold: Option<f64>,
    pub kev: KevDue,
}

impl Default for DuePolicy {
    fn default() -> Self {
        DuePolicy {
            critical_days: 7,
            high_days: 30,
            medium_days: 90,
            low_days: 180,
            epss_threshold: Some(0.1),
            kev: KevDue::Catalog,
        }
    }
}

/// A due-date policy saved, and how many findings it gave a new due date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VulnDuePolicyChange)]
pub struct DuePolicyChange {
    pub policy: DuePolicy,
    /// Findings not fixed whose due date changed (each change is in the audit log).
    pub rescheduled: usize,
}

/// Longest period a policy may give: ten years.
pub const MAX_DUE_DAYS: u32 = 3650;

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

    /// What is wrong with this policy, as (field, message); `prefix` names where it sits.
    pub fn problems(&self, prefix: &str) -> Vec<(String, String)> {
        let mut problems = vec![];
        let bands = [
            ("critical_days", self.critical_days),
            ("high_days", self.high_days),
            ("medium_days", self.medium_days),
            ("low_days", self.low_days),
        ];
        for (field, days) in bands {
            if !(1..=MAX_DUE_DAYS).contains(&days) {
                problems.push((
                    format!("{prefix}{field}"),
                    format!("must be 1 to {MAX_DUE_DAYS} days"),
                ));
            }
        }
        // A more severe band with a later deadline would make raising a finding (EPSS) or a
        // worse score postpone its remediation.
        for pair in bands.windows(2) {
            let ((severe, sooner), (lesser, later)) = (pair[0], pair[1]);
            if sooner > later {
                problems.push((
                    format!("{prefix}{severe}"),
                    format!("must not be longer than {lesser} ({later})"),
                ));
            }
        }
        if let Some(t) = self.epss_threshold {
            if !(t > 0.0 && t <= 1.0) {
                problems.push((
                    format!("{prefix}epss_threshold"),
                    "must be above 0 and at most 1 (null: off)".into(),
                ));
            }
        }
        problems
    }

    /// The due date of a finding first seen (or back again) on `since`.
    pub fn due_date(
        &self,
        severity: Severity,
        kev_due: Option<NaiveDate>,
        epss: Option<f64>,
        since: NaiveDate,
    ) -> NaiveDate {
        let raised = match (epss, self.epss_threshold) {
            (Some(score), Some(threshold)) if score >= threshold => match severity {
                Severity::Unknown | Severity::Low => Severity::Medium,
                Severity::Medium => Severity::High,
                _ => Severity::Critical,
            },
            _ => severity,
        };
        let by_severity = since + Days::new(u64::from(self.days_for(raised)));
        match (kev_due, self.kev) {
            (Some(kev), KevDue::Catalog) => kev,
            (Some(kev), KevDue::Earlier) => kev.min(by_severity),
            (None, _) => by_severity,
        }
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

    #[test]
    fn a_configured_policy_changes_bands_epss_and_kev() {
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let kev = NaiveDate::from_ymd_opt(2025, 1, 22).unwrap();
        let strict = DuePolicy {
            critical_days: 2,
            high_days: 14,
            medium_days: 60,
            low_days: 120,
            epss_threshold: None,
            kev: KevDue::Earlier,
        };
        assert!(strict.problems("due.").is_empty());
        assert_eq!(
            strict.due_date(Severity::Critical, Some(kev), None, day),
            NaiveDate::from_ymd_opt(2025, 1, 3).unwrap(),
            "the sooner of CISA's date and the severity's"
        );
        assert_eq!(strict.due_date(Severity::Low, Some(kev), None, day), kev);
        assert_eq!(
            strict.due_date(Severity::Medium, None, Some(0.99), day),
            NaiveDate::from_ymd_opt(2025, 3, 2).unwrap(),
            "EPSS off: no band raised"
        );
        let bad = DuePolicy {
            critical_days: 0,
            high_days: 40,
            medium_days: 30,
            low_days: 5000,
            epss_threshold: Some(1.5),
            kev: KevDue::Catalog,
        };
        let fields: Vec<_> = bad.problems("due.").into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "due.critical_days",
                "due.low_days",
                "due.high_days",
                "due.epss_threshold"
            ]
        );
    }
}
