//! opsward's storage contract and its two backends.
//!
//! [`Store`] lists every operation the rest of opsward needs. [`sqlite::SqliteStore`] (the
//! embedded default) and [`postgres::PostgresStore`] (for several servers sharing one
//! database) implement it. Most SQL is identical on both and lives once in `shared.rs`;
//! what differs (locking, upserts, connection setup) lives in each backend's module.
//!
//! Every write that changes a record writes its audit row in the same transaction.

pub mod backup;
pub mod dependents;
mod error;
mod migrations;
pub mod postgres;
mod settings;
mod shared;
pub mod sqlite;
pub mod sqlite_rank;

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
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

pub use error::StoreError;
pub use settings::StoreSettings;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What an asset import did. With `strict`, any bad row means nothing was written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub errors: Vec<RowError>,
    /// False when nothing was written (strict mode with errors).
    pub committed: bool,
}

/// The connection pool behind a store, for practice crates that keep their own SQL (and use
/// [`sqlite::audit`] / [`postgres::audit`] to audit their changes in the same transaction).
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Call `sqlite::$f(pool, ..)` or `postgres::$f(pool, ..)` (modules at the call site) for the
/// database behind a [`Database`]. Practice crates expand their SQL once per backend into
/// modules with those names and dispatch every call through this.
#[macro_export]
macro_rules! on_backend {
    ($db:expr, $f:ident($($arg:expr),*)) => {
        match $db {
            $crate::Database::Sqlite(pool) => sqlite::$f(pool $(, $arg)*).await,
            $crate::Database::Postgres(pool) => postgres::$f(pool $(, $arg)*).await,
        }
    };
}

/// The storage operations opsward needs, independent of the database behind them.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    fn database(&self) -> Database;
    /// Cheap round trip to the database, for readiness checks.
    async fn ping(&self) -> Result<()>;

    // Accounts
    async fn count_users(&self) -> Result<i64>;
    async fn create_user(&self, actor: &Actor, user: &NewUser) -> Result<User>;
    async fn get_user(&self, id: i64) -> Result<User>;
    /// The account and its password hash, for sign-in. Case-insensitive username.
    async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn update_user(&self, actor: &Actor, id: i64, patch: &UserPatch) -> Result<User>;
    async fn record_login(&self, id: i64, at: DateTime<Utc>) -> Result<()>;

    // Browser sessions
    async fn create_session(&self, session: &NewSession) -> Result<()>;
    /// The user and CSRF token of a live session; `None` when unknown, expired or disabled.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>)
        -> Result<Option<(User, String)>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn delete_user_sessions(&self, user_id: i64) -> Result<u64>;
    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64>;

    // API tokens
    async fn create_api_token(&self, actor: &Actor, token: &NewApiToken) -> Result<ApiToken>;
    /// The user and token for a presented secret's hash, if active; records its use.
    async fn authenticate_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(User, ApiToken)>>;
    async fn get_api_token(&self, id: i64) -> Result<ApiToken>;
    async fn list_api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&self, actor: &Actor, id: i64, at: DateTime<Utc>)
        -> Result<ApiToken>;

    // Teams and people
    async fn create_team(&self, actor: &Actor, team: &TeamInput) -> Result<Team>;
    async fn get_team(&self, id: i64) -> Result<Team>;
    async fn list_teams(&self) -> Result<Vec<Team>>;
    async fn update_team(&self, actor: &Actor, id: i64, team: &TeamInput) -> Result<Team>;
    async fn delete_team(&self, actor: &Actor, id: i64) -> Result<()>;
    async fn create_person(&self, actor: &Actor, person: &PersonInput) -> Result<Person>;
    async fn get_person(&self, id: i64) -> Result<Person>;
    async fn list_people(&self) -> Result<Vec<Person>>;
    async fn update_person(&self, actor: &Actor, id: i64, person: &PersonInput) -> Result<Person>;
    async fn delete_person(&self, actor: &Actor, id: i64) -> Result<()>;

    // Assets
    async fn create_asset(&self, actor: &Actor, asset: &AssetInput) -> Result<Asset>;
    async fn get_asset(&self, id: i64) -> Result<Asset>;
    async fn get_asset_by_name(&self, name: &str) -> Result<Asset>;
    async fn list_assets(&self, filter: &AssetFilter, page: PageRequest) -> Result<Page<Asset>>;
    async fn count_assets(&self) -> Result<i64>;
    async fn update_asset(&self, actor: &Actor, id: i64, asset: &AssetInput) -> Result<Asset>;
    async fn delete_asset(&self, actor: &Actor, id: i64) -> Result<()>;
    /// Import parsed CSV rows in one transaction: every good row, or with `strict` nothing
    /// at all if any row (including `parse_errors`) is bad. Rows are matched by name.
    async fn import_assets(
        &self,
        actor: &Actor,
        rows: &[AssetCsvRow],
        parse_errors: &[RowError],
        strict: bool,
    ) -> Result<ImportReport>;
    /// Every asset with its owner as written in CSV, ordered by name.
    async fn export_assets(&self) -> Result<Vec<(Asset, Option<OwnerRef>)>>;

    // Audit log
    async fn list_audit(&self, filter: &AuditFilter, page: PageRequest)
        -> Result<Page<AuditEntry>>;

    // Job queue
    /// Enqueue a job; `None` when a job with the same dedupe key already exists.
    async fn enqueue_job(&self, job: &NewJob) -> Result<Option<Job>>;
    /// Claim the next runnable job of one of `kinds` (queued and due, or running with an
    /// expired lease). Safe when many workers in many processes claim at once.
    async fn claim_job(
        &self,
        worker: &str,
        kinds: &[String],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Job>>;
    /// Extend a lease; false when the worker no longer holds it.
    async fn heartbeat_job(
        &self,
        id: i64,
        worker: &str,
        attempt: i32,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;
    async fn complete_job(
        &self,
        id: i64,
        worker: &str,
        attempt: i32,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Record a failure: requeue at `retry_at`, or mark dead when `None`.
    async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        attempt: i32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>>;
    /// How many jobs are in each state (states with none are left out), for `/metrics`.
    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, i64)>>;
}

/// Open the store a URL names (`sqlite:...` or `postgres://...`), creating and migrating
/// the database as needed.
pub async fn connect(settings: &StoreSettings) -> Result<Arc<dyn Store>> {
    match settings.backend()? {
        Backend::Sqlite => Ok(Arc::new(sqlite::SqliteStore::connect(settings).await?)),
        Backend::Postgres => Ok(Arc::new(postgres::PostgresStore::connect(settings).await?)),
    }
}

/// A database at `settings.url` with the migrations up to and including `version` applied,
/// and no later one: the schema an earlier opsward left behind, as the starting point of
/// upgrade tests. Every migration since the first is kept, so any earlier schema upgrades
/// to the current one by opening it with [`connect`].
pub async fn migrate_up_to(settings: &StoreSettings, version: i64) -> Result<()> {
    use std::str::FromStr;
    let pick = |list: &'static [(i64, &'static str, &'static str)]| {
        let end = list.partition_point(|(v, _, _)| *v <= version);
        &list[..end]
    };
    match settings.backend()? {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&settings.url)?
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await?;
            migrations::migrator(pick(migrations::SQLITE))
                .await?
                .run(&pool)
                .await?;
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&settings.url).await?;
            migrations::migrator(pick(migrations::POSTGRES))
                .await?
                .run(&pool)
                .await?;
            pool.close().await;
        }
    }
    Ok(())
}
