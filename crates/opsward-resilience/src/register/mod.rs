//! The register of resilience measures: what redundancy each asset has, how to test it, and
//! when. Each measure owns a calendar activity (practice `Resilience`) that schedules its
//! tests; every test result, manual or from `opsward resilience check --activity`, is
//! evidence on that activity, so the calendar's overdue notifications and evidence reports
//! cover measures without a second bookkeeping.

mod model;
mod sql;
pub mod status;

pub use model::{
    CheckKind, Measure, MeasureDetail, MeasureFilter, MeasureInput, MeasureKind, MeasureState,
    MeasureStatus, TestResultInput, TestSchedule, MAX_STEPS, MAX_TITLE,
};

use chrono::{DateTime, Duration, Utc};
use opsward_core::{
    page::{Page, PageRequest},
    practice::Practice,
    Actor,
};
use opsward_ops::{
    notifications::{events::evidence_recorded, Notifier},
    Activity, ActivityInput, Evidence, EvidenceInput, Occurrence, OpsStore,
};
use opsward_store::{on_backend, Database, Store, StoreError};
use sql::{postgres, sqlite, Result};
use std::collections::HashMap;

/// Most evidence shown with a measure.
pub const HISTORY_LIMIT: i64 = 200;

/// Measures, next to the foundation store and the calendar on the same database.
#[derive(Clone)]
pub struct MeasureStore {
    db: Database,
    ops: OpsStore,
    notifier: Notifier,
}

/// The activity that schedules a measure's tests. It carries the measure's owner so the
/// calendar's due-soon and overdue notifications reach them.
fn test_activity(m: &MeasureInput, active: bool) -> ActivityInput {
    ActivityInput {
        title: format!("Resilience test: {}", m.title),
        practice: Practice::Resilience,
        template: None,
        description: format!(
            "Test the {} measure \"{}\" by its procedure and record the result under Resilience.",
            m.kind.label().to_lowercase(),
            m.title
        ),
        rrule: m.schedule.rrule.clone(),
        starts_local: m.schedule.starts_local,
        timezone: m.schedule.timezone.clone(),
        duration_minutes: m.schedule.duration_minutes,
        owner_team_id: m.owner_team_id,
        owner_person_id: m.owner_person_id,
        asset_id: Some(m.asset_id),
        active,
    }
}

fn schedule_of(a: &Activity) -> TestSchedule {
    TestSchedule {
        rrule: a.rrule.clone(),
        starts_local: a.starts_local,
        timezone: a.timezone.clone(),
        duration_minutes: a.duration_minutes,
    }
}

impl MeasureStore {
    pub fn new(store: &dyn Store) -> Self {
        MeasureStore {
            db: store.database(),
            ops: OpsStore::new(store),
            notifier: Notifier::new(store),
        }
    }

    /// Register a measure and schedule its tests.
    pub async fn create(&self, actor: &Actor, input: &MeasureInput) -> Result<MeasureStatus> {
        let input = input.clone().normalize();
        input.validate()?;
        on_backend!(&self.db, refs_exist(&input))?;
        // The calendar keeps its own transaction; if the measure then cannot be stored, the
        // activity is removed again so no test is scheduled for nothing.
        let activity = self
            .ops
            .create_activity(actor, &test_activity(&input, true))
            .await?;
        match on_backend!(&self.db, create(actor, &input, activity.id)) {
            Ok(m) => {
                tracing::info!(
                    measure = m.id,
                    activity = activity.id,
                    "resilience measure registered"
                );
                self.status_of(m, Utc::now()).await
            }
            Err(e) => {
                if let Err(cleanup) = self.ops.delete_activity(actor, activity.id).await {
                    tracing::warn!(error = %cleanup, activity = activity.id, "could not remove test activity");
                }
                Err(e)
            }
        }
    }

    /// Replace a measure's fields; its test activity follows (title, schedule, owner, asset).
    pub async fn update(
        &self,
        actor: &Actor,
        id: i64,
        input: &MeasureInput,
    ) -> Result<MeasureStatus> {
        let input = input.clone().normalize();
        input.validate()?;
        let before = self.measure(id).await?;
        on_backend!(&self.db, refs_exist(&input))?;
        // The schedule is checked by the calendar first, so an invalid rule changes nothing.
        self.ops
            .update_activity(actor, before.activity_id, &test_activity(&input, true))
            .await?;
        let after = on_backend!(&self.db, update(actor, id, &input))?;
        self.status_of(after, Utc::now()).await
    }

    /// Remove a measure. Its activity is kept but made inactive, so the evidence of past
    /// tests still names it and no more tests are scheduled.
    pub async fn delete(&self, actor: &Actor, id: i64) -> Result<()> {
        let removed = on_backend!(&self.db, delete(actor, id))?;
        let activity = self.ops.get_activity(removed.activity_id).await?;
        let input = ActivityInput {
            title: activity.title,
            practice: activity.practice,
            template: activity.template,
            description: activity.description,
            rrule: activity.rrule,
            starts_local: activity.starts_local,
            timezone: activity.timezone,
            duration_minutes: activity.duration_minutes,
            owner_team_id: activity.owner_team_id,
            owner_person_id: activity.owner_person_id,
            asset_id: activity.asset_id,
            active: false,
        };
        self.ops
            .update_activity(actor, removed.activity_id, &input)
            .await?;
        Ok(())
    }

