//! The scheduled backlog review. The review list is every open item that is stale (no
//! update in N days), unowned, among the oldest, or among the highest priority. Decisions
//! (keep, close, reprioritise, merge into another item) are checked all together first,
//! then applied to the items, then recorded as evidence on the review activity's
//! occurrence (an activity from the `backlog-review` calendar template).

use crate::{
    model::{CommentInput, Item, ItemPatch},
    store::{BacklogError, BacklogStore},
    workflow::ItemState,
};
use chrono::{DateTime, Duration, Utc};
use opsward_core::{practice::Practice, Actor, ValidationError};
use opsward_ops::{
    model::{CalendarFilter, EvidenceInput, EvidenceResult},
    store::OpsStore,
};
use opsward_store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// Days without a change before an open item counts as stale, unless a review asks for
/// another period.
pub const DEFAULT_STALE_DAYS: i64 = 14;

/// Most decisions one review applies (they are listed in the evidence's notes).
pub const MAX_DECISIONS: usize = 100;

/// The calendar template a review activity is made from.
pub const REVIEW_TEMPLATE: &str = "backlog-review";

/// Why an item is on the review list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewReason)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// No update in the stale period.
    Stale,
    /// Nobody is assigned.
    Unowned,
    /// Among the oldest open items.
    Oldest,
    /// Among the highest-priority open items.
    HighestPriority,
}

impl ReviewReason {
    /// What people read beside an item picked for review.
    pub fn label(self) -> &'static str {
        match self {
            ReviewReason::Stale => "Stale",
            ReviewReason::Unowned => "No owner",
            ReviewReason::Oldest => "Oldest",
            ReviewReason::HighestPriority => "Highest priority",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::Stale => "stale",
            ReviewReason::Unowned => "unowned",
            ReviewReason::Oldest => "oldest",
            ReviewReason::HighestPriority => "highest_priority",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewEntry)]
pub struct ReviewEntry {
    pub item: Item,
    pub reasons: Vec<ReviewReason>,
    /// Days since the item was filed.
    pub age_days: i64,
    /// Days since its last update.
    pub idle_days: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewList)]
pub struct ReviewList {
    pub at: DateTime<Utc>,
    pub stale_after_days: i64,
    /// How many of the oldest and of the highest-priority items are listed.
    pub top: usize,
    /// Highest priority first, then oldest.
    pub entries: Vec<ReviewEntry>,
}

/// Build the review list from every item.
pub fn review_list(
    items: &[Item],
    now: DateTime<Utc>,
    stale_after_days: i64,
    top: usize,
) -> ReviewList {
    let open: Vec<&Item> = items.iter().filter(|i| i.state.is_open()).collect();
    let mut reasons: HashMap<i64, Vec<ReviewReason>> = HashMap::new();
    let stale_before = now - Duration::days(stale_after_days);
    for i in &open {
        if i.updated_at <= stale_before {
            reasons.entry(i.id).or_default().push(ReviewReason::Stale);
        }
        if i.assignee_person_id.is_none() {
            reasons.entry(i.id).or_default().push(ReviewReason::Unowned);
        }
    }
    let mut oldest = open.clone();
    oldest.sort_by_key(|i| (i.created_at, i.id));
    for i in oldest.iter().take(top) {
        reasons.entry(i.id).or_default().push(ReviewReason::Oldest);
    }
    let mut urgent = open.clone();
    urgent.sort_by_key(|i| (i.priority, i.created_at, i.id));
    for i in urgent.iter().take(top) {
        reasons
            .entry(i.id)
            .or_default()
            .push(ReviewReason::HighestPriority);
    }
    let mut entries: Vec<ReviewEntry> = urgent
        .iter()
        .filter_map(|i| {
            reasons.remove(&i.id).map(|reasons| ReviewEntry {
                item: (*i).clone(),
                reasons,
                age_days: (now - i.created_at).num_days().max(0),
                idle_days: (now - i.updated_at).num_days().max(0),
            })
        })
        .collect();
    entries.sort_by_key(|e| (e.item.priority, e.item.created_at, e.item.id));
    ReviewList {
        at: now,
        stale_after_days,
        top,
        entries,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogDecisionKind)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// Leave it open; the review counts as an update, so it is no longer stale.
    Keep,
    /// Close it, from whatever open state it is in.
    Close,
    /// New impact and urgency.
    Reprioritise,
    /// Close it as a duplicate of `into`, with a comment on both.
    Merge,
}

