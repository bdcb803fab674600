//! Notification tables on either backend (same SQL, expanded per backend as in
//! `crate::store`).

use super::{rules, Channel, Event, OutboxEntry, QuietHours, Rule, RuleInput};
use chrono::{DateTime, Utc};
use opsward_core::{Actor, ValidationError};
use opsward_notify::{ChannelConfig, Notification};
use opsward_store::{on_backend, Database, Store, StoreError};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A claimed outbox row with what is needed to send it.
pub struct Claimed {
    pub entry: OutboxEntry,
    pub notification: Notification,
    pub channel: ChannelConfig,
}

/// What waits in the outbox: messages still to send, digest rows waiting for their digest,
/// and messages given up on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub digest: i64,
    pub dead: i64,
    /// When the oldest message still to send was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

macro_rules! notify_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr, $lock:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use serde_json::Value;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const RULE_COLUMNS: &str = "id, name, channel_id, user_id, events, practice, min_severity, owner_team_id, owner_person_id, digest, \
                quiet_start, quiet_end, timezone, enabled";
            const OUTBOX_COLUMNS: &str = "id, rule_id, channel_id, dedupe_key, event, payload, state, attempts, next_attempt_at, \
                last_error, created_at, delivered_at";

            fn corrupt(what: &str) -> StoreError {
                StoreError::Corrupt(what.to_string())
            }

            fn channel_row(row: &DbRow) -> Result<(Channel, ChannelConfig)> {
                let config: Json<ChannelConfig> = row.try_get("config")?;
                let channel = Channel {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    kind: config.0.kind().to_string(),
                    target: config.0.target(),
                    enabled: row.try_get("enabled")?,
                    created_at: row.try_get("created_at")?,
                };
                Ok((channel, config.0))
            }

            fn rule_row(row: &DbRow) -> Result<Rule> {
                let events: Json<Vec<String>> = row.try_get("events")?;
                let practice: Option<String> = row.try_get("practice")?;
                let severity: String = row.try_get("min_severity")?;
                let start: Option<String> = row.try_get("quiet_start")?;
                let end: Option<String> = row.try_get("quiet_end")?;
                let timezone: String = row.try_get("timezone")?;
                Ok(Rule {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    channel_id: row.try_get("channel_id")?,
                    user_id: row.try_get("user_id")?,
                    events: events.0,
                    practice: practice.map(|p| p.parse()).transpose().map_err(|_| corrupt("rule practice"))?,
                    min_severity: severity.parse().map_err(|_| corrupt("rule severity"))?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    digest: row.try_get("digest")?,
                    quiet_hours: start.zip(end).map(|(start, end)| QuietHours { start, end, timezone }),
                    enabled: row.try_get("enabled")?,
                })
            }

            fn outbox_row(row: &DbRow) -> Result<(OutboxEntry, Notification)> {
                let payload: Json<Notification> = row.try_get("payload")?;
                let entry = OutboxEntry {
                    id: row.try_get("id")?,
                    rule_id: row.try_get("rule_id")?,
                    channel_id: row.try_get("channel_id")?,
                    dedupe_key: row.try_get("dedupe_key")?,
                    event: row.try_get("event")?,
                    subject: payload.0.subject.clone(),
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at: row.try_get("next_attempt_at")?,
                    last_error: row.try_get("last_error")?,
                    created_at: row.try_get("created_at")?,
                    delivered_at: row.try_get("delivered_at")?,
                };
                Ok((entry, payload.0))
            }

            fn json<T: serde::Serialize>(v: &T) -> Option<Value> {
                serde_json::to_value(v).ok()
            }

            pub async fn create_channel(pool: &Pool, actor: &Actor, name: &str, config: &ChannelConfig) -> Result<Channel> {
                let mut tx = pool.begin_with($begin).await?;
                let now = backend::now();
                let row = sqlx::query(
                    "INSERT INTO notification_channels (name, kind, config, enabled, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, name, config, enabled, created_at",
                )
                .bind(name)
                .bind(config.kind())
                .bind(Json(config))
                .bind(true)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let (channel, _) = channel_row(&row)?;
                // The audit row names the channel, never its credentials.
                backend::audit(&mut tx, actor, "create", "notification_channel", Some(channel.id), None, json(&channel)).await?;
                tx.commit().await?;
                Ok(channel)
            }

            pub async fn list_channels(pool: &Pool) -> Result<Vec<(Channel, ChannelConfig)>> {
                sqlx::query("SELECT id, name, config, enabled, created_at FROM notification_channels ORDER BY name")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(channel_row)
                    .collect()
            }

            pub async fn get_channel(pool: &Pool, id: i64) -> Result<(Channel, ChannelConfig)> {
                let row = sqlx::query("SELECT id, name, config, enabled, created_at FROM notification_channels WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("notification channel"))?;
                channel_row(&row)
            }

            pub async fn set_channel_enabled(pool: &Pool, actor: &Actor, id: i64, enabled: bool) -> Result<Channel> {
                let mut tx = pool.begin_with($begin).await?;
                let done = sqlx::query("UPDATE notification_channels SET enabled = $1, updated_at = $2 WHERE id = $3")
                    .bind(enabled)
                    .bind(backend::now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("notification channel"));
                }
                let row = sqlx::query("SELECT id, name, config, enabled, created_at FROM notification_channels WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
                let (channel, _) = channel_row(&row)?;
                backend::audit(&mut tx, actor, "update", "notification_channel", Some(id), None, json(&channel)).await?;
                tx.commit().await?;
                Ok(channel)
            }

            pub async fn delete_channel(pool: &Pool, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let done = sqlx::query("DELETE FROM notification_channels WHERE id = $1").bind(id).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("notification channel"));
                }
                backend::audit(&mut tx, actor, "delete", "notification_channel", Some(id), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn create_rule(pool: &Pool, actor: &Actor, user_id: Option<i64>, input: &RuleInput) -> Result<Rule> {
                let mut tx = pool.begin_with($begin).await?;
                if sqlx::query("SELECT id FROM notification_channels WHERE id = $1").bind(input.channel_id).fetch_optional(&mut *tx).await?.is_none() {
                    return Err(ValidationError::single("channel_id", "no such channel").into());
                }
                let now = backend::now();
                let quiet = input.quiet_hours.as_ref();
                let row = sqlx::query(&format!(
                    "INSERT INTO notification_rules (name, channel_id, user_id, events, practice, min_severity, owner_team_id, digest, \
                     quiet_start, quiet_end, timezone, enabled, created_at, updated_at, owner_person_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING {RULE_COLUMNS}"
                ))
                .bind(&input.name)
                .bind(input.channel_id)
                .bind(user_id)
                .bind(Json(&input.events))
                .bind(input.practice.map(|p| p.as_str()))
                .bind(input.min_severity.as_str())
                .bind(input.owner_team_id)
                .bind(input.digest)
                .bind(quiet.map(|q| q.start.clone()))
                .bind(quiet.map(|q| q.end.clone()))
                .bind(quiet.map_or("UTC".to_string(), |q| q.timezone.clone()))
                .bind(input.enabled)
                .bind(now)
                .bind(input.owner_person_id)
                .fetch_one(&mut *tx)
                .await?;
                let rule = rule_row(&row)?;
                backend::audit(&mut tx, actor, "create", "notification_rule", Some(rule.id), None, json(&rule)).await?;
                tx.commit().await?;
                Ok(rule)
            }

            pub async fn list_rules(pool: &Pool) -> Result<Vec<Rule>> {
                sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM notification_rules ORDER BY id")).fetch_all(pool).await?.iter().map(rule_row).collect()
            }

            pub async fn get_rule(pool: &Pool, id: i64) -> Result<Rule> {
                let row = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("notification rule"))?;
                rule_row(&row)
            }

            pub async fn delete_rule(pool: &Pool, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let row = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("notification rule"))?;
                let before = rule_row(&row)?;
                sqlx::query("DELETE FROM notification_rules WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "notification_rule", Some(id), json(&before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Match `event` against every rule and queue one message per rule that has not
            /// been told about this subject in this state, in one transaction.
            pub async fn emit(pool: &Pool, event: &Event, notification: &Notification, now: DateTime<Utc>) -> Result<Vec<i64>> {
                let mut tx = pool.begin_with($begin).await?;
                let rules = sqlx::query(&format!("SELECT {RULE_COLUMNS} FROM notification_rules WHERE enabled = $1 ORDER BY id"))
                    .bind(true)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(rule_row)
                    .collect::<Result<Vec<_>>>()?;
                let mut queued = Vec::new();
                for rule in rules.iter().filter(|r| rules::matches(r, event)) {
                    let seen = sqlx::query("SELECT state, snoozed_until FROM notification_state WHERE dedupe_key = $1 AND rule_id = $2")
                        .bind(&event.dedupe_key)
                        .bind(rule.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some(seen) = seen {
                        let state: String = seen.try_get("state")?;
                        let snoozed: Option<DateTime<Utc>> = seen.try_get("snoozed_until")?;
                        if state == event.state || snoozed.is_some_and(|s| s > now) {
                            continue;
                        }
                    }
                    sqlx::query(
                        "INSERT INTO notification_state (dedupe_key, rule_id, state, notified_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (dedupe_key, rule_id) DO UPDATE SET state = excluded.state, notified_at = excluded.notified_at",
                    )
                    .bind(&event.dedupe_key)
                    .bind(rule.id)
                    .bind(&event.state)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let next = rule.quiet_hours.as_ref().map_or(now, |q| super::super::quiet_hours_end(q, now));
                    let state = if rule.digest { "digest" } else { "pending" };
                    let id: i64 = sqlx::query(
                        "INSERT INTO notification_outbox (rule_id, channel_id, dedupe_key, event, payload, state, attempts, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) RETURNING id",
                    )
                    .bind(rule.id)
                    .bind(rule.channel_id)
                    .bind(&event.dedupe_key)
                    .bind(&event.kind)
                    .bind(Json(notification))
                    .bind(state)
                    .bind(next)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    queued.push(id);
                }
                tx.commit().await?;
                Ok(queued)
            }

            /// Keep a subject quiet on every rule until `until`.
            pub async fn snooze(pool: &Pool, actor: &Actor, dedupe_key: &str, until: DateTime<Utc>) -> Result<u64> {
                let mut tx = pool.begin_with($begin).await?;
                let done = sqlx::query("UPDATE notification_state SET snoozed_until = $1 WHERE dedupe_key = $2")
                    .bind(until)
                    .bind(dedupe_key)
                    .execute(&mut *tx)
                    .await?;
                backend::audit(&mut tx, actor, "snooze", "notification", None, None, Some(serde_json::json!({"dedupe_key": dedupe_key, "until": until}))).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            pub async fn claim_due(pool: &Pool, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<Claimed>> {
                let mut tx = pool.begin_with($begin).await?;
                let mut query = QueryBuilder::<$db>::new("UPDATE notification_outbox SET lease_owner = ");
                query.push_bind(worker.to_string()).push(", lease_until = ").push_bind(lease_until);
                query.push(" WHERE id IN (SELECT o.id FROM notification_outbox o JOIN notification_channels c ON c.id = o.channel_id WHERE o.state = 'pending' AND c.enabled = ");
                query.push_bind(true).push(" AND o.next_attempt_at <= ").push_bind(now);
                query.push(" AND (o.lease_until IS NULL OR o.lease_until < ").push_bind(now).push(") ORDER BY o.id LIMIT ").push_bind(limit);
                query.push($lock);
                query.push(format!(") RETURNING {OUTBOX_COLUMNS}"));
                let rows = query.build().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                let channels: std::collections::HashMap<i64, ChannelConfig> =
                    list_channels(pool).await?.into_iter().map(|(c, config)| (c.id, config)).collect();
                let mut claimed = Vec::new();
                for row in &rows {
                    let (entry, notification) = outbox_row(row)?;
                    if let Some(channel) = channels.get(&entry.channel_id).cloned() {
                        claimed.push(Claimed { entry, notification, channel });
                    }
                }
                Ok(claimed)
            }

            /// Record the outcome of one attempt, if `worker` still holds the lease.
            pub async fn finish(pool: &Pool, id: i64, worker: &str, state: &str, next_attempt_at: DateTime<Utc>, error: Option<&str>, now: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE notification_outbox SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                     delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE delivered_at END, lease_owner = NULL, lease_until = NULL \
                     WHERE id = $5 AND lease_owner = $6",
                )
                .bind(state)
                .bind(next_attempt_at)
                .bind(error)
                .bind(now)
                .bind(id)
                .bind(worker)
                .execute(pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Give a claimed message back untried, due again at `next`.
            pub async fn release(pool: &Pool, id: i64, worker: &str, next: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE notification_outbox SET next_attempt_at = $1, lease_owner = NULL, lease_until = NULL WHERE id = $2 AND lease_owner = $3",
                )
                .bind(next)
                .bind(id)
                .bind(worker)
                .execute(pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            pub async fn list_outbox(pool: &Pool, state: Option<&str>, limit: i64) -> Result<Vec<OutboxEntry>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {OUTBOX_COLUMNS} FROM notification_outbox"));
                if let Some(state) = state {
                    query.push(" WHERE state = ").push_bind(state.to_string());
                }
                query.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
                query.build().fetch_all(pool).await?.iter().map(|r| outbox_row(r).map(|(e, _)| e)).collect()
            }

            pub async fn outbox_backlog(pool: &Pool) -> Result<OutboxBacklog> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM notification_outbox \
                     WHERE state IN ('pending', 'digest', 'dead') GROUP BY state")
                    .fetch_all(pool)
                    .await?;
                let mut backlog = OutboxBacklog::default();
                for r in &rows {
                    let state: String = r.try_get("state")?;
                    let n: i64 = r.try_get("n")?;
                    match state.as_str() {
                        "pending" => {
                            backlog.pending = n;
                            backlog.oldest_pending = r.try_get("oldest")?;
                        }
                        "digest" => backlog.digest = n,
                        _ => backlog.dead = n,
                    }
                }
                Ok(backlog)
            }

            /// Fold every waiting digest row into one message per rule.
            pub async fn collect_digests(pool: &Pool, now: DateTime<Utc>, public_url: Option<&str>) -> Result<Vec<i64>> {
                let mut tx = pool.begin_with($begin).await?;
                let rows = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM notification_outbox WHERE state = 'digest' ORDER BY id"))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut groups: std::collections::BTreeMap<(Option<i64>, i64), Vec<Notification>> = Default::default();
                for row in &rows {
                    let (entry, n) = outbox_row(row)?;
                    groups.entry((entry.rule_id, entry.channel_id)).or_default().push(n.with_links_under(public_url));
                }
                let mut created = Vec::new();
                for ((rule_id, channel_id), items) in groups {
                    let notification = super::super::worker::digest_of(&items, now);
                    let id: i64 = sqlx::query(
                        "INSERT INTO notification_outbox (rule_id, channel_id, dedupe_key, event, payload, state, attempts, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, 'digest', $4, 'pending', 0, $5, $5) RETURNING id",
                    )
                    .bind(rule_id)
                    .bind(channel_id)
                    .bind(&notification.id)
                    .bind(Json(&notification))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                    let mut update = QueryBuilder::<$db>::new("UPDATE notification_outbox SET state = 'digested' WHERE state = 'digest' AND channel_id = ");
                    update.push_bind(channel_id);
                    match rule_id {
                        Some(r) => update.push(" AND rule_id = ").push_bind(r),
                        None => update.push(" AND rule_id IS NULL"),
                    };
                    update.build().execute(&mut *tx).await?;
                    created.push(id);
                }
                tx.commit().await?;
                Ok(created)
            }
        }
    };
}

notify_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE",
    ""
);
notify_sql!(
    postgres,
    sqlx::Postgres,
    opsward_store::postgres,
    "BEGIN",
    " FOR UPDATE OF o SKIP LOCKED"
);

