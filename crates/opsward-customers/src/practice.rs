//! The customers practice's side of the practice contract: overdue service reviews,
//! satisfaction below target or falling, review actions past due, the hygiene deductions of
//! [`crate::hygiene`], the customers of one asset, and the survey job.
//!
//! | Condition kind | Severity | When |
//! |---|---|---|
//! | `service_review_overdue` | high | an occurrence of the customer's review schedule started with no review recorded since the last one held; one per customer, `count` = occurrences missed |
//! | `satisfaction_at_risk` | medium | CSAT (last 90 days) below 80% or NPS below 0, or either 10+ points below the 90 days before; one per customer |
//! | `review_action_overdue` | high | a service review action is past its due date and not done; one per action (the oldest 200) |
//!
//! Each assessment reads the customers, the customer-practice calendar activities, the
//! reviews recorded on them, one aggregate of survey answers and the overdue actions: a
//! fixed number of queries, bounded by the number of customers.

use crate::{
    hygiene::{self, missed_occurrences, standing, CustomerCounts, Standing, PERIOD_DAYS},
    model::{Customer, SurveyKind},
    score,
    standing::{AnswerCounts, OverdueAction},
    store::CustomersStore,
    surveys,
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use opsward_core::{
    contract::{
        count, Assessment, AssetFacet, Condition, EntityRef, FacetRow, JobContext,
        PracticeContract, PracticeError, Severity, Tone,
    },
    job::{Job, JobError, JobHandler, JobSpec},
    practice::Practice,
    work_items::WorkItems,
};
use opsward_ops::{model::CalendarFilter, store::schedule_of, OpsStore};
use opsward_store::{Store, StoreError};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

/// Review occurrences further back than this are not looked at: a year of monthly reviews.
pub const REVIEW_LOOKBACK_DAYS: i64 = 400;
/// At most this many overdue actions are listed one by one; the hygiene rule counts all.
pub const MAX_ACTION_CONDITIONS: i64 = 200;

/// The customers practice. `work_items` is where follow-ups for low survey answers are
/// filed (the backlog, passed in by the caller).
pub struct CustomersPractice {
    store: Arc<dyn Store>,
    customers: CustomersStore,
    work_items: Arc<dyn WorkItems>,
}

impl CustomersPractice {
    pub fn new(store: Arc<dyn Store>, work_items: Arc<dyn WorkItems>) -> Self {
        CustomersPractice {
            customers: CustomersStore::new(store.as_ref()),
            store,
            work_items,
        }
    }
}

fn err(e: StoreError) -> PracticeError {
    PracticeError::new(Practice::Customers, e)
}

fn customer_entity(c: &Customer) -> EntityRef {
    EntityRef {
        kind: "customer".into(),
        id: c.id,
        label: c.name.clone(),
        link: format!("/customers/{}", c.id),
    }
}

/// A condition about customer `c`, concerning its first asset, owned by its owners.
fn about(
    c: &Customer,
    kind: &str,
    severity: Severity,
    entity: EntityRef,
    title: String,
) -> Condition {
    Condition::new(Practice::Customers, kind, severity, entity, title)
        .with_asset(c.asset_ids.first().copied(), None)
        .with_owner(c.owner_team_id, c.owner_person_id)
}

/// Customer `c`'s service review is overdue: `missed` occurrences, oldest first.
pub fn review_condition(c: &Customer, missed: &[DateTime<Utc>]) -> Option<Condition> {
    let oldest = *missed.first()?;
    let title = format!(
        "Service review with {} is overdue since {} ({} without a review); hold it and record it",
        c.name,
        oldest.date_naive(),
        count(missed.len(), "scheduled review", "scheduled reviews"),
    );
    Some(
        about(
            c,
            "service_review_overdue",
            Severity::High,
            customer_entity(c),
            title,
        )
        .with_times(Some(oldest), Some(oldest))
        .with_count(missed.len() as u32),
    )
}

fn describe(measure: &str, s: Standing, answers: usize) -> String {
    let unit = if measure == "CSAT" { "%" } else { "" };
    match s {
        Standing::Below { value, target } => format!(
            "{measure} {value:.0}{unit} over the last {PERIOD_DAYS} days ({}) is below the target of {target:.0}{unit}",
            count(answers, "answer", "answers")
        ),
        Standing::Falling { from, to } => format!(
            "{measure} fell from {from:.0}{unit} to {to:.0}{unit} against the {PERIOD_DAYS} days before"
        ),
    }
}

/// Customer `c`'s satisfaction condition from its CSAT and NPS answers.
pub fn satisfaction_condition(
    c: &Customer,
    csat: Option<&AnswerCounts>,
    nps: Option<&AnswerCounts>,
) -> Option<Condition> {
    let mut problems = Vec::new();
    if let Some(a) = csat {
        let now = score::csat_percent(&a.current);
        let before = score::csat_percent(&a.previous);
        if let Some(s) = standing(now, before, hygiene::CSAT_TARGET) {
            problems.push(describe("CSAT", s, a.current.len()));
        }
    }
    if let Some(a) = nps {
        let now = score::nps(&a.current);
        let before = score::nps(&a.previous);
        if let Some(s) = standing(now, before, hygiene::NPS_TARGET) {
            problems.push(describe("NPS", s, a.current.len()));
        }
    }
    if problems.is_empty() {
        return None;
    }
    let title = format!(
        "{}: {}; talk to the customer about what went wrong",
        c.name,
        problems.join("; ")
    );
    Some(about(
        c,
        "satisfaction_at_risk",
        Severity::Medium,
        customer_entity(c),
        title,
    ))
}

/// A review action of customer `c` past its due date.
pub fn action_condition(c: &Customer, a: &OverdueAction) -> Condition {
    let due = a.due_on.and_time(NaiveTime::MIN).and_utc();
    let entity = EntityRef {
        kind: "review_action".into(),
        id: a.id,
        label: a.title.clone(),
        link: format!("/customers/{}", c.id),
    };
    let title = format!(
        "Action from the service review with {}, \"{}\", was due on {} and is not done",
        c.name, a.title, a.due_on
    );
    let mut condition = about(c, "review_action_overdue", Severity::High, entity, title)
        .with_times(Some(due), Some(due));
    if a.owner_person_id.is_some() {
        condition = condition.with_owner(None, a.owner_person_id);
    }
    condition
}

impl CustomersPractice {
    /// Missed review occurrences per customer, oldest first.
    async fn missed_reviews(
        &self,
        customers: &[Customer],
        now: DateTime<Utc>,
    ) -> Result<HashMap<i64, Vec<DateTime<Utc>>>, StoreError> {
        let scheduled: HashMap<i64, i64> = customers
            .iter()
            .filter_map(|c| c.review_activity_id.map(|a| (a, c.id)))
            .collect();
        if scheduled.is_empty() {
            return Ok(HashMap::new());
        }
        let from = now - Duration::days(REVIEW_LOOKBACK_DAYS);
        let filter = CalendarFilter {
            practice: Some(Practice::Customers),
            ..CalendarFilter::default()
        };
        let activities = OpsStore::new(self.store.as_ref())
            .list_activities(&filter, false)
            .await?;
        let done: HashSet<(i64, DateTime<Utc>)> = self
            .customers
            .reviewed_occurrences(from)
            .await?
            .into_iter()
            .collect();
        let mut out = HashMap::new();
        for activity in activities {
            let Some(customer) = scheduled.get(&activity.id) else {
                continue;
            };
            let Ok(schedule) = schedule_of(&activity) else {
                continue;
            };
            let starts = schedule.between(from, now + Duration::seconds(1));
            let missed = missed_occurrences(&starts, |s| done.contains(&(activity.id, s)), now);
            if !missed.is_empty() {
                out.insert(*customer, missed);
            }
        }
        Ok(out)
    }

    async fn assess_now(&self, now: DateTime<Utc>) -> Result<Assessment, StoreError> {
        let customers = self.customers.customers().await?;
        let by_id: HashMap<i64, &Customer> = customers.iter().map(|c| (c.id, c)).collect();
        let mut conditions = Vec::new();
        let mut counts = CustomerCounts::default();

        let missed = self.missed_reviews(&customers, now).await?;
        let answers = self
            .customers
            .answer_counts(
                now - Duration::days(2 * PERIOD_DAYS),
                now - Duration::days(PERIOD_DAYS),
            )
            .await?;
        for c in &customers {
            if let Some(condition) = missed.get(&c.id).and_then(|m| review_condition(c, m)) {
                counts.reviews_overdue += 1;
                counts.oldest_missed = match (counts.oldest_missed, condition.due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                conditions.push(condition);
            }
            let csat = answers.get(&(c.id, SurveyKind::Csat));
            let nps = answers.get(&(c.id, SurveyKind::Nps));
            let surveyed = [csat, nps].iter().flatten().any(|a| !a.current.is_empty());
            counts.customers_surveyed += usize::from(surveyed);
            if let Some(condition) = satisfaction_condition(c, csat, nps) {
                counts.satisfaction_at_risk += 1;
                conditions.push(condition);
            }
        }

        let today = now.date_naive();
        let (actions, total) = self
            .customers
            .overdue_actions(today, MAX_ACTION_CONDITIONS)
            .await?;
        counts.actions_overdue = total;
        counts.oldest_action_days = actions.first().map_or(0, |a| (today - a.due_on).num_days());
        for a in &actions {
            if let Some(c) = by_id.get(&a.customer_id) {
                conditions.push(action_condition(c, a));
            }
        }
        let mut ids: Vec<i64> = conditions.iter().filter_map(|c| c.asset_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names = self.customers.asset_names(&ids).await?;
        for c in &mut conditions {
            c.asset_name = c.asset_id.and_then(|id| names.get(&id).cloned());
        }
        Ok(Assessment {
            conditions,
            deductions: hygiene::deductions(&counts),
            ..Assessment::default()
        })
    }

    async fn facets_now(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, StoreError> {
        let customers: Vec<Customer> = self
            .customers
            .customers()
            .await?
            .into_iter()
            .filter(|c| c.asset_ids.contains(&asset_id))
            .collect();
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let answers = self
            .customers
            .answer_counts(
                now - Duration::days(2 * PERIOD_DAYS),
                now - Duration::days(PERIOD_DAYS),
            )
            .await?;
        let missed = self.missed_reviews(&customers, now).await?;
        let mut at_risk = 0;
        let rows: Vec<FacetRow> = customers
            .iter()
            .take(20)
            .map(|c| {
                let csat = answers.get(&(c.id, SurveyKind::Csat));
                let nps = answers.get(&(c.id, SurveyKind::Nps));
                let csat_now = csat.and_then(|a| score::csat_percent(&a.current));
                let nps_now = nps.and_then(|a| score::nps(&a.current));
                let review_overdue = missed.contains_key(&c.id);
                let unhappy = satisfaction_condition(c, csat, nps).is_some();
                let tone = match (review_overdue, unhappy) {
                    (true, _) => Tone::Bad,
                    (false, true) => Tone::Warning,
                    _ if c.review_activity_id.is_none() => Tone::Neutral,
                    _ => Tone::Good,
                };
                at_risk += usize::from(review_overdue || unhappy);
                FacetRow {
                    cells: vec![
                        c.name.clone(),
                        csat_now.map_or_else(|| "-".into(), |v| format!("{v:.0}%")),
                        nps_now.map_or_else(|| "-".into(), |v| format!("{v:.0}")),
                        match (c.review_activity_id, missed.get(&c.id)) {
                            (None, _) => "not scheduled".into(),
                            (Some(_), Some(m)) => format!("overdue since {}", m[0].date_naive()),
                            (Some(_), None) => "on schedule".into(),
                        },
                    ],
                    link: Some(format!("/customers/{}", c.id)),
                    tone,
                }
            })
            .collect();
        Ok(vec![AssetFacet {
            practice: Practice::Customers,
            title: "Customers".into(),
            summary: Some(format!(
                "{} using this asset, {at_risk} needing attention",
                count(customers.len(), "customer", "customers")
            )),
            columns: [
                "Customer",
                "CSAT (90 days)",
                "NPS (90 days)",
                "Service review",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No customer uses this asset.".into(),
            more_link: (customers.len() > 20).then(|| "/customers".to_string()),
        }])
    }
}

#[async_trait]
impl PracticeContract for CustomersPractice {
    fn practice(&self) -> Practice {
        Practice::Customers
    }

    async fn assess(&self, now: DateTime<Utc>) -> Result<Assessment, PracticeError> {
        self.assess_now(now).await.map_err(err)
    }

    async fn asset_facets(
        &self,
        asset_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<AssetFacet>, PracticeError> {
        self.facets_now(asset_id, now).await.map_err(err)
    }

    fn jobs(&self, _context: &JobContext) -> Vec<JobSpec> {
        vec![JobSpec::every(
            SURVEYS_JOB,
            Duration::minutes(5),
            SendSurveys {
                store: self.store.clone(),
                work_items: self.work_items.clone(),
            },
        )]
    }
}

/// The job kind of [`SendSurveys`].
pub const SURVEYS_JOB: &str = "customers.surveys";

/// Decide and queue the satisfaction surveys that are due, and file missing follow-ups.
pub struct SendSurveys {
    store: Arc<dyn Store>,
    work_items: Arc<dyn WorkItems>,
}

#[async_trait]
impl JobHandler for SendSurveys {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let customers = CustomersStore::new(self.store.as_ref());
        let report = surveys::run(&customers, self.work_items.as_ref(), Utc::now()).await?;
        if report != Default::default() {
            tracing::info!(?report, "surveys decided");
        }
        Ok(())
    }
}
