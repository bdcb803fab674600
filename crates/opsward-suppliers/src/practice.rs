//! The suppliers practice's side of the practice contract: contracts whose notice deadline
//! passed or is near with no decision, suppliers overdue for review, suppliers whose latest
//! review scored badly (each with the automatic backlog item it keeps open), the hygiene
//! deductions of [`crate::hygiene`], the suppliers of one asset, and the hourly contract job.
//!
//! | Condition kind | Severity | When |
//! |---|---|---|
//! | `notice_deadline_passed` | high | a running contract's notice deadline passed with no renew/terminate decision; due at the end of the deadline day |
//! | `notice_deadline_near` | high within 7 days, else medium | the notice deadline is within 30 days with no renew/terminate decision |
//! | `supplier_review_overdue` | medium | last review (or registration) plus the criticality's cadence (3/6/12 months) has passed |
//! | `supplier_score_low` | high under 2.0, else medium | the latest review's weighted score is below the threshold; proposes a `supplier_review` backlog item |
//!
//! Each assessment reads the register, the contracts and one aggregate over the reviews: a
//! fixed three queries (four with asset names), bounded by the size of the register.

use crate::{
    alerts::check_contracts,
    hygiene::{self, SupplierCounts},
    model::{Contract, DecisionKind, RenewalType, Supplier},
    review::cadence_months,
    store::{LatestReview, SupplierStore},
};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use opsward_core::{
    asset::Criticality,
    contract::{
        Assessment, AssetFacet, BacklogProposal, Condition, EntityRef, FacetRow, JobContext,
        PracticeContract, PracticeError, ProposedItemType, Severity, Tone,
    },
    job::{Job, JobError, JobHandler, JobSpec},
    practice::Practice,
    Actor,
};
use opsward_ops::notifications::Notifier;
use opsward_store::{Database, Store, StoreError};
use std::{collections::HashMap, sync::Arc};

/// A notice deadline this close with no decision is a condition.
pub const NOTICE_HORIZON_DAYS: i64 = 30;
/// Within this many days (or passed) it is high severity.
pub const NOTICE_URGENT_DAYS: i64 = 7;
/// A latest review below this is high severity (and urgent in the backlog).
pub const VERY_LOW_SCORE: f64 = 2.0;

/// The suppliers practice, reading the register on `store`.
pub struct SuppliersPractice {
    store: Arc<dyn Store>,
    suppliers: SupplierStore,
    /// A latest review scoring below this (1-5) is a condition.
    score_below: f64,
}

impl SuppliersPractice {
    pub fn new(store: Arc<dyn Store>, score_below: f64) -> Self {
        SuppliersPractice {
            suppliers: SupplierStore::new(store.as_ref()),
            store,
            score_below,
        }
    }
}

fn err(e: StoreError) -> PracticeError {
    PracticeError::new(Practice::Suppliers, e)
}

/// The last day notice can be given ends at midnight after it: that is when it is overdue.
fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    (day + Duration::days(1)).and_time(NaiveTime::MIN).and_utc()
}

fn supplier_entity(s: &Supplier) -> EntityRef {
    EntityRef {
        kind: "supplier".into(),
        id: s.id,
        label: s.name.clone(),
        link: format!("/suppliers/{}", s.id),
    }
}

/// Who acts on a contract: its own owner, else its supplier's.
fn contract_owner(c: &Contract, s: &Supplier) -> (Option<i64>, Option<i64>) {
    if c.owner_team_id.is_some() || c.owner_person_id.is_some() {
        (c.owner_team_id, c.owner_person_id)
    } else {
        (s.owner_team_id, s.owner_person_id)
    }
}

