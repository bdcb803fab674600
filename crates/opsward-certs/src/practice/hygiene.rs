//! The certificates practice's hygiene rules over live data: pure functions of counts the
//! store gathers, so each is tested with hand-computed numbers. The table is in the docs of
//! [`crate::practice`].

use opsward_core::contract::{count, has, share_points, Deduction};

/// What the rules are computed from, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertFigures {
    /// Leaf certificates some place serves now.
    pub served_leaves: usize,
    /// ... of which neither the certificate nor its asset has an owner.
    pub unowned: usize,
    /// Served leaves past their expiry, and how many days ago the oldest expired.
    pub expired: usize,
    pub oldest_expired_days: i64,
    /// Served leaves within the largest threshold with no renewal in progress, and the
    /// fewest days any of them has left.
    pub expiring_unrenewed: usize,
    pub soonest_days_left: i64,
    /// The largest threshold, in days.
    pub horizon_days: i64,
    /// Renewals in progress past their due date, and how many days ago the oldest was due.
    pub renewals_overdue: usize,
    pub oldest_renewal_due_days: i64,
    /// Served certificates with a critical problem other than expiry, and the codes found.
    pub with_critical_problems: usize,
    pub problem_codes: Vec<String>,
}

/// Points per expired certificate still served, and their cap.
pub const EXPIRED_POINTS: u32 = 15;
pub const EXPIRED_CAP: u32 = 45;
/// Points per certificate expiring with no renewal in progress, and their cap.
pub const EXPIRING_POINTS: u32 = 5;
pub const EXPIRING_CAP: u32 = 20;
/// Points per overdue renewal, and their cap.
pub const RENEWAL_POINTS: u32 = 5;
pub const RENEWAL_CAP: u32 = 15;
/// Weight (and cap) of the share of served certificates without an owner.
pub const UNOWNED_WEIGHT: u32 = 15;
/// Points per certificate with a critical problem, and their cap.
pub const PROBLEM_POINTS: u32 = 10;
pub const PROBLEM_CAP: u32 = 30;

fn days_ago(days: i64) -> String {
    match days {
        d if d <= 0 => "less than a day ago".into(),
        d => format!("{} ago", count(d as usize, "day", "days")),
    }
}

fn days_ahead(days: i64) -> String {
    match days {
        d if d <= 0 => "in less than a day".into(),
        d => format!("in {}", count(d as usize, "day", "days")),
    }
}

/// A problem code as words: `untrusted-chain` is "untrusted chain".
pub fn problem_words(code: &str) -> String {
    code.replace('-', " ")
}

