//! Schedules in words for people: "every 6 months on the 1st at 09:00 Europe/Berlin",
//! "every weekday at 08:00 UTC", "every 2 weeks on Monday and Thursday at 22:00
//! Europe/London". A rule the words cannot say exactly gives `None`, and the page shows the
//! raw rule instead of something approximately right.

use crate::rule_parts::{parse, ByDay, Freq, RuleParts, WEEKDAYS};
use chrono::{Datelike, NaiveDateTime, Weekday};

pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(m: u32) -> Option<&'static str> {
    MONTHS
        .get(usize::try_from(m.checked_sub(1)?).ok()?)
        .copied()
}

/// "1st", "22nd", "last day", "second to last day"; `None` further from the end.
pub fn day_ordinal(day: i8) -> Option<String> {
    match day {
        -1 => Some("last day".into()),
        -2 => Some("second to last day".into()),
        1..=31 => {
            let suffix = match (day % 10, day % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            Some(format!("{day}{suffix}"))
        }
        _ => None,
    }
}

/// "first", "second", ..., "last"; `None` for positions people do not say.
pub fn nth_name(nth: i8) -> Option<&'static str> {
    Some(match nth {
        1 => "first",
        2 => "second",
        3 => "third",
        4 => "fourth",
        5 => "fifth",
        -1 => "last",
        -2 => "second to last",
        _ => return None,
    })
}

/// "Monday", "Monday and Thursday", "Monday, Wednesday and Friday".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn every(unit: &str, interval: u32) -> String {
    if interval == 1 {
        format!("every {unit}")
    } else {
        format!("every {interval} {unit}s")
    }
}

fn is_weekdays(by_day: &[ByDay]) -> bool {
    by_day.len() == 5
        && by_day.iter().all(|d| d.nth.is_none())
        && WEEKDAYS[..5]
            .iter()
            .all(|w| by_day.iter().any(|d| d.weekday == *w))
}

fn plain_days(by_day: &[ByDay]) -> Option<String> {
    // Weekdays in week order, whatever order the rule lists them in.
    let names: Vec<String> = WEEKDAYS
        .iter()
        .filter(|w| by_day.iter().any(|d| d.weekday == **w))
        .map(|w| weekday_name(*w).to_string())
        .collect();
    by_day
        .iter()
        .all(|d| d.nth.is_none())
        .then(|| and_list(&names))
}

fn month_days(days: &[i8]) -> Option<String> {
    let names: Option<Vec<String>> = days.iter().map(|d| day_ordinal(*d)).collect();
    Some(format!("the {}", and_list(&names?)))
}

fn nth_weekdays(by_day: &[ByDay]) -> Option<String> {
    let names: Option<Vec<String>> = by_day
        .iter()
        .map(|d| Some(format!("{} {}", nth_name(d.nth?)?, weekday_name(d.weekday))))
        .collect();
    Some(format!("the {}", and_list(&names?)))
}

/// The part after "every ...": which days, or `None` when the words would not be exact.
fn which_days(p: &RuleParts, start: NaiveDateTime) -> Option<String> {
    let start_day = i8::try_from(start.day()).ok()?;
    match p.freq {
        Freq::Hourly | Freq::Daily => {
            if !p.by_month_day.is_empty() || !p.by_month.is_empty() {
                return None;
            }
            if p.by_day.is_empty() {
                Some(String::new())
            } else {
                Some(format!(" on {}", plain_days(&p.by_day)?))
            }
        }
        Freq::Weekly => {
            if !p.by_month_day.is_empty() || !p.by_month.is_empty() {
                return None;
            }
            let days = if p.by_day.is_empty() {
                weekday_name(start.weekday()).to_string()
            } else {
                plain_days(&p.by_day)?
            };
            Some(format!(" on {days}"))
        }
        Freq::Monthly => {
            if !p.by_month.is_empty() {
                return None;
            }
            match (p.by_month_day.is_empty(), p.by_day.is_empty()) {
                (true, true) => Some(format!(" on {}", month_days(&[start_day])?)),
                (false, true) => Some(format!(" on {}", month_days(&p.by_month_day)?)),
                (true, false) if p.by_day.iter().all(|d| d.nth.is_some()) => {
                    Some(format!(" on {}", nth_weekdays(&p.by_day)?))
                }
                (true, false) => Some(format!(" on every {}", plain_days(&p.by_day)?)),
                (false, false) => None,
            }
        }
        Freq::Yearly => {
            // Without BYMONTH a BYMONTHDAY repeats in every month: not "yearly" in words.
            if !p.by_day.is_empty() || (p.by_month.is_empty() && !p.by_month_day.is_empty()) {
                return None;
            }
            let months: Vec<u8> = if p.by_month.is_empty() {
                vec![u8::try_from(start.month()).ok()?]
            } else {
                p.by_month.clone()
            };
            let days = if p.by_month_day.is_empty() {
                vec![start_day]
            } else {
                p.by_month_day.clone()
            };
            let month_names: Option<Vec<String>> = months
                .iter()
                .map(|m| month_name(u32::from(*m)).map(str::to_string))
                .collect();
            Some(format!(
                " on {} of {}",
                month_days(&days)?,
                and_list(&month_names?)
            ))
        }
    }
}

