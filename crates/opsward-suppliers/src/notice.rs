//! Contract calendar arithmetic: notice deadlines, alert stages and tacit renewal terms.
//!
//! Everything here works on dates without a time of day and needs no database, so the
//! month-end and leap-year cases are tested directly.

use chrono::{Datelike, Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use utoipa::ToSchema;

/// Longest notice period or renewal term accepted: ten years.
pub const MAX_MONTHS: i32 = 120;
pub const MAX_DAYS: i32 = 3660;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NoticeUnit {
    Days,
    /// Calendar months, counted back from the end date and clamped to the month's last day.
    Months,
}

impl NoticeUnit {
    pub const ALL: [NoticeUnit; 2] = [NoticeUnit::Days, NoticeUnit::Months];
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeUnit::Days => "days",
            NoticeUnit::Months => "months",
        }
    }
}

impl fmt::Display for NoticeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NoticeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "days" | "day" | "d" => Ok(NoticeUnit::Days),
            "months" | "month" | "m" => Ok(NoticeUnit::Months),
            _ => Err(format!("{s:?} is not one of days, months")),
        }
    }
}

/// How long before the end of a term notice must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoticePeriod {
    pub amount: i32,
    pub unit: NoticeUnit,
}

impl NoticePeriod {
    pub fn days(amount: i32) -> Self {
        NoticePeriod {
            amount,
            unit: NoticeUnit::Days,
        }
    }
    pub fn months(amount: i32) -> Self {
        NoticePeriod {
            amount,
            unit: NoticeUnit::Months,
        }
    }

    pub fn is_valid(&self) -> bool {
        match self.unit {
            NoticeUnit::Days => (0..=MAX_DAYS).contains(&self.amount),
            NoticeUnit::Months => (0..=MAX_MONTHS).contains(&self.amount),
        }
    }
}

impl fmt::Display for NoticePeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit)
    }
}

/// `date` moved by `months` calendar months. A day that does not exist in the target month
/// becomes that month's last day (31 March minus one month is 29 February in a leap year).
pub fn shift_months(date: NaiveDate, months: i32) -> NaiveDate {
    let m = Months::new(months.unsigned_abs());
    let shifted = if months >= 0 {
        date.checked_add_months(m)
    } else {
        date.checked_sub_months(m)
    };
    // Only overflows beyond year 262143, far outside any validated input.
    shifted.unwrap_or(date)
}

/// The last day on which notice can be given: the end of the term minus the notice period.
pub fn notice_deadline(end: NaiveDate, notice: NoticePeriod) -> NaiveDate {
    match notice.unit {
        NoticeUnit::Days => end - Duration::days(i64::from(notice.amount)),
        NoticeUnit::Months => shift_months(end, -notice.amount),
    }
}

/// The end of term `n` (0 is the first) of a contract whose first term ends on `anchor`.
/// Counting every term from the anchor keeps a month-end contract on month ends: 31 January
/// plus one month is 28 February, plus two is 31 March, not 28 March.
pub fn term_end(anchor: NaiveDate, term_months: i32, n: i32) -> NaiveDate {
    shift_months(anchor, term_months.saturating_mul(n))
}

/// Which reminder is due about a notice deadline on `today`: a stage is due from its day
/// until the next stage starts, so a missed run still sends the latest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStage {
    Days90,
    Days30,
    Days7,
    Passed,
}

impl NoticeStage {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStage::Days90 => "90_days",
            NoticeStage::Days30 => "30_days",
            NoticeStage::Days7 => "7_days",
            NoticeStage::Passed => "passed",
        }
    }
}

/// Reminders start this many days before a deadline.
pub const FIRST_REMINDER_DAYS: i64 = 90;

pub fn notice_stage(deadline: NaiveDate, today: NaiveDate) -> Option<NoticeStage> {
    let days_left = (deadline - today).num_days();
    match days_left {
        d if d < 0 => Some(NoticeStage::Passed),
        0..=7 => Some(NoticeStage::Days7),
        8..=30 => Some(NoticeStage::Days30),
        31..=FIRST_REMINDER_DAYS => Some(NoticeStage::Days90),
        _ => None,
    }
}

/// How many terms an automatically renewing contract rolls forward on `today`: one for
/// every notice deadline that has passed (the day after the deadline) without notice.
/// `terminated` means notice was given for the current term, which stops the roll.
pub fn terms_to_roll(
    anchor: NaiveDate,
    renewal_count: i32,
    term_months: i32,
    notice: NoticePeriod,
    terminated: bool,
    today: NaiveDate,
) -> i32 {
    if terminated || term_months <= 0 {
        return 0;
    }
    let mut n = 0;
    // Bounded: a contract left alone for a century still finishes quickly.
    while n < 1200 {
        let end = term_end(anchor, term_months, renewal_count + n);
        if today <= notice_deadline(end, notice) {
            break;
        }
        n += 1;
    }
    n
}

