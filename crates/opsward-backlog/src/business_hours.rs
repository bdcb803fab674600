//! Working time: how many business hours lie between two instants, and when a budget of
//! business hours runs out, in a calendar of weekly working hours in one IANA time zone,
//! minus holidays and minus the intervals an item's clock was paused.
//!
//! Working hours are wall-clock times, so a 09:00-17:00 day is eight hours in winter and in
//! summer. On the days the clocks change, a window is the real time between its two
//! wall-clock edges: a start that does not exist (the hour skipped in spring) begins when
//! the clock jumps; an end that exists twice (the hour repeated in autumn) is its second
//! occurrence. So 00:00-04:00 on the spring-forward day is three hours and on the
//! fall-back day five.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// Minutes in a day; a window may end at `24:00`.
const DAY_MINUTES: u32 = 24 * 60;
/// How far ahead a deadline is searched before the calendar is called empty.
const MAX_SEARCH_DAYS: i64 = 366 * 5;

/// A calendar as written by people: `{"time_zone": "Europe/Berlin", "week": {"mon":
/// ["09:00-12:30", "13:30-17:00"], ...}, "holidays": ["2026-12-25"]}`. Days missing from
/// `week` are not worked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarSpec {
    /// IANA time zone name.
    pub time_zone: String,
    /// Working windows per weekday (`mon` .. `sun`), `HH:MM-HH:MM`, end up to `24:00`.
    #[serde(default)]
    pub week: WeekSpec,
    /// Whole local days not worked.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeekSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mon: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tue: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thu: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fri: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sat: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sun: Vec<String>,
}

impl WeekSpec {
    fn days(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }

    /// The same windows on Monday to Friday, nothing at the weekend.
    pub fn weekdays(windows: &[&str]) -> Self {
        let w: Vec<String> = windows.iter().map(|s| s.to_string()).collect();
        WeekSpec {
            mon: w.clone(),
            tue: w.clone(),
            wed: w.clone(),
            thu: w.clone(),
            fri: w,
            ..WeekSpec::default()
        }
    }

    /// The same windows every day of the week.
    pub fn every_day(windows: &[&str]) -> Self {
        let w: Vec<String> = windows.iter().map(|s| s.to_string()).collect();
        WeekSpec {
            sat: w.clone(),
            sun: w.clone(),
            ..WeekSpec::weekdays(windows)
        }
    }
}

/// A working window of one day in minutes after local midnight, `start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    start: u32,
    end: u32,
}

fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && minutes <= DAY_MINUTES).then_some(minutes)
}

fn parse_window(text: &str) -> Result<Window, String> {
    let bad = || format!("{text:?} is not a working window like 09:00-17:00");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (start, end) = (
        parse_clock(a).ok_or_else(bad)?,
        parse_clock(b).ok_or_else(bad)?,
    );
    if start >= end {
        return Err(format!("{text:?} ends before it starts"));
    }
    Ok(Window { start, end })
}

/// A checked calendar, ready for arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingCalendar {
    tz: Tz,
    /// Monday first, windows sorted and disjoint.
    week: [Vec<Window>; 7],
    holidays: BTreeSet<NaiveDate>,
}

/// A half-open interval of real time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// An interval the clock stood still; `end` is `None` while it still does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pause {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

impl TryFrom<&CalendarSpec> for WorkingCalendar {
    type Error = Vec<String>;

    /// Every problem at once, each naming the day or window at fault.
    fn try_from(spec: &CalendarSpec) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let tz = spec
            .time_zone
            .trim()
            .parse::<Tz>()
            .map_err(|_| {
                errors.push(format!(
                    "time_zone {:?} is not an IANA time zone",
                    spec.time_zone
                ))
            })
            .unwrap_or(Tz::UTC);
        let mut week: [Vec<Window>; 7] = Default::default();
        for (i, (day, texts)) in spec.week.days().into_iter().enumerate() {
            let mut windows = Vec::new();
            for t in texts {
                match parse_window(t) {
                    Ok(w) => windows.push(w),
                    Err(e) => errors.push(format!("{day}: {e}")),
                }
            }
            windows.sort();
            if windows.windows(2).any(|p| p[0].end > p[1].start) {
                errors.push(format!("{day}: working windows overlap"));
            }
            week[i] = windows;
        }
        if errors.is_empty() && week.iter().all(|w| w.is_empty()) {
            errors.push("the calendar has no working hours on any day".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WorkingCalendar {
            tz,
            week,
            holidays: spec.holidays.iter().copied().collect(),
        })
    }
}

