//! Hygiene scores: how well each practice's routine work is being done, from 0 to 100, with
//! every lost point explained in a sentence a person can act on ("2 occurrences are overdue
//! (oldest 12 days)") and linked to the list that shows it.
//!
//! Pure: the caller gathers the [`Facts`] (active activities, their occurrences from 90 days
//! ago to 30 days ahead, a few asset-register numbers, and each practice's own deductions from
//! its live data through the practice contract) and [`score`] turns them into one
//! [`PracticeScore`] per practice. No I/O, so the rules are tested with hand-computed numbers.
//!
//! # Rules
//!
//! Every practice starts at 100. Its own live-data deductions come first (each practice
//! documents and caps them in its crate: expired certificates, overdue findings, hosts out of
//! patch SLA, ...), then these calendar rules, in this order; each has its own cap so one
//! problem cannot hide the others:
//!
//! | # | what | points | cap |
//! |---|---|---|---|
//! | 1 | no active recurring activity | 40 with no activity at all, 20 with only one-off activities | 40 |
//! | 2 | overdue occurrences (started in the last 90 days, no evidence) | 10 each | 50 |
//! | 3 | occurrences of the last 90 days whose evidence says `failed` | 20 × failed / due, rounded up | 20 |
//! | 4 | ... whose evidence says `partial` | 10 × partial / due, rounded up | 10 |
//! | 5 | active activities without an owner | 5 each | 15 |
//! | 6 | general only: assets without an owner | 20 × unowned / assets, rounded up | 20 |
//! | 7 | resilience only: critical assets that no active resilience activity is about | 5 each | 20 |
//!
//! "Due" occurrences are those that started in the last 90 days (done or overdue). The
//! deductions together never exceed 100: the one that would cross is trimmed and any after it
//! are dropped, so the points listed always add up to `100 - score`.

use crate::model::{Activity, EvidenceResult, Occurrence, OccurrenceState};
use chrono::{DateTime, Duration, Utc};
pub use opsward_core::contract::Deduction;
use opsward_core::{
    contract::{count, has, share_points},
    practice::Practice,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// How far back occurrences count.
pub const LOOKBACK_DAYS: i64 = 90;
/// How far ahead "upcoming" looks.
pub const LOOKAHEAD_DAYS: i64 = 30;

/// What the asset register knows that bears on hygiene.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetFacts {
    pub total: i64,
    pub without_owner: i64,
    pub critical_asset_ids: Vec<i64>,
}

/// Everything the scores are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub now: DateTime<Utc>,
    /// Active activities of every practice.
    pub activities: &'a [Activity],
    /// Their occurrences from `now - 90 days` to `now + 30 days`, with states.
    pub occurrences: &'a [Occurrence],
    pub assets: &'a AssetFacts,
    /// Each practice's deductions from its live data (the practice contract's assessment).
    pub live: &'a BTreeMap<Practice, Vec<Deduction>>,
}

/// One practice's score and why it is not 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PracticeScore {
    pub practice: Practice,
    /// 0-100; `100 - score` is the sum of the deductions' points.
    pub score: u8,
    pub band: ScoreBand,
    pub deductions: Vec<Deduction>,
    /// Active activities of this practice.
    pub activities: usize,
    /// Occurrences of the last 90 days without evidence.
    pub overdue: usize,
    /// Occurrences in the next 30 days still to do.
    pub upcoming_30d: usize,
}

/// A coarse reading of a score, for colours and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScoreBand {
    /// 80-100.
    Good,
    /// 50-79.
    Fair,
    /// 0-49.
    Poor,
}

impl ScoreBand {
    pub fn of(score: u8) -> Self {
        match score {
            80.. => ScoreBand::Good,
            50..=79 => ScoreBand::Fair,
            _ => ScoreBand::Poor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScoreBand::Good => "good",
            ScoreBand::Fair => "fair",
            ScoreBand::Poor => "poor",
        }
    }
}

/// Scores for every practice, in [`Practice::ALL`] order.
pub fn score(facts: Facts<'_>) -> Vec<PracticeScore> {
    Practice::ALL
        .iter()
        .map(|&practice| score_practice(practice, facts))
        .collect()
}

