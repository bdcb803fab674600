//! Reviews: scorecard criteria, recorded reviews with their scores and actions, and the
//! objective numbers read from the backlog for a review period.

use super::{check_refs, Result, SupplierStore};
use crate::review::{
    cadence_months, resolved_within, score_card, seconds_in_state, target_missed_waiting,
    validate_action, weighted_total, ActionInput, ActionItem, Criterion, LinkRelation,
    ObjectiveInputs, Review, ReviewInput, Score,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use opsward_core::{
    page::{Page, PageRequest},
    Actor,
};
use opsward_ops::EvidenceInput;
use opsward_store::{on_backend, StoreError};
use serde_json::Value;
use std::collections::BTreeMap;

/// A linked item's relation, creation time, priority and history rows `(at, action, changes)`.
pub(crate) struct LinkedItem {
    id: i64,
    relation: String,
    created_at: DateTime<Utc>,
    priority: Option<opsward_core::priority::Priority>,
    history: Vec<(DateTime<Utc>, String, Value)>,
}
type LinkedHistory = Vec<LinkedItem>;

macro_rules! reviews_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const COLUMNS: &str = "id, supplier_id, review_date, period_start, outcome, notes, attendees, objective, \
                evidence_id, recorded_by, created_at";
            const ACTION_COLUMNS: &str = "id, review_id, title, owner_person_id, due_date, done, done_at, done_by, created_at";

            pub async fn criteria(pool: &Pool) -> Result<Vec<Criterion>> {
                let rows = sqlx::query("SELECT key, label, weight, position, active FROM scorecard_criteria ORDER BY position, id")
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Criterion {
                            key: r.try_get("key")?,
                            label: r.try_get("label")?,
                            weight: r.try_get("weight")?,
                            position: r.try_get("position")?,
                            active: r.try_get("active")?,
                        })
                    })
                    .collect()
            }

            /// Upsert by key; criteria left out are deactivated, never deleted, so old
            /// scorecards keep their meaning.
            pub async fn set_criteria(pool: &Pool, actor: &Actor, wanted: &[Criterion]) -> Result<Vec<Criterion>> {
                let before = criteria(pool).await?;
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query("UPDATE scorecard_criteria SET active = $1").bind(false).execute(&mut *tx).await?;
                for c in wanted {
                    let updated = sqlx::query("UPDATE scorecard_criteria SET label = $1, weight = $2, position = $3, active = $4 WHERE key = $5")
                        .bind(&c.label)
                        .bind(c.weight)
                        .bind(c.position)
                        .bind(c.active)
                        .bind(&c.key)
                        .execute(&mut *tx)
                        .await?;
                    if updated.rows_affected() == 0 {
                        sqlx::query("INSERT INTO scorecard_criteria (key, label, weight, position, active) VALUES ($1, $2, $3, $4, $5)")
                            .bind(&c.key)
                            .bind(&c.label)
                            .bind(c.weight)
                            .bind(c.position)
                            .bind(c.active)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                backend::audit(&mut tx, actor, "update", "scorecard_criteria", None, serde_json::to_value(&before).ok(), serde_json::to_value(wanted).ok()).await?;
                tx.commit().await?;
                criteria(pool).await
            }

            fn action_row(r: &DbRow) -> Result<ActionItem> {
                Ok(ActionItem {
                    id: r.try_get("id")?,
                    review_id: r.try_get("review_id")?,
                    title: r.try_get("title")?,
                    owner_person_id: r.try_get("owner_person_id")?,
                    due_date: r.try_get("due_date")?,
                    done: r.try_get("done")?,
                    done_at: r.try_get("done_at")?,
                    done_by: r.try_get("done_by")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            /// Reviews for the rows, each with its scores and actions.
            async fn assemble(conn: &mut backend::Conn, rows: &[DbRow]) -> Result<Vec<Review>> {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let id: i64 = r.try_get("id")?;
                    let outcome: String = r.try_get("outcome")?;
                    let attendees: Json<Vec<String>> = r.try_get("attendees")?;
                    let objective: Json<ObjectiveInputs> = r.try_get("objective")?;
                    let scores = sqlx::query("SELECT criterion, label, weight, score FROM supplier_review_scores WHERE review_id = $1 ORDER BY criterion")
                        .bind(id)
                        .fetch_all(&mut *conn)
                        .await?
                        .iter()
                        .map(|s| Ok(Score { criterion: s.try_get("criterion")?, label: s.try_get("label")?, weight: s.try_get("weight")?, score: s.try_get("score")? }))
                        .collect::<Result<Vec<_>>>()?;
                    let actions = sqlx::query(&format!("SELECT {ACTION_COLUMNS} FROM supplier_review_actions WHERE review_id = $1 ORDER BY id"))
                        .bind(id)
                        .fetch_all(&mut *conn)
                        .await?
                        .iter()
                        .map(action_row)
                        .collect::<Result<Vec<_>>>()?;
                    out.push(Review {
                        id,
                        supplier_id: r.try_get("supplier_id")?,
                        review_date: r.try_get("review_date")?,
                        period_start: r.try_get("period_start")?,
                        outcome: outcome.parse().map_err(StoreError::Corrupt)?,
                        notes: r.try_get("notes")?,
                        attendees: attendees.0,
                        weighted_score: weighted_total(&scores),
                        scores,
                        objective: objective.0,
                        evidence_id: r.try_get("evidence_id")?,
                        recorded_by: r.try_get("recorded_by")?,
                        created_at: r.try_get("created_at")?,
                        actions,
                    });
                }
                Ok(out)
            }

            async fn fetch(conn: &mut backend::Conn, id: i64) -> Result<Review> {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM supplier_reviews WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("supplier review"))?;
                Ok(assemble(conn, &[row]).await?.remove(0))
            }

            pub async fn create(pool: &Pool, actor: &Actor, input: &ReviewInput, period_start: NaiveDate, scores: &[Score], objective: &ObjectiveInputs, evidence_id: Option<i64>) -> Result<Review> {
                let mut tx = pool.begin_with($begin).await?;
                check_refs!(tx, input.actions.iter().map(|a| ("people", a.owner_person_id, "actions.owner_person_id")))?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO supplier_reviews (supplier_id, review_date, period_start, outcome, notes, attendees, objective, \
                     evidence_id, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(input.supplier_id)
                .bind(input.review_date)
                .bind(period_start)
                .bind(input.outcome.as_str())
                .bind(&input.notes)
                .bind(Json(&input.attendees))
                .bind(Json(objective))
                .bind(evidence_id)
                .bind(&actor.label)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                for s in scores {
                    sqlx::query("INSERT INTO supplier_review_scores (review_id, criterion, label, weight, score) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(&s.criterion)
                        .bind(&s.label)
                        .bind(s.weight)
                        .bind(s.score)
                        .execute(&mut *tx)
                        .await?;
                }
                for a in &input.actions {
                    insert_action(&mut tx, id, a, now).await?;
                }
                let created = fetch(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "supplier_review", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn insert_action(conn: &mut backend::Conn, review_id: i64, a: &ActionInput, now: DateTime<Utc>) -> Result<i64> {
                Ok(sqlx::query(
                    "INSERT INTO supplier_review_actions (review_id, title, owner_person_id, due_date, done, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(review_id)
                .bind(a.title.trim())
                .bind(a.owner_person_id)
                .bind(a.due_date)
                .bind(false)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?)
            }

            pub async fn get(pool: &Pool, id: i64) -> Result<Review> {
                fetch(&mut *pool.acquire().await?, id).await
            }

            pub async fn list(pool: &Pool, supplier_id: Option<i64>, page: PageRequest) -> Result<Page<Review>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {COLUMNS} FROM supplier_reviews WHERE 1 = 1"));
                if let Some(s) = supplier_id {
                    query.push(" AND supplier_id = ").push_bind(s);
                }
                if let Some(after) = page.after {
                    query.push(" AND id > ").push_bind(after);
                }
                query.push(" ORDER BY id LIMIT ").push_bind(i64::from(page.limit) + 1);
                let mut conn = pool.acquire().await?;
                let rows = query.build().fetch_all(&mut *conn).await?;
                let items = assemble(&mut conn, &rows).await?;
                Ok(Page::from_rows(items, page.limit, |r| r.id))
            }

            /// Every review of a supplier, oldest first: the scorecard trend.
            pub async fn history(pool: &Pool, supplier_id: i64) -> Result<Vec<Review>> {
                let mut conn = pool.acquire().await?;
                let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM supplier_reviews WHERE supplier_id = $1 ORDER BY review_date, id"))
                    .bind(supplier_id)
                    .fetch_all(&mut *conn)
                    .await?;
                assemble(&mut conn, &rows).await
            }

            pub async fn add_action(pool: &Pool, actor: &Actor, review_id: i64, a: &ActionInput) -> Result<ActionItem> {
                let mut tx = pool.begin_with($begin).await?;
                fetch(&mut tx, review_id).await?;
                check_refs!(tx, [("people", a.owner_person_id, "owner_person_id")])?;
                let id = insert_action(&mut tx, review_id, a, backend::now()).await?;
                let row = sqlx::query(&format!("SELECT {ACTION_COLUMNS} FROM supplier_review_actions WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
                let created = action_row(&row)?;
                backend::audit(&mut tx, actor, "create", "supplier_review_action", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn set_action_done(pool: &Pool, actor: &Actor, id: i64, done: bool) -> Result<ActionItem> {
                let mut tx = pool.begin_with($begin).await?;
                let query = format!("SELECT {ACTION_COLUMNS} FROM supplier_review_actions WHERE id = $1");
                let before = action_row(&sqlx::query(&query).bind(id).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound("review action"))?)?;
                if before.done == done {
                    return Ok(before);
                }
                let (at, by) = if done { (Some(backend::now()), Some(actor.label.clone())) } else { (None, None) };
                sqlx::query("UPDATE supplier_review_actions SET done = $1, done_at = $2, done_by = $3 WHERE id = $4")
                    .bind(done)
                    .bind(at)
                    .bind(by)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = action_row(&sqlx::query(&query).bind(id).fetch_one(&mut *tx).await?)?;
                backend::audit(&mut tx, actor, "update", "supplier_review_action", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn last_review_before(pool: &Pool, supplier_id: i64, day: NaiveDate) -> Result<Option<NaiveDate>> {
                let row = sqlx::query("SELECT MAX(review_date) AS last FROM supplier_reviews WHERE supplier_id = $1 AND review_date < $2")
                    .bind(supplier_id)
                    .bind(day)
                    .fetch_one(pool)
                    .await?;
                Ok(row.try_get("last")?)
            }

            /// Each linked item with its relation, creation time and history.
            pub async fn linked_history(pool: &Pool, supplier_id: i64) -> Result<LinkedHistory> {
                let links = sqlx::query(
                    "SELECT l.item_id, l.relation, i.created_at, i.impact, i.urgency FROM supplier_backlog_links l \
                     JOIN backlog_items i ON i.id = l.item_id WHERE l.supplier_id = $1 ORDER BY l.item_id",
                )
                .bind(supplier_id)
                .fetch_all(pool)
                .await?;
                let history = sqlx::query(
                    "SELECT h.item_id, h.at, h.action, h.changes FROM backlog_history h \
                     WHERE h.item_id IN (SELECT item_id FROM supplier_backlog_links WHERE supplier_id = $1) ORDER BY h.id",
                )
                .bind(supplier_id)
                .fetch_all(pool)
                .await?;
                let mut by_item: BTreeMap<i64, Vec<(DateTime<Utc>, String, Value)>> = BTreeMap::new();
                for h in &history {
                    let changes: Json<Value> = h.try_get("changes")?;
                    by_item.entry(h.try_get("item_id")?).or_default().push((h.try_get("at")?, h.try_get("action")?, changes.0));
                }
                links
                    .iter()
                    .map(|l| {
                        let item: i64 = l.try_get("item_id")?;
                        Ok(LinkedItem {
                            id: item,
                            relation: l.try_get("relation")?,
                            created_at: l.try_get("created_at")?,
                            priority: opsward_core::priority::Priority::from_impact_urgency(l.try_get("impact")?, l.try_get("urgency")?),
                            history: by_item.get(&item).cloned().unwrap_or_default(),
                        })
                    })
                    .collect()
            }
        }
    };
}

reviews_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
reviews_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// The state changes of an item from its history: the state it was created in, then every
/// `update` that changed `state`.
fn state_changes(history: &[(DateTime<Utc>, String, Value)]) -> Vec<(DateTime<Utc>, String)> {
    history
        .iter()
        .filter_map(|(at, action, changes)| {
            let state = match action.as_str() {
                "create" => changes.get("state"),
                "update" => changes.get("state").and_then(|s| s.get("after")),
                _ => None,
            }?;
            Some((*at, state.as_str()?.to_string()))
        })
        .collect()
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

impl SupplierStore {
    pub async fn criteria(&self) -> Result<Vec<Criterion>> {
        on_backend!(&self.db, criteria())
    }

    pub async fn set_criteria(
        &self,
        actor: &Actor,
        criteria: &[Criterion],
    ) -> Result<Vec<Criterion>> {
        Criterion::validate_all(criteria)?;
        on_backend!(&self.db, set_criteria(actor, criteria))
    }

    /// The backlog numbers for a supplier over `[from, to]` (whole days).
    pub async fn objective_inputs(
        &self,
        supplier_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ObjectiveInputs> {
        let linked = on_backend!(&self.db, linked_history(supplier_id))?;
        let (start, end) = (day_start(from), day_start(to) + Duration::days(1));
        let mut out = ObjectiveInputs {
            period_start: from,
            period_end: to,
            ..ObjectiveInputs::default()
        };
        let mut waiting_seconds = 0;
        let mut counted_wait = std::collections::HashSet::new();
        let now = Utc::now();
        for LinkedItem {
            id: item,
            relation,
            created_at,
            priority,
            history,
        } in &linked
        {
            let changes = state_changes(history);
            let opened = *created_at >= start && *created_at < end;
            let resolved = resolved_within(&changes, start, end);
            match relation.parse::<LinkRelation>() {
                Ok(LinkRelation::CausedBy) => {
                    out.caused_opened += i64::from(opened);
                    out.caused_resolved += i64::from(resolved);
                }
                Ok(LinkRelation::WaitingOn) => {
                    out.waiting_opened += i64::from(opened);
                    out.waiting_resolved += i64::from(resolved);
                }
                Err(e) => return Err(StoreError::Corrupt(e)),
            }
            // An item linked both ways still waited only once.
            if counted_wait.insert(*item) {
                waiting_seconds +=
                    seconds_in_state(&changes, "waiting_supplier", start, end.min(now));
                if let Some(p) = priority {
                    let due = *created_at + Duration::days(p.resolution_target_days());
                    if target_missed_waiting(&changes, due, start, end.min(now)) {
                        out.targets_missed_while_waiting += 1;
                    }
                }
            }
        }
        out.hours_waiting_on_supplier = (waiting_seconds as f64 / 36.0).round() / 100.0;
        Ok(out)
    }

    /// Record a completed review: score it against the active criteria, take the backlog
    /// numbers for the period, and record it as evidence on the supplier's review occurrence.
    pub async fn record_review(&self, actor: &Actor, input: &ReviewInput) -> Result<Review> {
        input.validate()?;
        let supplier = self.get_supplier(input.supplier_id).await?;
        let scores = score_card(&self.criteria().await?, &input.scores)?;
        let period_start = match input.period_start {
            Some(p) => p,
            None => {
                match on_backend!(&self.db, last_review_before(supplier.id, input.review_date))? {
                    Some(last) => last,
                    None => crate::notice::shift_months(
                        input.review_date,
                        -(cadence_months(supplier.criticality) as i32),
                    ),
                }
            }
        };
        let objective = self
            .objective_inputs(supplier.id, period_start, input.review_date)
            .await?;
        let evidence_id = match supplier.review_activity_id {
            Some(activity) => Some(
                self.evidence_for(actor, activity, &supplier.name, input, &scores)
                    .await?,
            ),
            None => None,
        };
        on_backend!(
            &self.db,
            create(actor, input, period_start, &scores, &objective, evidence_id)
        )
    }

    /// Complete the review occurrence the review fulfils: the latest one on or before the
    /// review day, or the first one when the review comes before the schedule starts.
    async fn evidence_for(
        &self,
        actor: &Actor,
        activity_id: i64,
        supplier: &str,
        input: &ReviewInput,
        scores: &[Score],
    ) -> Result<i64> {
        let activity = self.ops.get_activity(activity_id).await?;
        // The review completes the scheduled review that had started by the end of its day
        // (or by now, for a review dated today): never a later one, which would mark work
        // that is not due yet as done.
        let day_after = day_start(input.review_date) + Duration::days(1);
        let by = day_after.min(Utc::now());
        let occurrence = self.ops.latest_started_occurrence(&activity, by).await?;
        let total = weighted_total(scores)
            .map(|t| format!("{t:.2}"))
            .unwrap_or_else(|| "-".into());
        let mut notes = format!(
            "Supplier review of {supplier} on {}: {}, weighted score {total}/5.",
            input.review_date, input.outcome
        );
        if !input.notes.trim().is_empty() {
            notes = format!("{notes}\n{}", input.notes);
        }
        let evidence = self
            .ops
            .complete(
                actor,
                activity_id,
                &EvidenceInput {
                    occurrence_at: occurrence,
                    result: input.outcome.evidence_result(),
                    notes,
                    links: Vec::new(),
                },
                &[],
            )
            .await?;
        Ok(evidence.id)
    }

    pub async fn get_review(&self, id: i64) -> Result<Review> {
        on_backend!(&self.db, get(id))
    }

    pub async fn list_reviews(
        &self,
        supplier_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<Review>> {
        on_backend!(&self.db, list(supplier_id, page))
    }

    /// A supplier's reviews, oldest first.
    pub async fn review_history(&self, supplier_id: i64) -> Result<Vec<Review>> {
        on_backend!(&self.db, history(supplier_id))
    }

    pub async fn add_action(
        &self,
        actor: &Actor,
        review_id: i64,
        input: &ActionInput,
    ) -> Result<ActionItem> {
        validate_action(input)?;
        on_backend!(&self.db, add_action(actor, review_id, input))
    }

    pub async fn set_action_done(&self, actor: &Actor, id: i64, done: bool) -> Result<ActionItem> {
        on_backend!(&self.db, set_action_done(actor, id, done))
    }
}