    pub async fn measure(&self, id: i64) -> Result<Measure> {
        on_backend!(&self.db, get(id))
    }

    pub async fn status(&self, id: i64) -> Result<MeasureStatus> {
        self.status_of(self.measure(id).await?, Utc::now()).await
    }

    /// A measure with every test's evidence, newest first.
    pub async fn detail(&self, id: i64) -> Result<MeasureDetail> {
        let status = self.status(id).await?;
        let evidence = self
            .ops
            .list_evidence(
                None,
                Some(status.measure.activity_id),
                None,
                None,
                HISTORY_LIMIT,
            )
            .await?;
        Ok(MeasureDetail { status, evidence })
    }

    /// Measures matching the filter, oldest first, one page at a time. State is computed, so
    /// rows are read in batches until the page is full or the table ends.
    pub async fn list(
        &self,
        filter: &MeasureFilter,
        page: PageRequest,
    ) -> Result<Page<MeasureStatus>> {
        let now = Utc::now();
        let wanted = page.limit as usize + 1;
        let batch = i64::from(page.limit) + 1;
        let mut after = page.after;
        let mut out = Vec::with_capacity(wanted);
        loop {
            let rows = on_backend!(&self.db, list(filter, after, batch))?;
            let exhausted = (rows.len() as i64) < batch;
            after = rows.last().map(|m| m.id).or(after);
            for status in self.statuses_of(rows, now).await? {
                if filter.state.is_none_or(|s| s == status.state) {
                    out.push(status);
                    if out.len() == wanted {
                        break;
                    }
                }
            }
            if exhausted || out.len() == wanted {
                break;
            }
        }
        Ok(Page::from_rows(out, page.limit, |s| s.measure.id))
    }

    /// Record a manual test result: it completes the given scheduled test, or the one that started
    /// most recently (never an older missed one), and a failed or partial result notifies the measure's owners at once.
    pub async fn record_result(
        &self,
        actor: &Actor,
        id: i64,
        input: &TestResultInput,
    ) -> Result<Evidence> {
        let measure = self.measure(id).await?;
        let now = Utc::now();
        let occurrence_at = match input.occurrence_at {
            Some(at) => Some(at),
            None => self.open_occurrence(measure.activity_id, now).await?,
        };
        let evidence = self
            .ops
            .complete(
                actor,
                measure.activity_id,
                &EvidenceInput {
                    occurrence_at,
                    result: input.result,
                    notes: input.notes.clone(),
                    links: input.links.clone(),
                },
                &[],
            )
            .await?;
        if let Err(e) = evidence_recorded(
            &self.notifier,
            &evidence,
            (measure.owner_team_id, measure.owner_person_id),
            now,
        )
        .await
        {
            // The result is recorded either way; a notification problem must not undo it.
            tracing::warn!(error = %e, measure = id, "could not queue the failed-test notification");
        }
        Ok(evidence)
    }

    /// The scheduled test that started most recently (with or without evidence).
    async fn open_occurrence(
        &self,
        activity_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let activity = self.ops.get_activity(activity_id).await?;
        self.ops.latest_started_occurrence(&activity, now).await
    }

    async fn past_occurrences(
        &self,
        activities: &[Activity],
        now: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>> {
        self.ops
            .occurrences_of(
                activities,
                now - Duration::days(status::LOOKBACK_DAYS),
                now + Duration::seconds(1),
                now,
            )
            .await
    }

    async fn status_of(&self, measure: Measure, now: DateTime<Utc>) -> Result<MeasureStatus> {
        let mut one = self.statuses_of(vec![measure], now).await?;
        one.pop().ok_or(StoreError::NotFound("resilience measure"))
    }

    /// The state of a batch of measures. Their occurrences are read in one pass, because the
    /// calendar reads every completion in the lookback window for each call.
    async fn statuses_of(
        &self,
        measures: Vec<Measure>,
        now: DateTime<Utc>,
    ) -> Result<Vec<MeasureStatus>> {
        let mut activities = Vec::with_capacity(measures.len());
        for m in &measures {
            activities.push(self.ops.get_activity(m.activity_id).await?);
        }
        let mut past: HashMap<i64, Vec<Occurrence>> = HashMap::new();
        for o in self.past_occurrences(&activities, now).await? {
            past.entry(o.activity_id).or_default().push(o);
        }
        let mut out = Vec::with_capacity(measures.len());
        for (measure, activity) in measures.into_iter().zip(activities) {
            let mine = past.remove(&activity.id).unwrap_or_default();
            let last = self
                .ops
                .list_evidence(None, Some(activity.id), None, None, 1)
                .await?
                .into_iter()
                .next();
            let verdict = status::judge(&mine, last.as_ref().map(|e| e.result), now);
            let next_test_at = opsward_ops::store::schedule_of(&activity)?
                .between(
                    now + Duration::seconds(1),
                    now + Duration::days(status::LOOKBACK_DAYS),
                )
                .into_iter()
                .next();
            out.push(MeasureStatus {
                schedule: schedule_of(&activity),
                state: verdict.state,
                last_result: last.as_ref().map(|e| e.result),
                last_tested_at: last.as_ref().map(|e| e.recorded_at),
                last_evidence_id: last.as_ref().map(|e| e.id),
                next_test_at,
                overdue_since: verdict.overdue_since,
                measure,
            });
        }
        Ok(out)
    }
}
