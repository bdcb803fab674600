//! Expanding an activity's schedule into occurrences, with the `rrule` crate.
//!
//! Rules are evaluated in the activity's own time zone, so "09:00 every Monday in
//! Europe/Berlin" stays at 09:00 local time across daylight-saving changes.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rrule::RRuleSet;

/// Most occurrences one expansion returns; bounds work for dense rules and long windows.
pub const MAX_OCCURRENCES: u16 = 5000;

pub fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone such as Europe/Berlin or UTC"))
}

/// An activity's schedule: first start and optional recurrence rule, in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: DateTime<chrono_tz::Tz>,
    rules: Option<RRuleSet>,
}

impl Schedule {
    pub fn new(
        starts_local: NaiveDateTime,
        tz: chrono_tz::Tz,
        rrule: &str,
    ) -> Result<Schedule, String> {
        let start = tz
            .from_local_datetime(&starts_local)
            .earliest()
            .ok_or_else(|| {
                format!("{starts_local} does not exist in {tz} (a daylight-saving gap)")
            })?;
        if rrule.is_empty() {
            return Ok(Schedule { start, rules: None });
        }
        if rrule.contains("FREQ=SECONDLY") || rrule.contains("FREQ=MINUTELY") {
            return Err("rules more frequent than hourly are not supported".into());
        }
        let text = format!(
            "DTSTART;TZID={}:{}\nRRULE:{rrule}",
            tz.name(),
            starts_local.format("%Y%m%dT%H%M%S")
        );
        let rules: RRuleSet = text
            .parse()
            .map_err(|e: rrule::RRuleError| format!("invalid recurrence rule: {e}"))?;
        Ok(Schedule {
            start,
            rules: Some(rules),
        })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start.with_timezone(&Utc)
    }

    pub fn is_recurring(&self) -> bool {
        self.rules.is_some()
    }

    /// Occurrence starts in `[from, to)`, in UTC, oldest first.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let Some(rules) = &self.rules else {
            let start = self.start();
            return if start >= from && start < to {
                vec![start]
            } else {
                Vec::new()
            };
        };
        let after = from.with_timezone(&rrule::Tz::UTC);
        let before = to.with_timezone(&rrule::Tz::UTC);
        rules
            .clone()
            .after(after)
            .before(before)
            .all(MAX_OCCURRENCES)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d >= from && *d < to)
            .collect()
    }

    /// The first `n` occurrences from the start.
    pub fn first(&self, n: u16) -> Vec<DateTime<Utc>> {
        match &self.rules {
            None => vec![self.start()],
            Some(rules) => rules
                .clone()
                .all(n)
                .dates
                .into_iter()
                .map(|d| d.with_timezone(&Utc))
                .collect(),
        }
    }

    /// The next `n` occurrence starts after `after`, for a preview.
    pub fn next(&self, after: DateTime<Utc>, n: u16) -> Vec<DateTime<Utc>> {
        match &self.rules {
            None => [self.start()].into_iter().filter(|s| *s > after).collect(),
            Some(rules) => rules
                .clone()
                .after(after.with_timezone(&rrule::Tz::UTC))
                .all(n)
                .dates
                .into_iter()
                .map(|d| d.with_timezone(&Utc))
                .collect(),
        }
    }

    /// Whether `at` is one of the occurrences.
    pub fn occurs_at(&self, at: DateTime<Utc>) -> bool {
        self.between(at, at + chrono::Duration::seconds(1))
            .contains(&at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn local(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn weekly_rule_keeps_local_time_across_dst() {
        let tz = parse_timezone("Europe/Berlin").unwrap();
        let s = Schedule::new(local(2026, 3, 23, 9), tz, "FREQ=WEEKLY;BYDAY=MO").unwrap();
        let from = Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 4, 7, 0, 0, 0).unwrap();
        let got = s.between(from, to);
        // 09:00 CET is 08:00 UTC; after the 29 March change, 09:00 CEST is 07:00 UTC.
        assert_eq!(
            got,
            [
                Utc.with_ymd_and_hms(2026, 3, 23, 8, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 4, 6, 7, 0, 0).unwrap(),
            ]
        );
        assert!(s.occurs_at(got[1]));
        assert!(!s.occurs_at(got[1] + chrono::Duration::hours(1)));
    }

    #[test]
    fn monthly_by_weekday_and_one_off() {
        let utc = parse_timezone("UTC").unwrap();
        let s =
            Schedule::new(local(2026, 1, 1, 22), utc, "FREQ=MONTHLY;BYDAY=2WE;COUNT=3").unwrap();
        let days: Vec<_> = s
            .first(10)
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        assert_eq!(days, ["2026-01-14", "2026-02-11", "2026-03-11"]);
        let once = Schedule::new(local(2026, 5, 1, 10), utc, "").unwrap();
        assert!(!once.is_recurring());
        assert_eq!(
            once.between(
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
            )
            .len(),
            1
        );
    }

    #[test]
    fn rejects_bad_rules_zones_and_gaps() {
        let berlin = parse_timezone("Europe/Berlin").unwrap();
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert!(Schedule::new(local(2026, 1, 1, 9), berlin, "FREQ=FORTNIGHTLY").is_err());
        assert!(Schedule::new(local(2026, 1, 1, 9), berlin, "FREQ=MINUTELY").is_err());
        // 02:30 on 29 March 2026 does not exist in Berlin.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert!(Schedule::new(gap, berlin, "")
            .unwrap_err()
            .contains("daylight-saving"));
    }
}
