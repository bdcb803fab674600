//! Service levels: per priority, how many business minutes may pass before an item has an
//! owner (time to own) and before it is resolved (time to resolve), counted in a working
//! calendar and paused while the item waits on the customer or a supplier.
//!
//! Pure: the store supplies an item's facts (created, owned, resolved, pauses) and this
//! module says where each clock stands.

use crate::{
    business_hours::{CalendarSpec, Pause, WeekSpec, WorkingCalendar},
    priority::Priority,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::validation::{ValidationError, Validator};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

opsward_core::text_enum!(
    /// The two clocks every item runs.
    SlaClock {
        Own => "own",
        Resolve => "resolve",
    }
);

opsward_core::text_enum!(
    /// Where a clock stands.
    ClockStatus {
        /// Running, less than the near-breach share of the target used.
        OnTrack => "on_track",
        /// Running and past the near-breach share.
        NearBreach => "near_breach",
        /// Running and past the target.
        Breached => "breached",
        /// Stopped (owned or resolved) within the target.
        Met => "met",
        /// Stopped after the target had passed.
        Missed => "missed",
    }
);

/// Business-time targets of one priority, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaTarget {
    pub priority: Priority,
    pub own_minutes: i64,
    pub resolve_minutes: i64,
}

/// The calendar a team works to instead of the default one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TeamCalendar {
    pub team_id: i64,
    pub calendar: CalendarSpec,
}

/// The backlog's service levels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicy {
    /// Working hours of items without a team calendar.
    pub calendar: CalendarSpec,
    #[serde(default)]
    pub team_calendars: Vec<TeamCalendar>,
    /// One per priority; a priority without a target has no clock.
    pub targets: Vec<SlaTarget>,
    /// Share of a target (percent) after which a running clock is near breach.
    pub near_breach_percent: i64,
}

impl Default for SlaPolicy {
    /// Office hours Monday to Friday 09:00-17:00 UTC; P1 owned within one business hour and
    /// resolved within one business day, down to P5: a week to own, three months to resolve.
    fn default() -> Self {
        let target = |priority, own_hours: i64, resolve_hours: i64| SlaTarget {
            priority,
            own_minutes: own_hours * 60,
            resolve_minutes: resolve_hours * 60,
        };
        SlaPolicy {
            calendar: CalendarSpec {
                time_zone: "UTC".into(),
                week: WeekSpec::weekdays(&["09:00-17:00"]),
                holidays: Vec::new(),
            },
            team_calendars: Vec::new(),
            targets: vec![
                target(Priority::P1, 1, 8),
                target(Priority::P2, 4, 24),
                target(Priority::P3, 8, 80),
                target(Priority::P4, 16, 240),
                target(Priority::P5, 40, 480),
            ],
            near_breach_percent: 80,
        }
    }
}

/// A policy whose calendars are checked.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    pub policy: SlaPolicy,
    calendar: WorkingCalendar,
    team_calendars: Vec<(i64, WorkingCalendar)>,
}

/// Longest target: a year of round-the-clock minutes.
const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;

impl SlaPolicy {
    pub fn compile(&self) -> Result<CompiledPolicy, ValidationError> {
        let mut v = Validator::new();
        let calendar = WorkingCalendar::try_from(&self.calendar)
            .map_err(|errors| errors.into_iter().for_each(|e| v.error("calendar", e)))
            .ok();
        let mut team_calendars = Vec::new();
        for (i, tc) in self.team_calendars.iter().enumerate() {
            match WorkingCalendar::try_from(&tc.calendar) {
                Ok(c) => team_calendars.push((tc.team_id, c)),
                Err(errors) => errors
                    .into_iter()
                    .for_each(|e| v.error(&format!("team_calendars[{i}]"), e)),
            }
            if self.team_calendars[..i]
                .iter()
                .any(|o| o.team_id == tc.team_id)
            {
                v.error(
                    &format!("team_calendars[{i}]"),
                    format!("team {} has two calendars", tc.team_id),
                );
            }
        }
        for (i, t) in self.targets.iter().enumerate() {
            let field = format!("targets[{i}]");
            if self.targets[..i].iter().any(|o| o.priority == t.priority) {
                v.error(&field, format!("{} has two targets", t.priority));
            }
            for (name, m) in [
                ("own_minutes", t.own_minutes),
                ("resolve_minutes", t.resolve_minutes),
            ] {
                if !(1..=MAX_TARGET_MINUTES).contains(&m) {
                    v.error(&field, format!("{name} must be 1-{MAX_TARGET_MINUTES}"));
                }
            }
            if t.own_minutes > t.resolve_minutes {
                v.error(&field, "time to own cannot exceed time to resolve");
            }
        }
        if !(1..=99).contains(&self.near_breach_percent) {
            v.error("near_breach_percent", "must be 1-99");
        }
        v.finish()?;
        Ok(CompiledPolicy {
            policy: self.clone(),
            calendar: calendar.expect("no calendar errors"),
            team_calendars,
        })
    }
}

