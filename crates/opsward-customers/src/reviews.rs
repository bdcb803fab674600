//! Service reviews: the recurring meeting in the calendar, the review pack for a period,
//! the recorded review as evidence, and the satisfaction dashboard the pack draws on.

use crate::{
    model::{
        Customer, ReviewAction, ReviewInput, ReviewSchedule, ServiceReview, Survey, SurveyKind,
        SurveyState,
    },
    score::{self, TrendPoint},
    store::CustomersStore,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use opsward_core::{practice::Practice, work_items::WorkItems, Actor};
use opsward_ops::{ActivityInput, EvidenceInput, EvidenceResult, OpsStore};
use opsward_store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Put the customer's service review in the calendar (or move it).
pub async fn schedule(
    store: &CustomersStore,
    ops: &OpsStore,
    actor: &Actor,
    customer_id: i64,
    schedule: &ReviewSchedule,
) -> Result<Customer, StoreError> {
    let customer = store.customer(customer_id).await?;
    let input = ActivityInput {
        title: format!("Service review: {}", customer.name),
        practice: Practice::Customers,
        template: None,
        description: "Review service performance, satisfaction and open actions with the customer; record the review in opsward to complete it.".into(),
        rrule: schedule.rrule.clone(),
        starts_local: schedule.starts_local,
        timezone: schedule.timezone.clone(),
        duration_minutes: 60,
        owner_team_id: customer.owner_team_id,
        owner_person_id: customer.owner_person_id,
        asset_id: None,
        active: true,
    };
    let activity = match customer.review_activity_id {
        Some(id) => ops.update_activity(actor, id, &input).await?,
        None => ops.create_activity(actor, &input).await?,
    };
    store
        .set_review_activity(actor, customer_id, activity.id)
        .await
}

/// Record a held review: its evidence completes the nearest open occurrence of the
/// customer's review activity (or stands on its own when none is scheduled).
pub async fn record(
    store: &CustomersStore,
    ops: &OpsStore,
    actor: &Actor,
    customer_id: i64,
    input: &ReviewInput,
) -> Result<ServiceReview, StoreError> {
    input.validate()?;
    let customer = store.customer(customer_id).await?;
    let held_at = input.held_on.and_time(NaiveTime::MIN).and_utc();
    let mut notes = format!(
        "Service review with {} for {} to {}.\nAttendees: {}\n\n{}",
        customer.name,
        input.period_start,
        input.period_end,
        input.attendees.join(", "),
        input.notes
    );
    for a in &input.actions {
        notes.push_str(&format!("\nAction: {}", a.title));
    }
    let evidence_input = |occurrence_at| EvidenceInput {
        occurrence_at,
        result: EvidenceResult::Passed,
        notes: notes.clone(),
        links: Vec::new(),
    };
    let evidence = match customer.review_activity_id {
        Some(activity_id) => {
            let activity = ops.get_activity(activity_id).await?;
            // The scheduled review that had started when this one was held: never a later
            // one (not due yet) and never an older missed one (that would back-date it).
            let by = (held_at + Duration::days(1) - Duration::seconds(1)).min(Utc::now());
            let occurrence = ops.latest_started_occurrence(&activity, by).await?;
            ops.complete(actor, activity_id, &evidence_input(occurrence), &[])
                .await?
        }
        None => {
            let title = format!("Service review: {}", customer.name);
            ops.record_run(
                actor,
                Practice::Customers,
                &title,
                &evidence_input(None),
                &[],
            )
            .await?
        }
    };
    store
        .create_review(actor, customer_id, input, Some(evidence.id))
        .await
}

/// A resolved item as the review pack shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PackItem {
    pub id: i64,
    pub title: String,
    pub priority: String,
    pub state: String,
    pub raised_at: DateTime<Utc>,
    /// Days from raised to resolved, for resolved items.
    pub resolution_days: Option<f64>,
    pub target_days: i64,
    pub within_target: Option<bool>,
}

/// Satisfaction figures over a set of surveys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Satisfaction {
    pub surveys_sent: usize,
    pub answers: usize,
    pub csat_percent: Option<f64>,
    pub csat_answers: usize,
    pub nps: Option<f64>,
    pub nps_answers: usize,
    pub response_rate: Option<f64>,
    pub trend: Vec<TrendPoint>,
    /// Newest answers that carry a comment.
    pub latest_comments: Vec<Survey>,
}

/// What a service review looks at for one period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReviewPack {
    pub customer: Customer,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub raised: usize,
    pub resolved: usize,
    pub open_now: usize,
    /// Resolved in the period within their resolution target.
    pub within_target: usize,
    pub sla_percent: Option<f64>,
    pub items: Vec<PackItem>,
    pub satisfaction: Satisfaction,
    pub open_actions: Vec<ReviewAction>,
    pub previous_reviews: usize,
}

