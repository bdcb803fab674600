//! The vulnerabilities practice's hygiene rules: pure functions over counts the store
//! gathers, each with its own cap, a sentence with numbers and the list that shows it.
//!
//! | What | Points | Cap |
//! |---|---|---|
//! | Overdue critical findings | 5 per finding | 25 |
//! | Overdue high findings | 2 per finding | 15 |
//! | Overdue medium, low and unknown findings | 1 per 5 findings (rounded up) | 5 |
//! | Open findings in CISA's KEV catalog | 4 per finding | 20 |
//! | Scanned assets not scanned again within the scan interval | 15 × share of scanned assets (rounded up) | 15 |

use chrono::NaiveDate;
use opsward_core::contract::{count, has, share_points, Deduction};

/// Overdue findings (open or acknowledged, due before today) of one severity band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OverdueBand {
    pub findings: usize,
    pub oldest_due: Option<NaiveDate>,
}

/// What the rules read, gathered by aggregate queries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VulnCounts {
    pub overdue_critical: OverdueBand,
    pub overdue_high: OverdueBand,
    /// Medium, low and unknown.
    pub overdue_other: OverdueBand,
    /// Open or acknowledged findings in the KEV catalog.
    pub open_kev: usize,
    /// Assets with a recorded scan, and those whose last scan is older than the interval.
    pub scanned_assets: usize,
    pub unscanned_assets: usize,
    pub scan_interval_days: i64,
}

fn oldest(band: &OverdueBand) -> String {
    band.oldest_due
        .map(|d| format!(" (oldest due {d})"))
        .unwrap_or_default()
}

fn overdue_rule(
    band: &OverdueBand,
    label: &str,
    points: u32,
    cap: u32,
    link: &str,
) -> Option<Deduction> {
    (band.findings > 0).then(|| {
        Deduction::new(
            points.min(cap),
            format!(
                "{} overdue{}",
                count(
                    band.findings,
                    &format!("{label} finding is"),
                    &format!("{label} findings are")
                ),
                oldest(band)
            ),
            Some(link),
        )
    })
}

/// The deductions, in the order they are applied; rules that cost nothing are left out.
pub fn deductions(c: &VulnCounts) -> Vec<Deduction> {
    let mut out = Vec::new();
    out.extend(overdue_rule(
        &c.overdue_critical,
        "critical",
        5 * c.overdue_critical.findings as u32,
        25,
        "/vulns?overdue=1&severity=critical",
    ));
    out.extend(overdue_rule(
        &c.overdue_high,
        "high",
        2 * c.overdue_high.findings as u32,
        15,
        "/vulns?overdue=1&severity=high",
    ));
    out.extend(overdue_rule(
        &c.overdue_other,
        "medium, low or unknown",
        c.overdue_other.findings.div_ceil(5) as u32,
        5,
        "/vulns?overdue=1",
    ));
    if c.open_kev > 0 {
        out.push(Deduction::new(
            (4 * c.open_kev as u32).min(20),
            format!(
                "{} in CISA's Known Exploited Vulnerabilities catalog {} still open",
                count(c.open_kev, "finding", "findings"),
                if c.open_kev == 1 { "is" } else { "are" }
            ),
            Some("/vulns?kev=1&state=open"),
        ));
    }
    if c.unscanned_assets > 0 && c.scan_interval_days > 0 {
        out.push(Deduction::new(
            share_points(15, c.unscanned_assets, c.scanned_assets),
            format!(
                "{} of {} scanned assets {} not been scanned for more than {}",
                c.unscanned_assets,
                c.scanned_assets,
                has(c.unscanned_assets),
                count(c.scan_interval_days as usize, "day", "days")
            ),
            Some("/vulns"),
        ));
    }
    out.retain(|d| d.points > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn a_healthy_practice_loses_nothing() {
        let c = VulnCounts {
            scanned_assets: 40,
            scan_interval_days: 7,
            ..Default::default()
        };
        assert!(deductions(&c).is_empty());
    }

    #[test]
    fn overdue_findings_cost_by_severity_each_capped() {
        let c = VulnCounts {
            overdue_critical: OverdueBand {
                findings: 3,
                oldest_due: Some(day(2)),
            },
            // 2 × 9 = 18, capped at 15.
            overdue_high: OverdueBand {
                findings: 9,
                oldest_due: Some(day(5)),
            },
            // 11 / 5 rounded up = 3.
            overdue_other: OverdueBand {
                findings: 11,
                oldest_due: Some(day(1)),
            },
            ..Default::default()
        };
        let d = deductions(&c);
        assert_eq!(
            d,
            vec![
                Deduction::new(
                    15,
                    "3 critical findings are overdue (oldest due 2026-11-02)",
                    Some("/vulns?overdue=1&severity=critical")
                ),
                Deduction::new(
                    15,
                    "9 high findings are overdue (oldest due 2026-11-05)",
                    Some("/vulns?overdue=1&severity=high")
                ),
                Deduction::new(
                    3,
                    "11 medium, low or unknown findings are overdue (oldest due 2026-11-01)",
                    Some("/vulns?overdue=1")
                ),
            ]
        );
        let many = VulnCounts {
            overdue_critical: OverdueBand {
                findings: 6,
                oldest_due: None,
            },
            ..Default::default()
        };
        assert_eq!(deductions(&many)[0].points, 25, "5 × 6 = 30, capped at 25");
        assert_eq!(
            deductions(&many)[0].reason,
            "6 critical findings are overdue"
        );
    }

    #[test]
    fn open_kev_findings_cost_four_points_each_up_to_twenty() {
        let one = VulnCounts {
            open_kev: 1,
            ..Default::default()
        };
        assert_eq!(
            deductions(&one),
            vec![Deduction::new(
                4,
                "1 finding in CISA's Known Exploited Vulnerabilities catalog is still open",
                Some("/vulns?kev=1&state=open")
            )]
        );
        let six = VulnCounts {
            open_kev: 6,
            ..Default::default()
        };
        assert_eq!(deductions(&six)[0].points, 20);
    }

    #[test]
    fn assets_not_scanned_cost_their_share_of_fifteen() {
        let c = VulnCounts {
            scanned_assets: 40,
            unscanned_assets: 3,
            scan_interval_days: 7,
            ..Default::default()
        };
        // 15 × 3 / 40 = 1.125, rounded up to 2.
        assert_eq!(
            deductions(&c),
            vec![Deduction::new(
                2,
                "3 of 40 scanned assets have not been scanned for more than 7 days",
                Some("/vulns")
            )]
        );
        let off = VulnCounts {
            scan_interval_days: 0,
            ..c
        };
        assert!(deductions(&off).is_empty(), "interval 0 turns the rule off");
    }
}
