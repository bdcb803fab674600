//! The numbers behind the dashboard, `GET /api/v1/summary` and the hygiene gauges on
//! `/metrics`: one pass over the calendar (90 days back, 30 ahead), evidence of the last
//! 30 days by result, asset-register counts, and the hygiene score of every practice, joined
//! with every practice's conditions and live deductions (the practice contract's
//! [`Picture`]).

use crate::{
    hygiene::{self, AssetFacts, Facts, PracticeScore, LOOKAHEAD_DAYS, LOOKBACK_DAYS},
    model::{CalendarFilter, EvidenceResult, Occurrence, OccurrenceState},
    store::{OpsStore, Result},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use opsward_core::{
    contract::{Condition, Picture, Severity},
    practice::Practice,
};
use opsward_store::Database;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most occurrences listed in [`Summary::next_30_days`]; the count is always complete.
pub const MAX_LISTED_OCCURRENCES: usize = 200;
/// Evidence is counted over this many days.
pub const EVIDENCE_DAYS: i64 = 30;
/// Most conditions listed in [`Summary::at_risk`]; `GET /api/v1/conditions` has them all.
pub const MAX_LISTED_CONDITIONS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// When these numbers were computed.
    pub generated_at: DateTime<Utc>,
    /// Every practice, in a fixed order, with its hygiene score and the reasons for it.
    pub practices: Vec<PracticeScore>,
    /// Everything overdue: calendar occurrences without evidence plus every overdue thing the
    /// practices report (findings, renewals, tests, notice deadlines, SLA breaches).
    pub overdue: usize,
    /// Occurrences of the last 90 days without evidence, over all practices.
    pub overdue_occurrences: usize,
    /// Overdue things the practices report, counted one by one.
    pub overdue_conditions: usize,
    /// The worst conditions across practices (severity, then due time), at most 50.
    pub at_risk: Vec<Condition>,
    /// All conditions, however many `at_risk` lists.
    pub at_risk_total: usize,
    /// Conditions per practice and severity.
    pub conditions: Vec<ConditionCount>,
    /// Practices that could not report, with the reason; their numbers are missing.
    pub failures: Vec<String>,
    pub next_30_days: UpcomingOccurrences,
    /// Occurrences per day (UTC) from today for 30 days, by state.
    pub days: Vec<DayLoad>,
    pub evidence_30d: EvidenceCounts,
    pub assets: AssetCounts,
}

/// Occurrences starting after now and within 30 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpcomingOccurrences {
    pub count: usize,
    /// The first 200, soonest first.
    pub occurrences: Vec<Occurrence>,
    /// True when `count` is more than the occurrences listed.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayLoad {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub done: usize,
    pub overdue: usize,
    pub upcoming: usize,
}

/// Evidence recorded in the last 30 days, by result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvidenceCounts {
    pub passed: i64,
    pub failed: i64,
    pub partial: i64,
}

impl EvidenceCounts {
    pub fn total(&self) -> i64 {
        self.passed + self.failed + self.partial
    }
}

/// How many conditions one practice reports at one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConditionCount {
    pub practice: Practice,
    pub severity: Severity,
    pub count: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AssetCounts {
    pub total: i64,
    pub without_owner: i64,
    pub critical: i64,
}

/// Run one query on whichever database the store uses; the SQL is the same on both.
macro_rules! fetch_all {
    ($db:expr, $sql:expr $(, $bind:expr)*) => {
        match $db {
            Database::Sqlite(pool) => sqlx::query_as($sql)$(.bind($bind))*.fetch_all(pool).await,
            Database::Postgres(pool) => sqlx::query_as($sql)$(.bind($bind))*.fetch_all(pool).await,
        }
    };
}