impl DecisionKind {
    /// What people read in lists, filters and history.
    pub fn label(self) -> &'static str {
        match self {
            DecisionKind::Keep => "Keep",
            DecisionKind::Close => "Close",
            DecisionKind::Reprioritise => "Reprioritise",
            DecisionKind::Merge => "Merge",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Keep => "keep",
            DecisionKind::Close => "close",
            DecisionKind::Reprioritise => "reprioritise",
            DecisionKind::Merge => "merge",
        }
    }
}

/// One decision of a review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewDecision)]
pub struct Decision {
    pub item_id: i64,
    pub decision: DecisionKind,
    /// New impact (reprioritise), 1-3.
    #[serde(default)]
    pub impact: Option<i32>,
    /// New urgency (reprioritise), 1-3.
    #[serde(default)]
    pub urgency: Option<i32>,
    /// The item it is merged into (merge).
    #[serde(default)]
    pub into: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// Decisions to apply, and which review activity they are evidence of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewDecisions)]
pub struct Decisions {
    /// The review activity; by default the first active one made from the
    /// `backlog-review` template.
    #[serde(default)]
    pub activity_id: Option<i64>,
    pub decisions: Vec<Decision>,
}

/// What a review did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogReviewOutcome)]
pub struct ReviewOutcome {
    pub activity_id: i64,
    /// The evidence recorded on the review's occurrence.
    pub evidence_id: i64,
    pub occurrence_at: Option<DateTime<Utc>>,
    /// Each item as it is after its decision.
    pub items: Vec<Item>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Backlog(#[from] BacklogError),
    #[error("no active calendar activity from the backlog-review template; create one first (opsward activity add --template backlog-review ...)")]
    NoActivity,
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Backlog(e.into())
    }
}

impl From<ValidationError> for ReviewError {
    fn from(e: ValidationError) -> Self {
        ReviewError::Backlog(e.into())
    }
}

fn note(d: &Decision) -> String {
    if d.note.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", d.note.trim())
    }
}

/// Check every decision against the stored items before anything changes.
fn check(decisions: &[Decision], items: &HashMap<i64, Item>) -> Result<(), ValidationError> {
    let mut v = opsward_core::validation::Validator::new();
    if decisions.is_empty() || decisions.len() > MAX_DECISIONS {
        v.error("decisions", format!("list 1-{MAX_DECISIONS} decisions"));
    }
    let mut seen = HashSet::new();
    let closing: HashSet<i64> = decisions
        .iter()
        .filter(|d| matches!(d.decision, DecisionKind::Close | DecisionKind::Merge))
        .map(|d| d.item_id)
        .collect();
    for d in decisions {
        let field = format!("decisions[{}]", d.item_id);
        if !seen.insert(d.item_id) {
            v.error(&field, "one decision per item");
        }
        match items.get(&d.item_id) {
            None => v.error(&field, format!("item {} does not exist", d.item_id)),
            Some(i) if i.state == ItemState::Closed && d.decision != DecisionKind::Keep => {
                v.error(&field, format!("item {} is already closed", d.item_id))
            }
            Some(_) => {}
        }
        if d.note.chars().count() > 500 {
            v.error(&field, "note: at most 500 characters");
        }
        match d.decision {
            DecisionKind::Reprioritise => {
                let ok = |x: Option<i32>| x.is_none_or(|x| (1..=3).contains(&x));
                if d.impact.is_none() && d.urgency.is_none() {
                    v.error(&field, "reprioritise needs impact and/or urgency");
                } else if !ok(d.impact) || !ok(d.urgency) {
                    v.error(&field, "impact and urgency must be 1 (high) to 3 (low)");
                }
            }
            DecisionKind::Merge => match d.into {
                None => v.error(&field, "merge needs `into`, the item it is merged into"),
                Some(t) if t == d.item_id => v.error(&field, "an item cannot merge into itself"),
                Some(t) if !items.contains_key(&t) => {
                    v.error(&field, format!("merge target {t} does not exist"))
                }
                Some(t) if closing.contains(&t) || items[&t].state == ItemState::Closed => v.error(
                    &field,
                    format!("merge target {t} is closed or being closed"),
                ),
                Some(_) => {}
            },
            DecisionKind::Keep | DecisionKind::Close => {}
        }
    }
    v.finish()
}