fn score_practice(practice: Practice, facts: Facts<'_>) -> PracticeScore {
    let now = facts.now;
    let since = now - Duration::days(LOOKBACK_DAYS);
    let until = now + Duration::days(LOOKAHEAD_DAYS);
    let activities: Vec<&Activity> = facts
        .activities
        .iter()
        .filter(|a| a.practice == practice && a.active)
        .collect();
    let occurrences = facts.occurrences.iter().filter(|o| o.practice == practice);
    let due: Vec<&Occurrence> = occurrences
        .clone()
        .filter(|o| o.starts_at >= since && o.starts_at <= now)
        .collect();
    let overdue: Vec<&Occurrence> = due
        .iter()
        .copied()
        .filter(|o| o.state == OccurrenceState::Overdue)
        .collect();
    let upcoming_30d = occurrences
        .filter(|o| {
            o.state == OccurrenceState::Upcoming && o.starts_at > now && o.starts_at < until
        })
        .count();

    // The practice's own live-data rules first: they say what is at risk now.
    let mut found: Vec<(u32, String, Option<String>)> = facts
        .live
        .get(&practice)
        .into_iter()
        .flatten()
        .map(|d| (u32::from(d.points), d.reason.clone(), d.link.clone()))
        .collect();
    // The calendar filtered to the practice lists its activities (GET /calendar/activities is
    // only the create endpoint).
    let activities_link = format!("/calendar?practice={practice}");

    if !activities.iter().any(|a| !a.rrule.is_empty()) {
        if activities.is_empty() {
            found.push((
                40,
                "no recurring activity is scheduled".into(),
                Some(activities_link.clone()),
            ));
        } else {
            found.push((
                20,
                format!(
                    "no recurring activity is scheduled, only {}",
                    count(activities.len(), "one-off activity", "one-off activities")
                ),
                Some(activities_link.clone()),
            ));
        }
    }

    if let Some(oldest) = overdue.iter().map(|o| o.starts_at).min() {
        let points = (10 * overdue.len() as u32).min(50);
        found.push((
            points,
            format!(
                "{} overdue (oldest {})",
                count(overdue.len(), "occurrence is", "occurrences are"),
                age(now - oldest)
            ),
            Some(format!("/calendar?view=overdue&practice={practice}")),
        ));
    }

    let with_result =
        |result: EvidenceResult| due.iter().filter(|o| o.result == Some(result)).count();
    for (result, weight, wording) in [
        (EvidenceResult::Failed, 20, "failed"),
        (EvidenceResult::Partial, 10, "passed only partially"),
    ] {
        let n = with_result(result);
        if n > 0 {
            found.push((
                share_points(weight, n, due.len()),
                format!(
                    "{n} of {} in the last {LOOKBACK_DAYS} days {wording}",
                    count(due.len(), "occurrence", "occurrences")
                ),
                Some(format!("/evidence?practice={practice}")),
            ));
        }
    }

    let unowned = activities
        .iter()
        .filter(|a| a.owner_team_id.is_none() && a.owner_person_id.is_none())
        .count();
    if unowned > 0 {
        found.push((
            (5 * unowned as u32).min(15),
            format!(
                "{unowned} of {} {} no owner",
                count(activities.len(), "activity", "activities"),
                has(unowned)
            ),
            Some(activities_link.clone()),
        ));
    }

    let assets = facts.assets;
    if practice == Practice::General && assets.without_owner > 0 {
        found.push((
            share_points(20, assets.without_owner as usize, assets.total as usize),
            format!(
                "{} of {} {} no owner",
                assets.without_owner,
                count(assets.total as usize, "asset", "assets"),
                has(assets.without_owner as usize)
            ),
            Some("/assets?owner=none".to_string()),
        ));
    }

    if practice == Practice::Resilience && !assets.critical_asset_ids.is_empty() {
        let uncovered = assets
            .critical_asset_ids
            .iter()
            .filter(|id| !activities.iter().any(|a| a.asset_id == Some(**id)))
            .count();
        if uncovered > 0 {
            found.push((
                (5 * uncovered as u32).min(20),
                format!(
                    "{uncovered} of {} {} no resilience activity (restore or failover test)",
                    count(
                        assets.critical_asset_ids.len(),
                        "critical asset",
                        "critical assets"
                    ),
                    has(uncovered)
                ),
                Some("/assets?criticality=critical".to_string()),
            ));
        }
    }

    let deductions = cap_at_100(found);
    let lost: u32 = deductions.iter().map(|d| u32::from(d.points)).sum();
    let score = u8::try_from(100 - lost).expect("deductions are capped at 100");
    PracticeScore {
        practice,
        score,
        band: ScoreBand::of(score),
        deductions,
        activities: activities.len(),
        overdue: overdue.len(),
        upcoming_30d,
    }
}

/// Keep deductions in order until they add up to 100; trim the one that crosses, drop the
/// rest. A deduction of no points (a practice's rule that found nothing) is skipped.
fn cap_at_100(found: Vec<(u32, String, Option<String>)>) -> Vec<Deduction> {
    let mut left = 100u32;
    let mut out = Vec::new();
    for (points, reason, link) in found {
        if left == 0 {
            break;
        }
        let points = points.min(left);
        if points == 0 {
            continue;
        }
        left -= points;
        out.push(Deduction {
            points: u8::try_from(points).expect("at most 100"),
            reason,
            link,
        });
    }
    out
}

fn age(d: Duration) -> String {
    match d.num_days() {
        0 => "less than a day".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
#[path = "hygiene_tests.rs"]
mod tests;
