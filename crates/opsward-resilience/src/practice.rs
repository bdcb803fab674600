//! The resilience practice's side of the practice contract: what is at risk now, the
//! hygiene points lost from live data and what the practice knows about one asset.
//!
//! Host agents (`opsward agent`, `opsward resilience check --activity`) report each check as
//! evidence on a calendar activity, with notes that start `<check> check, <verdict>:` (see
//! [`crate::health::Report::evidence_notes`]); the newest evidence of each resilience
//! activity says what the agent last saw.
//!
//! # Conditions
//!
//! | kind | severity | when |
//! |---|---|---|
//! | `measure_test_failed` | critical (failed), high (passed only partly) | a measure's last test result, unless a host agent's report below says more |
//! | `raid_degraded` | critical | a host agent's last `mdstat` check failed (an array degraded or inactive) |
//! | `multipath_degraded` | critical | a host agent's last `multipath` check found paths down |
//! | `backup_stale` | high | a host agent's last `backup` check failed (newest backup too old, too small or missing) |
//! | `measure_test_overdue` | high | a scheduled test of a measure started and has no result |
//! | `critical_asset_unprotected` | medium | a critical asset has no resilience measure (one per asset) |
//!
//! A measure whose last test failed or passed only partly carries today's automatic backlog
//! item (`resilience_test`), on whichever of the first four conditions it has.
//!
//! # Hygiene rules
//!
//! | what | points | cap |
//! |---|---|---|
//! | measures whose last test failed (10) or passed only partly (5) | 10 / 5 each | 30 |
//! | measures with an overdue test | 5 each | 20 |
//! | degraded RAID or multipath reported by host agents | 15 each | 30 |
//! | stale backups reported by host agents | 10 each | 20 |
//! | critical assets without any measure | 5 each | 20 |
//!
//! The practice runs no job of its own: overdue tests are notified by the calendar's
//! `calendar.notify` job (every measure's tests are calendar occurrences), failed results at
//! once when they are recorded.

mod facets;
pub mod hygiene;
pub mod queries;

use crate::register::status::{self, LOOKBACK_DAYS};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use hygiene::ResilienceFigures;
use opsward_core::{
    contract::{
        Assessment, AssetFacet, BacklogProposal, Condition, EntityRef, PracticeContract,
        PracticeError, ProposedItemType, Severity,
    },
    practice::Practice,
};
use opsward_ops::{
    recurrence::{parse_timezone, Schedule},
    EvidenceResult, Occurrence, OccurrenceState,
};
use opsward_store::{Store, StoreError};
use queries::TestedActivity;
use std::{collections::HashMap, sync::Arc};

/// The resilience practice, as the rest of opsward sees it.
pub struct ResiliencePractice {
    store: Arc<dyn Store>,
}

impl ResiliencePractice {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ResiliencePractice { store }
    }

    fn error(e: StoreError) -> PracticeError {
        PracticeError::new(Practice::Resilience, e)
    }
}

/// What a host agent's check found, read from its evidence notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentFinding {
    RaidDegraded,
    MultipathDegraded,
    BackupStale,
}

impl AgentFinding {
    /// The finding in a host agent's report (`notes` as the agent writes them, `result` the
    /// evidence result); `None` for anything else, including healthy reports.
    pub fn of(notes: &str, result: EvidenceResult) -> Option<Self> {
        let (check, _) = notes.split_once(" check, ")?;
        match (check, result) {
            ("mdstat", EvidenceResult::Failed) => Some(AgentFinding::RaidDegraded),
            ("multipath", EvidenceResult::Failed | EvidenceResult::Partial) => {
                Some(AgentFinding::MultipathDegraded)
            }
            ("backup", EvidenceResult::Failed) => Some(AgentFinding::BackupStale),
            _ => None,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            AgentFinding::RaidDegraded => "raid_degraded",
            AgentFinding::MultipathDegraded => "multipath_degraded",
            AgentFinding::BackupStale => "backup_stale",
        }
    }

    fn severity(self) -> Severity {
        match self {
            AgentFinding::BackupStale => Severity::High,
            _ => Severity::Critical,
        }
    }

    fn what(self) -> &'static str {
        match self {
            AgentFinding::RaidDegraded => "RAID is degraded",
            AgentFinding::MultipathDegraded => "multipath has paths down",
            AgentFinding::BackupStale => "the newest backup is stale",
        }
    }
}

/// Where one resilience activity stands at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub last_result: Option<EvidenceResult>,
    pub agent: Option<AgentFinding>,
    pub overdue_since: Option<DateTime<Utc>>,
    pub next_test_at: Option<DateTime<Utc>>,
}

