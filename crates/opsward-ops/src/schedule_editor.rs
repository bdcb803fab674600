//! The schedule editor's model: the rules a person builds from a few fields (how often,
//! every how many, which weekdays, which day of the month) and back. A rule the fields cannot
//! express opens as `Custom` and is edited as RFC 5545 text.

use crate::rule_parts::{parse, weekday_code, ByDay, Freq, WEEKDAYS};
use chrono::{Datelike, NaiveDate, Weekday};

/// Which day of the month a monthly schedule falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthlyOn {
    /// Day 1 to 31, or -1 for the last day.
    Day(i8),
    /// The first to fourth (1 to 4) or last (-1) such weekday of the month.
    NthWeekday(i8, Weekday),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorSchedule {
    Once,
    Daily {
        interval: u32,
    },
    /// No weekdays means the first start's weekday.
    Weekly {
        interval: u32,
        weekdays: Vec<Weekday>,
    },
    Monthly {
        interval: u32,
        on: MonthlyOn,
    },
    /// On the first start's day and month.
    Yearly {
        interval: u32,
    },
    /// A rule only the RFC 5545 text says.
    Custom(String),
}

pub const NTH_CHOICES: [i8; 5] = [1, 2, 3, 4, -1];
pub const MAX_INTERVAL: u32 = 999;

fn with_interval(freq: &str, interval: u32) -> String {
    if interval == 1 {
        format!("FREQ={freq}")
    } else {
        format!("FREQ={freq};INTERVAL={interval}")
    }
}

impl EditorSchedule {
    /// The fields for a stored rule; `start` is the first start's date, which a monthly rule
    /// without a day falls on.
    pub fn from_rule(rule: &str, start: NaiveDate) -> EditorSchedule {
        let rule = rule.trim();
        if rule.is_empty() {
            return EditorSchedule::Once;
        }
        let custom = || EditorSchedule::Custom(rule.to_string());
        let Some(p) = parse(rule) else {
            return custom();
        };
        if p.count.is_some() || p.until.is_some() || !p.by_month.is_empty() {
            return custom();
        }
        let interval = p.interval;
        if interval > MAX_INTERVAL {
            return custom();
        }
        let plain = p.by_day.iter().all(|d| d.nth.is_none());
        match (p.freq, p.by_day.as_slice(), p.by_month_day.as_slice()) {
            (Freq::Daily, [], []) => EditorSchedule::Daily { interval },
            (Freq::Weekly, days, []) if plain => EditorSchedule::Weekly {
                interval,
                weekdays: WEEKDAYS
                    .into_iter()
                    .filter(|w| days.iter().any(|d| d.weekday == *w))
                    .collect(),
            },
            (Freq::Monthly, [], []) => match i8::try_from(start.day()) {
                Ok(day) => EditorSchedule::Monthly {
                    interval,
                    on: MonthlyOn::Day(day),
                },
                Err(_) => custom(),
            },
            (Freq::Monthly, [], [day]) if *day > 0 || *day == -1 => EditorSchedule::Monthly {
                interval,
                on: MonthlyOn::Day(*day),
            },
            (
                Freq::Monthly,
                [ByDay {
                    nth: Some(n),
                    weekday,
                }],
                [],
            ) if NTH_CHOICES.contains(n) => EditorSchedule::Monthly {
                interval,
                on: MonthlyOn::NthWeekday(*n, *weekday),
            },
            (Freq::Yearly, [], []) => EditorSchedule::Yearly { interval },
            _ => custom(),
        }
    }