/// The review activity: `wanted`, or the first active one from the template.
pub async fn review_activity(
    ops: &OpsStore,
    wanted: Option<i64>,
) -> Result<opsward_ops::model::Activity, ReviewError> {
    if let Some(id) = wanted {
        return Ok(ops.get_activity(id).await?);
    }
    let filter = CalendarFilter {
        practice: Some(Practice::Backlog),
        ..CalendarFilter::default()
    };
    ops.list_activities(&filter, false)
        .await?
        .into_iter()
        .filter(|a| a.template.as_deref() == Some(REVIEW_TEMPLATE))
        .min_by_key(|a| a.id)
        .ok_or(ReviewError::NoActivity)
}

/// Apply the decisions and record them as evidence on the review's open occurrence (the
/// latest one started without evidence; none when there is none).
pub async fn apply_decisions(
    backlog: &BacklogStore,
    ops: &OpsStore,
    actor: &Actor,
    req: &Decisions,
    now: DateTime<Utc>,
) -> Result<ReviewOutcome, ReviewError> {
    let activity = review_activity(ops, req.activity_id).await?;
    let items: HashMap<i64, Item> = backlog
        .all_items()
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    check(&req.decisions, &items)?;
    let mut lines = Vec::new();
    let mut changed = Vec::new();
    for d in &req.decisions {
        let item = &items[&d.item_id];
        let comment = |text: String| CommentInput { body: text };
        let after = match d.decision {
            DecisionKind::Keep => {
                backlog
                    .add_comment(
                        actor,
                        item.id,
                        &comment(format!("Backlog review: keep{}", note(d))),
                    )
                    .await?;
                backlog.get_item(item.id).await?
            }
            DecisionKind::Close => {
                backlog
                    .review_close(actor, item.id, &format!("Backlog review: close{}", note(d)))
                    .await?
            }
            DecisionKind::Reprioritise => {
                let patch = ItemPatch {
                    impact: d.impact,
                    urgency: d.urgency,
                    ..ItemPatch::default()
                };
                let after = backlog.update_item(actor, item.id, &patch).await?;
                backlog
                    .add_comment(
                        actor,
                        item.id,
                        &comment(format!(
                            "Backlog review: reprioritised from {} to {}{}",
                            item.priority,
                            after.priority,
                            note(d)
                        )),
                    )
                    .await?;
                after
            }
            DecisionKind::Merge => {
                let into = d.into.expect("checked");
                let after = backlog
                    .review_close(
                        actor,
                        item.id,
                        &format!("Backlog review: merged into #{into}{}", note(d)),
                    )
                    .await?;
                backlog
                    .add_comment(
                        actor,
                        into,
                        &comment(format!(
                            "Backlog review: #{} {} was merged into this item{}",
                            item.id,
                            item.title,
                            note(d)
                        )),
                    )
                    .await?;
                after
            }
        };
        let target = d.into.map(|t| format!(" into #{t}")).unwrap_or_default();
        let prio = match d.decision {
            DecisionKind::Reprioritise => format!(" ({} -> {})", item.priority, after.priority),
            _ => String::new(),
        };
        // Short enough that the notes of MAX_DECISIONS lines stay within the evidence limit.
        let short = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        lines.push(format!(
            "#{} {}: {}{target}{prio}{}",
            item.id,
            short(&item.title, 60),
            d.decision.as_str(),
            short(&note(d), 80)
        ));
        changed.push(after);
    }
    let occurrence_at = ops.latest_started_occurrence(&activity, now).await?;
    let evidence = ops
        .complete(
            actor,
            activity.id,
            &EvidenceInput {
                occurrence_at,
                result: EvidenceResult::Passed,
                notes: format!(
                    "Backlog review, {} decisions:\n{}",
                    lines.len(),
                    lines.join("\n")
                ),
                links: Vec::new(),
            },
            &[],
        )
        .await?;
    Ok(ReviewOutcome {
        activity_id: activity.id,
        evidence_id: evidence.id,
        occurrence_at,
        items: changed,
    })
}
