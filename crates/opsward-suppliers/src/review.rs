//! Supplier reviews: how often they happen, the weighted scorecard, the numbers taken from
//! the backlog, and the actions agreed. The rules here are pure; `store` keeps the rows.

use crate::model::text_enum;
use chrono::{DateTime, NaiveDate, Utc};
use opsward_core::{
    asset::Criticality,
    validation::{ValidationError, Validator},
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;

pub const MIN_SCORE: i32 = 1;
pub const MAX_SCORE: i32 = 5;
pub const MAX_ATTENDEES: usize = 50;
pub const MAX_ACTIONS: usize = 50;

/// Months between reviews: critical suppliers quarterly, high half-yearly, others yearly.
pub fn cadence_months(criticality: Criticality) -> u32 {
    match criticality {
        Criticality::Critical => 3,
        Criticality::High => 6,
        Criticality::Medium | Criticality::Low => 12,
    }
}

/// The review schedule as an RFC 5545 rule for the calendar.
pub fn review_rrule(criticality: Criticality) -> String {
    match cadence_months(criticality) {
        12 => "FREQ=YEARLY".into(),
        n => format!("FREQ=MONTHLY;INTERVAL={n}"),
    }
}

text_enum! {
    /// What the review concluded; recorded as the evidence's result.
    ReviewOutcome {
        Satisfactory => "satisfactory",
        ImprovementRequired => "improvement_required",
        Unsatisfactory => "unsatisfactory",
    }
}

impl ReviewOutcome {
    pub fn evidence_result(self) -> opsward_ops::EvidenceResult {
        match self {
            ReviewOutcome::Satisfactory => opsward_ops::EvidenceResult::Passed,
            ReviewOutcome::ImprovementRequired => opsward_ops::EvidenceResult::Partial,
            ReviewOutcome::Unsatisfactory => opsward_ops::EvidenceResult::Failed,
        }
    }
}

text_enum! {
    /// How a backlog item involves a supplier.
    LinkRelation { CausedBy => "caused_by", WaitingOn => "waiting_on" }
}

/// One scorecard criterion and its weight (relative: weights need not add up to 100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// Stable identifier, e.g. `quality`.
    pub key: String,
    pub label: String,
    pub weight: i32,
    pub position: i32,
    /// Inactive criteria are kept for old scorecards but not scored any more.
    pub active: bool,
}

impl Criterion {
    pub fn validate_all(criteria: &[Criterion]) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        let mut keys = HashSet::new();
        for c in criteria {
            let key_ok = !c.key.is_empty()
                && c.key.len() <= 50
                && c.key
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !key_ok {
                v.error("key", format!("{:?} must be 1-50 of a-z, 0-9 and _", c.key));
            }
            if !keys.insert(c.key.as_str()) {
                v.error("key", format!("{:?} appears twice", c.key));
            }
            v.name("label", &c.label, 100);
            if !(0..=100).contains(&c.weight) {
                v.error("weight", "must be 0-100");
            }
            if !(0..=1000).contains(&c.position) {
                v.error("position", "must be 0-1000");
            }
        }
        if !criteria.iter().any(|c| c.active && c.weight > 0) {
            v.error(
                "criteria",
                "at least one active criterion needs a weight above 0",
            );
        }
        v.finish()
    }
}

/// A criterion as scored in one review, with the label and weight it had then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Score {
    pub criterion: String,
    pub label: String,
    pub weight: i32,
    /// 1 (poor) to 5 (excellent).
    pub score: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreInput {
    pub criterion: String,
    pub score: i32,
}

/// The weighted mean of the scores, 1-5; `None` when every weight is zero.
pub fn weighted_total(scores: &[Score]) -> Option<f64> {
    let weights: i64 = scores.iter().map(|s| i64::from(s.weight)).sum();
    let sum: i64 = scores
        .iter()
        .map(|s| i64::from(s.weight) * i64::from(s.score))
        .sum();
    weighted_mean(sum, weights)
}

/// `weighted_sum / weights` to two decimals; `None` when `weights` is zero. Two decimals
/// are what people compare; more only suggests false precision.
pub fn weighted_mean(weighted_sum: i64, weights: i64) -> Option<f64> {
    if weights == 0 {
        return None;
    }
    Some((weighted_sum as f64 / weights as f64 * 100.0).round() / 100.0)
}

