//! Expanded occurrences kept in memory, so a calendar request does not expand every
//! activity's rule again.
//!
//! Profiling the month view at 10,000 activities showed most of each request going to
//! parsing every rule and walking it with the `rrule` crate from its first start up to the
//! window (a daily rule started a year ago is 365 steps for a 30-day window), then to
//! formatting each start in the activity's zone. The result is a pure function of the
//! schedule (first local start, zone, rule), so it is kept per activity *and* schedule: an
//! edited activity has a different key and is expanded afresh on its next request, a
//! deleted one is no longer listed, and no invalidation step can be forgotten. Entries of
//! old schedules are dropped wholesale when the map grows past [`MAX_ENTRIES`].
//!
//! Each entry covers a horizon around the windows asked for (the window plus
//! [`MARGIN_DAYS`] each side, widened to cover later windows up to [`MAX_SPAN_DAYS`]), so
//! the month view, its neighbours, the 30-day API and the summary's 120 days are served by
//! slicing. A horizon whose expansion reaches [`MAX_OCCURRENCES`] is not kept: the direct
//! expansion's cap then decides, exactly as before.

use crate::{
    model::Activity,
    recurrence::{parse_timezone, Schedule, MAX_OCCURRENCES},
};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

/// Days added before and after a requested window when its horizon is expanded.
pub const MARGIN_DAYS: i64 = 120;
/// Widest horizon kept for one schedule; wider windows are expanded directly.
pub const MAX_SPAN_DAYS: i64 = 3 * 366;
/// Most schedules kept; past it the whole map is dropped (old schedules would otherwise
/// stay for the life of the process).
pub const MAX_ENTRIES: usize = 200_000;

/// One occurrence start: in UTC and as the local date and time in the activity's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub at: DateTime<Utc>,
    /// `YYYY-MM-DD HH:MM` in the activity's time zone.
    pub local: Box<str>,
}

/// The starts of one activity in a window, oldest first: a slice of a kept expansion.
#[derive(Debug, Clone)]
pub struct Starts {
    all: Arc<[Start]>,
    first: usize,
    end: usize,
}

