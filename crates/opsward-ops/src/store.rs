//! The calendar's tables, on either backend. The SQL is the same on SQLite and PostgreSQL
//! (`$n` placeholders, `DateTime<Utc>` and JSON through sqlx), so one body is expanded per
//! backend; [`OpsStore`] picks the one its database needs.

use crate::{
    expansions,
    model::{
        Activity, ActivityInput, Attachment, CalendarFilter, Evidence, EvidenceInput, IcalFeed,
        Occurrence, OccurrenceState,
    },
    recurrence::{parse_timezone, Schedule},
};
use chrono::{DateTime, Utc};
use opsward_core::{practice::Practice, Actor, ValidationError};
use opsward_store::{on_backend, Database, Store, StoreError};
use std::collections::HashMap;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A file to attach, already saved in the attachment store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

macro_rules! ops_sql {
    ($module:ident, $db:ty, $backend:path, $begin:expr) => {
        pub(crate) mod $module {
            use super::*;
            use $backend as backend;
            use serde_json::Value;
            use sqlx::{types::Json, QueryBuilder, Row};

            type Pool = sqlx::Pool<$db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const ACTIVITY_COLUMNS: &str = "id, title, practice, template, description, rrule, starts_local, timezone, \
                duration_minutes, owner_team_id, owner_person_id, asset_id, active, created_at, updated_at";
            const EVIDENCE_COLUMNS: &str =
                "id, activity_id, practice, title, occurrence_at, recorded_at, recorded_by, result, notes, links";
            const ATTACHMENT_COLUMNS: &str = "id, evidence_id, filename, content_type, size_bytes, sha256, created_at";

            fn parse<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
                let text: String = row.try_get(column)?;
                text.parse().map_err(|_| StoreError::Corrupt(format!("{column} has unexpected value {text:?}")))
            }

            fn activity_row(row: &DbRow) -> Result<Activity> {
                let starts: String = row.try_get("starts_local")?;
                Ok(Activity {
                    id: row.try_get("id")?,
                    title: row.try_get("title")?,
                    practice: parse(row, "practice")?,
                    template: row.try_get("template")?,
                    description: row.try_get("description")?,
                    rrule: row.try_get("rrule")?,
                    starts_local: chrono::NaiveDateTime::parse_from_str(&starts, "%Y-%m-%dT%H:%M:%S")
                        .map_err(|_| StoreError::Corrupt(format!("starts_local {starts:?}")))?,
                    timezone: row.try_get("timezone")?,
                    duration_minutes: row.try_get("duration_minutes")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    owner_person_id: row.try_get("owner_person_id")?,
                    asset_id: row.try_get("asset_id")?,
                    active: row.try_get("active")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn evidence_row(row: &DbRow) -> Result<Evidence> {
                let links: Json<Vec<String>> = row.try_get("links")?;
                Ok(Evidence {
                    id: row.try_get("id")?,
                    activity_id: row.try_get("activity_id")?,
                    practice: parse(row, "practice")?,
                    title: row.try_get("title")?,
                    occurrence_at: row.try_get("occurrence_at")?,
                    recorded_at: row.try_get("recorded_at")?,
                    recorded_by: row.try_get("recorded_by")?,
                    result: parse(row, "result")?,
                    notes: row.try_get("notes")?,
                    links: links.0,
                    attachments: Vec::new(),
                })
            }

            fn attachment_row(row: &DbRow) -> Result<Attachment> {
                Ok(Attachment {
                    id: row.try_get("id")?,
                    evidence_id: row.try_get("evidence_id")?,
                    filename: row.try_get("filename")?,
                    content_type: row.try_get("content_type")?,
                    size_bytes: row.try_get("size_bytes")?,
                    sha256: row.try_get("sha256")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            fn feed_row(row: &DbRow) -> Result<IcalFeed> {
                Ok(IcalFeed {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    team_id: row.try_get("team_id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            }

            fn json<T: serde::Serialize>(v: &T) -> Option<Value> {
                serde_json::to_value(v).ok()
            }

            async fn fetch_activity(conn: &mut backend::Conn, id: i64) -> Result<Activity> {
                let row = sqlx::query(&format!("SELECT {ACTIVITY_COLUMNS} FROM activities WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("activity"))?;
                activity_row(&row)
            }

            async fn check_refs(conn: &mut backend::Conn, input: &ActivityInput) -> Result<()> {
                for (table, id, field) in [
                    ("teams", input.owner_team_id, "owner_team_id"),
                    ("people", input.owner_person_id, "owner_person_id"),
                    ("assets", input.asset_id, "asset_id"),
                ] {
                    if let Some(id) = id {
                        let found = sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
                        if found.is_none() {
                            return Err(ValidationError::single(field, format!("{id} does not exist")).into());
                        }
                    }
                }
                Ok(())
            }

            fn bind_activity<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                input: &'q ActivityInput,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                query
                    .bind(&input.title)
                    .bind(input.practice.as_str())
                    .bind(&input.template)
                    .bind(&input.description)
                    .bind(&input.rrule)
                    .bind(input.starts_local.format("%Y-%m-%dT%H:%M:%S").to_string())
                    .bind(&input.timezone)
                    .bind(input.duration_minutes)
                    .bind(input.owner_team_id)
                    .bind(input.owner_person_id)
                    .bind(input.asset_id)
                    .bind(input.active)
            }

            pub async fn create_activity(pool: &Pool, actor: &Actor, input: &ActivityInput) -> Result<Activity> {
                let mut tx = pool.begin_with($begin).await?;
                check_refs(&mut tx, input).await?;
                let now = backend::now();
                let query = sqlx::query(
                    "INSERT INTO activities (title, practice, template, description, rrule, starts_local, timezone, \
                     duration_minutes, owner_team_id, owner_person_id, asset_id, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
                );
                let id: i64 = bind_activity(query, input).bind(now).fetch_one(&mut *tx).await?.try_get("id")?;
                let created = fetch_activity(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "activity", Some(id), None, json(&created)).await?;
                tx.commit().await?;
                Ok(created)
            }

            pub async fn get_activity(pool: &Pool, id: i64) -> Result<Activity> {
                fetch_activity(&mut *pool.acquire().await?, id).await
            }

            pub async fn list_activities(pool: &Pool, filter: &CalendarFilter, include_inactive: bool) -> Result<Vec<Activity>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {ACTIVITY_COLUMNS} FROM activities WHERE 1 = 1"));
                if !include_inactive {
                    query.push(" AND active = ").push_bind(true);
                }
                if let Some(p) = filter.practice {
                    query.push(" AND practice = ").push_bind(p.as_str());
                }
                if let Some(t) = filter.owner_team_id {
                    query.push(" AND owner_team_id = ").push_bind(t);
                }
                if let Some(p) = filter.owner_person_id {
                    query.push(" AND owner_person_id = ").push_bind(p);
                }
                if let Some(a) = filter.activity_id {
                    query.push(" AND id = ").push_bind(a);
                }
                if let Some(a) = filter.asset_id {
                    query.push(" AND asset_id = ").push_bind(a);
                }
                query.push(" ORDER BY id");
                query.build().fetch_all(pool).await?.iter().map(activity_row).collect()
            }

            pub async fn update_activity(pool: &Pool, actor: &Actor, id: i64, input: &ActivityInput) -> Result<Activity> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_activity(&mut tx, id).await?;
                check_refs(&mut tx, input).await?;
                let query = sqlx::query(
                    "UPDATE activities SET title = $1, practice = $2, template = $3, description = $4, rrule = $5, \
                     starts_local = $6, timezone = $7, duration_minutes = $8, owner_team_id = $9, owner_person_id = $10, \
                     asset_id = $11, active = $12, updated_at = $13 WHERE id = $14",
                );
                bind_activity(query, input).bind(backend::now()).bind(id).execute(&mut *tx).await?;
                let after = fetch_activity(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "update", "activity", Some(id), json(&before), json(&after)).await?;
                tx.commit().await?;
                Ok(after)
            }

            pub async fn delete_activity(pool: &Pool, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = pool.begin_with($begin).await?;
                let before = fetch_activity(&mut tx, id).await?;
                // Evidence stays: it proves work that happened, whatever becomes of the plan.
                sqlx::query("DELETE FROM activities WHERE id = $1").bind(id).execute(&mut *tx).await?;
                backend::audit(&mut tx, actor, "delete", "activity", Some(id), json(&before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn record_evidence(
                pool: &Pool,
                actor: &Actor,
                practice: Practice,
                title: &str,
                activity_id: Option<i64>,
                input: &EvidenceInput,
                files: &[NewAttachment],
            ) -> Result<Evidence> {
                let mut tx = pool.begin_with($begin).await?;
                let now = backend::now();
                let id: i64 = sqlx::query(
                    "INSERT INTO evidence (activity_id, practice, title, occurrence_at, recorded_at, recorded_by, result, notes, links) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(activity_id)
                .bind(practice.as_str())
                .bind(title)
                .bind(input.occurrence_at)
                .bind(now)
                .bind(&actor.label)
                .bind(input.result.as_str())
                .bind(&input.notes)
                .bind(Json(&input.links))
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                for f in files {
                    sqlx::query(
                        "INSERT INTO evidence_attachments (evidence_id, filename, content_type, size_bytes, sha256, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(&f.filename)
                    .bind(&f.content_type)
                    .bind(f.size_bytes)
                    .bind(&f.sha256)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let evidence = fetch_evidence(&mut tx, id).await?;
                backend::audit(&mut tx, actor, "create", "evidence", Some(id), None, json(&evidence)).await?;
                tx.commit().await?;
                Ok(evidence)
            }

            async fn attach_files(conn: &mut backend::Conn, evidence: &mut [Evidence]) -> Result<()> {
                if evidence.is_empty() {
                    return Ok(());
                }
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {ATTACHMENT_COLUMNS} FROM evidence_attachments WHERE evidence_id IN ("));
                let mut ids = query.separated(", ");
                for e in evidence.iter() {
                    ids.push_bind(e.id);
                }
                query.push(") ORDER BY id");
                let mut by_evidence: HashMap<i64, Vec<Attachment>> = HashMap::new();
                for row in query.build().fetch_all(&mut *conn).await? {
                    let a = attachment_row(&row)?;
                    by_evidence.entry(a.evidence_id).or_default().push(a);
                }
                for e in evidence.iter_mut() {
                    e.attachments = by_evidence.remove(&e.id).unwrap_or_default();
                }
                Ok(())
            }

            async fn fetch_evidence(conn: &mut backend::Conn, id: i64) -> Result<Evidence> {
                let row = sqlx::query(&format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("evidence"))?;
                let mut list = [evidence_row(&row)?];
                attach_files(conn, &mut list).await?;
                let [e] = list;
                Ok(e)
            }

            pub async fn get_evidence(pool: &Pool, id: i64) -> Result<Evidence> {
                fetch_evidence(&mut *pool.acquire().await?, id).await
            }

            /// Evidence recorded in `[from, to)` (by recording time), newest first.
            pub async fn list_evidence(
                pool: &Pool,
                practice: Option<Practice>,
                activity_id: Option<i64>,
                from: Option<DateTime<Utc>>,
                to: Option<DateTime<Utc>>,
                limit: i64,
            ) -> Result<Vec<Evidence>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE 1 = 1"));
                if let Some(p) = practice {
                    query.push(" AND practice = ").push_bind(p.as_str());
                }
                if let Some(a) = activity_id {
                    query.push(" AND activity_id = ").push_bind(a);
                }
                if let Some(f) = from {
                    query.push(" AND recorded_at >= ").push_bind(f);
                }
                if let Some(t) = to {
                    query.push(" AND recorded_at < ").push_bind(t);
                }
                query.push(" ORDER BY recorded_at DESC, id DESC LIMIT ").push_bind(limit);
                let mut conn = pool.acquire().await?;
                let rows = query.build().fetch_all(&mut *conn).await?;
                let mut list = rows.iter().map(evidence_row).collect::<Result<Vec<_>>>()?;
                for chunk in list.chunks_mut(500) {
                    attach_files(&mut conn, chunk).await?;
                }
                Ok(list)
            }

            /// Latest evidence per (activity, occurrence) for occurrences in `[from, to)`.
            pub async fn completions(pool: &Pool, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<(i64, DateTime<Utc>, i64, String)>> {
                let rows = sqlx::query(
                    "SELECT activity_id, occurrence_at, id, result FROM evidence \
                     WHERE activity_id IS NOT NULL AND occurrence_at >= $1 AND occurrence_at < $2 ORDER BY id",
                )
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("activity_id")?, r.try_get("occurrence_at")?, r.try_get("id")?, r.try_get("result")?)))
                    .collect()
            }

            pub async fn get_attachment(pool: &Pool, id: i64) -> Result<Attachment> {
                let row = sqlx::query(&format!("SELECT {ATTACHMENT_COLUMNS} FROM evidence_attachments WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("attachment"))?;
                attachment_row(&row)
            }

            pub async fn create_feed(pool: &Pool, actor: &Actor, user_id: i64, team_id: Option<i64>, name: &str, token_hash: &str) -> Result<IcalFeed> {
                let mut tx = pool.begin_with($begin).await?;
                if let Some(team) = team_id {
                    if sqlx::query("SELECT id FROM teams WHERE id = $1").bind(team).fetch_optional(&mut *tx).await?.is_none() {
                        return Err(StoreError::NotFound("team"));
                    }
                }
                let row = sqlx::query(
                    "INSERT INTO ical_feeds (user_id, team_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
                     RETURNING id, user_id, team_id, name, created_at, revoked_at",
                )
                .bind(user_id)
                .bind(team_id)
                .bind(name)
                .bind(token_hash)
                .bind(backend::now())
                .fetch_one(&mut *tx)
                .await?;
                let feed = feed_row(&row)?;
                backend::audit(&mut tx, actor, "create", "ical_feed", Some(feed.id), None, json(&feed)).await?;
                tx.commit().await?;
                Ok(feed)
            }

            pub async fn list_feeds(pool: &Pool, user_id: i64) -> Result<Vec<IcalFeed>> {
                sqlx::query("SELECT id, user_id, team_id, name, created_at, revoked_at FROM ical_feeds WHERE user_id = $1 ORDER BY id")
                    .bind(user_id)
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(feed_row)
                    .collect()
            }

            pub async fn get_feed(pool: &Pool, id: i64) -> Result<IcalFeed> {
                let row = sqlx::query("SELECT id, user_id, team_id, name, created_at, revoked_at FROM ical_feeds WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or(StoreError::NotFound("iCal feed"))?;
                feed_row(&row)
            }

            pub async fn revoke_feed(pool: &Pool, actor: &Actor, id: i64) -> Result<IcalFeed> {
                let mut tx = pool.begin_with($begin).await?;
                sqlx::query("UPDATE ical_feeds SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(backend::now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query("SELECT id, user_id, team_id, name, created_at, revoked_at FROM ical_feeds WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("iCal feed"))?;
                let feed = feed_row(&row)?;
                backend::audit(&mut tx, actor, "revoke", "ical_feed", Some(id), None, json(&feed)).await?;
                tx.commit().await?;
                Ok(feed)
            }

            pub async fn feed_by_token(pool: &Pool, token_hash: &str) -> Result<Option<IcalFeed>> {
                let row = sqlx::query(
                    "SELECT id, user_id, team_id, name, created_at, revoked_at FROM ical_feeds WHERE token_hash = $1 AND revoked_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(pool)
                .await?;
                row.as_ref().map(feed_row).transpose()
            }
        }
    };
}

ops_sql!(
    sqlite,
    sqlx::Sqlite,
    opsward_store::sqlite,
    "BEGIN IMMEDIATE"
);
ops_sql!(postgres, sqlx::Postgres, opsward_store::postgres, "BEGIN");

/// How far back [`OpsStore::latest_started_occurrence`] looks.
pub const OPEN_OCCURRENCE_LOOKBACK_DAYS: i64 = 400;

/// The calendar's storage, next to the foundation store on the same database.
#[derive(Clone)]
pub struct OpsStore {
    pub(crate) db: Database,
}

impl OpsStore {
    pub fn new(store: &dyn Store) -> Self {
        OpsStore {
            db: store.database(),
        }
    }

    pub async fn create_activity(&self, actor: &Actor, input: &ActivityInput) -> Result<Activity> {
        let input = input.clone().normalize();
        input.validate()?;
        on_backend!(&self.db, create_activity(actor, &input))
    }

    pub async fn get_activity(&self, id: i64) -> Result<Activity> {
        on_backend!(&self.db, get_activity(id))
    }

    pub async fn list_activities(
        &self,
        filter: &CalendarFilter,
        include_inactive: bool,
    ) -> Result<Vec<Activity>> {
        on_backend!(&self.db, list_activities(filter, include_inactive))
    }

    pub async fn update_activity(
        &self,
        actor: &Actor,
        id: i64,
        input: &ActivityInput,
    ) -> Result<Activity> {
        let input = input.clone().normalize();
        input.validate()?;
        on_backend!(&self.db, update_activity(actor, id, &input))
    }

    pub async fn delete_activity(&self, actor: &Actor, id: i64) -> Result<()> {
        on_backend!(&self.db, delete_activity(actor, id))
    }

    /// Complete an occurrence of an activity. `occurrence_at`, when given, must be one of the
    /// activity's occurrences that has started: evidence for work that is not due yet is
    /// refused. Without it the result is for the occurrence that started most recently
    /// ([`Self::latest_started_occurrence`]), never an older missed one; an activity none of
    /// whose occurrences has started gets evidence against no occurrence.
    pub async fn complete(
        &self,
        actor: &Actor,
        activity_id: i64,
        input: &EvidenceInput,
        files: &[NewAttachment],
    ) -> Result<Evidence> {
        input.validate()?;
        let activity = self.get_activity(activity_id).await?;
        let now = Utc::now();
        let mut input = input.clone();
        if input.occurrence_at.is_none() {
            input.occurrence_at = self.latest_started_occurrence(&activity, now).await?;
        }
        let input = &input;
        if let Some(at) = input.occurrence_at {
            if at > now {
                return Err(ValidationError::single(
                    "occurrence_at",
                    format!(
                        "the occurrence of {activity:?} at {at} has not started yet; \
                         evidence can be recorded once it has started",
                        activity = activity.title,
                        at = at.format("%Y-%m-%d %H:%M UTC"),
                    ),
                )
                .into());
            }
            let schedule = schedule_of(&activity)?;
            if !schedule.occurs_at(at) {
                return Err(ValidationError::single(
                    "occurrence_at",
                    format!(
                        "{activity:?} has no occurrence at {at}",
                        activity = activity.title
                    ),
                )
                .into());
            }
        }
        on_backend!(
            &self.db,
            record_evidence(
                actor,
                activity.practice,
                &activity.title,
                Some(activity_id),
                input,
                files
            )
        )
    }

    /// Evidence from an automated run that belongs to no calendar activity.
    pub async fn record_run(
        &self,
        actor: &Actor,
        practice: Practice,
        title: &str,
        input: &EvidenceInput,
        files: &[NewAttachment],
    ) -> Result<Evidence> {
        input.validate()?;
        let mut v = opsward_core::validation::Validator::new();
        v.name("title", title, 200);
        v.finish()?;
        on_backend!(
            &self.db,
            record_evidence(actor, practice, title, None, input, files)
        )
    }

    pub async fn get_evidence(&self, id: i64) -> Result<Evidence> {
        on_backend!(&self.db, get_evidence(id))
    }

    pub async fn list_evidence(
        &self,
        practice: Option<Practice>,
        activity_id: Option<i64>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<Evidence>> {
        on_backend!(
            &self.db,
            list_evidence(practice, activity_id, from, to, limit)
        )
    }

    pub async fn get_attachment(&self, id: i64) -> Result<Attachment> {
        on_backend!(&self.db, get_attachment(id))
    }

    pub async fn create_feed(
        &self,
        actor: &Actor,
        user_id: i64,
        team_id: Option<i64>,
        name: &str,
        token_hash: &str,
    ) -> Result<IcalFeed> {
        let mut v = opsward_core::validation::Validator::new();
        v.name("name", name, 100);
        v.finish()?;
        on_backend!(
            &self.db,
            create_feed(actor, user_id, team_id, name, token_hash)
        )
    }

    pub async fn list_feeds(&self, user_id: i64) -> Result<Vec<IcalFeed>> {
        on_backend!(&self.db, list_feeds(user_id))
    }

    pub async fn get_feed(&self, id: i64) -> Result<IcalFeed> {
        on_backend!(&self.db, get_feed(id))
    }

    pub async fn revoke_feed(&self, actor: &Actor, id: i64) -> Result<IcalFeed> {
        on_backend!(&self.db, revoke_feed(actor, id))
    }

    pub async fn feed_by_token(&self, token_hash: &str) -> Result<Option<IcalFeed>> {
        on_backend!(&self.db, feed_by_token(token_hash))
    }

    /// Every occurrence in `[from, to)` of the activities that match, with its state.
    pub async fn occurrences(
        &self,
        filter: &CalendarFilter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>> {
        let activities = self.list_activities(filter, false).await?;
        self.occurrences_of(&activities, from, to, now).await
    }

    /// The occurrence of `activity` that started most recently by `at`: what a result
    /// reported at `at` without naming an occurrence is for. Whether it already has evidence
    /// does not matter: a late result never moves back to an older missed occurrence (an
    /// auditor would read that as back-dated evidence), so missed ones stay missed. Looks
    /// back [`OPEN_OCCURRENCE_LOOKBACK_DAYS`].
    pub async fn latest_started_occurrence(
        &self,
        activity: &Activity,
        at: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let schedule = schedule_of(activity)?;
        let from = at - chrono::Duration::days(OPEN_OCCURRENCE_LOOKBACK_DAYS);
        Ok(schedule
            .between(from, at + chrono::Duration::seconds(1))
            .into_iter()
            .filter(|starts| *starts <= at)
            .max())
    }

    /// Every occurrence in `[from, to)` of the given activities, with its state.
    pub async fn occurrences_of(
        &self,
        activities: &[Activity],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Occurrence>> {
        let done: HashMap<(i64, DateTime<Utc>), (i64, String)> =
            on_backend!(&self.db, completions(from, to))?
                .into_iter()
                .map(|(activity, at, evidence, result)| ((activity, at), (evidence, result)))
                .collect();
        let mut out = Vec::new();
        for a in activities {
            // Kept expansions (see `expansions`): the same starts as `schedule_of(a)`'s
            // `between`, without expanding every rule on every request.
            let Ok(starts) = expansions::starts_between(a, from, to) else {
                tracing::warn!(
                    activity = a.id,
                    "stored activity has an invalid schedule; skipped"
                );
                continue;
            };
            for start in starts.as_slice() {
                let starts_at = start.at;
                let evidence = done.get(&(a.id, starts_at));
                out.push(Occurrence {
                    activity_id: a.id,
                    title: a.title.clone(),
                    practice: a.practice,
                    starts_at,
                    ends_at: starts_at + chrono::Duration::minutes(i64::from(a.duration_minutes)),
                    starts_local: start.local.to_string(),
                    timezone: a.timezone.clone(),
                    state: OccurrenceState::of(starts_at, evidence.is_some(), now),
                    evidence_id: evidence.map(|(id, _)| *id),
                    result: evidence.and_then(|(_, r)| r.parse().ok()),
                    owner_team_id: a.owner_team_id,
                    owner_person_id: a.owner_person_id,
                });
            }
        }
        out.sort_by(|a, b| {
            a.starts_at
                .cmp(&b.starts_at)
                .then(a.activity_id.cmp(&b.activity_id))
        });
        Ok(out)
    }
}

pub fn schedule_of(a: &Activity) -> Result<Schedule, StoreError> {
    let tz = parse_timezone(&a.timezone).map_err(StoreError::Corrupt)?;
    Schedule::new(a.starts_local, tz, &a.rrule).map_err(StoreError::Corrupt)
}