impl OpsStore {
    /// Everything the dashboard shows, as of `now`, joined with the practices' `picture`
    /// (taken at about the same time).
    pub async fn summary(&self, now: DateTime<Utc>, picture: &Picture) -> Result<Summary> {
        let activities = self
            .list_activities(&CalendarFilter::default(), false)
            .await?;
        let occurrences = self
            .occurrences_of(
                &activities,
                now - Duration::days(LOOKBACK_DAYS),
                now + Duration::days(LOOKAHEAD_DAYS),
                now,
            )
            .await?;
        let assets = self.asset_facts().await?;
        let evidence_30d = self
            .evidence_counts(now - Duration::days(EVIDENCE_DAYS))
            .await?;
        let practices = hygiene::score(Facts {
            now,
            activities: &activities,
            occurrences: &occurrences,
            assets: &assets,
            live: &picture.deductions,
        });
        let overdue_occurrences = practices.iter().map(|p| p.overdue).sum();
        let overdue_conditions = picture
            .conditions
            .iter()
            .filter(|c| c.is_overdue(now))
            .map(|c| c.count as usize)
            .sum();
        Ok(Summary {
            generated_at: now,
            overdue: overdue_occurrences + overdue_conditions,
            overdue_occurrences,
            overdue_conditions,
            at_risk: picture
                .conditions
                .iter()
                .take(MAX_LISTED_CONDITIONS)
                .cloned()
                .collect(),
            at_risk_total: picture.conditions.len(),
            conditions: condition_counts(&picture.conditions),
            failures: picture.failures.iter().map(|e| e.to_string()).collect(),
            practices,
            days: day_loads(&occurrences, now.date_naive(), LOOKAHEAD_DAYS),
            next_30_days: upcoming(occurrences, now),
            evidence_30d,
            assets: AssetCounts {
                total: assets.total,
                without_owner: assets.without_owner,
                critical: assets.critical_asset_ids.len() as i64,
            },
        })
    }

    /// Every asset's name by id, for labelling conditions that carry only the id.
    pub async fn asset_names(&self) -> Result<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = fetch_all!(&self.db, "SELECT id, name FROM assets")?;
        Ok(rows.into_iter().collect())
    }

    async fn asset_facts(&self) -> Result<AssetFacts> {
        let rows: Vec<(i64, String, Option<i64>, Option<i64>)> = fetch_all!(
            &self.db,
            "SELECT id, criticality, owner_team_id, owner_person_id FROM assets"
        )?;
        Ok(AssetFacts {
            total: rows.len() as i64,
            without_owner: rows
                .iter()
                .filter(|(_, _, team, person)| team.is_none() && person.is_none())
                .count() as i64,
            critical_asset_ids: rows
                .iter()
                .filter(|(_, criticality, _, _)| criticality == "critical")
                .map(|(id, ..)| *id)
                .collect(),
        })
    }

    async fn evidence_counts(&self, since: DateTime<Utc>) -> Result<EvidenceCounts> {
        let rows: Vec<(String, i64)> = fetch_all!(
            &self.db,
            "SELECT result, COUNT(*) FROM evidence WHERE recorded_at >= $1 GROUP BY result",
            since
        )?;
        let mut counts = EvidenceCounts::default();
        for (result, n) in rows {
            match result.parse::<EvidenceResult>() {
                Ok(EvidenceResult::Passed) => counts.passed += n,
                Ok(EvidenceResult::Failed) => counts.failed += n,
                Ok(EvidenceResult::Partial) => counts.partial += n,
                Err(e) => tracing::warn!(error = %e, "evidence with an unknown result skipped"),
            }
        }
        Ok(counts)
    }
}

/// Conditions per practice and severity, in practice then severity order, zeros left out.
pub fn condition_counts(conditions: &[Condition]) -> Vec<ConditionCount> {
    let mut counts: std::collections::BTreeMap<(Practice, Severity), usize> = Default::default();
    for c in conditions {
        *counts.entry((c.practice, c.severity)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((practice, severity), count)| ConditionCount {
            practice,
            severity,
            count,
        })
        .collect()
}

fn upcoming(occurrences: Vec<Occurrence>, now: DateTime<Utc>) -> UpcomingOccurrences {
    let ahead: Vec<Occurrence> = occurrences
        .into_iter()
        .filter(|o| o.starts_at > now)
        .collect();
    let count = ahead.len();
    let occurrences: Vec<Occurrence> = ahead.into_iter().take(MAX_LISTED_OCCURRENCES).collect();
    UpcomingOccurrences {
        truncated: count > occurrences.len(),
        count,
        occurrences,
    }
}

/// Occurrences per UTC day for `days` days from `first`, by state.
pub fn day_loads(occurrences: &[Occurrence], first: NaiveDate, days: i64) -> Vec<DayLoad> {
    let mut loads: Vec<DayLoad> = (0..days)
        .map(|d| DayLoad {
            date: first + Duration::days(d),
            done: 0,
            overdue: 0,
            upcoming: 0,
        })
        .collect();
    for o in occurrences {
        let index = (o.starts_at.date_naive() - first).num_days();
        let Some(load) = usize::try_from(index).ok().and_then(|i| loads.get_mut(i)) else {
            continue;
        };
        match o.state {
            OccurrenceState::Done => load.done += 1,
            OccurrenceState::Overdue => load.overdue += 1,
            OccurrenceState::Upcoming => load.upcoming += 1,
        }
    }
    loads
}
