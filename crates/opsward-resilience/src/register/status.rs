//! Where a measure stands, from its activity's occurrences and its newest evidence. Kept
//! free of I/O so the rules are tested on their own.

use super::model::MeasureState;
use chrono::{DateTime, Utc};
use opsward_ops::{EvidenceResult, Occurrence};

/// How far back a scheduled test without a result still counts as overdue. Longer than a
/// year so yearly tests (DR site, power) are judged too.
pub const LOOKBACK_DAYS: i64 = 400;

/// What the state is judged from.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub state: MeasureState,
    pub overdue_since: Option<DateTime<Utc>>,
}

/// `past` holds the activity's occurrences that started in the lookback window up to `now`;
/// `last` is the result of its newest evidence.
///
/// A test is overdue when an occurrence has started with no evidence and no later occurrence
/// has evidence: once a newer scheduled test is done, older missed ones are history, the
/// same way the calendar stops reporting them.
pub fn judge(past: &[Occurrence], last: Option<EvidenceResult>, now: DateTime<Utc>) -> Verdict {
    let latest_done = past
        .iter()
        .filter(|o| o.evidence_id.is_some() && o.starts_at <= now)
        .map(|o| o.starts_at)
        .max();
    let overdue_since = past
        .iter()
        .filter(|o| o.evidence_id.is_none() && o.starts_at <= now)
        .filter(|o| latest_done.is_none_or(|done| o.starts_at > done))
        .map(|o| o.starts_at)
        .min();
    let state = match (last, overdue_since) {
        (Some(EvidenceResult::Failed | EvidenceResult::Partial), _) => MeasureState::Failed,
        (_, Some(_)) => MeasureState::Overdue,
        (None, None) => MeasureState::NeverTested,
        (Some(EvidenceResult::Passed), None) => MeasureState::Ok,
    };
    Verdict {
        state,
        overdue_since,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use opsward_core::practice::Practice;
    use opsward_ops::OccurrenceState;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 10, 0, 0).unwrap()
    }

    fn occurrence(day: u32, evidence: Option<i64>, now: DateTime<Utc>) -> Occurrence {
        Occurrence {
            activity_id: 1,
            title: "Resilience test: mirror".into(),
            practice: Practice::Resilience,
            starts_at: at(day),
            ends_at: at(day) + Duration::hours(1),
            starts_local: String::new(),
            timezone: "UTC".into(),
            state: OccurrenceState::of(at(day), evidence.is_some(), now),
            evidence_id: evidence,
            result: None,
            owner_team_id: None,
            owner_person_id: None,
        }
    }

    #[test]
    fn nothing_due_and_no_result_is_never_tested() {
        let v = judge(&[], None, at(1));
        assert_eq!(v.state, MeasureState::NeverTested);
        assert_eq!(v.overdue_since, None);
    }

    #[test]
    fn a_started_test_without_evidence_is_overdue_from_the_oldest_open_one() {
        let now = at(20);
        let past = [
            occurrence(1, Some(7), now),
            occurrence(8, None, now),
            occurrence(15, None, now),
        ];
        let v = judge(&past, Some(EvidenceResult::Passed), now);
        assert_eq!(v.state, MeasureState::Overdue);
        assert_eq!(v.overdue_since, Some(at(8)));
        assert_eq!(
            judge(&past[1..], None, now).state,
            MeasureState::Overdue,
            "never tested but already due"
        );
    }

    #[test]
    fn a_newer_done_test_closes_older_missed_ones() {
        let now = at(20);
        let past = [occurrence(1, None, now), occurrence(8, Some(9), now)];
        let v = judge(&past, Some(EvidenceResult::Passed), now);
        assert_eq!(v.state, MeasureState::Ok);
        assert_eq!(v.overdue_since, None);
    }

    #[test]
    fn a_failed_or_partial_result_wins_over_overdue() {
        let now = at(20);
        let past = [occurrence(1, Some(3), now), occurrence(15, None, now)];
        for r in [EvidenceResult::Failed, EvidenceResult::Partial] {
            let v = judge(&past, Some(r), now);
            assert_eq!(v.state, MeasureState::Failed);
            assert_eq!(v.overdue_since, Some(at(15)), "still shown as overdue");
        }
    }
}
