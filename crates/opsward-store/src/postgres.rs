//! The PostgreSQL backend, for several opsward servers sharing one database.

use crate::{migrations, settings::StoreSettings, shared::impl_store};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    const BEGIN_WRITE: &'static str = "BEGIN";
    /// Concurrent claimers skip rows another transaction is claiming instead of waiting for
    /// them and then claiming the same job.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";

    pub async fn connect(settings: &StoreSettings) -> crate::Result<Self> {
        let mut options = PgConnectOptions::from_str(&settings.url)?.application_name("opsward");
        // JIT compilation off, unless the URL's `options` choose: opsward's queries are short,
        // and a join whose cost PostgreSQL overestimates was JIT-compiled on every request
        // (the asset page's certificates at 5,000 certificates: 486 of its 516 ms were JIT,
        // 11 ms without; bench/picture).
        if !settings.url.contains("jit") {
            options = options.options([("jit", "off")]);
        }
        Self::connect_with(options, settings).await
    }

    /// Connect with explicit options, e.g. a `search_path` that confines a test to its schema.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: &StoreSettings,
    ) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.connect_timeout)
            .connect_with(options)
            .await?;
        // Several servers may start at once; sqlx takes an advisory lock around migrations.
        migrations::migrator(migrations::POSTGRES)
            .await?
            .run(&pool)
            .await?;
        tracing::debug!(url = %settings.redacted_url(), "PostgreSQL store ready");
        Ok(PostgresStore { pool })
    }

    fn database_handle(&self) -> crate::Database {
        crate::Database::Postgres(self.pool.clone())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl_store!(PostgresStore, sqlx::Postgres, Backend::Postgres);