/// What an item's clocks depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaFacts {
    pub priority: Priority,
    pub team_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// When it first had an assignee.
    pub owned_at: Option<DateTime<Utc>>,
    /// When it was (last) resolved; `None` while open, also after a reopen.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Waiting on the customer or a supplier.
    pub pauses: Vec<Pause>,
}

/// One clock of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClockReport {
    pub clock: SlaClock,
    pub status: ClockStatus,
    pub target_minutes: i64,
    /// Business minutes counted so far (or until the clock stopped).
    pub elapsed_minutes: i64,
    /// When the target is (or was) reached; `None` while paused.
    pub due_at: Option<DateTime<Utc>>,
    /// When the clock stopped: owned or resolved.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Waiting on the customer or a supplier right now.
    pub paused: bool,
}

/// Both clocks of an item, with the calendar's zone for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SlaReport {
    pub time_zone: String,
    pub own: ClockReport,
    pub resolve: ClockReport,
}

fn rank(c: &ClockReport) -> u8 {
    match c.status {
        ClockStatus::Breached => 4,
        ClockStatus::Missed => 3,
        ClockStatus::NearBreach => 2,
        ClockStatus::OnTrack => 1,
        ClockStatus::Met => 0,
    }
}

/// How bad an item's SLA stands, higher is worse, for sorting.
pub fn severity(report: &SlaReport) -> u8 {
    rank(report.worst())
}

/// A running clock is near breach or breached.
pub fn at_risk(report: &SlaReport) -> bool {
    [&report.own, &report.resolve]
        .iter()
        .any(|c| matches!(c.status, ClockStatus::NearBreach | ClockStatus::Breached))
}

impl SlaReport {
    /// The worse of the two clocks, for a one-word summary in lists.
    pub fn worst(&self) -> &ClockReport {
        if rank(&self.resolve) >= rank(&self.own) {
            &self.resolve
        } else {
            &self.own
        }
    }
}

impl CompiledPolicy {
    fn calendar_for(&self, team_id: Option<i64>) -> &WorkingCalendar {
        team_id
            .and_then(|t| self.team_calendars.iter().find(|(id, _)| *id == t))
            .map_or(&self.calendar, |(_, c)| c)
    }

    pub fn target(&self, priority: Priority) -> Option<SlaTarget> {
        self.policy
            .targets
            .iter()
            .copied()
            .find(|t| t.priority == priority)
    }

    /// Both clocks at `now`; `None` when the item's priority has no target.
    pub fn evaluate(&self, facts: &SlaFacts, now: DateTime<Utc>) -> Option<SlaReport> {
        let target = self.target(facts.priority)?;
        let calendar = self.calendar_for(facts.team_id);
        let clock = |kind, minutes: i64, stopped_at: Option<DateTime<Utc>>| {
            let end = stopped_at.unwrap_or(now).max(facts.created_at);
            let elapsed = calendar
                .working_time(facts.created_at, end, &facts.pauses)
                .num_minutes();
            let due_at =
                calendar.deadline(facts.created_at, Duration::minutes(minutes), &facts.pauses);
            let paused = stopped_at.is_none() && facts.pauses.iter().any(|p| p.end.is_none());
            let status = match stopped_at {
                Some(_) if elapsed > minutes => ClockStatus::Missed,
                Some(_) => ClockStatus::Met,
                None if elapsed >= minutes => ClockStatus::Breached,
                None if elapsed * 100 >= minutes * self.policy.near_breach_percent => {
                    ClockStatus::NearBreach
                }
                None => ClockStatus::OnTrack,
            };
            ClockReport {
                clock: kind,
                status,
                target_minutes: minutes,
                elapsed_minutes: elapsed,
                due_at,
                stopped_at,
                paused,
            }
        };
        // Resolving an item also settles who owned it: the owner clock stops then too.
        let own_stop = match (facts.owned_at, facts.resolved_at) {
            (Some(o), Some(r)) => Some(o.min(r)),
            (o, r) => o.or(r),
        };
        Some(SlaReport {
            time_zone: calendar.time_zone().name().to_string(),
            own: clock(SlaClock::Own, target.own_minutes, own_stop),
            resolve: clock(SlaClock::Resolve, target.resolve_minutes, facts.resolved_at),
        })
    }
}

