//! Survey storage: the settings (with the link signing key), every survey decision, and
//! answers. A sent survey and its outbox message are written in one transaction.

use crate::{model::*, store::CustomersStore};
use chrono::{DateTime, Utc};
use opsward_core::{Actor, ValidationError};
use opsward_notify::Notification;
use opsward_store::{on_backend, StoreError};

type Result<T, E = StoreError> = std::result::Result<T, E>;

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

macro_rules! surveys_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use crate::store::$module::{contact_row, survey_row, CONTACT_COLUMNS, SURVEY_COLUMNS};
            use sqlx::{types::Json, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

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

            /// Low answers without their follow-up item, oldest first: only those, so none is
            /// crowded out by the many answers that need nothing.
            pub async fn low_without_followup(pool: &Pool, limit: i64) -> Result<Vec<Survey>> {
                sqlx::query(&format!(
                    "SELECT {SURVEY_COLUMNS} FROM surveys WHERE state = 'answered' AND followup_item_id IS NULL \
                     AND ((kind = 'csat' AND score <= $1) OR (kind = 'nps' AND score <= $2)) ORDER BY id LIMIT $3"
                ))
                .bind(crate::score::CSAT_LOW_MAX)
                .bind(crate::score::NPS_LOW_MAX)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(survey_row)
                .collect()
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

        }
    };
}

surveys_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
surveys_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

impl CustomersStore {
    /// Low answers whose follow-up item is missing, oldest first.
    pub async fn low_without_followup(&self, limit: i64) -> Result<Vec<Survey>> {
        on_backend!(&self.db, low_without_followup(limit))
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
}
