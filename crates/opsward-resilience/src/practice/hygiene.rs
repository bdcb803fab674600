//! The resilience practice's hygiene rules over live data: pure functions of counts the
//! store gathers, tested with hand-computed numbers. The table is in the docs of
//! [`crate::practice`].

use opsward_core::contract::{count, has, Deduction};

/// What the rules are computed from, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResilienceFigures {
    /// Measures whose last test failed, and those whose last test passed only partly (host
    /// agents' reports of degraded RAID or multipath and stale backups are counted below).
    pub failed: usize,
    pub partial: usize,
    /// Measures with a scheduled test started and no result, and the oldest one's age.
    pub overdue: usize,
    pub oldest_overdue_days: i64,
    /// Degraded RAID arrays or multipath devices, and stale backups, as host agents last
    /// reported them.
    pub degraded: usize,
    pub stale_backups: usize,
    /// Critical assets, and those of them without any measure.
    pub critical_assets: usize,
    pub unprotected: usize,
}

pub const FAILED_POINTS: u32 = 10;
pub const PARTIAL_POINTS: u32 = 5;
pub const FAILED_CAP: u32 = 30;
pub const OVERDUE_POINTS: u32 = 5;
pub const OVERDUE_CAP: u32 = 20;
pub const DEGRADED_POINTS: u32 = 15;
pub const DEGRADED_CAP: u32 = 30;
pub const STALE_BACKUP_POINTS: u32 = 10;
pub const STALE_BACKUP_CAP: u32 = 20;
pub const UNPROTECTED_POINTS: u32 = 5;
pub const UNPROTECTED_CAP: u32 = 20;

fn age(days: i64) -> String {
    match days {
        d if d <= 0 => "less than a day".into(),
        d => count(d as usize, "day", "days"),
    }
}

fn is_are(n: usize) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

/// Every rule's deduction, in the order of the table; rules that found nothing are left out.
pub fn deductions(f: &ResilienceFigures) -> Vec<Deduction> {
    let mut out = Vec::new();
    if f.failed + f.partial > 0 {
        let mut what = Vec::new();
        if f.failed > 0 {
            what.push(format!(
                "{} failed",
                count(f.failed, "measure's last test", "measures' last tests")
            ));
        }
        if f.partial > 0 {
            what.push(format!(
                "{} passed only partly",
                count(f.partial, "measure's last test", "measures' last tests")
            ));
        }
        out.push(Deduction::new(
            (FAILED_POINTS * f.failed as u32 + PARTIAL_POINTS * f.partial as u32).min(FAILED_CAP),
            what.join("; "),
            Some("/resilience?state=failed"),
        ));
    }
    if f.overdue > 0 {
        out.push(Deduction::new(
            (OVERDUE_POINTS * f.overdue as u32).min(OVERDUE_CAP),
            format!(
                "{} overdue (oldest {})",
                count(f.overdue, "measure's test is", "measures' tests are"),
                age(f.oldest_overdue_days)
            ),
            Some("/resilience?state=overdue"),
        ));
    }
    if f.degraded > 0 {
        out.push(Deduction::new(
            (DEGRADED_POINTS * f.degraded as u32).min(DEGRADED_CAP),
            format!(
                "host agents report {} degraded",
                count(
                    f.degraded,
                    "RAID array or multipath device",
                    "RAID arrays or multipath devices"
                )
            ),
            Some("/resilience?state=failed"),
        ));
    }
    if f.stale_backups > 0 {
        out.push(Deduction::new(
            (STALE_BACKUP_POINTS * f.stale_backups as u32).min(STALE_BACKUP_CAP),
            format!(
                "host agents report {} {} stale (too old, too small or missing)",
                count(f.stale_backups, "backup", "backups"),
                is_are(f.stale_backups)
            ),
            Some("/resilience?kind=backup_restore"),
        ));
    }
    if f.unprotected > 0 {
        out.push(Deduction::new(
            (UNPROTECTED_POINTS * f.unprotected as u32).min(UNPROTECTED_CAP),
            format!(
                "{} of {} {} no resilience measure",
                f.unprotected,
                count(f.critical_assets, "critical asset", "critical assets"),
                has(f.unprotected)
            ),
            Some("/assets?criticality=critical"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(d: &[Deduction]) -> Vec<u8> {
        d.iter().map(|d| d.points).collect()
    }

    #[test]
    fn a_healthy_register_loses_nothing() {
        let f = ResilienceFigures {
            critical_assets: 4,
            ..Default::default()
        };
        assert!(deductions(&f).is_empty());
    }

    #[test]
    fn each_rule_counts_with_its_own_wording() {
        let f = ResilienceFigures {
            failed: 1,
            partial: 2,
            overdue: 3,
            oldest_overdue_days: 15,
            degraded: 1,
            stale_backups: 1,
            critical_assets: 12,
            unprotected: 3,
        };
        let d = deductions(&f);
        // 10 + 2 × 5; 3 × 5; 15; 10; 3 × 5.
        assert_eq!(points(&d), [20, 15, 15, 10, 15]);
        assert_eq!(
            d[0].reason,
            "1 measure's last test failed; 2 measures' last tests passed only partly"
        );
        assert_eq!(d[0].link.as_deref(), Some("/resilience?state=failed"));
        assert_eq!(
            d[1].reason,
            "3 measures' tests are overdue (oldest 15 days)"
        );
        assert_eq!(d[1].link.as_deref(), Some("/resilience?state=overdue"));
        assert_eq!(
            d[2].reason,
            "host agents report 1 RAID array or multipath device degraded"
        );
        assert_eq!(
            d[3].reason,
            "host agents report 1 backup is stale (too old, too small or missing)"
        );
        assert_eq!(
            d[4].reason,
            "3 of 12 critical assets have no resilience measure"
        );
        assert_eq!(d[4].link.as_deref(), Some("/assets?criticality=critical"));
    }

    #[test]
    fn every_rule_stops_at_its_cap() {
        let f = ResilienceFigures {
            failed: 4,
            partial: 4,
            overdue: 9,
            degraded: 3,
            stale_backups: 3,
            critical_assets: 9,
            unprotected: 9,
            ..Default::default()
        };
        assert_eq!(points(&deductions(&f)), [30, 20, 30, 20, 20]);
        assert_eq!(
            deductions(&ResilienceFigures {
                critical_assets: 1,
                unprotected: 1,
                ..Default::default()
            })[0]
                .reason,
            "1 of 1 critical asset has no resilience measure"
        );
    }
}