/// A running clock past its target: which one and when it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breach {
    pub clock: SlaClock,
    pub due_at: DateTime<Utc>,
    /// The other clock is breached too.
    pub both: bool,
}

impl CompiledPolicy {
    /// The breached running clock of an open item whose deadline passed first, if any.
    /// The same verdict as [`CompiledPolicy::evaluate`]'s `Breached` (a clock is breached
    /// exactly when its deadline is at or before `now`), but it only counts business time
    /// up to each target instead of up to `now`, so an item open for years costs no more
    /// than one open for a week: the conditions check many items every half minute.
    pub fn breach(&self, facts: &SlaFacts, now: DateTime<Utc>) -> Option<Breach> {
        let target = self.target(facts.priority)?;
        if facts.resolved_at.is_some() {
            return None;
        }
        let calendar = self.calendar_for(facts.team_id);
        let due = |minutes: i64| {
            calendar
                .deadline(facts.created_at, Duration::minutes(minutes), &facts.pauses)
                .filter(|d| *d <= now)
        };
        let own = facts
            .owned_at
            .is_none()
            .then(|| due(target.own_minutes))
            .flatten();
        let resolve = due(target.resolve_minutes);
        match (own, resolve) {
            (Some(o), Some(r)) => Some(Breach {
                clock: if o <= r {
                    SlaClock::Own
                } else {
                    SlaClock::Resolve
                },
                due_at: o.min(r),
                both: true,
            }),
            (Some(o), None) => Some(Breach {
                clock: SlaClock::Own,
                due_at: o,
                both: false,
            }),
            (None, Some(r)) => Some(Breach {
                clock: SlaClock::Resolve,
                due_at: r,
                both: false,
            }),
            (None, None) => None,
        }
    }
}

/// Counts of stopped resolve clocks, for the compliance chart and report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SlaCompliance)]
pub struct Compliance {
    pub met: usize,
    pub missed: usize,
    pub breached_open: usize,
    pub near_breach_open: usize,
}

impl Compliance {
    pub fn add(&mut self, report: &SlaReport) {
        match report.resolve.status {
            ClockStatus::Met => self.met += 1,
            ClockStatus::Missed => self.missed += 1,
            ClockStatus::Breached => self.breached_open += 1,
            ClockStatus::NearBreach => self.near_breach_open += 1,
            ClockStatus::OnTrack => {}
        }
    }

    /// Share of resolved items resolved in time, percent; `None` before any was resolved.
    pub fn percent_met(&self) -> Option<f64> {
        let done = self.met + self.missed;
        (done > 0).then(|| 100.0 * self.met as f64 / done as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn berlin_office() -> CompiledPolicy {
        SlaPolicy {
            calendar: CalendarSpec {
                time_zone: "Europe/Berlin".into(),
                week: WeekSpec::weekdays(&["09:00-17:00"]),
                holidays: vec!["2026-06-16".parse().unwrap()],
            },
            team_calendars: vec![TeamCalendar {
                team_id: 7,
                calendar: CalendarSpec {
                    time_zone: "America/New_York".into(),
                    week: WeekSpec::every_day(&["00:00-24:00"]),
                    holidays: vec![],
                },
            }],
            ..SlaPolicy::default()
        }
        .compile()
        .unwrap()
    }

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, d, h, m, 0).unwrap()
    }

    fn facts(priority: Priority) -> SlaFacts {
        // Monday 15 June 2026, 09:00 CEST.
        SlaFacts {
            priority,
            team_id: None,
            created_at: utc(15, 7, 0),
            owned_at: None,
            resolved_at: None,
            pauses: vec![],
        }
    }

