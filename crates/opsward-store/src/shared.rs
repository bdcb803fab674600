//! SQL that is the same on SQLite and PostgreSQL, written once.
//!
//! Both backends accept `$n` placeholders and the same types (ids as BIGINT/INTEGER, times
//! as `DateTime<Utc>`, JSON through `sqlx::types::Json`), so one body serves both. The macro
//! expands it once per backend; what differs is supplied by the backend type:
//! `Self::BEGIN_WRITE` (how to open a write transaction) and `Self::CLAIM_JOB_SQL`.

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr) => {
        pub type Conn = <$db as sqlx::Database>::Connection;
        type DbRow = <$db as sqlx::Database>::Row;

        use $crate::{Backend, ImportReport, Result, Store, StoreError};
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use opsward_core::{
            asset::{Asset, AssetFilter, AssetInput},
            asset_csv::{AssetCsvRow, OwnerRef, RowError},
            audit::{AuditEntry, AuditFilter},
            job::{Job, JobState, NewJob},
            page::{Page, PageRequest},
            people::{Person, PersonInput, Team, TeamInput},
            user::{ApiToken, NewApiToken, NewSession, NewUser, User, UserPatch},
            Actor,
        };
        use serde_json::Value;
        use sqlx::{types::Json, QueryBuilder, Row};
        use std::collections::{BTreeMap, HashMap};

        const USER_COLUMNS: &str = "id, username, display_name, email, role, disabled, created_at, last_login_at";
        const TOKEN_COLUMNS: &str = "id, user_id, name, prefix, created_at, expires_at, revoked_at, last_used_at";
        const JOB_COLUMNS: &str = "id, kind, payload, state, run_at, attempts, max_attempts, lease_owner, lease_until, last_error, dedupe_key, created_at, finished_at";
        const ASSET_COLUMNS: &str = "id, name, kind, environment, criticality, owner_team_id, owner_person_id, description, created_at, updated_at";

        /// Database time resolution: PostgreSQL keeps microseconds, so values written and
        /// values read back compare equal.
        pub fn now() -> DateTime<Utc> {
            chrono::SubsecRound::trunc_subsecs(Utc::now(), 6)
        }

        fn parse_text<T: std::str::FromStr>(row: &DbRow, column: &str) -> Result<T> {
            let text: String = row.try_get(column)?;
            text.parse().map_err(|_| StoreError::Corrupt(format!("{column} has unexpected value {text:?}")))
        }

        fn user_row(row: &DbRow) -> Result<User> {
            Ok(User {
                id: row.try_get("id")?,
                username: row.try_get("username")?,
                display_name: row.try_get("display_name")?,
                email: row.try_get("email")?,
                role: parse_text(row, "role")?,
                disabled: row.try_get("disabled")?,
                created_at: row.try_get("created_at")?,
                last_login_at: row.try_get("last_login_at")?,
            })
        }

        fn token_row(row: &DbRow) -> Result<ApiToken> {
            Ok(ApiToken {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                name: row.try_get("name")?,
                prefix: row.try_get("prefix")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        }

        fn team_row(row: &DbRow) -> Result<Team> {
            Ok(Team {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn person_row(row: &DbRow) -> Result<Person> {
            Ok(Person {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                team_id: row.try_get("team_id")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn asset_row(row: &DbRow) -> Result<Asset> {
            Ok(Asset {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: parse_text(row, "kind")?,
                environment: row.try_get("environment")?,
                criticality: parse_text(row, "criticality")?,
                owner_team_id: row.try_get("owner_team_id")?,
                owner_person_id: row.try_get("owner_person_id")?,
                tags: Vec::new(),
                description: row.try_get("description")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn audit_row(row: &DbRow) -> Result<AuditEntry> {
            let before: Option<Json<Value>> = row.try_get("before")?;
            let after: Option<Json<Value>> = row.try_get("after")?;
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                actor_user_id: row.try_get("actor_user_id")?,
                action: row.try_get("action")?,
                entity_type: row.try_get("entity_type")?,
                entity_id: row.try_get("entity_id")?,
                before: before.map(|j| j.0),
                after: after.map(|j| j.0),
            })
        }

        fn job_row(row: &DbRow) -> Result<Job> {
            let payload: Json<Value> = row.try_get("payload")?;
            let state: String = row.try_get("state")?;
            Ok(Job {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                payload: payload.0,
                state: JobState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
                run_at: row.try_get("run_at")?,
                attempts: row.try_get("attempts")?,
                max_attempts: row.try_get("max_attempts")?,
                lease_owner: row.try_get("lease_owner")?,
                lease_until: row.try_get("lease_until")?,
                last_error: row.try_get("last_error")?,
                dedupe_key: row.try_get("dedupe_key")?,
                created_at: row.try_get("created_at")?,
                finished_at: row.try_get("finished_at")?,
            })
        }

        fn to_json<T: serde::Serialize>(value: &T) -> Option<Value> {
            serde_json::to_value(value).ok()
        }

        /// Queue a job inside the caller's transaction (a job that belongs with the change
        /// that asked for it); `None` when a job with the same dedupe key is already queued.
        pub async fn enqueue_job_in(conn: &mut Conn, job: &NewJob) -> Result<Option<Job>> {
            let row = sqlx::query(&format!(
                "INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts, dedupe_key, created_at) \
                 VALUES ($1, $2, 'queued', $3, 0, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING {JOB_COLUMNS}"
            ))
            .bind(&job.kind)
            .bind(Json(&job.payload))
            .bind(job.run_at)
            .bind(job.max_attempts.max(1))
            .bind(&job.dedupe_key)
            .bind(now())
            .fetch_optional(&mut *conn)
            .await?;
            row.as_ref().map(job_row).transpose()
        }

        /// Write an audit row on `conn`, inside the caller's transaction. Practice crates
        /// call this for their own changes.
        pub async fn audit(
            conn: &mut Conn,
            actor: &Actor,
            action: &str,
            entity_type: &str,
            entity_id: Option<i64>,
            before: Option<Value>,
            after: Option<Value>,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, actor_user_id, action, entity_type, entity_id, before, after) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(now())
            .bind(&actor.label)
            .bind(actor.user_id)
            .bind(action)
            .bind(entity_type)
            .bind(entity_id)
            .bind(before.map(Json))
            .bind(after.map(Json))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        async fn fetch_user(conn: &mut Conn, id: i64) -> Result<User> {
            let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("user"))?;
            user_row(&row)
        }

        async fn fetch_token(conn: &mut Conn, id: i64) -> Result<ApiToken> {
            let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("API token"))?;
            token_row(&row)
        }

        async fn fetch_team(conn: &mut Conn, id: i64) -> Result<Team> {
            let row = sqlx::query("SELECT id, name, email, created_at, updated_at FROM teams WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("team"))?;
            team_row(&row)
        }

        async fn fetch_person(conn: &mut Conn, id: i64) -> Result<Person> {
            let row = sqlx::query("SELECT id, name, email, team_id, created_at, updated_at FROM people WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("person"))?;
            person_row(&row)
        }

        async fn attach_tags(conn: &mut Conn, assets: &mut [Asset]) -> Result<()> {
            if assets.is_empty() {
                return Ok(());
            }
            let mut query = QueryBuilder::<$db>::new("SELECT asset_id, tag FROM asset_tags WHERE asset_id IN (");
            let mut ids = query.separated(", ");
            for asset in assets.iter() {
                ids.push_bind(asset.id);
            }
            query.push(") ORDER BY tag");
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            for row in query.build().fetch_all(&mut *conn).await? {
                tags.entry(row.try_get("asset_id")?).or_default().push(row.try_get("tag")?);
            }
            for asset in assets.iter_mut() {
                asset.tags = tags.remove(&asset.id).unwrap_or_default();
            }
            Ok(())
        }

        async fn fetch_asset_where(conn: &mut Conn, column: &str, id: Option<i64>, name: Option<&str>) -> Result<Option<Asset>> {
            let sql = format!("SELECT {ASSET_COLUMNS} FROM assets WHERE {column} = $1");
            let query = sqlx::query(&sql);
            let query = match (id, name) {
                (Some(id), _) => query.bind(id),
                (None, name) => query.bind(name.unwrap_or_default().to_string()),
            };
            let Some(row) = query.fetch_optional(&mut *conn).await? else { return Ok(None) };
            let mut assets = [asset_row(&row)?];
            attach_tags(conn, &mut assets).await?;
            let [asset] = assets;
            Ok(Some(asset))
        }

        async fn fetch_asset(conn: &mut Conn, id: i64) -> Result<Asset> {
            fetch_asset_where(conn, "id", Some(id), None).await?.ok_or(StoreError::NotFound("asset"))
        }

        /// Owners must exist: a dangling id would otherwise surface as a bare FK error.
        async fn check_owner(conn: &mut Conn, input: &AssetInput) -> Result<()> {
            if let Some(team) = input.owner_team_id {
                fetch_team(conn, team).await.map_err(|_| {
                    StoreError::Invalid(opsward_core::ValidationError::single("owner_team_id", format!("team {team} does not exist")))
                })?;
            }
            if let Some(person) = input.owner_person_id {
                fetch_person(conn, person).await.map_err(|_| {
                    StoreError::Invalid(opsward_core::ValidationError::single("owner_person_id", format!("person {person} does not exist")))
                })?;
            }
            Ok(())
        }

        async fn write_tags(conn: &mut Conn, asset_id: i64, tags: &[String], replace: bool) -> Result<()> {
            if replace {
                sqlx::query("DELETE FROM asset_tags WHERE asset_id = $1").bind(asset_id).execute(&mut *conn).await?;
            }
            if tags.is_empty() {
                return Ok(());
            }
            let mut query = QueryBuilder::<$db>::new("INSERT INTO asset_tags (asset_id, tag) ");
            query.push_values(tags, |mut row, tag| {
                row.push_bind(asset_id).push_bind(tag.clone());
            });
            query.build().execute(&mut *conn).await?;
            Ok(())
        }

        /// The stored form of `input`, as the database now holds it.
        fn asset_from_input(id: i64, input: &AssetInput, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Asset {
            Asset {
                id,
                name: input.name.clone(),
                kind: input.kind,
                environment: input.environment.clone(),
                criticality: input.criticality,
                owner_team_id: input.owner_team_id,
                owner_person_id: input.owner_person_id,
                tags: input.tags.clone(),
                description: input.description.clone(),
                created_at,
                updated_at,
            }
        }

        async fn insert_asset(conn: &mut Conn, actor: &Actor, input: &AssetInput) -> Result<Asset> {
            let now = now();
            let id: i64 = sqlx::query(
                "INSERT INTO assets (name, kind, environment, criticality, owner_team_id, owner_person_id, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(&input.name)
            .bind(input.kind.as_str())
            .bind(&input.environment)
            .bind(input.criticality.as_str())
            .bind(input.owner_team_id)
            .bind(input.owner_person_id)
            .bind(&input.description)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
            .try_get("id")?;
            write_tags(conn, id, &input.tags, false).await?;
            let asset = asset_from_input(id, input, now, now);
            audit(conn, actor, "create", "asset", Some(id), None, to_json(&asset)).await?;
            Ok(asset)
        }

        async fn replace_asset(conn: &mut Conn, actor: &Actor, before: &Asset, input: &AssetInput) -> Result<Asset> {
            let now = now();
            sqlx::query(
                "UPDATE assets SET name = $1, kind = $2, environment = $3, criticality = $4, owner_team_id = $5, \
                 owner_person_id = $6, description = $7, updated_at = $8 WHERE id = $9",
            )
            .bind(&input.name)
            .bind(input.kind.as_str())
            .bind(&input.environment)
            .bind(input.criticality.as_str())
            .bind(input.owner_team_id)
            .bind(input.owner_person_id)
            .bind(&input.description)
            .bind(now)
            .bind(before.id)
            .execute(&mut *conn)
            .await?;
            if before.tags != input.tags {
                write_tags(conn, before.id, &input.tags, true).await?;
            }
            let after = asset_from_input(before.id, input, before.created_at, now);
            audit(conn, actor, "update", "asset", Some(before.id), to_json(before), to_json(&after)).await?;
            Ok(after)
        }

        /// True when applying `input` would change nothing a person can see.
        fn same_content(asset: &Asset, input: &AssetInput) -> bool {
            asset.name == input.name
                && asset.kind == input.kind
                && asset.environment == input.environment
                && asset.criticality == input.criticality
                && asset.owner_team_id == input.owner_team_id
                && asset.owner_person_id == input.owner_person_id
                && asset.tags == input.tags
                && asset.description == input.description
        }

        fn push_like(query: &mut QueryBuilder<'_, $db>, column: &str, needle: &str) {
            let escaped = needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            query.push(format!(" lower({column}) LIKE "));
            query.push_bind(format!("%{escaped}%"));
            query.push(" ESCAPE '\\'");
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            fn database(&self) -> $crate::Database {
                self.database_handle()
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn count_users(&self) -> Result<i64> {
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?.try_get("n")?)
            }

            async fn create_user(&self, actor: &Actor, user: &NewUser) -> Result<User> {
                NewUser::validate_username(&user.username)?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO users (username, display_name, email, role, password_hash, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&user.username)
                .bind(&user.display_name)
                .bind(&user.email)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(false)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_user(&mut tx, id).await?;
                audit(&mut tx, actor, "create", "user", Some(id), None, to_json(&created)).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn get_user(&self, id: i64) -> Result<User> {
                fetch_user(&mut *self.pool.acquire().await?, id).await
            }

            async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>> {
                let row = sqlx::query(&format!(
                    "SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)"
                ))
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    None => Ok(None),
                    Some(row) => Ok(Some((user_row(&row)?, row.try_get("password_hash")?))),
                }
            }

            async fn list_users(&self) -> Result<Vec<User>> {
                sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"))
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(user_row)
                    .collect()
            }

            async fn update_user(&self, actor: &Actor, id: i64, patch: &UserPatch) -> Result<User> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_user(&mut tx, id).await?;
                sqlx::query(
                    "UPDATE users SET display_name = $1, email = $2, role = $3, disabled = $4, \
                     password_hash = COALESCE($5, password_hash) WHERE id = $6",
                )
                .bind(patch.display_name.as_ref().unwrap_or(&before.display_name))
                .bind(patch.email.clone().unwrap_or(before.email.clone()))
                .bind(patch.role.unwrap_or(before.role).as_str())
                .bind(patch.disabled.unwrap_or(before.disabled))
                .bind(&patch.password_hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let after = fetch_user(&mut tx, id).await?;
                let mut after_json = to_json(&after);
                if patch.password_hash.is_some() {
                    // Record that the password changed without recording anything about it.
                    if let Some(Value::Object(map)) = after_json.as_mut() {
                        map.insert("password_changed".into(), Value::Bool(true));
                    }
                }
                // Disabling an account or changing its password ends its sessions and, unless
                // the server is configured to keep them, revokes its API tokens: whoever held
                // the old password may have made one.
                if patch.disabled == Some(true) || patch.password_hash.is_some() {
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                    if !patch.keep_api_tokens {
                        let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                            .bind(Utc::now())
                            .bind(id)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        if let Some(Value::Object(map)) = after_json.as_mut() {
                            map.insert("api_tokens_revoked".into(), Value::from(revoked));
                        }
                    }
                }
                audit(&mut tx, actor, "update", "user", Some(id), to_json(&before), after_json).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn record_login(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2").bind(at).bind(id).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_session(&self, session: &NewSession) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&session.token_hash)
                .bind(session.user_id)
                .bind(&session.csrf_token)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(User, String)>> {
                let row = sqlx::query(
                    "SELECT u.id, u.username, u.display_name, u.email, u.role, u.disabled, u.created_at, u.last_login_at, \
                     s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = $3",
                )
                .bind(token_hash)
                .bind(now)
                .bind(false)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    None => Ok(None),
                    Some(row) => Ok(Some((user_row(&row)?, row.try_get("csrf_token")?))),
                }
            }

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn delete_user_sessions(&self, user_id: i64) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&self.pool).await?.rows_affected())
            }

            async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&self.pool).await?.rows_affected())
            }

            async fn create_api_token(&self, actor: &Actor, token: &NewApiToken) -> Result<ApiToken> {
                let mut v = opsward_core::validation::Validator::new();
                v.name("name", &token.name, 100);
                v.finish()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                fetch_user(&mut tx, token.user_id).await?;
                let id: i64 = sqlx::query(
                    "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(token.user_id)
                .bind(&token.name)
                .bind(&token.prefix)
                .bind(&token.token_hash)
                .bind(now())
                .bind(token.expires_at)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_token(&mut tx, id).await?;
                audit(&mut tx, actor, "create", "api_token", Some(id), None, to_json(&created)).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn authenticate_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(User, ApiToken)>> {
                let row = sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $2)"
                ))
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let token = token_row(&row)?;
                let user = self.get_user(token.user_id).await?;
                if user.disabled {
                    return Ok(None);
                }
                // Last use at minute precision is enough and spares a write per request.
                if token.last_used_at.is_none_or(|t| now - t > chrono::Duration::minutes(1)) {
                    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(token.id)
                        .execute(&self.pool)
                        .await?;
                }
                Ok(Some((user, token)))
            }

            async fn get_api_token(&self, id: i64) -> Result<ApiToken> {
                fetch_token(&mut *self.pool.acquire().await?, id).await
            }

            async fn list_api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {TOKEN_COLUMNS} FROM api_tokens"));
                if let Some(user_id) = user_id {
                    query.push(" WHERE user_id = ").push_bind(user_id);
                }
                query.push(" ORDER BY id");
                query.build().fetch_all(&self.pool).await?.iter().map(token_row).collect()
            }

            async fn revoke_api_token(&self, actor: &Actor, id: i64, at: DateTime<Utc>) -> Result<ApiToken> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_token(&mut tx, id).await?;
                if before.revoked_at.is_some() {
                    return Ok(before);
                }
                sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
                let after = fetch_token(&mut tx, id).await?;
                audit(&mut tx, actor, "revoke", "api_token", Some(id), to_json(&before), to_json(&after)).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn create_team(&self, actor: &Actor, team: &TeamInput) -> Result<Team> {
                team.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let now = now();
                let id: i64 = sqlx::query("INSERT INTO teams (name, email, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
                    .bind(&team.name)
                    .bind(&team.email)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
                let created = fetch_team(&mut tx, id).await?;
                audit(&mut tx, actor, "create", "team", Some(id), None, to_json(&created)).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn get_team(&self, id: i64) -> Result<Team> {
                fetch_team(&mut *self.pool.acquire().await?, id).await
            }

            async fn list_teams(&self) -> Result<Vec<Team>> {
                sqlx::query("SELECT id, name, email, created_at, updated_at FROM teams ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(team_row)
                    .collect()
            }

            async fn update_team(&self, actor: &Actor, id: i64, team: &TeamInput) -> Result<Team> {
                team.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_team(&mut tx, id).await?;
                sqlx::query("UPDATE teams SET name = $1, email = $2, updated_at = $3 WHERE id = $4")
                    .bind(&team.name)
                    .bind(&team.email)
                    .bind(now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch_team(&mut tx, id).await?;
                audit(&mut tx, actor, "update", "team", Some(id), to_json(&before), to_json(&after)).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn delete_team(&self, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_team(&mut tx, id).await?;
                let owned: i64 = sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE owner_team_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if owned > 0 {
                    return Err(StoreError::Conflict(format!("team {:?} still owns {owned} asset(s)", before.name)));
                }
                sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(&mut *tx).await?;
                audit(&mut tx, actor, "delete", "team", Some(id), to_json(&before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_person(&self, actor: &Actor, person: &PersonInput) -> Result<Person> {
                person.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                if let Some(team) = person.team_id {
                    fetch_team(&mut tx, team).await?;
                }
                let now = now();
                let id: i64 = sqlx::query(
                    "INSERT INTO people (name, email, team_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(&person.name)
                .bind(person.email.to_ascii_lowercase())
                .bind(person.team_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
                let created = fetch_person(&mut tx, id).await?;
                audit(&mut tx, actor, "create", "person", Some(id), None, to_json(&created)).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn get_person(&self, id: i64) -> Result<Person> {
                fetch_person(&mut *self.pool.acquire().await?, id).await
            }

            async fn list_people(&self) -> Result<Vec<Person>> {
                sqlx::query("SELECT id, name, email, team_id, created_at, updated_at FROM people ORDER BY name, id")
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(person_row)
                    .collect()
            }

            async fn update_person(&self, actor: &Actor, id: i64, person: &PersonInput) -> Result<Person> {
                person.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_person(&mut tx, id).await?;
                if let Some(team) = person.team_id {
                    fetch_team(&mut tx, team).await?;
                }
                sqlx::query("UPDATE people SET name = $1, email = $2, team_id = $3, updated_at = $4 WHERE id = $5")
                    .bind(&person.name)
                    .bind(person.email.to_ascii_lowercase())
                    .bind(person.team_id)
                    .bind(now())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let after = fetch_person(&mut tx, id).await?;
                audit(&mut tx, actor, "update", "person", Some(id), to_json(&before), to_json(&after)).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn delete_person(&self, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_person(&mut tx, id).await?;
                let owned: i64 = sqlx::query("SELECT COUNT(*) AS n FROM assets WHERE owner_person_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("n")?;
                if owned > 0 {
                    return Err(StoreError::Conflict(format!("{} still owns {owned} asset(s)", before.email)));
                }
                sqlx::query("DELETE FROM people WHERE id = $1").bind(id).execute(&mut *tx).await?;
                audit(&mut tx, actor, "delete", "person", Some(id), to_json(&before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_asset(&self, actor: &Actor, asset: &AssetInput) -> Result<Asset> {
                let input = asset.clone().normalize();
                input.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                check_owner(&mut tx, &input).await?;
                let created = insert_asset(&mut tx, actor, &input).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn get_asset(&self, id: i64) -> Result<Asset> {
                fetch_asset(&mut *self.pool.acquire().await?, id).await
            }

            async fn get_asset_by_name(&self, name: &str) -> Result<Asset> {
                fetch_asset_where(&mut *self.pool.acquire().await?, "name", None, Some(name))
                    .await?
                    .ok_or(StoreError::NotFound("asset"))
            }

            async fn list_assets(&self, filter: &AssetFilter, page: PageRequest) -> Result<Page<Asset>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {ASSET_COLUMNS} FROM assets a WHERE 1 = 1"));
                if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
                    query.push(" AND (");
                    push_like(&mut query, "a.name", q.trim());
                    query.push(" OR");
                    push_like(&mut query, "a.description", q.trim());
                    query.push(")");
                }
                if let Some(kind) = filter.kind {
                    query.push(" AND a.kind = ").push_bind(kind.as_str());
                }
                if let Some(env) = filter.environment.as_deref().filter(|e| !e.is_empty()) {
                    query.push(" AND a.environment = ").push_bind(env.to_ascii_lowercase());
                }
                if let Some(criticality) = filter.criticality {
                    query.push(" AND a.criticality = ").push_bind(criticality.as_str());
                }
                if let Some(tag) = filter.tag.as_deref().filter(|t| !t.is_empty()) {
                    query
                        .push(" AND EXISTS (SELECT 1 FROM asset_tags t WHERE t.asset_id = a.id AND t.tag = ")
                        .push_bind(tag.trim().to_lowercase())
                        .push(")");
                }
                if let Some(team) = filter.owner_team_id {
                    query.push(" AND a.owner_team_id = ").push_bind(team);
                }
                if let Some(person) = filter.owner_person_id {
                    query.push(" AND a.owner_person_id = ").push_bind(person);
                }
                if let Some(after) = page.after {
                    query.push(" AND a.id > ").push_bind(after);
                }
                query.push(" ORDER BY a.id LIMIT ").push_bind(i64::from(page.limit) + 1);
                let mut conn = self.pool.acquire().await?;
                let rows = query.build().fetch_all(&mut *conn).await?;
                let mut assets = rows.iter().map(asset_row).collect::<Result<Vec<_>>>()?;
                attach_tags(&mut conn, &mut assets).await?;
                Ok(Page::from_rows(assets, page.limit, |a| a.id))
            }

            async fn count_assets(&self) -> Result<i64> {
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM assets").fetch_one(&self.pool).await?.try_get("n")?)
            }

            async fn update_asset(&self, actor: &Actor, id: i64, asset: &AssetInput) -> Result<Asset> {
                let input = asset.clone().normalize();
                input.validate()?;
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_asset(&mut tx, id).await?;
                check_owner(&mut tx, &input).await?;
                if same_content(&before, &input) {
                    return Ok(before);
                }
                let after = replace_asset(&mut tx, actor, &before, &input).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn delete_asset(&self, actor: &Actor, id: i64) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let before = fetch_asset(&mut tx, id).await?;
                sqlx::query("DELETE FROM assets WHERE id = $1").bind(id).execute(&mut *tx).await?;
                audit(&mut tx, actor, "delete", "asset", Some(id), to_json(&before), None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn import_assets(
                &self,
                actor: &Actor,
                rows: &[AssetCsvRow],
                parse_errors: &[RowError],
                strict: bool,
            ) -> Result<ImportReport> {
                // Parse errors do not end a strict import early: the good rows are still checked
                // (owners, duplicate names) so that the report lists every bad row at once.
                let mut report = ImportReport { errors: parse_errors.to_vec(), ..ImportReport::default() };
                // One transaction for the whole file: a crash or a strict failure part-way
                // leaves the register exactly as it was.
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let teams: HashMap<String, i64> = sqlx::query("SELECT id, name FROM teams")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get("id")?)))
                    .collect::<Result<_>>()?;
                let people: HashMap<String, i64> = sqlx::query("SELECT id, email FROM people")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<String, _>("email")?, r.try_get("id")?)))
                    .collect::<Result<_>>()?;
                let mut existing: HashMap<String, Asset> = HashMap::new();
                {
                    let rows = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets")).fetch_all(&mut *tx).await?;
                    let mut assets = rows.iter().map(asset_row).collect::<Result<Vec<_>>>()?;
                    for chunk in assets.chunks_mut(500) {
                        attach_tags(&mut tx, chunk).await?;
                    }
                    existing.extend(assets.into_iter().map(|a| (a.name.clone(), a)));
                }
                let mut seen: HashMap<&str, u64> = HashMap::new();
                for row in rows {
                    if let Some(first) = seen.insert(&row.input.name, row.line) {
                        report.errors.push(RowError { line: row.line, message: format!("name {:?} already appears on line {first}", row.input.name) });
                        continue;
                    }
                    let mut input = row.input.clone();
                    match &row.owner {
                        None => {}
                        Some(OwnerRef::Team(name)) => match teams.get(name) {
                            Some(id) => input.owner_team_id = Some(*id),
                            None => {
                                report.errors.push(RowError { line: row.line, message: format!("owner: no team named {name:?}") });
                                continue;
                            }
                        },
                        Some(OwnerRef::Person(email)) => match people.get(email) {
                            Some(id) => input.owner_person_id = Some(*id),
                            None => {
                                report.errors.push(RowError { line: row.line, message: format!("owner: no person with email {email:?}") });
                                continue;
                            }
                        },
                    }
                    if strict && !report.errors.is_empty() {
                        continue; // keep checking so the report lists every bad row
                    }
                    match existing.get(&input.name) {
                        None => {
                            insert_asset(&mut tx, actor, &input).await?;
                            report.created += 1;
                        }
                        Some(current) if same_content(current, &input) => report.unchanged += 1,
                        Some(current) => {
                            replace_asset(&mut tx, actor, current, &input).await?;
                            report.updated += 1;
                        }
                    }
                }
                report.errors.sort_by_key(|e| e.line);
                if strict && !report.errors.is_empty() {
                    tx.rollback().await?;
                    report.created = 0;
                    report.updated = 0;
                    report.unchanged = 0;
                    return Ok(report);
                }
                audit(
                    &mut tx,
                    actor,
                    "import",
                    "asset",
                    None,
                    None,
                    to_json(&serde_json::json!({
                        "created": report.created, "updated": report.updated,
                        "unchanged": report.unchanged, "rejected_rows": report.errors.len(),
                    })),
                )
                .await?;
                tx.commit().await?;
                report.committed = true;
                Ok(report)
            }

            async fn export_assets(&self) -> Result<Vec<(Asset, Option<OwnerRef>)>> {
                let mut conn = self.pool.acquire().await?;
                let rows = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM assets ORDER BY name"))
                    .fetch_all(&mut *conn)
                    .await?;
                let mut assets = rows.iter().map(asset_row).collect::<Result<Vec<_>>>()?;
                for chunk in assets.chunks_mut(500) {
                    attach_tags(&mut conn, chunk).await?;
                }
                let teams: BTreeMap<i64, String> = sqlx::query("SELECT id, name FROM teams")
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
                    .collect::<Result<_>>()?;
                let people: BTreeMap<i64, String> = sqlx::query("SELECT id, email FROM people")
                    .fetch_all(&mut *conn)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("email")?)))
                    .collect::<Result<_>>()?;
                Ok(assets
                    .into_iter()
                    .map(|a| {
                        let owner = a
                            .owner_team_id
                            .and_then(|id| teams.get(&id).cloned().map(OwnerRef::Team))
                            .or_else(|| a.owner_person_id.and_then(|id| people.get(&id).cloned().map(OwnerRef::Person)));
                        (a, owner)
                    })
                    .collect())
            }

            async fn list_audit(&self, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditEntry>> {
                // Newest first, so the cursor walks down the ids.
                let mut query = QueryBuilder::<$db>::new(
                    "SELECT id, at, actor, actor_user_id, action, entity_type, entity_id, before, after FROM audit_log WHERE 1 = 1",
                );
                if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
                    query.push(" AND actor = ").push_bind(actor.to_string());
                }
                if let Some(t) = filter.entity_type.as_deref().filter(|t| !t.is_empty()) {
                    query.push(" AND entity_type = ").push_bind(t.to_string());
                }
                if let Some(id) = filter.entity_id {
                    query.push(" AND entity_id = ").push_bind(id);
                }
                if let Some(action) = filter.action.as_deref().filter(|a| !a.is_empty()) {
                    query.push(" AND action = ").push_bind(action.to_string());
                }
                if let Some(since) = filter.since {
                    query.push(" AND at >= ").push_bind(since);
                }
                if let Some(until) = filter.until {
                    query.push(" AND at < ").push_bind(until);
                }
                if let Some(after) = page.after {
                    query.push(" AND id < ").push_bind(after);
                }
                query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit) + 1);
                let rows = query.build().fetch_all(&self.pool).await?;
                let entries = rows.iter().map(audit_row).collect::<Result<Vec<_>>>()?;
                Ok(Page::from_rows(entries, page.limit, |e| e.id))
            }

            async fn enqueue_job(&self, job: &NewJob) -> Result<Option<Job>> {
                enqueue_job_in(&mut *self.pool.acquire().await?, job).await
            }

            async fn claim_job(&self, worker: &str, kinds: &[String], now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<Option<Job>> {
                if kinds.is_empty() {
                    return Ok(None);
                }
                let mut query = QueryBuilder::<$db>::new("UPDATE jobs SET state = 'running', lease_owner = ");
                query.push_bind(worker.to_string());
                query.push(", lease_until = ").push_bind(lease_until);
                query.push(", attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE ((state = 'queued' AND run_at <= ");
                query.push_bind(now);
                query.push(") OR (state = 'running' AND lease_until < ").push_bind(now);
                query.push(")) AND kind IN (");
                let mut list = query.separated(", ");
                for kind in kinds {
                    list.push_bind(kind.clone());
                }
                query.push(") ORDER BY run_at, id LIMIT 1");
                query.push(Self::CLAIM_LOCK);
                // Re-checked on the row actually updated, so a row another worker claimed
                // between the sub-select and the update is left alone.
                query.push(") AND (state = 'queued' OR lease_until < ").push_bind(now);
                query.push(format!(") RETURNING {JOB_COLUMNS}"));
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                let row = query.build().fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row.as_ref().map(job_row).transpose()
            }

            async fn heartbeat_job(&self, id: i64, worker: &str, attempt: i32, lease_until: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4",
                )
                .bind(lease_until)
                .bind(id)
                .bind(worker)
                .bind(attempt)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete_job(&self, id: i64, worker: &str, attempt: i32, now: DateTime<Utc>) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE jobs SET state = 'succeeded', finished_at = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL \
                     WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4",
                )
                .bind(now)
                .bind(id)
                .bind(worker)
                .bind(attempt)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn fail_job(&self, id: i64, worker: &str, attempt: i32, error: &str, retry_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<bool> {
                let error: String = error.chars().take(2000).collect();
                let query = match retry_at {
                    Some(retry_at) => sqlx::query(
                        "UPDATE jobs SET state = 'queued', run_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL \
                         WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5",
                    )
                    .bind(retry_at),
                    None => sqlx::query(
                        "UPDATE jobs SET state = 'dead', finished_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL \
                         WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5",
                    )
                    .bind(now),
                };
                let done = query.bind(error).bind(id).bind(worker).bind(attempt).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {JOB_COLUMNS} FROM jobs"));
                if let Some(state) = state {
                    query.push(" WHERE state = ").push_bind(state.as_str());
                }
                query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit.clamp(1, 1000)));
                query.build().fetch_all(&self.pool).await?.iter().map(job_row).collect()
            }

            async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, i64)>> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let state: String = r.try_get("state")?;
                        let state = JobState::parse(&state)
                            .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?;
                        Ok((state, r.try_get("n")?))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_store;