/// A contract's notice condition on `today`: the deadline passed while the contract still
/// runs, or is within [`NOTICE_HORIZON_DAYS`]; none once renewal or termination is decided.
pub fn notice_condition(c: &Contract, s: &Supplier, today: NaiveDate) -> Option<Condition> {
    let decided = matches!(
        c.term_decision,
        Some(DecisionKind::Renew | DecisionKind::Terminate)
    );
    let days_left = (c.notice_deadline - today).num_days();
    if decided || today > c.end_date || days_left > NOTICE_HORIZON_DAYS {
        return None;
    }
    let consequence = match c.renewal_type {
        RenewalType::Automatic => format!(
            "without notice it renews for {} months",
            c.renewal_term_months
        ),
        RenewalType::Express => format!("it ends on {} unless renewed", c.end_date),
    };
    let (kind, severity, title) = if days_left < 0 {
        (
            "notice_deadline_passed",
            Severity::High,
            format!(
                "Notice deadline for {} ({}) passed on {} with no decision; {consequence}",
                c.title, s.name, c.notice_deadline
            ),
        )
    } else {
        let severity = if days_left <= NOTICE_URGENT_DAYS {
            Severity::High
        } else {
            Severity::Medium
        };
        (
            "notice_deadline_near",
            severity,
            format!(
                "Notice on {} ({}) is due in {} (by {}) and no renew or terminate decision is recorded; {consequence}",
                c.title,
                s.name,
                opsward_core::contract::count(days_left as usize, "day", "days"),
                c.notice_deadline
            ),
        )
    };
    let entity = EntityRef {
        kind: "contract".into(),
        id: c.id,
        label: format!("{} ({})", c.title, s.name),
        link: format!("/suppliers/{}", s.id),
    };
    let (team, person) = contract_owner(c, s);
    let due = end_of_day(c.notice_deadline);
    Some(
        Condition::new(Practice::Suppliers, kind, severity, entity, title)
            .with_asset(s.asset_ids.first().copied(), None)
            .with_owner(team, person)
            .with_times(Some(due - Duration::days(NOTICE_HORIZON_DAYS)), Some(due)),
    )
}

/// When `s` is next due for review: its latest review (or its registration) plus the cadence
/// of its criticality.
pub fn review_due(s: &Supplier, latest: Option<NaiveDate>) -> NaiveDate {
    let from = latest.unwrap_or_else(|| s.created_at.date_naive());
    crate::notice::shift_months(from, cadence_months(s.criticality) as i32)
}

/// A supplier whose review is overdue on `today`.
pub fn review_condition(
    s: &Supplier,
    latest: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<Condition> {
    let due = review_due(s, latest);
    if due >= today {
        return None;
    }
    let last = match latest {
        Some(d) => format!("last reviewed {d}"),
        None => "never reviewed".into(),
    };
    let title = format!(
        "Review of {} ({} criticality, every {} months) is overdue since {due}; {last}",
        s.name,
        s.criticality,
        cadence_months(s.criticality)
    );
    let due_at = due.and_time(NaiveTime::MIN).and_utc();
    Some(
        Condition::new(
            Practice::Suppliers,
            "supplier_review_overdue",
            Severity::Medium,
            supplier_entity(s),
            title,
        )
        .with_asset(s.asset_ids.first().copied(), None)
        .with_owner(s.owner_team_id, s.owner_person_id)
        .with_times(Some(due_at), Some(due_at)),
    )
}

/// A supplier whose latest review scored below `below`, with the automatic backlog item
/// `backlog_auto` has always filed for it (same source, key, text and priority).
pub fn score_condition(s: &Supplier, latest: &LatestReview, below: f64) -> Option<Condition> {
    let score = latest.weighted_score.filter(|score| *score < below)?;
    let impact = match s.criticality {
        Criticality::Critical | Criticality::High => 1,
        Criticality::Medium => 2,
        Criticality::Low => 3,
    };
    let very_low = score < VERY_LOW_SCORE;
    let proposal = BacklogProposal {
        source: "supplier_review",
        source_key: format!("supplier:{}", s.id),
        item_type: ProposedItemType::Risk,
        title: format!("Supplier {} scored {score:.1} of 5 in its review", s.name),
        description: format!(
            "The review of **{}** on {} scored {score:.2} (weighted, 1-5), below the threshold of {below}. \
             Agree improvements with the supplier, or plan to replace it.",
            s.name, latest.review_date,
        ),
        impact,
        urgency: if very_low { 1 } else { 2 },
        team_id: s.owner_team_id,
        asset_ids: s.asset_ids.clone(),
        label: format!(
            "supplier {}, review of {} scored {score:.2}",
            s.name, latest.review_date
        ),
    };
    let title = format!(
        "{} scored {score:.2} of 5 in its review of {}, below {below:.1}; agree improvements or plan a replacement",
        s.name, latest.review_date
    );
    let reviewed = latest.review_date.and_time(NaiveTime::MIN).and_utc();
    Some(
        Condition::new(
            Practice::Suppliers,
            "supplier_score_low",
            if very_low {
                Severity::High
            } else {
                Severity::Medium
            },
            supplier_entity(s),
            title,
        )
        .with_asset(s.asset_ids.first().copied(), None)
        .with_owner(s.owner_team_id, s.owner_person_id)
        .with_times(Some(reviewed), None)
        .with_backlog(proposal),
    )
}

/// The names of `ids` from the asset register, in one query.
async fn asset_names(db: &Database, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, name FROM assets WHERE id IN ({})",
        placeholders.join(", ")
    );
    let rows: Vec<(i64, String)> = match db {
        Database::Sqlite(pool) => {
            let mut q = sqlx::query_as(&sql);
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        }
        Database::Postgres(pool) => {
            let mut q = sqlx::query_as(&sql);
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        }
    };
    Ok(rows.into_iter().collect())
}

