//! Events the calendar raises: an occurrence coming up, an occurrence overdue, a failed
//! result.

use super::{store::Result, Event, Notifier};
use crate::{CalendarFilter, Evidence, EvidenceResult, OccurrenceState, OpsStore};
use chrono::{DateTime, Duration, Utc};
use opsward_notify::Severity;

/// How far back overdue occurrences are still reported.
pub const OVERDUE_LOOKBACK_DAYS: i64 = 30;
/// How far ahead "due soon" looks.
pub const DUE_SOON_HOURS: i64 = 24;

/// Raise due-soon and overdue events for the calendar as it stands at `now`. Returns how
/// many messages were queued; repeated runs queue nothing new until a state changes.
pub async fn check_calendar(
    ops: &OpsStore,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> Result<usize> {
    let window_start = now - Duration::days(OVERDUE_LOOKBACK_DAYS);
    let occurrences = ops
        .occurrences(
            &CalendarFilter::default(),
            window_start,
            now + Duration::hours(DUE_SOON_HOURS),
            now,
        )
        .await?;
    let mut queued = 0;
    for o in occurrences {
        let (kind, severity, state, headline) = match o.state {
            OccurrenceState::Done => continue,
            OccurrenceState::Overdue => {
                ("activity.overdue", Severity::Warning, "overdue", "Overdue")
            }
            OccurrenceState::Upcoming => {
                ("activity.due_soon", Severity::Info, "due_soon", "Due soon")
            }
        };
        let event = Event {
            kind: kind.into(),
            practice: o.practice,
            severity,
            subject: format!("{headline}: {} ({} {})", o.title, o.starts_local, o.timezone),
            body: format!(
                "{} ({}) was scheduled for {} {}.\nRecord the evidence when it is done: /calendar/activities/{}",
                o.title, o.practice, o.starts_local, o.timezone, o.activity_id
            ),
            link: Some(format!("/calendar/activities/{}", o.activity_id)),
            owner_team_id: o.owner_team_id,
            owner_person_id: o.owner_person_id,
            dedupe_key: format!("activity:{}:{}", o.activity_id, o.starts_at.to_rfc3339()),
            state: state.into(),
            occurred_at: now,
        };
        queued += notifier.emit(&event, now).await?.len();
    }
    Ok(queued)
}

/// A failed or partial result is news for the activity's owners at once.
/// `owner` is the activity's owning (team, person), when it has one.
pub async fn evidence_recorded(
    notifier: &Notifier,
    evidence: &Evidence,
    owner: (Option<i64>, Option<i64>),
    now: DateTime<Utc>,
) -> Result<usize> {
    let (owner_team_id, owner_person_id) = owner;
    let severity = match evidence.result {
        EvidenceResult::Passed => return Ok(0),
        EvidenceResult::Partial => Severity::Warning,
        EvidenceResult::Failed => Severity::Critical,
    };
    let event = Event {
        kind: "activity.failed".into(),
        practice: evidence.practice,
        severity,
        subject: format!("{} result: {}", evidence.result, evidence.title),
        body: format!(
            "{} recorded {} for {}.\n{}",
            evidence.recorded_by, evidence.result, evidence.title, evidence.notes
        ),
        link: evidence
            .activity_id
            .map(|id| format!("/calendar/activities/{id}")),
        owner_team_id,
        owner_person_id,
        dedupe_key: format!("evidence:{}", evidence.id),
        state: evidence.result.to_string(),
        occurred_at: now,
    };
    Ok(notifier.emit(&event, now).await?.len())
}

/// Every event kind opsward raises, with a label for people: what rule forms offer to choose
/// from. A practice that raises a new kind adds it here so rules can select it.
pub const EVENT_KINDS: &[(&str, &str)] = &[
    ("activity.due_soon", "Activity due soon"),
    ("activity.overdue", "Activity overdue"),
    ("activity.failed", "Activity result failed"),
    (
        super::conditions::CONDITION_OPENED,
        "New condition (expiring certificate, open vulnerability, ...)",
    ),
    ("certificate.expiring", "Certificate expiring"),
    ("certificate.expired", "Certificate expired"),
    ("vulnerability.overdue", "Vulnerability past its deadline"),
    ("patch.install_failed", "Patch installation failed"),
    ("contract.expiring", "Contract expiring"),
    ("contract.notice_due", "Contract notice deadline near"),
    ("contract.notice_passed", "Contract renewed tacitly"),
    ("backlog.sla_near_breach", "Backlog item near its SLA"),
    ("backlog.sla_breached", "Backlog item breached its SLA"),
];