/// Notification rules, channels and the outbox, on the store's database.
#[derive(Clone)]
pub struct Notifier {
    db: Database,
    /// Where people reach opsward; links in delivered messages and digests are made
    /// absolute under it (see `public_url` in the configuration).
    public_url: Option<std::sync::Arc<str>>,
}

impl Notifier {
    pub fn new(store: &dyn Store) -> Self {
        Notifier {
            db: store.database(),
            public_url: None,
        }
    }

    /// Deliver links as `public_url` + path instead of bare paths.
    pub fn with_public_url(mut self, public_url: Option<&str>) -> Self {
        self.public_url = public_url.map(Into::into);
        self
    }

    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    pub async fn create_channel(
        &self,
        actor: &Actor,
        name: &str,
        config: &ChannelConfig,
    ) -> Result<Channel> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("name", name, 100);
        if let Err(e) = config.validate() {
            v.error(&format!("settings.{}", e.field), e.problem.clone());
        }
        v.finish()?;
        on_backend!(&self.db, create_channel(actor, name, config))
    }

    pub async fn list_channels(&self) -> Result<Vec<Channel>> {
        Ok(on_backend!(&self.db, list_channels())?
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    pub async fn channel(&self, id: i64) -> Result<(Channel, ChannelConfig)> {
        on_backend!(&self.db, get_channel(id))
    }

    pub async fn set_channel_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<Channel> {
        on_backend!(&self.db, set_channel_enabled(actor, id, enabled))
    }

    pub async fn delete_channel(&self, actor: &Actor, id: i64) -> Result<()> {
        on_backend!(&self.db, delete_channel(actor, id))
    }

    pub async fn create_rule(
        &self,
        actor: &Actor,
        user_id: Option<i64>,
        input: &RuleInput,
    ) -> Result<Rule> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("name", &input.name, 100);
        if input.events.len() > 50
            || input.events.iter().any(|e| {
                e.is_empty()
                    || e.len() > 64
                    || e.chars().any(|c| c.is_whitespace() || c.is_control())
            })
        {
            v.error(
                "events",
                "event kinds are 1-64 characters without spaces, at most 50",
            );
        }
        if let Some(q) = &input.quiet_hours {
            if let Err(e) = q.validate() {
                v.error("quiet_hours", e);
            }
        }
        v.finish()?;
        on_backend!(&self.db, create_rule(actor, user_id, input))
    }

    pub async fn list_rules(&self) -> Result<Vec<Rule>> {
        on_backend!(&self.db, list_rules())
    }

    pub async fn rule(&self, id: i64) -> Result<Rule> {
        on_backend!(&self.db, get_rule(id))
    }

    pub async fn delete_rule(&self, actor: &Actor, id: i64) -> Result<()> {
        on_backend!(&self.db, delete_rule(actor, id))
    }

    /// Queue `event` for every rule that wants it and has not had it in this state.
    pub async fn emit(&self, event: &Event, now: DateTime<Utc>) -> Result<Vec<i64>> {
        let notification = Notification {
            id: format!("{}:{}", event.dedupe_key, event.state),
            subject: event.subject.clone(),
            body_text: event.body.clone(),
            body_html: None,
            severity: event.severity,
            practice: event.practice.to_string(),
            link: event.link.clone(),
            event: event.kind.clone(),
            occurred_at: event.occurred_at,
            recipients: Vec::new(),
        };
        on_backend!(&self.db, emit(event, &notification, now))
    }

    pub async fn snooze(
        &self,
        actor: &Actor,
        dedupe_key: &str,
        until: DateTime<Utc>,
    ) -> Result<u64> {
        on_backend!(&self.db, snooze(actor, dedupe_key, until))
    }

    pub(crate) async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Claimed>> {
        on_backend!(&self.db, claim_due(worker, now, lease_until, limit))
    }

    pub(crate) async fn finish(
        &self,
        id: i64,
        worker: &str,
        state: &str,
        next: DateTime<Utc>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_backend!(&self.db, finish(id, worker, state, next, error, now))
    }

    pub(crate) async fn release(&self, id: i64, worker: &str, next: DateTime<Utc>) -> Result<bool> {
        on_backend!(&self.db, release(id, worker, next))
    }

    pub async fn list_outbox(&self, state: Option<&str>, limit: i64) -> Result<Vec<OutboxEntry>> {
        on_backend!(&self.db, list_outbox(state, limit))
    }

    /// What waits in the outbox, for `/metrics`.
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        on_backend!(&self.db, outbox_backlog())
    }

    /// Turn waiting digest rows into one pending message per rule (run daily).
    pub async fn collect_digests(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        on_backend!(&self.db, collect_digests(now, self.public_url.as_deref()))
    }
}