impl Starts {
    pub fn as_slice(&self) -> &[Start] {
        &self.all[self.first..self.end]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    activity_id: i64,
    starts_local: NaiveDateTime,
    timezone: String,
    rrule: String,
}

impl Key {
    fn of(a: &Activity) -> Key {
        Key {
            activity_id: a.id,
            starts_local: a.starts_local,
            timezone: a.timezone.clone(),
            rrule: a.rrule.clone(),
        }
    }
}

struct Kept {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    starts: Arc<[Start]>,
}

fn kept() -> &'static Mutex<HashMap<Key, Kept>> {
    static KEPT: OnceLock<Mutex<HashMap<Key, Kept>>> = OnceLock::new();
    KEPT.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Expand `[from, to)` and format each start in the schedule's zone.
fn expand(
    schedule: &Schedule,
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Start> {
    schedule
        .between(from, to)
        .into_iter()
        .map(|at| Start {
            at,
            local: at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
                .to_string()
                .into_boxed_str(),
        })
        .collect()
}

fn slice(all: Arc<[Start]>, from: DateTime<Utc>, to: DateTime<Utc>) -> Starts {
    let first = all.partition_point(|s| s.at < from);
    let end = all.partition_point(|s| s.at < to);
    // The same cap as a direct expansion of the window (never reached: a kept horizon
    // holds fewer than MAX_OCCURRENCES starts).
    let end = end.min(first + usize::from(MAX_OCCURRENCES));
    Starts { all, first, end }
}

/// The starts of `activity` in `[from, to)`, oldest first: the same as
/// `Schedule::between` on the activity's schedule, served from a kept expansion when one
/// covers the window. Errors when the stored schedule is invalid.
pub fn starts_between(
    activity: &Activity,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Starts, String> {
    let key = Key::of(activity);
    let previous = {
        let map = kept()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match map.get(&key) {
            Some(k) if k.from <= from && to <= k.to => {
                return Ok(slice(k.starts.clone(), from, to));
            }
            Some(k) => Some((k.from, k.to)),
            None => None,
        }
    };
    let tz = parse_timezone(&activity.timezone)?;
    let schedule = Schedule::new(activity.starts_local, tz, &activity.rrule)?;
    let margin = Duration::days(MARGIN_DAYS);
    let (mut h_from, mut h_to) = (from - margin, to + margin);
    if let Some((old_from, old_to)) = previous {
        // Widen the kept horizon rather than replace it, so two views far apart (the
        // summary's 120 days and a month last year) do not evict each other.
        let (u_from, u_to) = (old_from.min(h_from), old_to.max(h_to));
        if u_to - u_from <= Duration::days(MAX_SPAN_DAYS) {
            (h_from, h_to) = (u_from, u_to);
        }
    }
    if h_to - h_from > Duration::days(MAX_SPAN_DAYS) {
        return Ok(direct(&schedule, tz, from, to));
    }
    let horizon = expand(&schedule, tz, h_from, h_to);
    if horizon.len() >= usize::from(MAX_OCCURRENCES) {
        // Truncated: a slice of it could miss starts a direct expansion would return.
        return Ok(direct(&schedule, tz, from, to));
    }
    let all: Arc<[Start]> = horizon.into();
    let mut map = kept()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(
        key,
        Kept {
            from: h_from,
            to: h_to,
            starts: all.clone(),
        },
    );
    Ok(slice(all, from, to))
}

fn direct(
    schedule: &Schedule,
    tz: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Starts {
    let all: Arc<[Start]> = expand(schedule, tz, from, to).into();
    let end = all.len();
    Starts { all, first: 0, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use opsward_core::practice::Practice;

    fn activity(id: i64, rrule: &str, tz: &str) -> Activity {
        Activity {
            id,
            title: format!("a{id}"),
            practice: Practice::General,
            template: None,
            description: String::new(),
            rrule: rrule.into(),
            starts_local: NaiveDate::from_ymd_opt(2026, 1, 5)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
            timezone: tz.into(),
            duration_minutes: 60,
            owner_team_id: None,
            owner_person_id: None,
            asset_id: None,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn direct_of(a: &Activity, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Start> {
        let tz = parse_timezone(&a.timezone).unwrap();
        let s = Schedule::new(a.starts_local, tz, &a.rrule).unwrap();
        expand(&s, tz, from, to)
    }

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn kept_slices_equal_direct_expansion() {
        // Ids far from any other test's, as the map is shared by the process.
        let rules = [
            ("FREQ=DAILY", "Europe/Berlin"),
            ("FREQ=WEEKLY;BYDAY=MO,TH", "America/New_York"),
            ("FREQ=MONTHLY;BYMONTHDAY=31", "UTC"),
            ("FREQ=MONTHLY;BYDAY=2TU;COUNT=4", "UTC"),
            ("FREQ=HOURLY", "UTC"),
            ("", "Europe/Berlin"),
        ];
        let windows = [
            (day(2026, 3, 1), day(2026, 4, 1)),
            (day(2026, 3, 20), day(2026, 3, 21)),
            (day(2025, 12, 1), day(2026, 1, 6)),
            (day(2026, 10, 1), day(2026, 11, 30)),
            (day(2029, 1, 1), day(2029, 2, 1)),
            (day(2026, 1, 1), day(2026, 12, 31)),
            (day(2026, 3, 1), day(2026, 4, 1)),
        ];
        for (i, (rule, tz)) in rules.iter().enumerate() {
            let a = activity(9_000_000 + i as i64, rule, tz);
            for (from, to) in windows {
                let got = starts_between(&a, from, to).unwrap();
                assert_eq!(
                    got.as_slice(),
                    direct_of(&a, from, to).as_slice(),
                    "{rule} {from}..{to}"
                );
            }
        }
    }

    #[test]
    fn an_edited_schedule_is_expanded_afresh() {
        let mut a = activity(9_100_000, "FREQ=WEEKLY;BYDAY=MO", "UTC");
        let (from, to) = (day(2026, 3, 1), day(2026, 4, 1));
        assert_eq!(starts_between(&a, from, to).unwrap().as_slice().len(), 5);
        a.rrule = "FREQ=DAILY".into();
        assert_eq!(starts_between(&a, from, to).unwrap().as_slice().len(), 31);
        a.timezone = "Europe/Berlin".into();
        let berlin = starts_between(&a, from, to).unwrap();
        assert_eq!(berlin.as_slice(), direct_of(&a, from, to).as_slice());
        assert_eq!(&*berlin.as_slice()[0].local, "2026-03-01 09:00");
        a.timezone = "Mars/Olympus".into();
        assert!(starts_between(&a, from, to).is_err());
    }
}