/// Every rule's deduction, in the order of the table; rules that found nothing are left out.
pub fn deductions(f: &CertFigures) -> Vec<Deduction> {
    let mut out = Vec::new();
    if f.expired > 0 {
        out.push(Deduction::new(
            (EXPIRED_POINTS * f.expired as u32).min(EXPIRED_CAP),
            format!(
                "{} still served {} expired (oldest {})",
                count(f.expired, "certificate", "certificates"),
                has(f.expired),
                days_ago(f.oldest_expired_days)
            ),
            Some("/certificates?within=0"),
        ));
    }
    if f.expiring_unrenewed > 0 {
        out.push(Deduction::new(
            (EXPIRING_POINTS * f.expiring_unrenewed as u32).min(EXPIRING_CAP),
            format!(
                "{} within {} of expiry {} no renewal in progress (soonest expires {})",
                count(f.expiring_unrenewed, "certificate", "certificates"),
                count(f.horizon_days as usize, "day", "days"),
                has(f.expiring_unrenewed),
                days_ahead(f.soonest_days_left)
            ),
            Some(&format!("/certificates?within={}", f.horizon_days)),
        ));
    }
    if f.renewals_overdue > 0 {
        out.push(Deduction::new(
            (RENEWAL_POINTS * f.renewals_overdue as u32).min(RENEWAL_CAP),
            format!(
                "{} in progress {} past {} due date (oldest due {})",
                count(f.renewals_overdue, "renewal", "renewals"),
                if f.renewals_overdue == 1 { "is" } else { "are" },
                if f.renewals_overdue == 1 {
                    "its"
                } else {
                    "their"
                },
                days_ago(f.oldest_renewal_due_days)
            ),
            Some(&format!(
                "/certificates?within={}",
                super::RENEWAL_DUE_DAYS_BEFORE_EXPIRY
            )),
        ));
    }
    if f.unowned > 0 {
        out.push(Deduction::new(
            share_points(UNOWNED_WEIGHT, f.unowned, f.served_leaves),
            format!(
                "{} of {} {} no owner",
                f.unowned,
                count(f.served_leaves, "served certificate", "served certificates"),
                has(f.unowned)
            ),
            Some("/certificates"),
        ));
    }
    if f.with_critical_problems > 0 {
        let words: Vec<String> = f.problem_codes.iter().map(|c| problem_words(c)).collect();
        let link = match f.problem_codes.as_slice() {
            [only] => format!("/certificates?problem={only}"),
            _ => "/certificates".to_string(),
        };
        out.push(Deduction::new(
            (PROBLEM_POINTS * f.with_critical_problems as u32).min(PROBLEM_CAP),
            format!(
                "{} {} critical problems where served ({})",
                count(f.with_critical_problems, "certificate", "certificates"),
                has(f.with_critical_problems),
                words.join(", ")
            ),
            Some(&link),
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
    fn a_healthy_inventory_loses_nothing() {
        let f = CertFigures {
            served_leaves: 40,
            horizon_days: 30,
            ..Default::default()
        };
        assert!(deductions(&f).is_empty());
    }

    #[test]
    fn each_rule_counts_and_caps_on_its_own() {
        let f = CertFigures {
            served_leaves: 40,
            unowned: 3,
            expired: 2,
            oldest_expired_days: 12,
            expiring_unrenewed: 3,
            soonest_days_left: 4,
            horizon_days: 30,
            renewals_overdue: 1,
            oldest_renewal_due_days: 2,
            with_critical_problems: 1,
            problem_codes: vec!["untrusted-chain".into()],
        };
        let d = deductions(&f);
        // 2 × 15; 3 × 5; 1 × 5; ceil(15 × 3 / 40) = 2; 1 × 10.
        assert_eq!(points(&d), [30, 15, 5, 2, 10]);
        assert_eq!(
            d[0].reason,
            "2 certificates still served have expired (oldest 12 days ago)"
        );
        assert_eq!(d[0].link.as_deref(), Some("/certificates?within=0"));
        assert_eq!(
            d[1].reason,
            "3 certificates within 30 days of expiry have no renewal in progress (soonest expires in 4 days)"
        );
        assert_eq!(d[1].link.as_deref(), Some("/certificates?within=30"));
        assert_eq!(
            d[2].reason,
            "1 renewal in progress is past its due date (oldest due 2 days ago)"
        );
        assert_eq!(d[3].reason, "3 of 40 served certificates have no owner");
        assert_eq!(
            d[4].reason,
            "1 certificate has critical problems where served (untrusted chain)"
        );
        assert_eq!(
            d[4].link.as_deref(),
            Some("/certificates?problem=untrusted-chain")
        );
    }

    #[test]
    fn caps_hold_when_everything_is_wrong() {
        let f = CertFigures {
            served_leaves: 10,
            unowned: 10,
            expired: 9,
            expiring_unrenewed: 9,
            horizon_days: 30,
            renewals_overdue: 9,
            with_critical_problems: 9,
            problem_codes: vec!["weak-key".into(), "hostname-mismatch".into()],
            ..Default::default()
        };
        let d = deductions(&f);
        assert_eq!(points(&d), [45, 20, 15, 15, 30]);
        assert_eq!(d[4].link.as_deref(), Some("/certificates"));
        assert!(
            d[0].reason.contains("less than a day ago"),
            "{}",
            d[0].reason
        );
    }
}