    #[test]
    fn clocks_run_near_breach_and_breach() {
        let p = berlin_office();
        // P1: own 60, resolve 480 business minutes.
        let f = facts(Priority::P1);
        let r = p.evaluate(&f, utc(15, 7, 30)).unwrap();
        assert_eq!(r.time_zone, "Europe/Berlin");
        assert_eq!(
            (r.own.status, r.own.elapsed_minutes),
            (ClockStatus::OnTrack, 30)
        );
        assert_eq!(r.own.due_at, Some(utc(15, 8, 0)));
        let r = p.evaluate(&f, utc(15, 7, 48)).unwrap();
        assert_eq!(r.own.status, ClockStatus::NearBreach, "48 of 60 is 80%");
        let r = p.evaluate(&f, utc(15, 8, 0)).unwrap();
        assert_eq!(r.own.status, ClockStatus::Breached);
        assert_eq!(r.worst().clock, SlaClock::Own);
        // Resolve: 8 business hours from Monday 09:00 is Monday 17:00; Tuesday is a holiday.
        let r = p.evaluate(&f, utc(17, 6, 0)).unwrap();
        assert_eq!(r.resolve.elapsed_minutes, 480);
        assert_eq!(r.resolve.status, ClockStatus::Breached);
        assert_eq!(r.resolve.due_at, Some(utc(15, 15, 0)));
        let f2 = SlaFacts {
            created_at: utc(15, 12, 0),
            ..f
        };
        let r = p.evaluate(&f2, utc(17, 6, 0)).unwrap();
        assert_eq!(
            r.resolve.due_at,
            Some(utc(17, 12, 0)),
            "3h Monday, none on the holiday, 5h Wednesday"
        );
    }

    #[test]
    fn owning_and_resolving_stop_the_clocks() {
        let p = berlin_office();
        let mut f = facts(Priority::P1);
        f.owned_at = Some(utc(15, 7, 40));
        let r = p.evaluate(&f, utc(19, 12, 0)).unwrap();
        assert_eq!(
            (r.own.status, r.own.elapsed_minutes),
            (ClockStatus::Met, 40)
        );
        f.owned_at = Some(utc(15, 9, 0));
        f.resolved_at = Some(utc(15, 14, 0));
        let r = p.evaluate(&f, utc(19, 12, 0)).unwrap();
        assert_eq!(r.own.status, ClockStatus::Missed);
        assert_eq!(
            (r.resolve.status, r.resolve.elapsed_minutes),
            (ClockStatus::Met, 420)
        );
        // Resolved without ever being assigned: ownership is settled at resolution.
        f.owned_at = None;
        let r = p.evaluate(&f, utc(19, 12, 0)).unwrap();
        assert_eq!(r.own.stopped_at, Some(utc(15, 14, 0)));
        assert_eq!(r.own.status, ClockStatus::Missed);
    }

    #[test]
    fn waiting_pauses_the_resolve_clock() {
        let p = berlin_office();
        let mut f = facts(Priority::P1);
        f.owned_at = Some(utc(15, 7, 10));
        // Waiting on the customer from Monday 10:00 CEST, still waiting.
        f.pauses = vec![Pause {
            start: utc(15, 8, 0),
            end: None,
        }];
        let r = p.evaluate(&f, utc(26, 12, 0)).unwrap();
        assert!(r.resolve.paused);
        assert_eq!(r.resolve.status, ClockStatus::OnTrack);
        assert_eq!(r.resolve.elapsed_minutes, 60);
        assert_eq!(r.resolve.due_at, None, "no deadline while paused");
        // The customer answered on Wednesday 09:00 CEST: seven hours left from then.
        f.pauses[0].end = Some(utc(17, 7, 0));
        let r = p.evaluate(&f, utc(17, 8, 0)).unwrap();
        assert!(!r.resolve.paused);
        assert_eq!(r.resolve.elapsed_minutes, 120);
        assert_eq!(r.resolve.due_at, Some(utc(17, 14, 0)));
    }