    /// The RFC 5545 rule, empty for a one-off; an error names the field that is wrong.
    pub fn to_rule(&self) -> Result<String, String> {
        let check = |interval: u32| {
            if (1..=MAX_INTERVAL).contains(&interval) {
                Ok(())
            } else {
                Err(format!("the interval must be 1 to {MAX_INTERVAL}"))
            }
        };
        Ok(match self {
            EditorSchedule::Once => String::new(),
            EditorSchedule::Daily { interval } => {
                check(*interval)?;
                with_interval("DAILY", *interval)
            }
            EditorSchedule::Weekly { interval, weekdays } => {
                check(*interval)?;
                let mut rule = with_interval("WEEKLY", *interval);
                let codes: Vec<&str> = WEEKDAYS
                    .into_iter()
                    .filter(|w| weekdays.contains(w))
                    .map(weekday_code)
                    .collect();
                if !codes.is_empty() {
                    rule.push_str(&format!(";BYDAY={}", codes.join(",")));
                }
                rule
            }
            EditorSchedule::Monthly { interval, on } => {
                check(*interval)?;
                let rule = with_interval("MONTHLY", *interval);
                match on {
                    MonthlyOn::Day(d) if (1..=31).contains(d) || *d == -1 => {
                        format!("{rule};BYMONTHDAY={d}")
                    }
                    MonthlyOn::Day(_) => {
                        return Err("the day of the month must be 1 to 31 or the last".into())
                    }
                    MonthlyOn::NthWeekday(n, w) if NTH_CHOICES.contains(n) => {
                        format!("{rule};BYDAY={n}{}", weekday_code(*w))
                    }
                    MonthlyOn::NthWeekday(..) => {
                        return Err("the week of the month must be first to fourth or last".into())
                    }
                }
            }
            EditorSchedule::Yearly { interval } => {
                check(*interval)?;
                with_interval("YEARLY", *interval)
            }
            EditorSchedule::Custom(rule) => rule.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jan(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    #[test]
    fn fields_write_rules() {
        let weekly = EditorSchedule::Weekly {
            interval: 2,
            weekdays: vec![Weekday::Thu, Weekday::Mon],
        };
        assert_eq!(
            weekly.to_rule().unwrap(),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"
        );
        let monthly = EditorSchedule::Monthly {
            interval: 6,
            on: MonthlyOn::Day(1),
        };
        assert_eq!(
            monthly.to_rule().unwrap(),
            "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"
        );
        let last_friday = EditorSchedule::Monthly {
            interval: 1,
            on: MonthlyOn::NthWeekday(-1, Weekday::Fri),
        };
        assert_eq!(last_friday.to_rule().unwrap(), "FREQ=MONTHLY;BYDAY=-1FR");
        assert_eq!(EditorSchedule::Once.to_rule().unwrap(), "");
        assert!(EditorSchedule::Daily { interval: 0 }.to_rule().is_err());
        assert!(EditorSchedule::Monthly {
            interval: 1,
            on: MonthlyOn::Day(32)
        }
        .to_rule()
        .is_err());
    }

    #[test]
    fn rules_fill_fields() {
        assert_eq!(
            EditorSchedule::from_rule("FREQ=MONTHLY;INTERVAL=3", jan(14)),
            EditorSchedule::Monthly {
                interval: 3,
                on: MonthlyOn::Day(14)
            }
        );
        assert_eq!(
            EditorSchedule::from_rule("FREQ=MONTHLY;BYDAY=2WE", jan(1)),
            EditorSchedule::Monthly {
                interval: 1,
                on: MonthlyOn::NthWeekday(2, Weekday::Wed)
            }
        );
        assert_eq!(
            EditorSchedule::from_rule("FREQ=WEEKLY;BYDAY=FR,MO", jan(1)),
            EditorSchedule::Weekly {
                interval: 1,
                weekdays: vec![Weekday::Mon, Weekday::Fri]
            }
        );
        for custom in [
            "FREQ=MONTHLY;BYDAY=2WE;COUNT=3",
            "FREQ=HOURLY",
            "FREQ=YEARLY;BYMONTH=3",
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1",
        ] {
            assert_eq!(
                EditorSchedule::from_rule(custom, jan(1)),
                EditorSchedule::Custom(custom.into())
            );
        }
    }

    fn editor_strategy() -> impl Strategy<Value = EditorSchedule> {
        let interval = 1u32..=MAX_INTERVAL;
        let weekday = prop::sample::select(WEEKDAYS.to_vec());
        prop_oneof![
            Just(EditorSchedule::Once),
            interval
                .clone()
                .prop_map(|interval| EditorSchedule::Daily { interval }),
            (
                interval.clone(),
                prop::collection::btree_set(0usize..7, 0..7)
            )
                .prop_map(|(interval, days)| EditorSchedule::Weekly {
                    interval,
                    weekdays: days.into_iter().map(|i| WEEKDAYS[i]).collect(),
                }),
            (interval.clone(), prop_oneof![1i8..=31, Just(-1i8)]).prop_map(|(interval, d)| {
                EditorSchedule::Monthly {
                    interval,
                    on: MonthlyOn::Day(d),
                }
            }),
            (
                interval.clone(),
                prop::sample::select(NTH_CHOICES.to_vec()),
                weekday
            )
                .prop_map(|(interval, n, w)| EditorSchedule::Monthly {
                    interval,
                    on: MonthlyOn::NthWeekday(n, w),
                }),
            interval.prop_map(|interval| EditorSchedule::Yearly { interval }),
        ]
    }

    proptest! {
        /// What the fields write, the fields read back; and the rrule crate accepts it.
        #[test]
        fn fields_round_trip(schedule in editor_strategy()) {
            let rule = schedule.to_rule().unwrap();
            prop_assert_eq!(EditorSchedule::from_rule(&rule, jan(1)), schedule);
            let start = jan(1).and_hms_opt(9, 0, 0).unwrap();
            prop_assert!(crate::recurrence::Schedule::new(start, chrono_tz::UTC, &rule).is_ok());
        }
    }
}
