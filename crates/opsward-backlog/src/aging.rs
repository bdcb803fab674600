//! How old the open backlog is, what nobody touched lately and what nobody owns.

use crate::model::Item;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Open items counted by days since creation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgingBuckets {
    #[serde(rename = "0-7")]
    pub days_0_7: usize,
    #[serde(rename = "8-30")]
    pub days_8_30: usize,
    #[serde(rename = "31-90")]
    pub days_31_90: usize,
    #[serde(rename = "90+")]
    pub days_over_90: usize,
}

/// The aging view of the backlog at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgingReport {
    pub at: DateTime<Utc>,
    pub open: usize,
    pub buckets: AgingBuckets,
    /// Days without an update before an open item counts as stale.
    pub stale_after_days: i64,
    /// Open items not updated for `stale_after_days`, oldest update first (the first
    /// `ids_limit` of them when the report was asked for with a limit).
    pub stale: Vec<i64>,
    /// How many open items are stale, listed or not.
    pub stale_total: usize,
    /// Open items with no assignee, oldest first (the first `ids_limit` of them).
    pub unowned: Vec<i64>,
    /// How many open items have no assignee, listed or not.
    pub unowned_total: usize,
}

impl AgingReport {
    /// The report with at most `limit` ids in each list; the totals stay.
    pub fn with_ids_limit(mut self, limit: usize) -> AgingReport {
        self.stale.truncate(limit);
        self.unowned.truncate(limit);
        self
    }
}

/// Whole days from `since` to `now`; never negative (clocks drift between servers).
fn age_days(since: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - since).num_days().max(0)
}

pub fn aging(items: &[Item], now: DateTime<Utc>, stale_after_days: i64) -> AgingReport {
    let mut open: Vec<&Item> = items.iter().filter(|i| i.state.is_open()).collect();
    open.sort_by_key(|i| (i.created_at, i.id));
    let mut buckets = AgingBuckets::default();
    for item in &open {
        match age_days(item.created_at, now) {
            0..=7 => buckets.days_0_7 += 1,
            8..=30 => buckets.days_8_30 += 1,
            31..=90 => buckets.days_31_90 += 1,
            _ => buckets.days_over_90 += 1,
        }
    }
    let stale_before = now - Duration::days(stale_after_days);
    let mut stale: Vec<&Item> = open
        .iter()
        .copied()
        .filter(|i| i.updated_at <= stale_before)
        .collect();
    stale.sort_by_key(|i| (i.updated_at, i.id));
    let unowned: Vec<i64> = open
        .iter()
        .filter(|i| i.assignee_person_id.is_none())
        .map(|i| i.id)
        .collect();
    AgingReport {
        at: now,
        open: open.len(),
        buckets,
        stale_after_days,
        stale_total: stale.len(),
        stale: stale.iter().map(|i| i.id).collect(),
        unowned_total: unowned.len(),
        unowned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::ItemType, priority::Priority, workflow::ItemState};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap()
    }

    fn item(id: i64, created_days_ago: i64, updated_days_ago: i64, state: ItemState) -> Item {
        Item {
            id,
            item_type: ItemType::Problem,
            title: format!("item {id}"),
            description: String::new(),
            state,
            impact: 2,
            urgency: 2,
            priority: Priority::P3,
            wsjf: None,
            wsjf_score: None,
            team_id: None,
            assignee_person_id: Some(1),
            tags: vec![],
            asset_ids: vec![],
            created_at: now() - Duration::days(created_days_ago),
            updated_at: now() - Duration::days(updated_days_ago),
            version: 1,
            owned_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn buckets_by_age_at_their_edges() {
        let items = [
            item(1, 0, 0, ItemState::New),
            item(2, 7, 0, ItemState::New),
            item(3, 8, 0, ItemState::Triaged),
            item(4, 30, 0, ItemState::InProgress),
            item(5, 31, 0, ItemState::WaitingCustomer),
            item(6, 90, 0, ItemState::New),
            item(7, 91, 0, ItemState::New),
            item(8, 400, 0, ItemState::Resolved),
            item(9, 400, 0, ItemState::Closed),
        ];
        let report = aging(&items, now(), 14);
        assert_eq!(report.open, 7, "resolved and closed items do not age");
        assert_eq!(
            report.buckets,
            AgingBuckets {
                days_0_7: 2,
                days_8_30: 2,
                days_31_90: 2,
                days_over_90: 1
            }
        );
    }

    #[test]
    fn stale_and_unowned_open_items() {
        let mut unassigned = item(3, 5, 1, ItemState::New);
        unassigned.assignee_person_id = None;
        let mut unassigned_closed = item(4, 5, 1, ItemState::Closed);
        unassigned_closed.assignee_person_id = None;
        let items = [
            item(1, 60, 20, ItemState::InProgress),
            item(2, 60, 13, ItemState::InProgress),
            item(5, 60, 40, ItemState::WaitingSupplier),
            item(6, 60, 40, ItemState::Resolved),
            unassigned,
            unassigned_closed,
        ];
        let report = aging(&items, now(), 14);
        assert_eq!(report.stale, [5, 1], "oldest update first, open only");
        assert_eq!(report.unowned, [3]);
    }

    #[test]
    fn future_timestamps_count_as_new() {
        let report = aging(&[item(1, -2, -2, ItemState::New)], now(), 14);
        assert_eq!(report.buckets.days_0_7, 1);
        assert!(report.stale.is_empty());
    }
}