    #[test]
    fn team_calendars_and_missing_targets() {
        let p = berlin_office();
        let mut f = facts(Priority::P1);
        f.team_id = Some(7);
        // Around the clock in New York: Saturday counts.
        f.created_at = Utc.with_ymd_and_hms(2026, 6, 13, 12, 0, 0).unwrap();
        let r = p
            .evaluate(&f, Utc.with_ymd_and_hms(2026, 6, 13, 12, 50, 0).unwrap())
            .unwrap();
        assert_eq!(r.time_zone, "America/New_York");
        assert_eq!(
            (r.own.elapsed_minutes, r.own.status),
            (50, ClockStatus::NearBreach)
        );

        let mut only_p1 = SlaPolicy::default();
        only_p1.targets.retain(|t| t.priority == Priority::P1);
        let p = only_p1.compile().unwrap();
        assert!(p.evaluate(&facts(Priority::P3), utc(15, 8, 0)).is_none());
    }

    #[test]
    fn bad_policies_are_refused() {
        let mut policy = SlaPolicy::default();
        policy.calendar.time_zone = "Nowhere".into();
        policy.targets.push(policy.targets[0]);
        policy.targets[1].own_minutes = 0;
        policy.targets[2].own_minutes = policy.targets[2].resolve_minutes + 1;
        policy.near_breach_percent = 100;
        let err = policy.compile().unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "calendar",
                "targets[1]",
                "targets[2]",
                "targets[5]",
                "near_breach_percent"
            ]
        );
        assert!(SlaPolicy::default().compile().is_ok());
    }

    #[test]
    fn breach_agrees_with_evaluate() {
        let p = berlin_office();
        let f = facts(Priority::P1);
        // Monday 09:30 CEST: nothing breached; 10:00: own (due 10:00 CEST = 08:00 UTC).
        assert_eq!(p.breach(&f, utc(15, 7, 30)), None);
        let b = p.breach(&f, utc(15, 8, 0)).unwrap();
        assert_eq!(
            (b.clock, b.due_at, b.both),
            (SlaClock::Own, utc(15, 8, 0), false)
        );
        // Wednesday: both breached, the own clock was due first.
        let b = p.breach(&f, utc(17, 6, 0)).unwrap();
        assert_eq!(
            (b.clock, b.due_at, b.both),
            (SlaClock::Own, utc(15, 8, 0), true)
        );
        // Owned in time: only the resolve clock, due Monday 17:00 CEST.
        let mut owned = f.clone();
        owned.owned_at = Some(utc(15, 7, 10));
        let b = p.breach(&owned, utc(17, 6, 0)).unwrap();
        assert_eq!(
            (b.clock, b.due_at, b.both),
            (SlaClock::Resolve, utc(15, 15, 0), false)
        );
        // Resolved: no running clock. Paused before the budget ran out: no deadline.
        let mut resolved = owned.clone();
        resolved.resolved_at = Some(utc(16, 7, 0));
        assert_eq!(p.breach(&resolved, utc(19, 6, 0)), None);
        let mut waiting = owned.clone();
        waiting.pauses = vec![Pause {
            start: utc(15, 8, 0),
            end: None,
        }];
        assert_eq!(p.breach(&waiting, utc(26, 6, 0)), None);
        for (facts, at) in [
            (&f, utc(15, 8, 0)),
            (&owned, utc(17, 6, 0)),
            (&waiting, utc(26, 6, 0)),
        ] {
            let r = p.evaluate(facts, at).unwrap();
            let breached = [&r.own, &r.resolve]
                .iter()
                .any(|c| c.status == ClockStatus::Breached);
            assert_eq!(p.breach(facts, at).is_some(), breached);
        }
    }

    #[test]
    fn compliance_counts_resolved_clocks() {
        let p = berlin_office();
        let mut c = Compliance::default();
        let mut f = facts(Priority::P1);
        f.resolved_at = Some(utc(15, 10, 0));
        c.add(&p.evaluate(&f, utc(20, 0, 0)).unwrap());
        f.resolved_at = Some(utc(18, 10, 0));
        c.add(&p.evaluate(&f, utc(20, 0, 0)).unwrap());
        f.resolved_at = None;
        c.add(&p.evaluate(&f, utc(20, 0, 0)).unwrap());
        assert_eq!(
            c,
            Compliance {
                met: 1,
                missed: 1,
                breached_open: 1,
                near_breach_open: 0
            }
        );
        assert_eq!(c.percent_met(), Some(50.0));
        assert_eq!(Compliance::default().percent_met(), None);
    }
}