/// Month buckets (`YYYY-MM`) from `from` to `to`, both included.
fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) <= (to.year(), to.month()) {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// CSAT, NPS, response rate and a monthly trend over `surveys` (decisions in the period).
pub fn satisfaction(surveys: &[Survey], from: NaiveDate, to: NaiveDate) -> Satisfaction {
    let sent: Vec<&Survey> = surveys
        .iter()
        .filter(|s| s.state != SurveyState::Skipped)
        .collect();
    let answered: Vec<&Survey> = sent.iter().copied().filter(|s| s.score.is_some()).collect();
    let scores = |kind: SurveyKind, list: &[&Survey]| -> Vec<i32> {
        list.iter()
            .filter(|s| s.kind == kind)
            .filter_map(|s| s.score)
            .collect()
    };
    let csat = scores(SurveyKind::Csat, &answered);
    let nps = scores(SurveyKind::Nps, &answered);
    let mut by_month: BTreeMap<String, Vec<&Survey>> = months(from, to)
        .into_iter()
        .map(|m| (m, Vec::new()))
        .collect();
    for s in &answered {
        let at = s.answered_at.unwrap_or(s.created_at);
        if let Some(bucket) = by_month.get_mut(&at.format("%Y-%m").to_string()) {
            bucket.push(s);
        }
    }
    let trend = by_month
        .into_iter()
        .map(|(month, list)| TrendPoint {
            month,
            csat_percent: score::csat_percent(&scores(SurveyKind::Csat, &list)),
            nps: score::nps(&scores(SurveyKind::Nps, &list)),
            answers: list.len(),
        })
        .collect();
    let mut commented: Vec<Survey> = answered
        .iter()
        .filter(|s| s.comment.as_deref().is_some_and(|c| !c.is_empty()))
        .map(|s| (*s).clone())
        .collect();
    commented.sort_by_key(|s| std::cmp::Reverse(s.answered_at));
    commented.truncate(10);
    Satisfaction {
        surveys_sent: sent.len(),
        answers: answered.len(),
        csat_percent: score::csat_percent(&csat),
        csat_answers: csat.len(),
        nps: score::nps(&nps),
        nps_answers: nps.len(),
        response_rate: score::response_rate(sent.len(), answered.len()),
        trend,
        latest_comments: commented,
    }
}

fn in_period(at: DateTime<Utc>, from: NaiveDate, to: NaiveDate) -> bool {
    let d = at.date_naive();
    d >= from && d <= to
}

/// Surveys decided in `[from, to]`, for one customer or all.
pub async fn surveys_in(
    store: &CustomersStore,
    customer_id: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Survey>, StoreError> {
    let since = from.and_time(NaiveTime::MIN).and_utc();
    Ok(store
        .surveys(customer_id, None, Some(since), 100_000)
        .await?
        .into_iter()
        .filter(|s| s.created_at.date_naive() <= to)
        .collect())
}

/// The review pack for a customer and period.
pub async fn pack(
    store: &CustomersStore,
    backlog: &dyn WorkItems,
    customer_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ReviewPack, StoreError> {
    let customer = store.customer(customer_id).await?;
    let mut items = Vec::new();
    let (mut raised, mut resolved, mut open_now, mut within) = (0, 0, 0, 0);
    for (id, _, _, _, _) in store.items_of(customer_id).await? {
        let item = backlog
            .work_item(id)
            .await
            .map_err(crate::work_item_error)?;
        let is_resolved = !item.open;
        let raised_in = in_period(item.created_at, from, to);
        // A resolved item's last change is when it was resolved (see csat_candidates).
        let resolved_in = is_resolved && in_period(item.updated_at, from, to);
        raised += usize::from(raised_in);
        resolved += usize::from(resolved_in);
        open_now += usize::from(!is_resolved);
        if !(raised_in || resolved_in || !is_resolved) {
            continue;
        }
        let target_days = item.priority.resolution_target_days();
        let resolution_days = resolved_in
            .then(|| (item.updated_at - item.created_at).num_seconds() as f64 / 86_400.0);
        let within_target = resolution_days.map(|d| d <= target_days as f64);
        within += usize::from(within_target == Some(true));
        items.push(PackItem {
            id,
            title: item.title,
            priority: format!("{:?}", item.priority),
            state: item.state,
            raised_at: item.created_at,
            resolution_days,
            target_days,
            within_target,
        });
    }
    let reviews = store.reviews(customer_id).await?;
    let open_actions = reviews
        .iter()
        .flat_map(|r| r.actions.iter())
        .filter(|a| a.done_at.is_none())
        .cloned()
        .collect();
    Ok(ReviewPack {
        satisfaction: satisfaction(
            &surveys_in(store, Some(customer_id), from, to).await?,
            from,
            to,
        ),
        customer,
        period_start: from,
        period_end: to,
        raised,
        resolved,
        open_now,
        within_target: within,
        sla_percent: (resolved > 0).then(|| 100.0 * within as f64 / resolved as f64),
        items,
        open_actions,
        previous_reviews: reviews.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_buckets_cross_the_year() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            months(d(2025, 11, 15), d(2026, 2, 1)),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months(d(2026, 3, 1), d(2026, 3, 31)), ["2026-03"]);
    }
}
