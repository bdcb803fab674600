//! A recurrence rule taken apart into the few parts people think in: how often, every how
//! many, which weekdays, which days of the month, which months, how many times, until when.
//!
//! Shared by the words ("every 2 weeks on Monday and Thursday") and the schedule editor's
//! fields. Rules with any other part (BYSETPOS, BYHOUR, BYWEEKNO, ...) are not taken apart:
//! callers then show or edit the raw RFC 5545 text.

use chrono::Weekday;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// One `BYDAY` entry: an optional position ("2" in `2WE`, "-1" in `-1FR`) and a weekday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByDay {
    pub nth: Option<i8>,
    pub weekday: Weekday,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleParts {
    pub freq: Freq,
    pub interval: u32,
    pub by_day: Vec<ByDay>,
    pub by_month_day: Vec<i8>,
    pub by_month: Vec<u8>,
    pub count: Option<u32>,
    /// The `UNTIL` value as written (a date or a date-time), shown by its date part.
    pub until: Option<String>,
}

pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The RFC 5545 two-letter code of a weekday.
pub fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

pub fn weekday_from_code(code: &str) -> Option<Weekday> {
    WEEKDAYS.into_iter().find(|d| weekday_code(*d) == code)
}

fn parse_by_day(entry: &str) -> Option<ByDay> {
    let split = entry.len().checked_sub(2)?;
    let (nth, code) = (entry.get(..split)?, entry.get(split..)?);
    let weekday = weekday_from_code(code)?;
    let nth = if nth.is_empty() {
        None
    } else {
        let n: i8 = nth.trim_start_matches('+').parse().ok()?;
        if n == 0 || !(-53..=53).contains(&n) {
            return None;
        }
        Some(n)
    };
    Some(ByDay { nth, weekday })
}

fn list<T>(value: &str, item: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
    value.split(',').map(item).collect()
}

/// Takes a rule such as `FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1` apart; `None` when it has a
/// part this module does not know or a value it cannot read.
pub fn parse(rule: &str) -> Option<RuleParts> {
    let rule = rule
        .trim()
        .trim_start_matches("RRULE:")
        .to_ascii_uppercase();
    let mut freq = None;
    let mut parts = RuleParts {
        freq: Freq::Daily,
        interval: 1,
        by_day: Vec::new(),
        by_month_day: Vec::new(),
        by_month: Vec::new(),
        count: None,
        until: None,
    };
    for pair in rule.split(';').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        match key {
            "FREQ" => {
                freq = Some(match value {
                    "HOURLY" => Freq::Hourly,
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    "YEARLY" => Freq::Yearly,
                    _ => return None,
                })
            }
            "INTERVAL" => parts.interval = value.parse().ok().filter(|n| *n > 0)?,
            "BYDAY" => parts.by_day = list(value, parse_by_day)?,
            "BYMONTHDAY" => {
                parts.by_month_day = list(value, |d| {
                    d.parse::<i8>()
                        .ok()
                        .filter(|d| *d != 0 && (-31..=31).contains(d))
                })?
            }
            "BYMONTH" => {
                parts.by_month = list(value, |m| {
                    m.parse::<u8>().ok().filter(|m| (1..=12).contains(m))
                })?
            }
            "COUNT" => parts.count = Some(value.parse().ok()?),
            "UNTIL" => parts.until = Some(value.to_string()),
            // The week start changes nothing for the rules described here.
            "WKST" => {}
            _ => return None,
        }
    }
    parts.freq = freq?;
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_rules_apart() {
        let p = parse("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1").unwrap();
        assert_eq!(
            (p.freq, p.interval, p.by_month_day),
            (Freq::Monthly, 6, vec![1])
        );
        let p = parse("freq=monthly;byday=-1FR").unwrap();
        assert_eq!(
            p.by_day,
            [ByDay {
                nth: Some(-1),
                weekday: Weekday::Fri
            }]
        );
        assert!(parse("FREQ=WEEKLY;BYSETPOS=1").is_none());
        assert!(parse("FREQ=WEEKLY;BYDAY=XX").is_none());
        assert!(parse("INTERVAL=2").is_none());
        assert!(parse("FREQ=DAILY;INTERVAL=0").is_none());
        assert!(parse("FREQ=MONTHLY;BYDAY=0MO").is_none());
    }
}
