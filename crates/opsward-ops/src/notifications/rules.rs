//! Pure rule logic: which rules an event matches, and quiet hours.

use super::{Event, Rule};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A daily window (wall-clock in `timezone`) in which a rule's messages wait. May wrap
/// midnight (22:00-07:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuietHours {
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`
    pub end: String,
    /// IANA time zone.
    pub timezone: String,
}

impl QuietHours {
    fn parts(&self) -> Result<(NaiveTime, NaiveTime, chrono_tz::Tz), String> {
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| format!("{t:?} is not HH:MM"))
        };
        let tz = self
            .timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| format!("{:?} is not an IANA time zone", self.timezone))?;
        Ok((time(&self.start)?, time(&self.end)?, tz))
    }

    pub fn validate(&self) -> Result<(), String> {
        let (start, end, _) = self.parts()?;
        if start == end {
            return Err("quiet hours must not start and end at the same time".into());
        }
        Ok(())
    }
}

pub fn in_quiet_hours(q: &QuietHours, now: DateTime<Utc>) -> bool {
    let Ok((start, end, tz)) = q.parts() else {
        return false;
    };
    let local = now.with_timezone(&tz).time();
    if start < end {
        local >= start && local < end
    } else {
        local >= start || local < end
    }
}

/// When the quiet window containing `now` ends (`now` itself when outside the window).
pub fn quiet_hours_end(q: &QuietHours, now: DateTime<Utc>) -> DateTime<Utc> {
    if !in_quiet_hours(q, now) {
        return now;
    }
    let Ok((_, end, tz)) = q.parts() else {
        return now;
    };
    let local = now.with_timezone(&tz);
    let mut day = local.date_naive();
    if local.time() >= end {
        day += Duration::days(1);
    }
    tz.from_local_datetime(&day.and_time(end))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::hours(1))
}

/// Whether `rule` wants `event`.
pub fn matches(rule: &Rule, event: &Event) -> bool {
    rule.enabled
        && (rule.events.is_empty() || rule.events.iter().any(|e| e == &event.kind))
        && rule.practice.is_none_or(|p| p == event.practice)
        && event.severity >= rule.min_severity
        && rule
            .owner_team_id
            .is_none_or(|t| event.owner_team_id == Some(t))
        && rule
            .owner_person_id
            .is_none_or(|p| event.owner_person_id == Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsward_core::practice::Practice;
    use opsward_notify::Severity;

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
            timezone: "Europe/Berlin".into(),
        }
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_local_time() {
        let q = quiet("22:00", "07:00");
        // 21:30 UTC in January is 22:30 in Berlin: quiet until 07:00 Berlin = 06:00 UTC.
        let t = Utc.with_ymd_and_hms(2026, 1, 10, 21, 30, 0).unwrap();
        assert!(in_quiet_hours(&q, t));
        assert_eq!(
            quiet_hours_end(&q, t),
            Utc.with_ymd_and_hms(2026, 1, 11, 6, 0, 0).unwrap()
        );
        let morning = Utc.with_ymd_and_hms(2026, 1, 11, 5, 0, 0).unwrap();
        assert_eq!(
            quiet_hours_end(&q, morning),
            Utc.with_ymd_and_hms(2026, 1, 11, 6, 0, 0).unwrap()
        );
        let day = Utc.with_ymd_and_hms(2026, 1, 11, 12, 0, 0).unwrap();
        assert!(!in_quiet_hours(&q, day));
        assert_eq!(quiet_hours_end(&q, day), day);
        assert!(quiet("09:00", "09:00").validate().is_err());
        assert!(quiet("9am", "10:00").validate().is_err());
    }

    #[test]
    fn rules_filter_by_kind_practice_severity_and_team() {
        let rule = Rule {
            id: 1,
            name: "r".into(),
            channel_id: 1,
            user_id: None,
            events: vec!["activity.overdue".into()],
            practice: Some(Practice::Patches),
            min_severity: Severity::Warning,
            owner_team_id: Some(7),
            owner_person_id: None,
            digest: false,
            quiet_hours: None,
            enabled: true,
        };
        let event = Event {
            kind: "activity.overdue".into(),
            practice: Practice::Patches,
            severity: Severity::Critical,
            subject: "s".into(),
            body: "b".into(),
            link: None,
            owner_team_id: Some(7),
            owner_person_id: None,
            dedupe_key: "k".into(),
            state: "overdue".into(),
            occurred_at: Utc::now(),
        };
        assert!(matches(&rule, &event));
        assert!(!matches(
            &rule,
            &Event {
                severity: Severity::Info,
                ..event.clone()
            }
        ));
        assert!(!matches(
            &rule,
            &Event {
                practice: Practice::Backlog,
                ..event.clone()
            }
        ));
        assert!(!matches(
            &rule,
            &Event {
                owner_team_id: None,
                ..event.clone()
            }
        ));
        assert!(!matches(
            &rule,
            &Event {
                kind: "activity.due_soon".into(),
                ..event.clone()
            }
        ));
        assert!(!matches(
            &Rule {
                enabled: false,
                ..rule.clone()
            },
            &event
        ));
        let for_ann = Rule {
            owner_team_id: None,
            owner_person_id: Some(3),
            ..rule.clone()
        };
        assert!(!matches(&for_ann, &event), "not Ann's");
        assert!(matches(
            &for_ann,
            &Event {
                owner_person_id: Some(3),
                ..event.clone()
            }
        ));
    }
}