impl WorkingCalendar {
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The instant the local clock shows `minute` minutes after midnight of `date`.
    fn instant(&self, date: NaiveDate, minute: u32, is_end: bool) -> DateTime<Utc> {
        let naive = date.and_time(chrono::NaiveTime::MIN) + Duration::minutes(i64::from(minute));
        self.resolve(naive, is_end)
    }

    fn resolve(&self, naive: NaiveDateTime, is_end: bool) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
                if is_end {
                    a.max(b)
                } else {
                    a.min(b)
                }
            }
            // In the skipped hour: the first wall-clock minute after the jump is the
            // instant of the jump itself. Gaps are whole minutes in every zone in use.
            LocalResult::None => (1..=48 * 60)
                .find_map(|m| {
                    self.tz
                        .from_local_datetime(&(naive + Duration::minutes(m)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
        }
    }

    /// The working spans of one local day, in real time.
    fn day_spans(&self, date: NaiveDate) -> Vec<Span> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        self.week[date.weekday().num_days_from_monday() as usize]
            .iter()
            .map(|w| Span {
                start: self.instant(date, w.start, false),
                end: self.instant(date, w.end, true),
            })
            .filter(|s| s.start < s.end)
            .collect()
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Business time from `from` to `to` while the clock was not paused; zero when `to` is
    /// not after `from`. An open pause stops the clock from its start.
    pub fn working_time(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let pauses = closed_pauses(pauses, to);
        let mut total = Duration::zero();
        // A day's windows may start the evening before in UTC; one day of margin each side.
        let mut date = self.local_date(from).pred_opt().unwrap_or(NaiveDate::MIN);
        let last = self.local_date(to).succ_opt().unwrap_or(NaiveDate::MAX);
        while date <= last {
            for span in self.day_spans(date) {
                let clipped = Span {
                    start: span.start.max(from),
                    end: span.end.min(to),
                };
                for part in subtract(clipped, &pauses) {
                    total += part.end - part.start;
                }
            }
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }

    /// When `budget` of business time, counted from `from` and skipping `pauses`, is used
    /// up. `None` while an open pause holds the clock before the budget runs out, or when
    /// the calendar has no working time within five years.
    pub fn deadline(
        &self,
        from: DateTime<Utc>,
        budget: Duration,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let open_since = pauses
            .iter()
            .filter(|p| p.end.is_none())
            .map(|p| p.start)
            .min();
        let horizon = open_since.unwrap_or(DateTime::<Utc>::MAX_UTC);
        let pauses = closed_pauses(pauses, horizon);
        let mut left = budget;
        if left <= Duration::zero() {
            return Some(from);
        }
        let mut date = self.local_date(from).pred_opt()?;
        let last = date + Duration::days(MAX_SEARCH_DAYS);
        while date <= last {
            for span in self.day_spans(date) {
                let clipped = Span {
                    start: span.start.max(from),
                    end: span.end.min(horizon),
                };
                for part in subtract(clipped, &pauses) {
                    let len = part.end - part.start;
                    if len >= left {
                        return Some(part.start + left);
                    }
                    left -= len;
                }
                if span.end >= horizon {
                    return None;
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

/// Pauses as closed spans, an open one running until `until`, sorted and merged.
fn closed_pauses(pauses: &[Pause], until: DateTime<Utc>) -> Vec<Span> {
    let mut spans: Vec<Span> = pauses
        .iter()
        .map(|p| Span {
            start: p.start,
            end: p.end.unwrap_or(until).max(p.start),
        })
        .filter(|s| s.start < s.end)
        .collect();
    spans.sort();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// `span` without the (sorted, disjoint) `holes`.
fn subtract(span: Span, holes: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    if span.start >= span.end {
        return out;
    }
    let mut cursor = span.start;
    for h in holes {
        if h.end <= cursor || h.start >= span.end {
            continue;
        }
        if h.start > cursor {
            out.push(Span {
                start: cursor,
                end: h.start,
            });
        }
        cursor = cursor.max(h.end);
        if cursor >= span.end {
            return out;
        }
    }
    out.push(Span {
        start: cursor,
        end: span.end,
    });
    out
}

#[cfg(test)]
#[path = "business_hours_tests.rs"]
mod tests;
