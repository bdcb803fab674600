//! The backlog's side of the practice contract: open items past their SLA as conditions,
//! hygiene from SLA breaches, stale and unowned items (rules in [`crate::practice_rules`]),
//! the open items of one asset, and the backlog's jobs (SLA notices, inbound email,
//! automatic items from every practice's conditions).
//!
//! Conditions:
//!
//! | Kind | Severity | When |
//! |---|---|---|
//! | `sla_breached` | P1 critical, P2 high, P3 medium, P4-P5 low | an open item's time to own or to resolve ran out; one per item, due = the SLA due time |
//! | `items_stale` | low | open items not changed for 14 days; one grouped condition with the count |
//! | `items_unowned` | low | open items with nobody assigned; one grouped condition with the count |
//!
//! One assessment is four queries whatever the size of the backlog: the SLA policy, the
//! aging counts (a covering index), at most [`SLA_CHECK_LIMIT`] open items old enough to
//! have breached (most urgent first, from a partial index), and their pauses.

use crate::{
    auto::AutoSettings,
    inbound::InboundSettings,
    jobs::{self, InboundFollowUp},
    practice_rules::{self, BacklogCounts},
    practice_sql::{AssetItem, SlaCandidate},
    priority::Priority,
    review::DEFAULT_STALE_DAYS,
    sla::{Breach, ClockStatus, CompiledPolicy, SlaClock, SlaFacts},
    store::{BacklogStore, Result},
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    contract::{
        count, Assessment, AssetFacet, Condition, EntityRef, FacetRow, JobContext,
        PracticeContract, PracticeError, Severity, Tone,
    },
    job::JobSpec,
    practice::Practice,
};
use opsward_store::Store;
use std::sync::Arc;

/// Most open items the SLA check reads per assessment, most urgent first; beyond it the
/// breach count is reported as "at least".
pub const SLA_CHECK_LIMIT: i64 = 1000;

/// Most items one asset's facet lists.
pub const FACET_ROWS: usize = 20;

/// The backlog practice.
pub struct BacklogPractice {
    store: Arc<dyn Store>,
    auto: AutoSettings,
    inbound: InboundSettings,
    inbound_follow_up: Option<Arc<dyn InboundFollowUp>>,
}

impl BacklogPractice {
    pub fn new(store: Arc<dyn Store>, auto: AutoSettings, inbound: InboundSettings) -> Self {
        BacklogPractice {
            store,
            auto,
            inbound,
            inbound_follow_up: None,
        }
    }

    /// Run `follow_up` after each poll of the inbound mailbox (the server links items to
    /// the customer whose contact wrote).
    pub fn with_inbound_follow_up(mut self, follow_up: Arc<dyn InboundFollowUp>) -> Self {
        self.inbound_follow_up = Some(follow_up);
        self
    }

    fn backlog(&self) -> BacklogStore {
        BacklogStore::new(self.store.as_ref())
    }
}

fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> PracticeError {
    PracticeError::new(Practice::Backlog, e)
}

/// The condition severity of an item's priority.
pub fn severity_of(priority: Priority) -> Severity {
    match priority {
        Priority::P1 => Severity::Critical,
        Priority::P2 => Severity::High,
        Priority::P3 => Severity::Medium,
        Priority::P4 | Priority::P5 => Severity::Low,
    }
}

fn item_link(id: i64) -> String {
    format!("/backlog/{id}")
}

fn clock_words(b: &Breach) -> &'static str {
    match (b.both, b.clock) {
        (true, _) => "time to own and time to resolve",
        (false, SlaClock::Own) => "time to own",
        (false, SlaClock::Resolve) => "time to resolve",
    }
}