fn ending(p: &RuleParts) -> String {
    let mut out = String::new();
    if let Some(n) = p.count {
        out.push_str(&if n == 1 {
            ", once".to_string()
        } else {
            format!(", {n} times")
        });
    }
    if let Some(until) = &p.until {
        let date = until.get(..8).unwrap_or(until);
        let shown = chrono::NaiveDate::parse_from_str(date, "%Y%m%d")
            .map_or_else(|_| until.clone(), |d| d.format("%Y-%m-%d").to_string());
        out.push_str(&format!(", until {shown}"));
    }
    out
}

/// The schedule in words, or `None` when only the raw rule says it exactly. `rule` empty
/// means a one-off at `starts_local`.
pub fn rule_in_words(rule: &str, starts_local: NaiveDateTime, timezone: &str) -> Option<String> {
    let time = starts_local.format("%H:%M");
    if rule.trim().is_empty() {
        return Some(format!(
            "once on {} at {time} {timezone}",
            starts_local.format("%Y-%m-%d")
        ));
    }
    let p = parse(rule)?;
    let every_what = match p.freq {
        Freq::Hourly => every("hour", p.interval),
        Freq::Daily if p.interval == 1 && is_weekdays(&p.by_day) => "every weekday".into(),
        Freq::Weekly if p.interval == 1 && is_weekdays(&p.by_day) => "every weekday".into(),
        Freq::Daily => every("day", p.interval),
        Freq::Weekly => every("week", p.interval),
        Freq::Monthly => every("month", p.interval),
        Freq::Yearly => every("year", p.interval),
    };
    let days = if every_what == "every weekday" {
        String::new()
    } else {
        which_days(&p, starts_local)?
    };
    let at = if p.freq == Freq::Hourly {
        format!("from {time} {timezone}")
    } else {
        format!("at {time} {timezone}")
    };
    Some(format!("{every_what}{days} {at}{}", ending(&p)))
}

