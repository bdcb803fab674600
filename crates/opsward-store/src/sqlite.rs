//! The embedded SQLite backend: one file in the data directory, WAL mode.

use crate::{migrations, settings::StoreSettings, shared::impl_store, sqlite_rank};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::{str::FromStr, time::Duration};

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// SQLite allows one writer at a time. Taking the write lock when the transaction opens
    /// (instead of when it first writes) lets the busy timeout queue writers instead of
    /// failing a transaction that read first and then tried to upgrade its lock.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    /// Writers are serialised by the database lock, so the claim needs no row lock.
    const CLAIM_LOCK: &'static str = "";

    pub async fn connect(settings: &StoreSettings) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(&settings.url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(15));
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.connect_timeout.max(Duration::from_secs(15)))
            .after_connect(|connection, _| {
                Box::pin(async move {
                    let mut handle = connection.lock_handle().await?;
                    // SAFETY: the handle is open and locked to this task for the call.
                    unsafe { sqlite_rank::register(handle.as_raw_handle()) }
                        .map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
            .connect_with(options)
            .await?;
        migrations::migrator(migrations::SQLITE)
            .await?
            .run(&pool)
            .await?;
        tracing::debug!(url = %settings.redacted_url(), "SQLite store ready");
        Ok(SqliteStore { pool })
    }

    fn database_handle(&self) -> crate::Database {
        crate::Database::Sqlite(self.pool.clone())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_store!(SqliteStore, sqlx::Sqlite, Backend::Sqlite);

/// A writer's turn from [`queue_for_write`]: the next in line waits until it is dropped.
pub type WriteTurn = tokio::sync::OwnedMutexGuard<()>;

/// One in-process queue of writers per database file, taken before `BEGIN IMMEDIATE` by
/// writers that arrive many at once (agents' reports).
///
/// SQLite's busy handler does not queue: a writer that finds the database locked sleeps
/// (1, 2, 5 ... then 100 ms at a time) and retries, and whoever retries at the right moment
/// wins. Under a steady stream of writers some lose again and again (a patch report waited
/// almost a second at p99 with 16 agents at once while the median was 40 ms). A FIFO queue
/// in front of the lock serves them in arrival order instead. Writers in other processes,
/// and those not queued here, still wait in the busy handler as before.
pub async fn queue_for_write(pool: &SqlitePool) -> WriteTurn {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Queues = Mutex<HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>>;
    static QUEUES: OnceLock<Queues> = OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let queue = QUEUES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(file)
        .or_default()
        .clone();
    // tokio's mutex grants the lock to waiters in the order they asked.
    queue.lock_owned().await
}