/// The condition of one breached item.
pub fn breach_condition(item: &SlaCandidate, priority: Priority, breach: &Breach) -> Condition {
    let unowned = if item.assignee_person_id.is_none() {
        "; nobody is assigned"
    } else {
        ""
    };
    let title = format!(
        "Backlog item #{} \"{}\" ({priority}) is past its SLA: {} was due {}{unowned}",
        item.id,
        item.title,
        clock_words(breach),
        breach.due_at.format("%Y-%m-%d %H:%M UTC"),
    );
    let entity = EntityRef {
        kind: "item".into(),
        id: item.id,
        label: format!("#{} {}", item.id, item.title),
        link: item_link(item.id),
    };
    // The item's own team or assignee owns it; only an item with neither falls to its asset.
    let (team, person) = if item.team_id.is_some() || item.assignee_person_id.is_some() {
        (item.team_id, item.assignee_person_id)
    } else {
        (item.asset_team_id, item.asset_person_id)
    };
    Condition::new(
        Practice::Backlog,
        "sla_breached",
        severity_of(priority),
        entity,
        title,
    )
    .with_asset(item.asset_id, item.asset_name.clone())
    .with_owner(team, person)
    .with_times(Some(breach.due_at), Some(breach.due_at))
}

/// One grouped, low-severity condition for many items of one kind.
fn grouped(kind: &str, n: usize, title: String, stale_days: i64) -> Option<Condition> {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    (n > 0).then(|| {
        let entity = EntityRef {
            kind: "backlog".into(),
            id: 0,
            label: "backlog review".into(),
            link: practice_rules::review_link(stale_days),
        };
        Condition::new(Practice::Backlog, kind, Severity::Low, entity, title).with_count(n32)
    })
}

/// The breaches among the checked items, most urgent first, with their conditions.
fn breaches(
    policy: &CompiledPolicy,
    items: &[SlaCandidate],
    mut pauses: std::collections::HashMap<i64, Vec<crate::business_hours::Pause>>,
    now: DateTime<Utc>,
) -> Vec<Condition> {
    items
        .iter()
        .filter_map(|item| {
            let priority = Priority::from_impact_urgency(item.impact, item.urgency)?;
            let facts = SlaFacts {
                priority,
                team_id: item.team_id,
                created_at: item.created_at,
                owned_at: item.owned_at,
                resolved_at: None,
                pauses: pauses.remove(&item.id).unwrap_or_default(),
            };
            let breach = policy.breach(&facts, now)?;
            Some(breach_condition(item, priority, &breach))
        })
        .collect()
}

impl BacklogPractice {
    async fn assess_backlog(&self, now: DateTime<Utc>) -> Result<Assessment> {
        let backlog = self.backlog();
        let policy = backlog.compiled_sla_policy().await?;
        let aging = backlog.aging_counts(now, DEFAULT_STALE_DAYS).await?;
        // A clock counts business time, never more than wall time: an item younger than
        // the shortest target cannot have breached.
        let shortest = policy.policy.targets.iter().map(|t| t.own_minutes).min();
        let candidates = match shortest {
            Some(minutes) => {
                backlog
                    .sla_candidates(now - Duration::minutes(minutes), SLA_CHECK_LIMIT)
                    .await?
            }
            None => Vec::new(),
        };
        let ids: Vec<i64> = candidates.iter().map(|c| c.id).collect();
        let pauses = backlog.pauses(&ids).await?;
        let mut conditions = breaches(&policy, &candidates, pauses, now);
        let counts = BacklogCounts {
            open: aging.open,
            breached: conditions.len(),
            breaches_complete: (candidates.len() as i64) < SLA_CHECK_LIMIT,
            oldest_breach_due: conditions.iter().filter_map(|c| c.due).min(),
            stale: aging.stale,
            stale_after_days: aging.stale_after_days,
            unowned: aging.unowned,
        };
        let deductions = practice_rules::deductions(&counts, now);
        conditions.extend(grouped(
            "items_stale",
            counts.stale,
            format!(
                "{} not changed for {} days or more; review them",
                count(counts.stale, "open backlog item", "open backlog items"),
                counts.stale_after_days
            ),
            counts.stale_after_days,
        ));
        conditions.extend(grouped(
            "items_unowned",
            counts.unowned,
            format!(
                "{} without an assignee; assign them or close them",
                count(counts.unowned, "open backlog item", "open backlog items")
            ),
            counts.stale_after_days,
        ));
        Ok(Assessment {
            conditions,
            deductions,
            ..Assessment::default()
        })
    }