/// Judge each activity from its scheduled tests and the completions among them, with the
/// register's own rule ([`status::judge`]) so the register page and the conditions agree.
pub fn standings(
    activities: &[TestedActivity],
    completions: &[(i64, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> HashMap<i64, Standing> {
    let done: std::collections::HashSet<(i64, DateTime<Utc>)> =
        completions.iter().copied().collect();
    let from = now - Duration::days(LOOKBACK_DAYS);
    let mut out = HashMap::new();
    for a in activities {
        let last_result = a.last_result.as_deref().and_then(|r| r.parse().ok());
        let agent = match (&a.last_notes_head, last_result) {
            (Some(notes), Some(result)) => AgentFinding::of(notes, result),
            _ => None,
        };
        let schedule =
            parse_timezone(&a.timezone).and_then(|tz| Schedule::new(a.starts_local, tz, &a.rrule));
        let Ok(schedule) = schedule else {
            tracing::warn!(
                activity = a.activity_id,
                "resilience activity with an invalid schedule; not judged"
            );
            continue;
        };
        let past: Vec<Occurrence> = schedule
            .between(from, now + Duration::seconds(1))
            .into_iter()
            .map(|starts_at| {
                let has_evidence = done.contains(&(a.activity_id, starts_at));
                Occurrence {
                    activity_id: a.activity_id,
                    title: a.activity_title.clone(),
                    practice: Practice::Resilience,
                    starts_at,
                    ends_at: starts_at,
                    starts_local: String::new(),
                    timezone: a.timezone.clone(),
                    state: OccurrenceState::of(starts_at, has_evidence, now),
                    // Only whether a test has evidence matters to the verdict.
                    evidence_id: has_evidence.then_some(0),
                    result: None,
                    owner_team_id: None,
                    owner_person_id: None,
                }
            })
            .collect();
        let verdict = status::judge(&past, last_result, now);
        let next_test_at = schedule
            .between(
                now + Duration::seconds(1),
                now + Duration::days(LOOKBACK_DAYS),
            )
            .into_iter()
            .next();
        out.insert(
            a.activity_id,
            Standing {
                last_result,
                agent,
                overdue_since: verdict.overdue_since,
                next_test_at,
            },
        );
    }
    out
}

#[async_trait]
impl PracticeContract for ResiliencePractice {
    fn practice(&self) -> Practice {
        Practice::Resilience
    }

    /// Announced by the calendar's `activity.overdue` and `activity.failed` for the test's occurrence.
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["measure_test_overdue", "measure_test_failed"]
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        let db = self.store.database();
        let activities = queries::tested_activities(&db, None)
            .await
            .map_err(Self::error)?;
        let completions = queries::completions(
            &db,
            now - Duration::days(LOOKBACK_DAYS),
            now + Duration::seconds(1),
        )
        .await
        .map_err(Self::error)?;
        let (critical, unprotected) = queries::unprotected_critical_assets(&db)
            .await
            .map_err(Self::error)?;
        let standings = standings(&activities, &completions, now);
        let mut figures = ResilienceFigures {
            critical_assets: usize::try_from(critical).unwrap_or(0),
            unprotected: unprotected.len(),
            ..ResilienceFigures::default()
        };
        let mut conditions = Vec::new();
        for a in &activities {
            if let Some(standing) = standings.get(&a.activity_id) {
                conditions.extend(activity_conditions(a, standing, now, &mut figures));
            }
        }
        conditions.extend(unprotected.iter().map(|asset| {
            Condition::new(
                Practice::Resilience,
                "critical_asset_unprotected",
                Severity::Medium,
                EntityRef {
                    kind: "asset".into(),
                    id: asset.id,
                    label: asset.name.clone(),
                    link: format!("/assets/{}", asset.id),
                },
                format!(
                    "Critical asset {} has no resilience measure: register how it survives a failure and test it",
                    asset.name
                ),
            )
            .with_asset(Some(asset.id), Some(asset.name.clone()))
            .with_owner(asset.owner_team_id, asset.owner_person_id)
            .with_times(Some(asset.created_at), None)
        }));
        Ok(Assessment {
            conditions,
            deductions: hygiene::deductions(&figures),
            ..Assessment::default()
        })
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        facets::of_asset(&self.store.database(), asset_id, now)
            .await
            .map_err(Self::error)
    }
}

/// Today's automatic backlog item for a measure whose last test failed or passed only
/// partly: the same title, text and priority as the server's `backlog_auto` rule had.
pub fn backlog_proposal(a: &TestedActivity, last: EvidenceResult) -> Option<BacklogProposal> {
    let (id, title, kind) = (
        a.measure_id?,
        a.measure_title.as_deref()?,
        a.measure_kind.as_deref()?,
    );
    let failed = match last {
        EvidenceResult::Failed => true,
        EvidenceResult::Partial => false,
        EvidenceResult::Passed => return None,
    };
    let outcome = if failed {
        "failed"
    } else {
        "passed only partly"
    };
    Some(BacklogProposal {
        source: "resilience_test",
        source_key: format!("resilience_measure:{id}"),
        item_type: ProposedItemType::Problem,
        title: format!("Resilience test {outcome}: {title}"),
        description: format!(
            "The last test of the {kind} measure **{title}** {outcome}{}. Repair the redundancy and test it again.",
            a.last_recorded_at
                .map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default(),
        ),
        impact: 2,
        urgency: if failed { 1 } else { 2 },
        team_id: a.measure_team_id,
        asset_ids: a.asset_id.into_iter().collect(),
        label: format!("resilience measure {title}"),
    })
}

/// The conditions of one resilience activity (a measure's, or one a host agent reports
/// on), counting what the hygiene rules need into `figures`.
fn activity_conditions(
    a: &TestedActivity,
    standing: &Standing,
    now: DateTime<Utc>,
    figures: &mut ResilienceFigures,
) -> Vec<Condition> {
    let (entity, name) = match (a.measure_id, &a.measure_title) {
        (Some(id), Some(title)) => (
            EntityRef {
                kind: "measure".into(),
                id,
                label: title.clone(),
                link: format!("/resilience/{id}"),
            },
            title.clone(),
        ),
        _ => (
            EntityRef {
                kind: "activity".into(),
                id: a.activity_id,
                label: a.activity_title.clone(),
                link: format!("/calendar/activities/{}", a.activity_id),
            },
            a.activity_title.clone(),
        ),
    };
    // The measure's owner (or the activity's), else its asset's.
    let (team, person) = match a.measure_id {
        Some(_) => (a.measure_team_id, a.measure_person_id),
        None => (a.activity_team_id, a.activity_person_id),
    };
    let (team, person) = match (team, person) {
        (None, None) => (a.asset_team_id, a.asset_person_id),
        owned => owned,
    };
    // "Mirror on db1 on db1" says the asset twice.
    let on = match a.asset_name.as_deref() {
        Some(asset) if !name.contains(asset) => format!(" on {asset}"),
        _ => String::new(),
    };
    let reported = a
        .last_recorded_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let about = |kind: &str, severity: Severity, title: String| {
        Condition::new(Practice::Resilience, kind, severity, entity.clone(), title)
            .with_asset(a.asset_id, a.asset_name.clone())
            .with_owner(team, person)
    };
    let mut out = Vec::new();
    let failing = match (standing.agent, standing.last_result) {
        (Some(found), _) => {
            match found {
                AgentFinding::BackupStale => figures.stale_backups += 1,
                _ => figures.degraded += 1,
            }
            Some(about(
                found.kind(),
                found.severity(),
                format!(
                    "{name}{on}: the host agent reports {} ({reported})",
                    found.what()
                ),
            ))
        }
        (None, Some(result @ (EvidenceResult::Failed | EvidenceResult::Partial)))
            if a.measure_id.is_some() =>
        {
            let (severity, outcome) = if result == EvidenceResult::Failed {
                figures.failed += 1;
                (Severity::Critical, "failed")
            } else {
                figures.partial += 1;
                (Severity::High, "passed only partly")
            };
            Some(about(
                "measure_test_failed",
                severity,
                format!("Resilience test of {name}{on} {outcome} on {reported}; repair it and test again"),
            ))
        }
        _ => None,
    };
    if let Some(mut condition) = failing {
        condition = condition.with_times(a.last_recorded_at, standing.next_test_at);
        condition.backlog = standing
            .last_result
            .and_then(|result| backlog_proposal(a, result));
        out.push(condition);
    }
    if let (Some(since), Some(_)) = (standing.overdue_since, a.measure_id) {
        figures.overdue += 1;
        figures.oldest_overdue_days = figures.oldest_overdue_days.max((now - since).num_days());
        out.push(
            about(
                "measure_test_overdue",
                Severity::High,
                format!(
                    "Resilience test of {name}{on} is overdue since {}",
                    since.format("%Y-%m-%d %H:%M UTC")
                ),
            )
            .with_times(Some(since), Some(since)),
        );
    }
    out
}