/// The words, or the raw rule when there are none.
pub fn describe_schedule(rule: &str, starts_local: NaiveDateTime, timezone: &str) -> String {
    rule_in_words(rule, starts_local, timezone).unwrap_or_else(|| rule.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::{parse_timezone, Schedule};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn the_issue_examples() {
        let start = at(2026, 1, 1, 9, 0);
        assert_eq!(
            rule_in_words("FREQ=MONTHLY;INTERVAL=6", start, "Europe/Berlin").unwrap(),
            "every 6 months on the 1st at 09:00 Europe/Berlin"
        );
        assert_eq!(
            rule_in_words(
                "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                at(2026, 1, 5, 8, 0),
                "UTC"
            )
            .unwrap(),
            "every weekday at 08:00 UTC"
        );
        assert_eq!(
            rule_in_words(
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH,MO",
                at(2026, 1, 5, 22, 0),
                "Europe/London"
            )
            .unwrap(),
            "every 2 weeks on Monday and Thursday at 22:00 Europe/London"
        );
    }

    #[test]
    fn more_shapes() {
        let start = at(2026, 3, 14, 10, 30);
        let words = |r: &str| rule_in_words(r, start, "UTC");
        assert_eq!(
            words("FREQ=MONTHLY;BYDAY=2WE").unwrap(),
            "every month on the second Wednesday at 10:30 UTC"
        );
        assert_eq!(
            words("FREQ=MONTHLY;BYMONTHDAY=-1").unwrap(),
            "every month on the last day at 10:30 UTC"
        );
        assert_eq!(
            words("FREQ=YEARLY").unwrap(),
            "every year on the 14th of March at 10:30 UTC"
        );
        assert_eq!(
            words("FREQ=WEEKLY").unwrap(),
            "every week on Saturday at 10:30 UTC"
        );
        assert_eq!(words("FREQ=DAILY").unwrap(), "every day at 10:30 UTC");
        assert_eq!(
            words("FREQ=HOURLY;INTERVAL=4;COUNT=3").unwrap(),
            "every 4 hours from 10:30 UTC, 3 times"
        );
        assert_eq!(
            words("FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20271231T000000Z").unwrap(),
            "every month on the 1st and 15th at 10:30 UTC, until 2027-12-31"
        );
        assert_eq!(words("").unwrap(), "once on 2026-03-14 at 10:30 UTC");
        assert_eq!(day_ordinal(22).unwrap(), "22nd");
        assert_eq!(day_ordinal(13).unwrap(), "13th");
        // Positions nobody says, and parts the words do not know: the raw rule.
        assert!(words("FREQ=MONTHLY;BYDAY=10MO").is_none());
        assert!(words("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1").is_none());
        assert_eq!(
            describe_schedule("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1", start, "UTC"),
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1"
        );
    }

    fn rule_strategy() -> impl Strategy<Value = String> {
        let freq = prop::sample::select(vec!["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]);
        let part = prop_oneof![
            (1u32..40).prop_map(|n| format!("INTERVAL={n}")),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["", "1", "2", "-1", "5", "-3", "20", "+2"]),
                    prop::sample::select(vec!["MO", "TU", "WE", "TH", "FR", "SA", "SU"])
                ),
                1..4
            )
            .prop_map(|v| format!(
                "BYDAY={}",
                v.iter()
                    .map(|(n, d)| format!("{n}{d}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            prop::collection::vec(-31i8..=31, 1..4).prop_map(|v| format!(
                "BYMONTHDAY={}",
                v.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            prop::collection::vec(1u8..=12, 1..3).prop_map(|v| format!(
                "BYMONTH={}",
                v.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            (1u32..50).prop_map(|n| format!("COUNT={n}")),
            Just("UNTIL=20301231T000000Z".to_string()),
            prop::collection::vec(-366i16..=366, 1..3).prop_map(|v| format!(
                "BYSETPOS={}",
                v.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            Just("WKST=SU".to_string()),
            (0u8..24).prop_map(|h| format!("BYHOUR={h}")),
        ];
        (freq, prop::collection::vec(part, 0..5)).prop_map(|(f, parts)| {
            std::iter::once(format!("FREQ={f}"))
                .chain(parts)
                .collect::<Vec<_>>()
                .join(";")
        })
    }

    proptest! {
        /// Every rule the rrule crate accepts gets words or its raw text, never a panic.
        #[test]
        fn never_panics_on_accepted_rules(
            rule in rule_strategy(),
            day in 1u32..=28,
            hour in 0u32..24,
        ) {
            let start = at(2026, 2, day, hour, 0);
            let tz = parse_timezone("Europe/Berlin").unwrap();
            if Schedule::new(start, tz, &rule).is_ok() {
                let shown = describe_schedule(&rule, start, "Europe/Berlin");
                prop_assert!(!shown.is_empty());
            }
        }

        /// Nor on any text at all.
        #[test]
        fn never_panics_on_any_text(rule in ".{0,80}") {
            let _ = describe_schedule(&rule, at(2026, 1, 31, 23, 59), "UTC");
        }
    }
}