impl SuppliersPractice {
    async fn assess_now(&self, now: DateTime<Utc>) -> Result<Assessment, StoreError> {
        let today = now.date_naive();
        let suppliers = self.suppliers.all_suppliers().await?;
        let by_id: HashMap<i64, &Supplier> = suppliers.iter().map(|s| (s.id, s)).collect();
        let latest: HashMap<i64, LatestReview> = self
            .suppliers
            .latest_reviews()
            .await?
            .into_iter()
            .map(|r| (r.supplier_id, r))
            .collect();
        let mut conditions = Vec::new();
        let mut counts = SupplierCounts {
            suppliers: suppliers.len(),
            score_below: self.score_below,
            ..SupplierCounts::default()
        };
        for c in self.suppliers.all_contracts().await? {
            let Some(s) = by_id.get(&c.supplier_id) else {
                continue;
            };
            let Some(condition) = notice_condition(&c, s, today) else {
                continue;
            };
            if condition.kind == "notice_deadline_passed" {
                counts.notice_passed += 1;
                counts.earliest_passed = Some(
                    counts
                        .earliest_passed
                        .map_or(c.notice_deadline, |d| d.min(c.notice_deadline)),
                );
            } else {
                counts.notice_near += 1;
                counts.nearest_deadline = Some(
                    counts
                        .nearest_deadline
                        .map_or(c.notice_deadline, |d| d.min(c.notice_deadline)),
                );
            }
            conditions.push(condition);
        }
        for s in &suppliers {
            let review = latest.get(&s.id);
            if let Some(condition) = review_condition(s, review.map(|r| r.review_date), today) {
                let days = (today - review_due(s, review.map(|r| r.review_date))).num_days();
                counts.reviews_overdue += 1;
                counts.oldest_overdue_days = counts.oldest_overdue_days.max(days);
                conditions.push(condition);
            }
            if let Some(condition) = review.and_then(|r| score_condition(s, r, self.score_below)) {
                counts.low_scores += 1;
                let score = review.and_then(|r| r.weighted_score);
                counts.lowest_score = match (counts.lowest_score, score) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                conditions.push(condition);
            }
        }
        let ids: Vec<i64> = {
            let mut ids: Vec<i64> = conditions.iter().filter_map(|c| c.asset_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let names = asset_names(&self.store.database(), &ids).await?;
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
        let today = now.date_naive();
        let suppliers: Vec<Supplier> = self
            .suppliers
            .all_suppliers()
            .await?
            .into_iter()
            .filter(|s| s.asset_ids.contains(&asset_id))
            .collect();
        if suppliers.is_empty() {
            return Ok(Vec::new());
        }
        let latest: HashMap<i64, LatestReview> = self
            .suppliers
            .latest_reviews()
            .await?
            .into_iter()
            .map(|r| (r.supplier_id, r))
            .collect();
        let contracts = self.suppliers.all_contracts().await?;
        let mut rows = Vec::new();
        let mut at_risk = 0;
        for s in suppliers.iter().take(20) {
            let live: Vec<&Contract> = contracts
                .iter()
                .filter(|c| c.supplier_id == s.id && today <= c.end_date)
                .collect();
            let open_notice = live
                .iter()
                .filter_map(|c| notice_condition(c, s, today))
                .map(|c| c.severity)
                .min();
            let next_deadline = live
                .iter()
                .filter(|c| c.notice_deadline >= today)
                .map(|c| c.notice_deadline)
                .min();
            let review = latest.get(&s.id);
            let score = review.and_then(|r| r.weighted_score);
            let low = score.is_some_and(|score| score < self.score_below);
            let overdue = review_due(s, review.map(|r| r.review_date)) < today;
            let tone = match (open_notice, low, overdue) {
                (Some(Severity::High | Severity::Critical), _, _) => Tone::Bad,
                (_, true, _) if score.is_some_and(|s| s < VERY_LOW_SCORE) => Tone::Bad,
                (Some(_), _, _) | (_, true, _) | (_, _, true) => Tone::Warning,
                _ => Tone::Good,
            };
            at_risk += usize::from(tone != Tone::Good);
            rows.push(FacetRow {
                cells: vec![
                    s.name.clone(),
                    s.criticality.to_string(),
                    score.map_or_else(|| "-".into(), |v| format!("{v:.2}")),
                    next_deadline.map_or_else(|| "-".into(), |d| d.to_string()),
                    live.len().to_string(),
                ],
                link: Some(format!("/suppliers/{}", s.id)),
                tone,
            });
        }
        Ok(vec![AssetFacet {
            practice: Practice::Suppliers,
            title: "Suppliers".into(),
            summary: Some(format!(
                "{}, {at_risk} needing attention",
                opsward_core::contract::count(suppliers.len(), "supplier", "suppliers")
            )),
            columns: [
                "Supplier",
                "Criticality",
                "Latest score",
                "Next notice deadline",
                "Running contracts",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No supplier provides this asset.".into(),
            more_link: (suppliers.len() > 20).then(|| "/suppliers".to_string()),
        }])
    }
}

#[async_trait]
impl PracticeContract for SuppliersPractice {
    fn practice(&self) -> Practice {
        Practice::Suppliers
    }

    /// Announced by the contract alerts (`contract.notice_due`, `contract.notice_passed`).
    fn announced_kinds(&self) -> &'static [&'static str] {
        &["notice_deadline_passed", "notice_deadline_near"]
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
            CONTRACT_CHECK_JOB,
            Duration::hours(1),
            ContractCheck {
                store: self.store.clone(),
            },
        )]
    }
}

/// The job kind of [`ContractCheck`].
pub const CONTRACT_CHECK_JOB: &str = "suppliers.contracts";

/// Roll tacitly renewing contracts forward and raise notice-deadline reminders. Hourly, so
/// a new day's reminders go out early that day; repeated runs change and send nothing new.
pub struct ContractCheck {
    store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for ContractCheck {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let suppliers = SupplierStore::new(self.store.as_ref());
        let notifier = Notifier::new(self.store.as_ref());
        let now = Utc::now();
        let run = check_contracts(
            &suppliers,
            &notifier,
            &Actor::system("scheduler"),
            now.date_naive(),
            now,
        )
        .await?;
        tracing::info!(
            renewed = run.renewed.len(),
            queued = run.queued,
            "contracts checked"
        );
        Ok(())
    }
}
