//! Built-in activity templates: the recurring work each practice is about.

use opsward_core::practice::Practice;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ActivityTemplate {
    pub key: &'static str,
    pub title: &'static str,
    pub practice: Practice,
    /// Suggested recurrence; adjust to your own rhythm.
    pub rrule: &'static str,
    pub duration_minutes: i32,
    pub description: &'static str,
}

pub const TEMPLATES: &[ActivityTemplate] = &[
    ActivityTemplate {
        key: "certificate-review",
        title: "Certificate review",
        practice: Practice::Certificates,
        rrule: "FREQ=MONTHLY;BYDAY=1MO",
        duration_minutes: 60,
        description: "Check certificates expiring in the next 60 days; confirm an owner and a renewal date for each.",
    },
    ActivityTemplate {
        key: "resilience-test",
        title: "Resilience test",
        practice: Practice::Resilience,
        rrule: "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU",
        duration_minutes: 240,
        description: "Run the test procedure of a resilience measure (failover, RAID rebuild, restore) and record the result.",
    },
    ActivityTemplate {
        key: "patch-window",
        title: "Patch window",
        practice: Practice::Patches,
        rrule: "FREQ=MONTHLY;BYDAY=2WE",
        duration_minutes: 180,
        description: "Install approved updates in the maintenance window; record hosts patched and exceptions.",
    },
    ActivityTemplate {
        key: "vulnerability-scan",
        title: "Vulnerability scan",
        practice: Practice::Vulnerabilities,
        rrule: "FREQ=WEEKLY;BYDAY=MO",
        duration_minutes: 60,
        description: "Scan the inventory against current advisories and review new findings.",
    },
    ActivityTemplate {
        key: "backlog-review",
        title: "Backlog review",
        practice: Practice::Backlog,
        rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        duration_minutes: 60,
        description: "Review stale, unowned and oldest items; decide keep, close, reprioritise or merge.",
    },
    ActivityTemplate {
        key: "customer-review",
        title: "Customer service review",
        practice: Practice::Customers,
        rrule: "FREQ=MONTHLY;INTERVAL=3;BYDAY=1WE",
        duration_minutes: 60,
        description: "Walk through SLA performance, satisfaction and open actions with the customer.",
    },
    ActivityTemplate {
        key: "supplier-review",
        title: "Supplier review",
        practice: Practice::Suppliers,
        rrule: "FREQ=MONTHLY;INTERVAL=6;BYDAY=1TH",
        duration_minutes: 90,
        description: "Score the supplier against the contract and record actions.",
    },
];

pub fn template(key: &str) -> Option<&'static ActivityTemplate> {
    TEMPLATES.iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::{parse_timezone, Schedule};

    #[test]
    fn every_template_rule_is_valid() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        for t in TEMPLATES {
            let s =
                Schedule::new(start, parse_timezone("Europe/London").unwrap(), t.rrule).unwrap();
            assert!(s.first(3).len() == 3, "{}", t.key);
        }
        assert_eq!(TEMPLATES.len(), 7);
    }
}