/// Match the submitted scores to the active criteria: every active criterion scored once,
/// nothing else.
pub fn score_card(
    criteria: &[Criterion],
    input: &[ScoreInput],
) -> Result<Vec<Score>, ValidationError> {
    let mut v = Validator::new();
    let active: Vec<&Criterion> = criteria.iter().filter(|c| c.active).collect();
    for s in input {
        if !active.iter().any(|c| c.key == s.criterion) {
            v.error(
                "scores",
                format!("{:?} is not an active criterion", s.criterion),
            );
        }
        if !(MIN_SCORE..=MAX_SCORE).contains(&s.score) {
            v.error(
                "scores",
                format!("{}: score must be {MIN_SCORE}-{MAX_SCORE}", s.criterion),
            );
        }
    }
    let mut card = Vec::new();
    for c in active {
        let given: Vec<_> = input.iter().filter(|s| s.criterion == c.key).collect();
        match given.as_slice() {
            [one] => card.push(Score {
                criterion: c.key.clone(),
                label: c.label.clone(),
                weight: c.weight,
                score: one.score,
            }),
            [] => v.error("scores", format!("{} is not scored", c.key)),
            _ => v.error("scores", format!("{} is scored more than once", c.key)),
        }
    }
    v.finish()?;
    Ok(card)
}

/// Numbers taken from the backlog for the review period, so the scorecard is not only
/// opinion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ObjectiveInputs {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Items linked as caused by the supplier, opened in the period.
    pub caused_opened: i64,
    /// Items linked as caused by the supplier, resolved in the period.
    pub caused_resolved: i64,
    /// Items linked as waiting on the supplier, opened in the period.
    pub waiting_opened: i64,
    pub waiting_resolved: i64,
    /// Hours that linked items spent in `waiting_supplier` within the period.
    pub hours_waiting_on_supplier: f64,
    /// Linked items whose resolution target (by priority: P1 1 day .. P5 90 days) fell due in
    /// the period while they were unresolved and had waited on the supplier: the SLA breaches
    /// the supplier had a hand in.
    #[serde(default)]
    pub targets_missed_while_waiting: i64,
}

/// When an item entered a state, oldest first (its creation included).
pub type StateChanges = [(DateTime<Utc>, String)];

/// Seconds an item spent in `state` within `[from, to)`, from its state changes.
pub fn seconds_in_state(
    changes: &StateChanges,
    state: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    let mut total = 0;
    for (i, (entered, s)) in changes.iter().enumerate() {
        if s != state {
            continue;
        }
        let left = changes.get(i + 1).map(|c| c.0).unwrap_or(to);
        let start = (*entered).max(from);
        let end = left.min(to);
        if end > start {
            total += (end - start).num_seconds();
        }
    }
    total
}

/// Whether an item missed its resolution target `due` within `[from, to)` while waiting on
/// the supplier: the target fell due in the period, the item was not resolved by then, and
/// it had spent time in `waiting_supplier` before it.
pub fn target_missed_waiting(
    changes: &StateChanges,
    due: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    if due < from || due >= to {
        return false;
    }
    let resolved_by_due = changes
        .iter()
        .rfind(|(at, _)| *at <= due)
        .is_some_and(|(_, s)| s == "resolved" || s == "closed");
    let first = changes.first().map_or(due, |c| c.0);
    !resolved_by_due && seconds_in_state(changes, "waiting_supplier", first, due) > 0
}

/// When the item was first resolved within `[from, to)`, if it was.
pub fn resolved_within(changes: &StateChanges, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    changes
        .iter()
        .any(|(at, s)| s == "resolved" && *at >= from && *at < to)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionItem {
    pub id: i64,
    pub review_id: i64,
    pub title: String,
    pub owner_person_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SupplierActionInput)]