/// The last day of `date`'s month.
pub fn month_end(date: NaiveDate) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
    shift_months(first, 1) - Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        assert_eq!(
            notice_deadline(d("2024-03-31"), NoticePeriod::months(1)),
            d("2024-02-29")
        );
        assert_eq!(
            notice_deadline(d("2025-05-31"), NoticePeriod::months(3)),
            d("2025-02-28")
        );
        assert_eq!(
            notice_deadline(d("2023-03-31"), NoticePeriod::months(1)),
            d("2023-02-28")
        );
        assert_eq!(
            notice_deadline(d("2024-12-31"), NoticePeriod::months(6)),
            d("2024-06-30")
        );
        assert_eq!(
            notice_deadline(d("2025-01-15"), NoticePeriod::months(2)),
            d("2024-11-15")
        );
        assert_eq!(
            notice_deadline(d("2025-06-30"), NoticePeriod::months(0)),
            d("2025-06-30")
        );
    }

    #[test]
    fn days_count_calendar_days_across_leap_days() {
        assert_eq!(
            notice_deadline(d("2024-03-01"), NoticePeriod::days(1)),
            d("2024-02-29")
        );
        assert_eq!(
            notice_deadline(d("2025-03-01"), NoticePeriod::days(1)),
            d("2025-02-28")
        );
        assert_eq!(
            notice_deadline(d("2025-01-31"), NoticePeriod::days(90)),
            d("2024-11-02")
        );
    }

    #[test]
    fn terms_count_from_the_anchor_so_month_ends_do_not_drift() {
        let anchor = d("2024-01-31");
        assert_eq!(term_end(anchor, 1, 1), d("2024-02-29"));
        assert_eq!(term_end(anchor, 1, 2), d("2024-03-31"));
        let leap = d("2024-02-29");
        assert_eq!(term_end(leap, 12, 1), d("2025-02-28"));
        assert_eq!(term_end(leap, 12, 4), d("2028-02-29"));
        assert_eq!(month_end(d("2024-02-10")), d("2024-02-29"));
        assert_eq!(month_end(d("2023-12-01")), d("2023-12-31"));
    }

    #[test]
    fn stages_follow_the_days_left() {
        let deadline = d("2025-03-31");
        assert_eq!(notice_stage(deadline, d("2024-12-30")), None);
        assert_eq!(
            notice_stage(deadline, d("2024-12-31")),
            Some(NoticeStage::Days90)
        );
        assert_eq!(
            notice_stage(deadline, d("2025-03-01")),
            Some(NoticeStage::Days30)
        );
        assert_eq!(
            notice_stage(deadline, d("2025-03-24")),
            Some(NoticeStage::Days7)
        );
        assert_eq!(
            notice_stage(deadline, d("2025-03-31")),
            Some(NoticeStage::Days7)
        );
        assert_eq!(
            notice_stage(deadline, d("2025-04-01")),
            Some(NoticeStage::Passed)
        );
    }

    #[test]
    fn a_term_rolls_the_day_after_its_deadline_and_only_then() {
        // End 2025-05-31, three months' notice: the deadline is 2025-02-28.
        let anchor = d("2025-05-31");
        let notice = NoticePeriod::months(3);
        assert_eq!(
            terms_to_roll(anchor, 0, 12, notice, false, d("2025-02-28")),
            0
        );
        assert_eq!(
            terms_to_roll(anchor, 0, 12, notice, false, d("2025-03-01")),
            1
        );
        // Once rolled, the next deadline (2026-02-28) is far away.
        assert_eq!(
            terms_to_roll(anchor, 1, 12, notice, false, d("2025-03-01")),
            0
        );
        // Notice given: nothing rolls.
        assert_eq!(
            terms_to_roll(anchor, 0, 12, notice, true, d("2025-03-01")),
            0
        );
        // Left alone for three years: three terms at once.
        assert_eq!(
            terms_to_roll(anchor, 0, 12, notice, false, d("2027-03-01")),
            3
        );
    }

    #[test]
    fn leap_year_renewals_roll_on_the_right_day() {
        // Ends on the leap day with one month's notice: deadline 2024-01-29.
        let anchor = d("2024-02-29");
        let notice = NoticePeriod::months(1);
        assert_eq!(notice_deadline(anchor, notice), d("2024-01-29"));
        assert_eq!(
            terms_to_roll(anchor, 0, 12, notice, false, d("2024-01-30")),
            1
        );
        // Next end 2025-02-28, deadline 2025-01-28.
        assert_eq!(
            terms_to_roll(anchor, 1, 12, notice, false, d("2025-01-28")),
            0
        );
        assert_eq!(
            terms_to_roll(anchor, 1, 12, notice, false, d("2025-01-29")),
            1
        );
    }

    #[test]
    fn periods_are_bounded() {
        assert!(NoticePeriod::months(120).is_valid());
        assert!(!NoticePeriod::months(121).is_valid());
        assert!(!NoticePeriod::days(-1).is_valid());
        assert_eq!("Months".parse::<NoticeUnit>(), Ok(NoticeUnit::Months));
    }
}
