//! The patches practice's hygiene rules: pure functions over counts the store gathers.
//!
//! | What | Points | Cap |
//! |---|---|---|
//! | Hosts out of patch SLA (an update past its due date) | 30 × share of hosts (rounded up) | 30 |
//! | Pending security updates past the policy's due date | 1 per 10 updates (rounded up) | 15 |
//! | Agents silent for more than two report intervals | 20 × share of hosts (rounded up) | 20 |
//! | Hosts needing a reboot for longer than the policy's `reboot_within_days` | 10 × share of hosts (rounded up) | 10 |

use chrono::Duration;
use opsward_core::contract::{count, has, share_points, Deduction};

/// What the rules read, gathered by aggregate queries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchCounts {
    pub hosts: usize,
    pub hosts_out_of_sla: usize,
    /// How long ago the oldest overdue update fell due.
    pub oldest_overdue: Option<Duration>,
    pub overdue_security_updates: usize,
    pub silent_hosts: usize,
    pub report_interval: Duration,
    pub hosts_awaiting_reboot: usize,
    /// The patch policy's time to reboot after an update asks for it.
    pub reboot_within: Duration,
}

fn ago(d: Duration) -> String {
    match d.num_days() {
        0 => format!(
            "{} ago",
            count(d.num_hours().max(0) as usize, "hour", "hours")
        ),
        days => format!("{} ago", count(days as usize, "day", "days")),
    }
}

/// The deductions, in the order they are applied; rules that cost nothing are left out.
pub fn deductions(c: &PatchCounts) -> Vec<Deduction> {
    let mut out = Vec::new();
    if c.hosts_out_of_sla > 0 {
        let oldest = c
            .oldest_overdue
            .map(|d| format!(" (oldest due {})", ago(d)))
            .unwrap_or_default();
        out.push(Deduction::new(
            share_points(30, c.hosts_out_of_sla, c.hosts),
            format!(
                "{} of {} {} out of patch SLA{oldest}",
                c.hosts_out_of_sla,
                count(c.hosts, "host", "hosts"),
                if c.hosts_out_of_sla == 1 { "is" } else { "are" }
            ),
            Some("/patches?overdue=1"),
        ));
    }
    if c.overdue_security_updates > 0 {
        out.push(Deduction::new(
            (c.overdue_security_updates.div_ceil(10) as u32).min(15),
            format!(
                "{} {} past the patch policy's due date",
                count(
                    c.overdue_security_updates,
                    "pending security update",
                    "pending security updates"
                ),
                if c.overdue_security_updates == 1 {
                    "is"
                } else {
                    "are"
                }
            ),
            Some("/patches?overdue=1"),
        ));
    }
    if c.silent_hosts > 0 {
        out.push(Deduction::new(
            share_points(20, c.silent_hosts, c.hosts),
            format!(
                "{} of {} {} not reported for more than {} (two report intervals)",
                c.silent_hosts,
                count(c.hosts, "host", "hosts"),
                has(c.silent_hosts),
                count(
                    (2 * c.report_interval.num_hours()) as usize,
                    "hour",
                    "hours"
                )
            ),
            Some("/patches"),
        ));
    }
    if c.hosts_awaiting_reboot > 0 {
        out.push(Deduction::new(
            share_points(10, c.hosts_awaiting_reboot, c.hosts),
            format!(
                "{} of {} {} needed a reboot for more than {} (the patch policy)",
                c.hosts_awaiting_reboot,
                count(c.hosts, "host", "hosts"),
                if c.hosts_awaiting_reboot == 1 {
                    "has"
                } else {
                    "have"
                },
                count(c.reboot_within.num_days() as usize, "day", "days")
            ),
            Some("/patches"),
        ));
    }
    out.retain(|d| d.points > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_fleet_loses_nothing() {
        let c = PatchCounts {
            hosts: 40,
            report_interval: Duration::hours(1),
            ..Default::default()
        };
        assert!(deductions(&c).is_empty());
    }

    #[test]
    fn each_rule_with_its_share_and_cap() {
        let c = PatchCounts {
            hosts: 40,
            hosts_out_of_sla: 3,
            oldest_overdue: Some(Duration::days(12) + Duration::hours(3)),
            overdue_security_updates: 78,
            silent_hosts: 1,
            report_interval: Duration::hours(1),
            hosts_awaiting_reboot: 5,
            reboot_within: Duration::days(7),
        };
        assert_eq!(
            deductions(&c),
            vec![
                // 30 × 3 / 40 = 2.25, rounded up.
                Deduction::new(
                    3,
                    "3 of 40 hosts are out of patch SLA (oldest due 12 days ago)",
                    Some("/patches?overdue=1")
                ),
                // 78 / 10 rounded up.
                Deduction::new(
                    8,
                    "78 pending security updates are past the patch policy's due date",
                    Some("/patches?overdue=1")
                ),
                // 20 × 1 / 40 = 0.5, rounded up.
                Deduction::new(
                    1,
                    "1 of 40 hosts has not reported for more than 2 hours (two report intervals)",
                    Some("/patches")
                ),
                // 10 × 5 / 40 = 1.25, rounded up.
                Deduction::new(
                    2,
                    "5 of 40 hosts have needed a reboot for more than 7 days (the patch policy)",
                    Some("/patches")
                ),
            ]
        );
        let worse = PatchCounts {
            hosts: 2,
            hosts_out_of_sla: 2,
            oldest_overdue: Some(Duration::hours(5)),
            overdue_security_updates: 400,
            silent_hosts: 2,
            report_interval: Duration::hours(1),
            hosts_awaiting_reboot: 3,
            reboot_within: Duration::days(7),
        };
        let points: Vec<u8> = deductions(&worse).iter().map(|d| d.points).collect();
        assert_eq!(points, [30, 15, 20, 10], "every rule at its cap");
        assert_eq!(
            deductions(&worse)[0].reason,
            "2 of 2 hosts are out of patch SLA (oldest due 5 hours ago)"
        );
    }
}