    async fn asset_items(&self, asset_id: i64, now: DateTime<Utc>) -> Result<Vec<AssetFacet>> {
        let backlog = self.backlog();
        let (items, total) = backlog.open_items_of_asset(asset_id, FACET_ROWS).await?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let policy = backlog.compiled_sla_policy().await?;
        let ids: Vec<i64> = items.iter().map(|i| i.id).collect();
        let mut pauses = backlog.pauses(&ids).await?;
        let rows: Vec<FacetRow> = items
            .iter()
            .map(|item| facet_row(&policy, item, pauses.remove(&item.id), now))
            .collect();
        let breached = rows.iter().filter(|r| r.tone == Tone::Bad).count();
        let mut summary = count(total, "open item", "open items");
        if breached > 0 {
            let their = if breached == 1 { "its" } else { "their" };
            summary.push_str(&format!(", {breached} past {their} SLA"));
        }
        if total > rows.len() {
            summary.push_str(&format!("; the newest {} shown", rows.len()));
        }
        Ok(vec![AssetFacet {
            practice: Practice::Backlog,
            title: "Backlog items".into(),
            summary: Some(summary),
            columns: ["Item", "State", "Priority", "Assignee", "SLA"]
                .map(String::from)
                .to_vec(),
            rows,
            empty: "No open backlog items.".into(),
            more_link: Some("/backlog".into()),
        }])
    }
}

/// One item's row: its SLA in words, red when breached, amber when near breach or
/// unassigned.
fn facet_row(
    policy: &CompiledPolicy,
    item: &AssetItem,
    pauses: Option<Vec<crate::business_hours::Pause>>,
    now: DateTime<Utc>,
) -> FacetRow {
    let priority = Priority::from_impact_urgency(item.impact, item.urgency);
    let report = priority.and_then(|priority| {
        let facts = SlaFacts {
            priority,
            team_id: item.team_id,
            created_at: item.created_at,
            owned_at: item.owned_at,
            resolved_at: None,
            pauses: pauses.unwrap_or_default(),
        };
        policy.evaluate(&facts, now)
    });
    let (sla, status) = match &report {
        Some(r) => {
            let worst = r.worst();
            let due = worst
                .due_at
                .map(|d| format!(", due {}", d.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_else(|| {
                    if worst.paused {
                        ", paused".into()
                    } else {
                        String::new()
                    }
                });
            let clock = match worst.clock {
                SlaClock::Own => "time to own",
                SlaClock::Resolve => "time to resolve",
            };
            let status = worst.status.as_str().replace('_', " ");
            (format!("{clock} {status}{due}"), Some(worst.status))
        }
        None => ("no target".to_string(), None),
    };
    let tone = match status {
        Some(ClockStatus::Breached) => Tone::Bad,
        Some(ClockStatus::NearBreach) => Tone::Warning,
        _ if item.assignee.is_none() => Tone::Warning,
        _ => Tone::Neutral,
    };
    FacetRow {
        cells: vec![
            format!("#{} {}", item.id, item.title),
            item.state.clone(),
            priority.map(|p| p.to_string()).unwrap_or_default(),
            item.assignee.clone().unwrap_or_else(|| "nobody".into()),
            sla,
        ],
        link: Some(item_link(item.id)),
        tone,
    }
}

#[async_trait]
impl PracticeContract for BacklogPractice {
    fn practice(&self) -> Practice {
        Practice::Backlog
    }

    /// Announced by the SLA clock's `backlog.sla_*` notices.
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["sla_breached"]
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        self.assess_backlog(now).await.map_err(failed)
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        self.asset_items(asset_id, now).await.map_err(failed)
    }

    fn jobs(&self, context: &JobContext) -> Vec<JobSpec> {
        jobs::backlog_jobs(
            &self.store,
            &self.auto,
            &self.inbound,
            self.inbound_follow_up.as_ref(),
            context,
        )
    }
}
