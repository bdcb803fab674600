//! The numbers behind the backlog charts, per week (weeks start Monday, UTC): backlog size
//! and cumulative flow by state (rebuilt from each item's history of state moves), the age
//! distribution now, throughput (items resolved per week) and SLA compliance (share of the
//! items resolved in a week whose resolve clock met its target).

use crate::{
    aging::{aging, AgingBuckets},
    model::Item,
    sla::{ClockStatus, SlaReport},
    workflow::ItemState,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use opsward_store::{on_backend, Database, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// One recorded state move of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateMove {
    pub item_id: i64,
    pub at: DateTime<Utc>,
    pub from: ItemState,
    pub to: ItemState,
}

/// Items in each state at the end of a week.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogStateCounts)]
pub struct StateCounts {
    pub new: i64,
    pub triaged: i64,
    pub in_progress: i64,
    /// Waiting on the customer, a supplier or a change.
    pub waiting: i64,
    pub resolved: i64,
    pub closed: i64,
}

impl StateCounts {
    fn add(&mut self, s: ItemState) {
        use ItemState::*;
        match s {
            New => self.new += 1,
            Triaged => self.triaged += 1,
            InProgress => self.in_progress += 1,
            WaitingCustomer | WaitingSupplier | WaitingChange => self.waiting += 1,
            Resolved => self.resolved += 1,
            Closed => self.closed += 1,
        }
    }

    /// Items not resolved or closed.
    pub fn open(&self) -> i64 {
        self.new + self.triaged + self.in_progress + self.waiting
    }
}

/// One week of the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogChartWeek)]
pub struct Week {
    /// The Monday it starts on.
    pub week_start: NaiveDate,
    /// States at the end of the week (now, for the current week).
    pub states: StateCounts,
    /// Open items at the end of the week.
    pub open: i64,
    /// Moves into resolved (or straight to closed from an open state) during the week.
    pub resolved: i64,
    /// Items resolved this week whose resolve clock has a target.
    pub sla_counted: i64,
    /// Of those, the ones resolved in time.
    pub sla_met: i64,
    /// `sla_met` of `sla_counted` in percent; none without resolved items.
    pub sla_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BacklogCharts)]
pub struct Charts {
    pub at: DateTime<Utc>,
    pub weeks: Vec<Week>,
    /// Open items by age now.
    pub ages: AgingBuckets,
}

/// The Monday 00:00 UTC starting the week of `t`.
pub fn week_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let day = t.date_naive() - Duration::days(i64::from(t.weekday().num_days_from_monday()));
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// The charts over the `weeks` weeks up to `now` (the current week last).
pub fn charts(
    items: &[Item],
    moves: &[StateMove],
    sla: &HashMap<i64, SlaReport>,
    now: DateTime<Utc>,
    weeks: usize,
) -> Charts {
    let mut by_item: HashMap<i64, Vec<&StateMove>> = HashMap::new();
    for m in moves {
        by_item.entry(m.item_id).or_default().push(m);
    }
    for list in by_item.values_mut() {
        list.sort_by_key(|m| m.at);
    }
    let first = week_start(now) - Duration::weeks(weeks.saturating_sub(1) as i64);
    let mut out = Vec::with_capacity(weeks);
    for w in 0..weeks {
        let start = first + Duration::weeks(w as i64);
        let end = (start + Duration::weeks(1)).min(now + Duration::seconds(1));
        let mut states = StateCounts::default();
        for item in items.iter().filter(|i| i.created_at < end) {
            let state = by_item
                .get(&item.id)
                .and_then(|l| l.iter().rev().find(|m| m.at < end))
                .map_or(ItemState::New, |m| m.to);
            states.add(state);
        }
        let resolved = moves
            .iter()
            .filter(|m| m.at >= start && m.at < end)
            .filter(|m| {
                m.to == ItemState::Resolved || (m.to == ItemState::Closed && m.from.is_open())
            })
            .count() as i64;
        let (mut counted, mut met) = (0, 0);
        for item in items {
            let Some(at) = item.resolved_at else { continue };
            if at < start || at >= end {
                continue;
            }
            match sla.get(&item.id).map(|r| r.resolve.status) {
                Some(ClockStatus::Met) => {
                    counted += 1;
                    met += 1;
                }
                Some(ClockStatus::Missed) => counted += 1,
                _ => {}
            }
        }
        out.push(Week {
            week_start: start.date_naive(),
            open: states.open(),
            states,
            resolved,
            sla_counted: counted,
            sla_met: met,
            sla_percent: (counted > 0).then(|| 100.0 * met as f64 / counted as f64),
        });
    }
    Charts {
        at: now,
        weeks: out,
        ages: aging(items, now, 14).buckets,
    }
}

