//! Customer engagement tables on either backend: the same SQL on SQLite and PostgreSQL,
//! expanded once per backend. Every change writes an audit row in the same transaction.

use crate::model::*;
use chrono::{DateTime, Utc};
use opsward_core::{Actor, ValidationError};
use opsward_notify::Notification;
use opsward_store::{on_backend, Database, Store, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A survey decision to record: sent (no skip reason, with its expiry) or skipped.
#[derive(Debug, Clone, Copy)]
pub struct SurveyDecision<'a> {
    pub kind: SurveyKind,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub item_id: Option<i64>,
    pub skip_reason: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Defaults for a new installation: surveys go nowhere until a channel is chosen.
fn default_settings() -> SurveySettings {
    SurveySettings {
        channel_id: None,
        base_url: "http://127.0.0.1:8080".into(),
        csat_delay_minutes: 60,
        sampling_percent: 100,
        throttle_days: 30,
        link_valid_days: 14,
        nps_interval_days: 90,
        sampling_seed: "opsward".into(),
    }
}

macro_rules! customers_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const CUSTOMER_COLUMNS: &str = "id, name, notes, owner_team_id, owner_person_id, asset_ids, review_activity_id, created_at, updated_at";
            const CONTACT_COLUMNS: &str = "id, customer_id, name, email, role, surveys_opt_out, created_at";
            const SURVEY_COLUMNS: &str = "id, kind, customer_id, contact_id, item_id, state, skip_reason, created_at, expires_at, \
                answered_at, score, comment, followup_item_id";
            const REVIEW_COLUMNS: &str = "id, customer_id, period_start, period_end, held_on, attendees, notes, evidence_id, created_at";
            const ACTION_COLUMNS: &str = "id, review_id, title, owner_person_id, due_on, done_at, created_at";

            fn parse<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
                let text: String = row.try_get(column)?;
                text.parse().map_err(|_| StoreError::Corrupt(format!("{column} has unexpected value {text:?}")))
            }

            fn customer_row(row: &DbRow) -> Result<Customer> {
                let assets: Json<Vec<i64>> = row.try_get("asset_ids")?;
                Ok(Customer {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    notes: row.try_get("notes")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    asset_ids: assets.0,
                    review_activity_id: row.try_get("review_activity_id")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn contact_row(row: &DbRow) -> Result<Contact> {
                Ok(Contact {
                    id: row.try_get("id")?,
                    customer_id: row.try_get("customer_id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    role: row.try_get("role")?,
                    surveys_opt_out: row.try_get("surveys_opt_out")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            pub(crate) fn survey_row(row: &DbRow) -> Result<Survey> {
                Ok(Survey {
                    id: row.try_get("id")?,
                    kind: parse(row, "kind")?,
                    customer_id: row.try_get("customer_id")?,
                    contact_id: row.try_get("contact_id")?,
                    item_id: row.try_get("item_id")?,
                    state: parse(row, "state")?,
                    skip_reason: row.try_get("skip_reason")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    answered_at: row.try_get("answered_at")?,
                    score: row.try_get("score")?,
                    comment: row.try_get("comment")?,
                    followup_item_id: row.try_get("followup_item_id")?,
                })
            }

            fn action_row(row: &DbRow) -> Result<ReviewAction> {
                Ok(ReviewAction {
                    id: row.try_get("id")?,
                    review_id: row.try_get("review_id")?,
                    title: row.try_get("title")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    due_on: row.try_get("due_on")?,
                    done_at: row.try_get("done_at")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            async fn check_refs(conn: &mut backend::Conn, refs: &[(&str, Option<i64>, &str)]) -> Result<()> {
                for (table, id, field) in refs {
                    if let Some(id) = id {
                        let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
                        if found.is_none() {
                            return Err(ValidationError::single(field, format!("{id} does not exist")).into());
                        }
                    }
                }
                Ok(())
            }

            async fn customer_refs(conn: &mut backend::Conn, input: &CustomerInput) -> Result<()> {
                let mut refs = vec![("teams", input.owner_team_id, "owner_team_id"), ("people", input.owner_person_id, "owner_person_id")];
                refs.extend(input.asset_ids.iter().map(|a| ("assets", Some(*a), "asset_ids")));
                check_refs(conn, &refs).await
            }

            async fn fetch_customer(conn: &mut backend::Conn, id: i64) -> Result<Customer> {
                let row = sqlx::query(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("customer"))?;
                customer_row(&row)
            }

            pub async fn create_customer(pool: &Pool, actor: &Actor, input: &CustomerInput) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                customer_refs(&mut tx, input).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO customers (name, notes, owner_team_id, owner_person_id, asset_ids, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(&input.name)
                .bind(&input.notes)
                .bind(input.owner_team_id)
                .bind(input.owner_person_id)
                .bind(Json(&input.asset_ids))
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "customer", Some(id), None, serde_json::to_value(&created).ok()).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn update_customer(pool: &Pool, actor: &Actor, id: i64, input: &CustomerInput) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_customer(&mut tx, id).await?;
                customer_refs(&mut tx, input).await?;
                sqlx::query(
                    "UPDATE customers SET name = $1, notes = $2, owner_team_id = $3, owner_person_id = $4, asset_ids = $5, updated_at = $6 WHERE id = $7",
                )
                .bind(&input.name)
                .bind(&input.notes)
                .bind(input.owner_team_id)
                .bind(input.owner_person_id)
                .bind(Json(&input.asset_ids))
                .bind(backend::now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "customer", Some(id), serde_json::to_value(&before).ok(), serde_json::to_value(&after).ok()).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn set_review_activity(pool: &Pool, actor: &Actor, id: i64, activity_id: i64) -> Result<Customer> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, id).await?;
                sqlx::query("UPDATE customers SET review_activity_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(activity_id)
                    .bind(backend::now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch_customer(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "schedule_review", "customer", Some(id), None, Some(serde_json::json!({"activity_id": activity_id}))).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn get_customer(pool: &Pool, id: i64) -> Result<Customer> {
                let mut conn = pool.acquire().await?;
                fetch_customer(&mut conn, id).await
            }

            pub async fn list_customers(pool: &Pool) -> Result<Vec<Customer>> {
                sqlx::query(&format!("SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY name, id"))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(customer_row)
                    .collect()
            }

            pub async fn add_contact(pool: &Pool, actor: &Actor, customer_id: i64, input: &ContactInput) -> Result<Contact> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, customer_id).await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO customer_contacts (customer_id, name, email, role, surveys_opt_out, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CONTACT_COLUMNS}"
                ))
                .bind(customer_id)
                .bind(&input.name)
                .bind(&input.email)
                .bind(&input.role)
                .bind(input.surveys_opt_out)
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?;
                let contact = contact_row(&row)?;
                backend::audit(&mut tx, actor, "create", "customer_contact", Some(contact.id), None, serde_json::to_value(&contact).ok()).await?;
                tx.commit().await?;
                Ok(contact)
            }

            pub async fn contacts(pool: &Pool, customer_id: i64) -> Result<Vec<Contact>> {
                sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE customer_id = $1 ORDER BY name, id"))
                    .bind(customer_id)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(contact_row)
                    .collect()
            }

            pub async fn get_contact(pool: &Pool, id: i64) -> Result<Contact> {
                let row = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM customer_contacts WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("contact"))?;
                contact_row(&row)
            }

            pub async fn link_item(pool: &Pool, actor: &Actor, link: &ItemLink) -> Result<ItemLink> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, link.customer_id).await?;
                check_refs(&mut tx, &[("backlog_items", Some(link.item_id), "item_id")]).await?;
                if let Some(contact_id) = link.contact_id {
                    let owner: Option<i64> = sqlx::query("SELECT customer_id FROM customer_contacts WHERE id = $1")
                        .bind(contact_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("customer_id"))
                        .transpose()?;
                    if owner != Some(link.customer_id) {
                        return Err(ValidationError::single("contact_id", format!("{contact_id} is not a contact of customer {}", link.customer_id)).into());
                    }
                }
                sqlx::query(
                    "INSERT INTO customer_items (item_id, customer_id, contact_id, linked_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (item_id) DO UPDATE SET customer_id = excluded.customer_id, contact_id = excluded.contact_id, linked_at = excluded.linked_at",
                )
                .bind(link.item_id)
                .bind(link.customer_id)
                .bind(link.contact_id)
                .bind(backend::now())
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "link_item", "customer", Some(link.customer_id), None, serde_json::to_value(link).ok()).await?;
                tx.commit().await?;
                Ok(link.clone())
            }

            /// Items the customer raised, with when they were created and their state.
            pub async fn items_of(pool: &Pool, customer_id: i64) -> Result<Vec<(i64, String, String, DateTime<Utc>, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT b.id, b.title, b.state, b.created_at, b.updated_at FROM customer_items ci \
                     JOIN backlog_items b ON b.id = ci.item_id WHERE ci.customer_id = $1 ORDER BY b.id",
                )
                .bind(customer_id)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("title")?, r.try_get("state")?, r.try_get("created_at")?, r.try_get("updated_at")?)))
                    .collect()
            }

            pub async fn settings(pool: &Pool) -> Result<(SurveySettings, Vec<u8>)> {
                let read = |row: &DbRow| -> Result<(SurveySettings, Vec<u8>)> {
                    let key: String = row.try_get("signing_key")?;
                    let key = hex::decode(&key).map_err(|_| StoreError::Corrupt("survey signing key".into()))?;
                    Ok((
                        SurveySettings {
                            channel_id: row.try_get("channel_id")?,
                            base_url: row.try_get("base_url")?,
                            csat_delay_minutes: row.try_get("csat_delay_minutes")?,
                            sampling_percent: row.try_get("sampling_percent")?,
                            throttle_days: row.try_get("throttle_days")?,
                            link_valid_days: row.try_get("link_valid_days")?,
                            nps_interval_days: row.try_get("nps_interval_days")?,
                            sampling_seed: row.try_get("sampling_seed")?,
                        },
                        key,
                    ))
                };
                const SELECT: &str = "SELECT channel_id, base_url, csat_delay_minutes, sampling_percent, throttle_days, link_valid_days, \
                    nps_interval_days, sampling_seed, signing_key FROM survey_settings WHERE id = 1";
                if let Some(row) = sqlx::query(SELECT).fetch_optional(pool).await? {
                    return read(&row);
                }
                // First use: a random signing key. Two servers racing here both insert; the
                // loser's row is ignored and both read the winner's key.
                let d = default_settings();
                let key: [u8; 32] = rand::random();
                sqlx::query(
                    "INSERT INTO survey_settings (id, channel_id, base_url, csat_delay_minutes, sampling_percent, throttle_days, \
                     link_valid_days, nps_interval_days, sampling_seed, signing_key, updated_at) \
                     VALUES (1, NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&d.base_url)
                .bind(d.csat_delay_minutes)
                .bind(d.sampling_percent)
                .bind(d.throttle_days)
                .bind(d.link_valid_days)
                .bind(d.nps_interval_days)
                .bind(&d.sampling_seed)
                .bind(hex::encode(key))
                .bind(backend::now())
                .execute(pool)
                .await?;
                read(&sqlx::query(SELECT).fetch_one(pool).await?)
            }

            pub async fn save_settings(pool: &Pool, actor: &Actor, s: &SurveySettings) -> Result<SurveySettings> {
                settings(pool).await?;
                let mut tx = pool.begin_with($begin).await?;
                if let Some(channel_id) = s.channel_id {
                    let kind: Option<String> = sqlx::query("SELECT kind FROM notification_channels WHERE id = $1")
                        .bind(channel_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(|r| r.try_get("kind"))
                        .transpose()?;
                    match kind.as_deref() {
                        Some("email") => {}
                        Some(other) => return Err(ValidationError::single("channel_id", format!("channel {channel_id} is a {other} channel; surveys need an email channel")).into()),
                        None => return Err(ValidationError::single("channel_id", format!("{channel_id} does not exist")).into()),
                    }
                }
                sqlx::query(
                    "UPDATE survey_settings SET channel_id = $1, base_url = $2, csat_delay_minutes = $3, sampling_percent = $4, \
                     throttle_days = $5, link_valid_days = $6, nps_interval_days = $7, sampling_seed = $8, updated_at = $9 WHERE id = 1",
                )
                .bind(s.channel_id)
                .bind(s.base_url.trim_end_matches('/'))
                .bind(s.csat_delay_minutes)
                .bind(s.sampling_percent)
                .bind(s.throttle_days)
                .bind(s.link_valid_days)
                .bind(s.nps_interval_days)
                .bind(&s.sampling_seed)
                .bind(backend::now())
                .execute(&mut *tx)
                .await?;
                backend::audit(&mut tx, actor, "update", "survey_settings", None, None, serde_json::to_value(s).ok()).await?;
                tx.commit().await?;
                Ok(settings(pool).await?.0)
            }

            /// Resolved or closed items raised by a customer, untouched since `resolved_before`,
            /// that have had no CSAT decision yet: (item, customer, contact).
            pub async fn csat_candidates(pool: &Pool, resolved_before: DateTime<Utc>) -> Result<Vec<(i64, i64, Option<i64>)>> {
                let rows = sqlx::query(
                    "SELECT ci.item_id, ci.customer_id, ci.contact_id FROM customer_items ci JOIN backlog_items b ON b.id = ci.item_id \
                     WHERE b.state IN ('resolved', 'closed') AND b.updated_at <= $1 \
                     AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.kind = 'csat' AND s.item_id = ci.item_id) ORDER BY ci.item_id",
                )
                .bind(resolved_before)
                .fetch_all(pool)
                .await?;
                rows.iter().map(|r| Ok((r.try_get("item_id")?, r.try_get("customer_id")?, r.try_get("contact_id")?))).collect()
            }

            /// Contacts who have had no NPS decision since `since`.
            pub async fn nps_due(pool: &Pool, since: DateTime<Utc>) -> Result<Vec<Contact>> {
                sqlx::query(&format!(
                    "SELECT {CONTACT_COLUMNS} FROM customer_contacts c WHERE NOT EXISTS \
                     (SELECT 1 FROM surveys s WHERE s.kind = 'nps' AND s.contact_id = c.id AND s.created_at > $1) ORDER BY c.id"
                ))
                .bind(since)
                .fetch_all(pool)
                .await?
                .iter()
                .map(contact_row)
                .collect()
            }

            pub async fn last_sent_to(pool: &Pool, contact_id: i64) -> Result<Option<DateTime<Utc>>> {
                let row = sqlx::query("SELECT MAX(created_at) AS last FROM surveys WHERE contact_id = $1 AND state IN ('sent', 'answered')")
                    .bind(contact_id)
                    .fetch_one(pool)
                    .await?;
                Ok(row.try_get::<Option<DateTime<Utc>>, _>("last")?)
            }

            /// Record a survey decision. When `send` carries a channel and a message builder,
            /// the survey and its outbox message are written in one transaction, so a
            /// survey is never recorded as sent without its email being queued.
            pub async fn record_survey(
                pool: &Pool,
                d: &SurveyDecision<'_>,
                send: Option<(i64, &(dyn Fn(i64) -> Notification + Sync))>,
                now: DateTime<Utc>,
            ) -> Result<Survey> {
                let mut tx = pool.begin_with($begin).await?;
                let SurveyDecision { kind, customer_id, contact_id, item_id, skip_reason, expires_at } = *d;
                let state = if skip_reason.is_some() { SurveyState::Skipped } else { SurveyState::Sent };
                let row = sqlx::query(&format!(
                    "INSERT INTO surveys (kind, customer_id, contact_id, item_id, state, skip_reason, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SURVEY_COLUMNS}"
                ))
                .bind(kind.as_str())
                .bind(customer_id)
                .bind(contact_id)
                .bind(item_id)
                .bind(state.as_str())
                .bind(skip_reason)
                .bind(now)
                .bind(expires_at)
                .fetch_one(&mut *tx)
                .await?;
                let survey = survey_row(&row)?;
                if let (Some((channel_id, build)), None) = (send, skip_reason) {
                    let notification = build(survey.id);
                    // A direct message: no rule, one recipient. The delivery worker treats it
                    // like any other outbox row (lease, retries, backoff).
                    sqlx::query(
                        "INSERT INTO notification_outbox (rule_id, channel_id, dedupe_key, event, payload, state, attempts, next_attempt_at, created_at) \
                         VALUES (NULL, $1, $2, $3, $4, 'pending', 0, $5, $5)",
                    )
                    .bind(channel_id)
                    .bind(format!("survey:{}", survey.id))
                    .bind(&notification.event)
                    .bind(Json(&notification))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                backend::audit(&mut tx, &Actor::system("surveys"), "record", "survey", Some(survey.id), None, serde_json::to_value(&survey).ok()).await?;
                tx.commit().await?;
                Ok(survey)
            }

            pub async fn get_survey(pool: &Pool, id: i64) -> Result<Survey> {
                let row = sqlx::query(&format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("survey"))?;
                survey_row(&row)
            }

            /// Store an answer if the survey is still waiting for one and has not expired;
            /// `None` otherwise. The condition is in the UPDATE itself, so two answers racing
            /// through the same link cannot both land.
            pub async fn answer_survey(pool: &Pool, id: i64, score: i32, comment: &str, now: DateTime<Utc>) -> Result<Option<Survey>> {
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query(&format!(
                    "UPDATE surveys SET state = 'answered', score = $1, comment = $2, answered_at = $3 \
                     WHERE id = $4 AND state = 'sent' AND expires_at > $3 RETURNING {SURVEY_COLUMNS}"
                ))
                .bind(score)
                .bind(comment)
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let survey = survey_row(&row)?;
                backend::audit(&mut tx, &Actor::system("survey-link"), "answer", "survey", Some(id), None, Some(serde_json::json!({"score": score}))).await?;
                tx.commit().await?;
                Ok(Some(survey))
            }

            pub async fn set_followup(pool: &Pool, survey_id: i64, item_id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query("UPDATE surveys SET followup_item_id = $1 WHERE id = $2")
                    .bind(item_id)
                    .bind(survey_id)
                    .execute(&mut *tx)
                    .await?;
                backend::audit(&mut tx, &Actor::system("surveys"), "followup", "survey", Some(survey_id), None, Some(serde_json::json!({"item_id": item_id}))).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Answered surveys, optionally of one customer, answered at or after `since`,
            /// newest first; and, with `state`, surveys in that state.
            pub async fn surveys(pool: &Pool, customer_id: Option<i64>, state: Option<SurveyState>, since: Option<DateTime<Utc>>, limit: i64) -> Result<Vec<Survey>> {
                let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {SURVEY_COLUMNS} FROM surveys WHERE 1 = 1"));
                if let Some(c) = customer_id {
                    query.push(" AND customer_id = ").push_bind(c);
                }
                if let Some(s) = state {
                    query.push(" AND state = ").push_bind(s.as_str());
                }
                if let Some(t) = since {
                    query.push(" AND created_at >= ").push_bind(t);
                }
                query.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit);
                query.build().fetch_all(pool).await?.iter().map(survey_row).collect()
            }

            pub async fn create_review(pool: &Pool, actor: &Actor, customer_id: i64, input: &ReviewInput, evidence_id: Option<i64>) -> Result<ServiceReview> {
                let mut tx = pool.begin_with($begin).await?;
                fetch_customer(&mut tx, customer_id).await?;
                let refs: Vec<_> = input.actions.iter().map(|a| ("people", a.owner_person_id, "actions.owner_person_id")).collect();
                check_refs(&mut tx, &refs).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO service_reviews (customer_id, period_start, period_end, held_on, attendees, notes, evidence_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(customer_id)
                .bind(input.period_start)
                .bind(input.period_end)
                .bind(input.held_on)
                .bind(Json(&input.attendees))
                .bind(&input.notes)
                .bind(evidence_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                for a in &input.actions {
                    sqlx::query("INSERT INTO review_actions (review_id, title, owner_person_id, due_on, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(id)
                        .bind(&a.title)
                        .bind(a.owner_person_id)
                        .bind(a.due_on)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let review = fetch_review(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "service_review", Some(id), None, serde_json::to_value(&review).ok()).await?;
                tx.commit().await?;
                Ok(review)
            }

            async fn fetch_review(conn: &mut backend::Conn, id: i64) -> Result<ServiceReview> {
                let row = sqlx::query(&format!("SELECT {REVIEW_COLUMNS} FROM service_reviews WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("service review"))?;
                let actions = sqlx::query(&format!("SELECT {ACTION_COLUMNS} FROM review_actions WHERE review_id = $1 ORDER BY id"))
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(action_row)
                    .collect::<Result<Vec<_>>>()?;
                let attendees: Json<Vec<String>> = row.try_get("attendees")?;
                Ok(ServiceReview {
                    id,
                    customer_id: row.try_get("customer_id")?,
                    period_start: row.try_get("period_start")?,
                    period_end: row.try_get("period_end")?,
                    held_on: row.try_get("held_on")?,
                    attendees: attendees.0,
                    notes: row.try_get("notes")?,
                    evidence_id: row.try_get("evidence_id")?,
                    created_at: row.try_get("created_at")?,
                    actions,
                })
            }

            pub async fn get_review(pool: &Pool, id: i64) -> Result<ServiceReview> {
                let mut conn = pool.acquire().await?;
                fetch_review(&mut conn, id).await
            }

            pub async fn reviews(pool: &Pool, customer_id: i64) -> Result<Vec<ServiceReview>> {
                let mut conn = pool.acquire().await?;
                let ids: Vec<i64> = sqlx::query("SELECT id FROM service_reviews WHERE customer_id = $1 ORDER BY held_on DESC, id DESC")
                    .bind(customer_id)
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| r.try_get("id"))
                    .collect::<Result<_, _>>()?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.push(fetch_review(&mut conn, id).await?);
                }
                Ok(out)
            }

            pub async fn set_action_done(pool: &Pool, actor: &Actor, action_id: i64, done: bool) -> Result<ReviewAction> {
                let mut tx = pool.begin_with($begin).await?;
                let done_at = done.then(backend::now);
                let row = sqlx::query(&format!("UPDATE review_actions SET done_at = $1 WHERE id = $2 RETURNING {ACTION_COLUMNS}"))
                    .bind(done_at)
                    .bind(action_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("review action"))?;
                let action = action_row(&row)?;
                backend::audit(&mut tx, actor, if done { "done" } else { "reopen" }, "review_action", Some(action_id), None, serde_json::to_value(&action).ok()).await?;
                tx.commit().await?;
                Ok(action)
            }
        }
    };
}

customers_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
customers_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// Customer engagement storage, next to the foundation store on the same database.
#[derive(Clone)]
pub struct CustomersStore {
    db: Database,
}

impl CustomersStore {
    pub fn new(store: &dyn Store) -> Self {
        CustomersStore {
            db: store.database(),
        }
    }

    pub async fn create_customer(&self, actor: &Actor, input: &CustomerInput) -> Result<Customer> {
        input.validate()?;
        on_backend!(&self.db, create_customer(actor, input))
    }
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: i64,
        input: &CustomerInput,
    ) -> Result<Customer> {
        input.validate()?;
        on_backend!(&self.db, update_customer(actor, id, input))
    }
    pub async fn set_review_activity(
        &self,
        actor: &Actor,
        id: i64,
        activity_id: i64,
    ) -> Result<Customer> {
        on_backend!(&self.db, set_review_activity(actor, id, activity_id))
    }
    pub async fn customer(&self, id: i64) -> Result<Customer> {
        on_backend!(&self.db, get_customer(id))
    }
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        on_backend!(&self.db, list_customers())
    }
    pub async fn add_contact(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &ContactInput,
    ) -> Result<Contact> {
        input.validate()?;
        on_backend!(&self.db, add_contact(actor, customer_id, input))
    }
    pub async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        on_backend!(&self.db, contacts(customer_id))
    }
    pub async fn contact(&self, id: i64) -> Result<Contact> {
        on_backend!(&self.db, get_contact(id))
    }
    pub async fn link_item(&self, actor: &Actor, link: &ItemLink) -> Result<ItemLink> {
        on_backend!(&self.db, link_item(actor, link))
    }
    /// (id, title, state, created, last changed) of the items a customer raised.
    pub async fn items_of(
        &self,
        customer_id: i64,
    ) -> Result<Vec<(i64, String, String, DateTime<Utc>, DateTime<Utc>)>> {
        on_backend!(&self.db, items_of(customer_id))
    }
    /// The survey settings and the link signing key, created on first use.
    pub async fn settings(&self) -> Result<(SurveySettings, Vec<u8>)> {
        on_backend!(&self.db, settings())
    }
    pub async fn save_settings(
        &self,
        actor: &Actor,
        settings: &SurveySettings,
    ) -> Result<SurveySettings> {
        settings.validate()?;
        on_backend!(&self.db, save_settings(actor, settings))
    }
    pub async fn csat_candidates(
        &self,
        resolved_before: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, Option<i64>)>> {
        on_backend!(&self.db, csat_candidates(resolved_before))
    }
    pub async fn nps_due(&self, since: DateTime<Utc>) -> Result<Vec<Contact>> {
        on_backend!(&self.db, nps_due(since))
    }
    pub async fn last_sent_to(&self, contact_id: i64) -> Result<Option<DateTime<Utc>>> {
        on_backend!(&self.db, last_sent_to(contact_id))
    }
    pub async fn record_survey(
        &self,
        decision: &SurveyDecision<'_>,
        send: Option<(i64, &(dyn Fn(i64) -> Notification + Sync))>,
        now: DateTime<Utc>,
    ) -> Result<Survey> {
        on_backend!(&self.db, record_survey(decision, send, now))
    }
    pub async fn survey(&self, id: i64) -> Result<Survey> {
        on_backend!(&self.db, get_survey(id))
    }
    pub async fn answer_survey(
        &self,
        id: i64,
        score: i32,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Survey>> {
        on_backend!(&self.db, answer_survey(id, score, comment, now))
    }
    pub async fn set_followup(&self, survey_id: i64, item_id: i64) -> Result<()> {
        on_backend!(&self.db, set_followup(survey_id, item_id))
    }
    pub async fn surveys(
        &self,
        customer_id: Option<i64>,
        state: Option<SurveyState>,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<Survey>> {
        on_backend!(&self.db, surveys(customer_id, state, since, limit))
    }
    pub async fn create_review(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: &ReviewInput,
        evidence_id: Option<i64>,
    ) -> Result<ServiceReview> {
        input.validate()?;
        on_backend!(
            &self.db,
            create_review(actor, customer_id, input, evidence_id)
        )
    }
    pub async fn review(&self, id: i64) -> Result<ServiceReview> {
        on_backend!(&self.db, get_review(id))
    }
    pub async fn reviews(&self, customer_id: i64) -> Result<Vec<ServiceReview>> {
        on_backend!(&self.db, reviews(customer_id))
    }
    pub async fn set_action_done(
        &self,
        actor: &Actor,
        action_id: i64,
        done: bool,
    ) -> Result<ReviewAction> {
        on_backend!(&self.db, set_action_done(actor, action_id, done))
    }
}