pub struct ActionInput {
    pub title: String,
    #[serde(default)]
    pub owner_person_id: Option<i64>,
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

impl ActionInput {
    fn check(&self, v: &mut Validator) {
        v.name("actions.title", self.title.trim(), 300);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActionPatch {
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub id: i64,
    pub supplier_id: i64,
    pub review_date: NaiveDate,
    pub period_start: NaiveDate,
    pub outcome: ReviewOutcome,
    pub notes: String,
    pub attendees: Vec<String>,
    pub scores: Vec<Score>,
    /// Weighted mean of the scores, 1-5.
    pub weighted_score: Option<f64>,
    pub objective: ObjectiveInputs,
    /// The evidence that completes the review's calendar occurrence.
    pub evidence_id: Option<i64>,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
    pub actions: Vec<ActionItem>,
}

/// A completed review as recorded by a caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SupplierReviewInput)]
pub struct ReviewInput {
    pub supplier_id: i64,
    pub review_date: NaiveDate,
    /// Start of the period reviewed; by default the previous review's date, or one
    /// cadence before `review_date`.
    #[serde(default)]
    pub period_start: Option<NaiveDate>,
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub attendees: Vec<String>,
    pub scores: Vec<ScoreInput>,
    #[serde(default)]
    pub actions: Vec<ActionInput>,
}

impl ReviewInput {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Validator::new();
        v.text("notes", &self.notes, false, 20_000);
        if self.attendees.len() > MAX_ATTENDEES {
            v.error("attendees", format!("at most {MAX_ATTENDEES}"));
        }
        for a in &self.attendees {
            v.name("attendees", a, 200);
        }
        if self.actions.len() > MAX_ACTIONS {
            v.error("actions", format!("at most {MAX_ACTIONS}"));
        }
        for a in &self.actions {
            a.check(&mut v);
        }
        if self.period_start.is_some_and(|p| p > self.review_date) {
            v.error("period_start", "is after review_date");
        }
        v.finish()
    }
}

pub fn validate_action(input: &ActionInput) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    input.check(&mut v);
    v.finish()
}

/// A backlog item linked to a supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BacklogLink {
    pub supplier_id: i64,
    pub item_id: i64,
    pub relation: LinkRelation,
    pub item_title: String,
    pub item_state: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = ReviewLinkInput)]
pub struct LinkInput {
    pub item_id: i64,
    pub relation: LinkRelation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn criteria() -> Vec<Criterion> {
        [("quality", 25), ("delivery", 20), ("cost", 15), ("old", 50)]
            .iter()
            .enumerate()
            .map(|(i, (k, w))| Criterion {
                key: k.to_string(),
                label: k.to_string(),
                weight: *w,
                position: i as i32,
                active: *k != "old",
            })
            .collect()
    }

    fn s(c: &str, score: i32) -> ScoreInput {
        ScoreInput {
            criterion: c.into(),
            score,
        }
    }

    #[test]
    fn the_total_is_weighted_by_criterion() {
        let card = score_card(
            &criteria(),
            &[s("quality", 5), s("delivery", 3), s("cost", 1)],
        )
        .unwrap();
        // (5*25 + 3*20 + 1*15) / 60 = 200 / 60
        assert_eq!(weighted_total(&card), Some(3.33));
        assert_eq!(weighted_total(&[]), None);
    }

    #[test]
    fn every_active_criterion_is_scored_once_and_in_range() {
        let c = criteria();
        assert!(score_card(&c, &[s("quality", 5), s("delivery", 3)]).is_err());
        assert!(score_card(&c, &[s("quality", 5), s("delivery", 3), s("cost", 6)]).is_err());
        assert!(score_card(
            &c,
            &[s("quality", 5), s("delivery", 3), s("cost", 2), s("old", 3)]
        )
        .is_err());
        assert!(score_card(
            &c,
            &[
                s("quality", 5),
                s("quality", 4),
                s("delivery", 3),
                s("cost", 2)
            ]
        )
        .is_err());
    }

    #[test]
    fn cadence_follows_criticality() {
        assert_eq!(
            review_rrule(Criticality::Critical),
            "FREQ=MONTHLY;INTERVAL=3"
        );
        assert_eq!(review_rrule(Criticality::High), "FREQ=MONTHLY;INTERVAL=6");
        assert_eq!(review_rrule(Criticality::Low), "FREQ=YEARLY");
    }

    #[test]
    fn waiting_time_is_clipped_to_the_period() {
        let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0).unwrap();
        let changes = vec![
            (t(1, 0), "new".to_string()),
            (t(2, 0), "waiting_supplier".to_string()),
            (t(3, 0), "in_progress".to_string()),
            (t(4, 0), "waiting_supplier".to_string()),
            (t(5, 12), "resolved".to_string()),
        ];
        assert_eq!(
            seconds_in_state(&changes, "waiting_supplier", t(1, 0), t(10, 0)),
            (24 + 36) * 3600
        );
        // Period starts in the middle of the first wait.
        assert_eq!(
            seconds_in_state(&changes, "waiting_supplier", t(2, 12), t(4, 6)),
            (12 + 6) * 3600
        );
        assert!(resolved_within(&changes, t(5, 0), t(6, 0)));
        assert!(!resolved_within(&changes, t(6, 0), t(7, 0)));
        // Still waiting: counts until the end of the period.
        let open = vec![(t(1, 0), "waiting_supplier".to_string())];
        assert_eq!(
            seconds_in_state(&open, "waiting_supplier", t(1, 0), t(2, 0)),
            86_400
        );
    }
}