macro_rules! charts_sql {
    ($module:ident, $db:ty) => {
        pub(crate) mod $module {
            use super::*;
            use sqlx::{types::Json, Row};

            /// Every recorded state move: the history rows whose changes hold `state`.
            pub async fn moves(pool: &sqlx::Pool<$db>) -> Result<Vec<StateMove>, StoreError> {
                let rows = sqlx::query(
                    "SELECT item_id, at, changes FROM backlog_history \
                     WHERE action = 'update' AND changes -> 'state' IS NOT NULL ORDER BY id",
                )
                .fetch_all(pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let changes: Json<serde_json::Value> = r.try_get("changes")?;
                    let state = |k: &str| {
                        changes.0["state"][k]
                            .as_str()
                            .and_then(|s| s.parse::<ItemState>().ok())
                    };
                    if let (Some(from), Some(to)) = (state("before"), state("after")) {
                        out.push(StateMove { item_id: r.try_get("item_id")?, at: r.try_get("at")?, from, to });
                    }
                }
                Ok(out)
            }
        }
    };
}

charts_sql!(sqlite, sqlx::Sqlite);
charts_sql!(postgres, sqlx::Postgres);

/// Every state move recorded in the items' history.
pub async fn state_moves(store: &dyn Store) -> Result<Vec<StateMove>, StoreError> {
    let db: Database = store.database();
    on_backend!(&db, moves())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::ItemType, priority::Priority};

    fn item(id: i64, created: DateTime<Utc>, state: ItemState) -> Item {
        Item {
            id,
            item_type: ItemType::Problem,
            title: format!("item {id}"),
            description: String::new(),
            state,
            impact: 3,
            urgency: 3,
            priority: Priority::P5,
            wsjf: None,
            wsjf_score: None,
            team_id: None,
            assignee_person_id: None,
            tags: vec![],
            asset_ids: vec![],
            created_at: created,
            updated_at: created,
            version: 1,
            owned_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn flow_is_rebuilt_from_moves_week_by_week() {
        // Thursday 2026-06-04; weeks start Mondays 05-18, 05-25, 06-01.
        let now = Utc.with_ymd_and_hms(2026, 6, 4, 12, 0, 0).unwrap();
        let d = |m: u32, day: u32| Utc.with_ymd_and_hms(2026, m, day, 10, 0, 0).unwrap();
        let a = item(1, d(5, 19), ItemState::Resolved);
        let b = item(2, d(5, 26), ItemState::InProgress);
        let c = item(3, d(6, 2), ItemState::New);
        let mv = |item_id, at, from, to| StateMove {
            item_id,
            at,
            from,
            to,
        };
        let moves = vec![
            mv(1, d(5, 20), ItemState::New, ItemState::Triaged),
            mv(1, d(5, 21), ItemState::Triaged, ItemState::InProgress),
            mv(1, d(5, 27), ItemState::InProgress, ItemState::Resolved),
            mv(2, d(6, 3), ItemState::New, ItemState::Triaged),
            mv(2, d(6, 3), ItemState::Triaged, ItemState::InProgress),
        ];
        let c = charts(&[a, b, c], &moves, &HashMap::new(), now, 3);
        let starts: Vec<String> = c.weeks.iter().map(|w| w.week_start.to_string()).collect();
        assert_eq!(starts, ["2026-05-18", "2026-05-25", "2026-06-01"]);
        let w0 = &c.weeks[0].states;
        assert_eq!((w0.in_progress, w0.open()), (1, 1));
        let w1 = &c.weeks[1];
        assert_eq!(
            (w1.states.resolved, w1.states.new, w1.open, w1.resolved),
            (1, 1, 1, 1)
        );
        let w2 = &c.weeks[2];
        assert_eq!(
            (w2.states.in_progress, w2.states.new, w2.open, w2.resolved),
            (1, 1, 2, 0)
        );
        assert_eq!(c.ages.days_0_7 + c.ages.days_8_30, 2);
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        let sunday = Utc.with_ymd_and_hms(2026, 6, 7, 23, 59, 0).unwrap();
        assert_eq!(
            week_start(sunday),
            Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
        );
    }
}
