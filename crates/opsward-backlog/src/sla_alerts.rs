//! The scheduled SLA check: every open item whose clock is near breach or breached raises
//! one notification per clock and stage, through the notification layer (rules, outbox,
//! channels). Each (item, kind) is remembered once notified, so a breach is told once, not
//! on every run, and a reopened item does not repeat what was already said.

use crate::{
    sla::{ClockReport, ClockStatus, SlaClock},
    store::BacklogStore,
    Item,
};
use chrono::{DateTime, Utc};
use opsward_core::practice::Practice;
use opsward_ops::notifications::{Event, Notifier, Severity};
use opsward_store::StoreError;
use std::collections::HashSet;

/// What one check found and sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SlaRun {
    /// Open items with a running clock.
    pub checked: usize,
    /// New (item, kind) notices.
    pub notices: usize,
    /// Messages queued in the outbox for them.
    pub queued: usize,
}

/// The notice kind of a clock in a stage worth telling, e.g. `resolve_breached`.
pub fn notice_kind(clock: &ClockReport) -> Option<String> {
    let stage = match clock.status {
        ClockStatus::NearBreach => "near_breach",
        ClockStatus::Breached => "breached",
        _ => return None,
    };
    Some(format!("{}_{stage}", clock.clock))
}

fn minutes(m: i64) -> String {
    format!("{}h{:02}", m / 60, m % 60)
}

/// The event for one clock of one item.
pub fn sla_event(item: &Item, clock: &ClockReport, now: DateTime<Utc>) -> Option<Event> {
    let breached = match clock.status {
        ClockStatus::Breached => true,
        ClockStatus::NearBreach => false,
        _ => return None,
    };
    let what = match clock.clock {
        SlaClock::Own => "time to own",
        SlaClock::Resolve => "time to resolve",
    };
    let due = clock
        .due_at
        .map(|d| format!(" (due {})", d.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let (verb, severity, state) = if breached {
        ("breached", Severity::Critical, "breached")
    } else {
        ("near breach", Severity::Warning, "near_breach")
    };
    Some(Event {
        kind: format!("backlog.sla_{state}"),
        practice: Practice::Backlog,
        severity,
        subject: format!(
            "SLA {verb}: {what} of #{} {} ({})",
            item.id, item.title, item.priority
        ),
        body: format!(
            "#{} {} ({}, {}) has used {} of its {} business hours {what}{due}.",
            item.id,
            item.title,
            item.priority,
            item.state,
            minutes(clock.elapsed_minutes),
            minutes(clock.target_minutes),
        ),
        link: Some(format!("/backlog/{}", item.id)),
        owner_team_id: item.team_id,
        owner_person_id: item.assignee_person_id,
        dedupe_key: format!("backlog:{}:sla:{}", item.id, clock.clock),
        state: state.into(),
        occurred_at: now,
    })
}

/// Check every open item and notify what is new.
pub async fn check_sla(
    backlog: &BacklogStore,
    notifier: &Notifier,
    now: DateTime<Utc>,
) -> Result<SlaRun, StoreError> {
    let policy = backlog.compiled_sla_policy().await?;
    let items = backlog.open_items().await?;
    let reports = backlog.sla_reports(&policy, &items, now).await?;
    let at_risk: Vec<i64> = reports
        .iter()
        .filter(|(_, r)| notice_kind(&r.own).is_some() || notice_kind(&r.resolve).is_some())
        .map(|(id, _)| *id)
        .collect();
    let told: HashSet<(i64, String)> = backlog
        .sla_notices(&at_risk)
        .await?
        .into_iter()
        .map(|(id, kind, _)| (id, kind))
        .collect();
    let mut run = SlaRun {
        checked: reports.len(),
        ..SlaRun::default()
    };
    for item in &items {
        let Some(report) = reports.get(&item.id) else {
            continue;
        };
        for clock in [&report.own, &report.resolve] {
            let Some(kind) = notice_kind(clock) else {
                continue;
            };
            if told.contains(&(item.id, kind.clone())) {
                continue;
            }
            let Some(event) = sla_event(item, clock, now) else {
                continue;
            };
            // Queued first: if remembering fails, the next run emits again and the
            // notifier's own deduplication (same key, same state) keeps it from repeating.
            run.queued += notifier.emit(&event, now).await?.len();
            if backlog.record_sla_notice(item.id, &kind, now).await? {
                run.notices += 1;
            }
        }
    }
    Ok(run)
}
