//! Hygiene scores: how well each practice's routine work is being done, from 0 to 100, with
//! every lost point explained in a sentence a person can act on ("2 occurrences are overdue
//! (oldest 12 days)").
//!
//! Pure: the caller gathers the [`Facts`] (active activities, their occurrences from 90 days
//! ago to 30 days ahead, and a few asset-register numbers) and [`score`] turns them into one
//! [`PracticeScore`] per practice. No I/O, so the rules are tested with hand-computed numbers.
//!
//! # Rules
//!
//! Every practice starts at 100. These deductions apply, in this order; each has its own cap
//! so one problem cannot hide the others:
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
//!
//! Practices whose own data source does not exist yet (certificate discovery, package
//! inventory, ...) are scored on their calendar activities alone, and their reasons say so.

use crate::model::{Activity, EvidenceResult, Occurrence, OccurrenceState};
use chrono::{DateTime, Duration, Utc};
use opsward_core::practice::Practice;
use serde::{Deserialize, Serialize};
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
}

/// Points lost for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deduction {
    pub points: u8,
    /// A concrete sentence with numbers, e.g. "1 of 4 occurrences in the last 90 days failed".
    pub reason: String,
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

/// The data source a practice will be measured on once it exists; until then it is scored
/// on its calendar activities alone.
pub fn missing_source(practice: Practice) -> Option<&'static str> {
    match practice {
        Practice::Certificates => Some("certificate discovery"),
        Practice::Resilience => Some("RAID, multipath and backup checks"),
        Practice::Patches => Some("package inventory"),
        Practice::Vulnerabilities => Some("vulnerability matching"),
        Practice::Backlog => Some("problem register"),
        Practice::Customers => Some("customer surveys"),
        Practice::Suppliers => Some("supplier register"),
        Practice::General => None,
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

    // Calendar rules, with a note when the practice has nothing else to be judged on yet.
    let from_calendar = |reason: String| match missing_source(practice) {
        Some(source) => format!("{reason} (from the calendar only: no {source} yet)"),
        None => reason,
    };
    let mut found: Vec<(u32, String)> = Vec::new();

    if !activities.iter().any(|a| !a.rrule.is_empty()) {
        if activities.is_empty() {
            found.push((
                40,
                from_calendar("no recurring activity is scheduled".into()),
            ));
        } else {
            found.push((
                20,
                from_calendar(format!(
                    "no recurring activity is scheduled, only {}",
                    count(activities.len(), "one-off activity", "one-off activities")
                )),
            ));
        }
    }

    if let Some(oldest) = overdue.iter().map(|o| o.starts_at).min() {
        let points = (10 * overdue.len() as u32).min(50);
        found.push((
            points,
            from_calendar(format!(
                "{} overdue (oldest {})",
                count(overdue.len(), "occurrence is", "occurrences are"),
                age(now - oldest)
            )),
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
                from_calendar(format!(
                    "{n} of {} in the last {LOOKBACK_DAYS} days {wording}",
                    count(due.len(), "occurrence", "occurrences")
                )),
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
            from_calendar(format!(
                "{unowned} of {} {} no owner",
                count(activities.len(), "activity", "activities"),
                has(unowned)
            )),
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

/// Keep deductions in order until they add up to 100; trim the one that crosses, drop the rest.
fn cap_at_100(found: Vec<(u32, String)>) -> Vec<Deduction> {
    let mut left = 100u32;
    let mut out = Vec::new();
    for (points, reason) in found {
        let points = points.min(left);
        if points == 0 {
            break;
        }
        left -= points;
        out.push(Deduction {
            points: u8::try_from(points).expect("at most 100"),
            reason,
        });
    }
    out
}

/// `weight × part / whole`, rounded up, so any failure costs at least a point.
fn share_points(weight: u32, part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    let (part, whole) = (part.min(whole) as u32, whole as u32);
    (weight * part).div_ceil(whole)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The verb for "n of m things has/have ...", agreeing with `n`.
fn has(n: usize) -> &'static str {
    if n == 1 {
        "has"
    } else {
        "have"
    }
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
