//! Notifications about conditions: every practice's conditions, read from the same
//! [`ConditionSource`] as the dashboard, `/metrics` and the automatic backlog items, become
//! `condition.opened` events that the notification rules route like any other event.
//!
//! A condition is announced once per rule while it holds; when it gets worse (its severity
//! rises) it is news again, and when it clears and comes back it is announced anew. Kinds
//! that a practice already announces with an event of its own (a certificate's expiry
//! thresholds, a backlog item's SLA clock, the calendar's overdue occurrences) are left out,
//! so nobody hears of one thing twice.

use super::{Event, Notifier};
use chrono::{DateTime, Utc};
use opsward_core::contract::{Condition, ConditionSource, Severity as Level};
use opsward_notify::Severity;

/// The event kind of every condition notification, for rules to select.
pub const CONDITION_OPENED: &str = "condition.opened";

/// What a rule hears of one condition.
pub fn condition_event(condition: &Condition, now: DateTime<Utc>) -> Event {
    let severity = match condition.severity {
        Level::Critical => Severity::Critical,
        Level::High | Level::Medium => Severity::Warning,
        Level::Low => Severity::Info,
    };
    let mut body = condition.title.clone();
    if let Some(asset) = &condition.asset_name {
        body.push_str(&format!("\nAsset: {asset}"));
    }
    if let Some(due) = condition.due {
        let word = if condition.is_overdue(now) {
            "Was due"
        } else {
            "Due"
        };
        body.push_str(&format!("\n{word}: {}", due.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(since) = condition.since {
        body.push_str(&format!("\nSince: {}", since.format("%Y-%m-%d %H:%M UTC")));
    }
    body.push_str(&format!(
        "\nSee {} ({}).",
        condition.entity.label, condition.entity.link
    ));
    Event {
        kind: CONDITION_OPENED.into(),
        practice: condition.practice,
        severity,
        subject: format!("{}: {}", condition.severity.label(), condition.title),
        body,
        link: Some(condition.entity.link.clone()),
        owner_team_id: condition.owner_team_id,
        owner_person_id: condition.owner_person_id,
        dedupe_key: format!("condition:{}", condition.key),
        // A worse severity is news again; the same severity is not.
        state: condition.severity.as_str().into(),
        occurred_at: now,
    }
}

/// Raise an event for every condition that no practice announces itself. Returns how many
/// messages were queued; a repeated run queues nothing until a condition is new or worse.
pub async fn notify_conditions(
    notifier: &Notifier,
    source: &dyn ConditionSource,
    now: DateTime<Utc>,
) -> std::result::Result<usize, ConditionNotifyError> {
    let conditions = source.conditions(now).await?;
    let mut queued = 0;
    for condition in conditions
        .iter()
        .filter(|c| !source.announced_elsewhere(c.practice, &c.kind))
    {
        queued += notifier
            .emit(&condition_event(condition, now), now)
            .await?
            .len();
    }
    Ok(queued)
}

/// Why a run of the condition notifications did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ConditionNotifyError {
    #[error("reading the conditions: {0}")]
    Conditions(#[from] opsward_core::contract::PracticeError),
    #[error(transparent)]
    Store(#[from] opsward_store::StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use opsward_core::{contract::EntityRef, practice::Practice};

    fn condition(severity: Level) -> Condition {
        Condition::new(
            Practice::Patches,
            "host_out_of_sla",
            severity,
            EntityRef {
                kind: "host".into(),
                id: 4,
                label: "db1".into(),
                link: "/patches/hosts/4".into(),
            },
            "db1 has 3 security updates past the patch SLA",
        )
        .with_asset(Some(9), Some("db1".into()))
        .with_owner(Some(2), None)
    }

    #[test]
    fn an_event_carries_the_condition_its_owner_and_its_page() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let due = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let e = condition_event(&condition(Level::High).with_times(None, Some(due)), now);
        assert_eq!(e.kind, "condition.opened");
        assert_eq!(e.practice, Practice::Patches);
        assert_eq!(e.severity, Severity::Warning);
        assert_eq!(
            e.subject,
            "High: db1 has 3 security updates past the patch SLA"
        );
        assert_eq!(e.link.as_deref(), Some("/patches/hosts/4"));
        assert_eq!(e.owner_team_id, Some(2));
        assert_eq!(e.dedupe_key, "condition:patches:host_out_of_sla:host:4");
        assert_eq!(e.state, "high");
        assert!(e.body.contains("Asset: db1"), "{}", e.body);
        assert!(
            e.body.contains("Was due: 2026-12-01 00:00 UTC"),
            "{}",
            e.body
        );
    }

    #[test]
    fn severity_maps_to_the_notification_levels() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let level = |s| condition_event(&condition(s), now).severity;
        assert_eq!(level(Level::Critical), Severity::Critical);
        assert_eq!(level(Level::High), Severity::Warning);
        assert_eq!(level(Level::Medium), Severity::Warning);
        assert_eq!(level(Level::Low), Severity::Info);
        assert_ne!(
            condition_event(&condition(Level::Medium), now).state,
            condition_event(&condition(Level::Critical), now).state,
            "a worse severity is a new state, so it is announced again"
        );
    }
}
